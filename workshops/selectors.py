"""Reads shared by the workshop pages and the admin; query counts do not grow with the data."""

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Greatest

from .models import Enrolment, Session


def sessions_with_places(queryset: QuerySet[Session] | None = None) -> QuerySet[Session]:
    """Sessions annotated with ``confirmed_count``, ``waitlisted_count`` and ``seats_left``."""
    queryset = Session.objects.all() if queryset is None else queryset
    return queryset.annotate(
        confirmed_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.CONFIRMED)),
        waitlisted_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.WAITLISTED)),
    ).annotate(seats_left=Greatest(F("capacity") - F("confirmed_count"), Value(0)))


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
