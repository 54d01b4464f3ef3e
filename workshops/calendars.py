"""An iCalendar (.ics) file for one enrolment, for the participant's calendar app."""

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from bookings.validators import one_line

from .models import Enrolment


def enrolment_to_ics(enrolment: Enrolment) -> bytes:
    session = enrolment.session
    calendar = Calendar()
    calendar.add("prodid", "-//Hengdian Studio Booking//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"enrolment-{enrolment.pk}@hengdian-studio-booking")
    event.add("dtstamp", timezone.now())
    # One line even for titles and venues saved before names were validated.
    event.add("summary", one_line(session.workshop.title))
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("location", f"{one_line(session.venue)}, Hengdian World Studios, Dongyang, Zhejiang")
    event.add("status", "CONFIRMED" if enrolment.status == Enrolment.Status.CONFIRMED else "TENTATIVE")
    event.add("url", f"{settings.SITE_URL}{enrolment.get_absolute_url()}")
    calendar.add_component(event)
    return calendar.to_ical()
