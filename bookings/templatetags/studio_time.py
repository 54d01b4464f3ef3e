from datetime import datetime

from django import template

from ..notifications import studio_span as _studio_span

register = template.Library()


@register.simple_tag
def studio_span(start: datetime, end: datetime) -> str:
    """``{% studio_span session.starts_at session.ends_at %}``: a single day written once."""
    return _studio_span(start, end)
