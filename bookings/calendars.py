"""iCalendar (.ics) files for bookings, for crews' calendar apps.

A booking is whole shoot days, so its event is all-day (DATE values, which
no time zone shifts). SEQUENCE and LAST-MODIFIED come from the booking's last
change: Outlook and Apple Calendar replace an event they already hold only
when its SEQUENCE has grown, so a confirmed or cancelled booking updates
there rather than sitting beside the old one.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Booking
from .validators import one_line

ICS_STATUS = {
    Booking.Status.REQUESTED: "TENTATIVE",
    Booking.Status.CONFIRMED: "CONFIRMED",
    Booking.Status.COMPLETED: "CONFIRMED",
}
CONTENT_TYPE = "text/calendar; charset=utf-8"
# How often a subscribed calendar app should fetch the crew feed again.
FEED_REFRESH = timedelta(hours=1)

_SEQUENCE_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def sequence_of(*changed_at: datetime) -> int:
    """SEQUENCE for an event whose content last changed at the latest of ``changed_at``.

    Whole seconds since 2025: it grows with every later change without a counter
    to keep, and stays a 32-bit integer (what Outlook stores) until 2093.
    """
    return max(0, int((max(changed_at) - _SEQUENCE_EPOCH).total_seconds()))


def new_calendar(*, name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Hengdian Studio Booking//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name is not None:
        # Names are validated as one line, but rows saved before that may hold a line
        # break, which icalendar refuses outright: the feed would fail for good.
        calendar.add("name", one_line(name))
        calendar.add("x-wr-calname", one_line(name))
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    return calendar


def bookings_to_ics(bookings: Iterable[Booking], *, name: str, feed: bool = False) -> bytes:
    calendar = new_calendar(name=name)
    if feed:
        calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", FEED_REFRESH)
    now = timezone.now()
    for booking in bookings:
        event = Event()
        event.add("uid", f"{booking.reference}@hengdian-studio-booking")
        event.add("dtstamp", now)
        event.add("last-modified", booking.updated_at)
        event.add("sequence", sequence_of(booking.updated_at))
        event.add("summary", f"{one_line(booking.studio_set.name)} ({booking.reference})")
        # Whole shoot days: DTEND is exclusive for all-day events.
        event.add("dtstart", booking.start_date)
        event.add("dtend", booking.end_date + timedelta(days=1))
        event.add("transp", "OPAQUE")
        event.add("location", "Hengdian World Studios, Dongyang, Zhejiang")
        event.add("status", ICS_STATUS.get(booking.status, "CANCELLED"))
        lines = [f"{item.quantity} × {one_line(item.equipment.name)}" for item in booking.items.all()]
        event.add("description", "\n".join([booking.get_status_display(), *lines]))
        event.add("url", f"{settings.SITE_URL}{booking.get_absolute_url()}")
        calendar.add_component(event)
    return calendar.to_ical()
