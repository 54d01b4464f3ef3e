"""Amounts of money as people read them: yuan, grouped and punctuated for the active language.

Everything a person reads (pages, emails, the admin) goes through :func:`format_cny`
or the ``cny`` template filter built on it; CSV exports keep raw numbers.
"""

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext


def format_cny(amount: Decimal | int | str | None) -> str:
    """``¥121,800.00`` in English and Chinese, ``121.800,00 ¥`` in Spanish; "" for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    digits = number_format(value, decimal_pos=2, force_grouping=True)
    # Translators: an amount in yuan, the sign where readers expect it (Spanish: "%(amount)s ¥", no-break space).
    return gettext("¥%(amount)s") % {"amount": digits}
