"""The catalogue: an equipment kind's stock never drops below what crews hold, on their own lines or in
kits; and the crews whose bookings a change to the catalogue touches are told."""

from collections import defaultdict
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .. import emails
from ..models import (
    Blackout,
    Booking,
    DayRange,
    Equipment,
    StudioSet,
)
from ..selectors import (
    equipment_held_lines,
)
from .bookings import BookingError


def equipment_check_stock(*, equipment: Equipment, stock: int, now: datetime | None = None) -> Equipment:
    """Refuse a stock lower than the units crews hold on some day from today on.

    Locks the kind's row, as a request for its units does, so a request cannot take units between
    this check and the new stock being saved in the same transaction. Returns the locked row.
    """
    locked = Equipment.objects.select_for_update().get(pk=equipment.pk)
    if locked.is_kit:
        return locked  # a kit owns no units: its components' stock is what its bookings hold
    today = timezone.localdate(now or timezone.now())
    held: dict[date, int] = defaultdict(int)
    holders: dict[date, list[str]] = defaultdict(list)
    # Whole-plan lines count once per day of their plan's shoot days, as in every stock check, and
    # lines of kits that contain the kind hold their share of it.
    for line in equipment_held_lines([locked.pk], DayRange(today, date.max)):
        for day in line.dates:
            held[day] += line.quantity
            holders[day].append(line.reference)
    short = sorted(day for day, units in held.items() if units > stock)
    if short:
        references = sorted({ref for day in short for ref in holders[day]})
        raise BookingError(
            _(
                "Crews hold up to %(units)d units on %(days)s (%(refs)s). Keep at least that many, "
                "or change those bookings first."
            )
            % {
                "units": max(held[day] for day in short),
                "days": ", ".join(date_format(day) for day in short[:3]) + (" …" if len(short) > 3 else ""),
                "refs": ", ".join(references[:5]) + (" …" if len(references) > 5 else ""),
            },
            field="stock",
        )
    return locked


def equipment_set_stock(*, equipment: Equipment, stock: int, now: datetime | None = None) -> Equipment:
    """Change how many units the studio owns; never below what crews already hold."""
    with transaction.atomic():
        locked = equipment_check_stock(equipment=equipment, stock=stock, now=now)
        locked.stock = stock
        locked.save(update_fields=["stock"])
    return locked


def blackout_tell_crews(*, blackout: Blackout, bookings: list[Booking]) -> int:
    """Email the crews of ``bookings``, which ``blackout`` cuts into (found before it was saved, with
    the stock as it was). Call in the transaction that saves it; each crew once per blackout's days."""
    return sum(emails.booking_closed_over_notify(booking=booking, blackout=blackout) for booking in bookings)


def studio_set_location_tell_crews(
    *, studio_set: StudioSet, before: dict[str, str], now: datetime | None = None
) -> int:
    """Email "where to go" anew to the crews of the set's confirmed bookings not yet over."""
    today = timezone.localdate(now or timezone.now())
    bookings = (
        Booking.objects.bookings()
        .filter(studio_set=studio_set, status=Booking.Status.CONFIRMED, end_date__gte=today)
        .select_related("crew", "studio_set")
        .order_by("start_date", "pk")
    )
    return sum(emails.booking_location_notify(booking=booking, before=before) for booking in bookings)
