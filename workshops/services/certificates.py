"""Certificates of attendance: issued once a session has ended, to each participant checked in on
at least ``CERTIFICATE_MIN_ATTENDANCE_PERCENT`` of its days, and emailed once with a link.

One certificate per enrolment is a database constraint, so two sweeps at once issue (and email)
one. Sessions that ended more than ``ISSUE_WINDOW`` ago are not looked at again.
"""

import math
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from ..models import Certificate, Enrolment, Session
from .checkin import session_days
from .enrolments import NOTICE, _notify

ISSUE_WINDOW = timedelta(days=30)


def days_needed(days_total: int) -> int:
    """How many days of a session earn its certificate (at least one)."""
    return max(1, math.ceil(days_total * settings.CERTIFICATE_MIN_ATTENDANCE_PERCENT / 100))


def daily_hours(session: Session) -> Decimal:
    """The hours of one day of the session: from its daily start to its daily end."""
    starts, ends = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    span = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
    return Decimal(max(span, 0)) / 60


def certificates_issue_due(*, now: datetime | None = None) -> list[Certificate]:
    """Issue the certificates earned in sessions that have ended; run by the sweep."""
    now = now or timezone.now()
    sessions = Session.objects.filter(ends_at__lte=now, ends_at__gt=now - ISSUE_WINDOW).exclude(
        status=Session.Status.CANCELLED
    )
    issued = []
    for session in sessions.select_related("workshop"):
        days = session_days(session)
        earned = (
            session.enrolments.filter(status=Enrolment.Status.CONFIRMED)
            .exclude(Exists(Certificate.objects.filter(enrolment=OuterRef("pk"))))
            .annotate(attended=Count("attendance", distinct=True))
            .filter(attended__gte=days_needed(len(days)))
            .order_by("pk")
        )
        hours_a_day = daily_hours(session)
        for enrolment in earned:
            enrolment.session = session
            certificate = Certificate(
                enrolment=enrolment,
                name=enrolment.full_name,
                days_attended=min(enrolment.attended, len(days)),
                days_total=len(days),
                hours=(hours_a_day * min(enrolment.attended, len(days))).quantize(Decimal("0.1")),
                issued_at=now,
            )
            try:
                with transaction.atomic():
                    certificate.save()
                    _notify(enrolment, NOTICE.ENROLMENT_CERTIFICATE, now=now)
            except IntegrityError:  # issued by a sweep running at the same moment
                continue
            issued.append(certificate)
    return issued
