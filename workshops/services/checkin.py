"""Checking participants in at the door, one check-in per person and day of their session.

The database holds the rule (one row per enrolment and day), so two desks scanning the same code
at the same instant record one check-in, and the second is told when the first one was.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _

from bookings.models import User

from ..models import Attendance, Enrolment, Session, normalize_checkin_code
from .enrolments import EnrolmentError


@dataclass(frozen=True)
class CheckIn:
    attendance: Attendance
    created: bool  # False: already checked in today, at attendance.checked_in_at


def session_days(session: Session) -> list[date]:
    """The studio days a session runs on, first to last."""
    first = timezone.localdate(session.starts_at)
    last = timezone.localdate(session.ends_at)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def checkin_record(*, session: Session, code: str, by: User, now: datetime | None = None) -> CheckIn:
    """Check the holder of ``code`` in for today's day of ``session``.

    Refused, with the reason, for a code nobody holds, a code for another session, a place that is
    not confirmed, or a day the session does not run.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    normalized = normalize_checkin_code(code)
    enrolment = (
        Enrolment.objects.select_related("session__workshop").filter(checkin_code=normalized).first()
        if normalized
        else None
    )
    if enrolment is None:
        raise EnrolmentError(_("No participant has this code: check it, or find them by name."), field="code")
    if enrolment.session_id != session.pk:
        raise EnrolmentError(
            _("%(name)s is enrolled in %(other)s, not in this session.")
            % {"name": enrolment.full_name, "other": enrolment.session},
            field="code",
        )
    if enrolment.status != Enrolment.Status.CONFIRMED:
        raise EnrolmentError(
            _("%(name)s has no place: the enrolment is %(status)s.")
            % {"name": enrolment.full_name, "status": enrolment.get_status_display().lower()},
            field="code",
        )
    if session.status == Session.Status.CANCELLED or today not in session_days(session):
        raise EnrolmentError(_("This session does not run today."), field="code")
    try:
        with transaction.atomic():
            attendance = Attendance.objects.create(
                enrolment=enrolment, day=today, checked_in_at=now, checked_in_by=by
            )
    except IntegrityError:
        attendance = Attendance.objects.select_related("checked_in_by").get(enrolment=enrolment, day=today)
        return CheckIn(attendance=attendance, created=False)
    return CheckIn(attendance=attendance, created=True)


def checkin_when(attendance: Attendance) -> str:
    """ "09:02", in the studio's time."""
    return time_format(timezone.localtime(attendance.checked_in_at), "H:i")
