"""``{% pagecache "name" "scope,scope" vary_on… %}…{% endpagecache %}``: see bookings/pagecache.py.

On a miss the block is rendered with what the view's ``pagecache_fill`` callable
(if the context has one) returns added to the context, so the queries the
fragment needs are run only when it is rendered, not on every request.
"""

from django import template

from .. import pagecache

register = template.Library()


class PageCacheNode(template.Node):
    def __init__(self, nodelist, name: str, scopes: list[str], vary_on: list[template.base.FilterExpression]):
        self.nodelist = nodelist
        self.name = name
        self.scopes = scopes
        self.vary_on = vary_on

    def _render_fresh(self, context) -> str:
        fill = context.get("pagecache_fill")
        with context.push(**(fill() if fill else {})):
            return self.nodelist.render(context)

    def render(self, context) -> str:
        found = pagecache.lookup(self.name, self.scopes, [v.resolve(context) for v in self.vary_on])
        if found is None:
            return self._render_fresh(context)
        if found.html is None:
            html = self._render_fresh(context)
            pagecache.store(found, html)
            return html
        return found.html


@register.tag("pagecache")
def do_pagecache(parser, token):
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError("'pagecache' takes a name, scopes and what it varies on.")
    nodelist = parser.parse(("endpagecache",))
    parser.delete_first_token()
    name, scopes = (bit.strip("\"'") for bit in bits[1:3])
    unknown = set(scopes.split(",")) - set(pagecache.SCOPES)
    if unknown:
        raise template.TemplateSyntaxError(f"'pagecache' does not know the scopes {sorted(unknown)}.")
    return PageCacheNode(nodelist, name, scopes.split(","), [parser.compile_filter(bit) for bit in bits[3:]])
