"""An iCalendar (.ics) file for one enrolment, for the participant's calendar app.

Times carry ``TZID=Asia/Shanghai`` and the file holds that zone's VTIMEZONE, so
a calendar abroad shows the studio's hours at the right local time. A session
over several days that runs the same hours each day (09:00–17:00, say) is one
event repeated daily (``RRULE:FREQ=DAILY;COUNT=<days>``), not one block from
the first morning to the last evening; as one series with one UID, a later
file replaces it whole. Any other session is one event from start to end.

SEQUENCE and LAST-MODIFIED come from the latest change to the session, its
workshop or the place itself, so Outlook and Apple Calendar update the event
they already hold when the times, venue or status change.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from icalendar import Event

from bookings.calendars import new_calendar, sequence_of
from bookings.validators import one_line

from .models import Enrolment, Session


def _status(enrolment: Enrolment) -> str:
    if enrolment.status == Enrolment.Status.CANCELLED or enrolment.session.status == Session.Status.CANCELLED:
        return "CANCELLED"
    return "CONFIRMED" if enrolment.status == Enrolment.Status.CONFIRMED else "TENTATIVE"


def session_days(session: Session) -> tuple[datetime, datetime, int]:
    """(first start, first end, number of days) in the studio's zone; one day unless it runs daily."""
    studio = timezone.get_default_timezone()
    start, end = timezone.localtime(session.starts_at, studio), timezone.localtime(session.ends_at, studio)
    days = (end.date() - start.date()).days + 1
    if days > 1 and end.time() > start.time():
        first_end = datetime.combine(start.date(), end.time(), tzinfo=studio)
        return start, first_end, days
    return start, end, 1


def enrolment_to_ics(enrolment: Enrolment) -> bytes:
    session = enrolment.session
    changed_at = max(session.updated_at, session.workshop.updated_at, enrolment.updated_at)
    calendar = new_calendar()
    event = Event()
    event.add("uid", f"enrolment-{enrolment.pk}@hengdian-studio-booking")
    event.add("dtstamp", timezone.now())
    event.add("last-modified", changed_at)
    event.add("sequence", sequence_of(changed_at))
    # One line even for titles and venues saved before names were validated.
    event.add("summary", one_line(session.workshop.title))
    start, end, days = session_days(session)
    event.add("dtstart", start)
    event.add("dtend", end)
    if days > 1:
        event.add("rrule", {"freq": "daily", "count": days})
    event.add("location", f"{one_line(session.venue)}, Hengdian World Studios, Dongyang, Zhejiang")
    event.add("status", _status(enrolment))
    event.add("url", f"{settings.SITE_URL}{enrolment.get_absolute_url()}")
    calendar.add_component(event)
    # The VTIMEZONE for every TZID used above (Asia/Shanghai).
    calendar.add_missing_timezones()
    return calendar.to_ical()
