"""iCalendar (.ics) files for bookings, for crews' calendar apps."""

from collections.abc import Iterable
from datetime import timedelta

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


def bookings_to_ics(bookings: Iterable[Booking], *, name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Hengdian Studio Booking//EN")
    calendar.add("version", "2.0")
    # Names are validated as one line, but rows saved before that may hold a line
    # break, which icalendar refuses outright: the feed would fail for good.
    calendar.add("x-wr-calname", one_line(name))
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    for booking in bookings:
        event = Event()
        event.add("uid", f"{booking.reference}@hengdian-studio-booking")
        event.add("dtstamp", timezone.now())
        event.add("summary", f"{one_line(booking.studio_set.name)} ({booking.reference})")
        # Whole shoot days: DTEND is exclusive for all-day events.
        event.add("dtstart", booking.start_date)
        event.add("dtend", booking.end_date + timedelta(days=1))
        event.add("location", "Hengdian World Studios, Dongyang, Zhejiang")
        event.add("status", ICS_STATUS.get(booking.status, "CANCELLED"))
        lines = [f"{item.quantity} × {one_line(item.equipment.name)}" for item in booking.items.all()]
        event.add("description", "\n".join([booking.get_status_display(), *lines]))
        event.add("url", f"{settings.SITE_URL}{booking.get_absolute_url()}")
        calendar.add_component(event)
    return calendar.to_ical()
