from django import template

from ..money import format_cny

register = template.Library()


@register.filter
def cny(amount) -> str:
    """``{{ booking.quote_total|cny }}``: an amount in yuan for the active language."""
    return format_cny(amount)
