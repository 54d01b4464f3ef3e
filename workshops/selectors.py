"""Reads shared by the workshop pages and the admin; query counts do not grow with the data."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone

from bookings.models import Notification

from .models import Enrolment, PlacePayment, Session

# When participants are reminded, before their session starts.
WEEK_REMINDER = timedelta(days=7)
DAY_REMINDER = timedelta(days=1)


def sessions_with_places(queryset: QuerySet[Session] | None = None) -> QuerySet[Session]:
    """Sessions annotated with ``confirmed_count``, ``offered_count`` (places held for someone from the
    waiting list), ``waitlisted_count`` and ``seats_left``."""
    queryset = Session.objects.all() if queryset is None else queryset
    return queryset.annotate(
        confirmed_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.CONFIRMED)),
        offered_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.OFFERED)),
        waitlisted_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.WAITLISTED)),
    ).annotate(seats_left=Greatest(F("capacity") - F("confirmed_count") - F("offered_count"), Value(0)))


def upcoming_sessions() -> QuerySet[Session]:
    return sessions_with_places(Session.objects.upcoming()).select_related("workshop")


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the next person to be promoted; None when not waiting."""
    if enrolment.status != Enrolment.Status.WAITLISTED:
        return None
    return Enrolment.objects.filter(
        session_id=enrolment.session_id,
        status=Enrolment.Status.WAITLISTED,
        waitlist_order__lte=enrolment.waitlist_order,
    ).count()


def next_waitlist_position(session: Session) -> int:
    """The position someone registering now would get, if the session is full."""
    return session.enrolments.filter(status=Enrolment.Status.WAITLISTED).count() + 1


def enrolments_due_reminder(*, kind: str, now: datetime) -> QuerySet[Enrolment]:
    """Confirmed enrolments whose ``kind`` reminder is due at ``now`` and not yet queued.

    The week reminder is due from seven days before the start until the day
    reminder takes over; the day reminder from one day before until the start.
    Sessions are found by the (status, starts_at) index and their enrolments by
    the (session, status) one, so the cost follows the due enrolments only.
    """
    if kind == Notification.Kind.ENROLMENT_REMINDER_WEEK:
        window = Q(session__starts_at__gt=now + DAY_REMINDER, session__starts_at__lte=now + WEEK_REMINDER)
    elif kind == Notification.Kind.ENROLMENT_REMINDER_DAY:
        window = Q(session__starts_at__gt=now, session__starts_at__lte=now + DAY_REMINDER)
    else:
        raise ValueError(f"Not a workshop reminder: {kind}")
    # Sent for the session's start as it is now (a reminder's about_date); reminders sent before
    # they were dated count for any start.
    already = Notification.objects.filter(enrolment=OuterRef("pk"), kind=kind).filter(
        Q(about_date=OuterRef("start_day")) | Q(about_date__isnull=True)
    )
    return (
        Enrolment.objects.annotate(
            start_day=TruncDate("session__starts_at", tzinfo=timezone.get_default_timezone())
        )
        .filter(
            window,
            status=Enrolment.Status.CONFIRMED,
            session__status__in=[Session.Status.OPEN, Session.Status.CLOSED],
        )
        .exclude(Exists(already))
        .select_related("session__workshop")
        .order_by("pk")
    )


def enrolments_with_payments(queryset: QuerySet[Enrolment] | None = None) -> QuerySet[Enrolment]:
    """Enrolments with ``paid`` (money received for the place) and ``refunded`` (paid back), in one query."""
    queryset = Enrolment.objects.all() if queryset is None else queryset
    money = DecimalField(max_digits=12, decimal_places=2)

    def total(kind: str):
        return Coalesce(
            Sum("payments__amount", filter=Q(payments__kind=kind)), Value(Decimal(0)), output_field=money
        )

    return queryset.annotate(paid=total(PlacePayment.Kind.PAYMENT), refunded=total(PlacePayment.Kind.REFUND))
