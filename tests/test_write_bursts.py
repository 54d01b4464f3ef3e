"""Registrations and booking requests arriving at once all finish, on either database: on SQLite
(the embedded default) they queue for the one write lock instead of failing with "database is locked"."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Booking, DayRange, Notification
from tests.bookings.helpers import run_concurrently
from tests.factories import CrewOwnerFactory, SessionFactory, StudioSetFactory
from workshops import services as workshop_services
from workshops.models import Enrolment

PEOPLE = 12
CREWS = 8


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_registrations_and_requests_all_finish_with_every_invariant_held():
    session = SessionFactory(capacity=5)
    owners = [CrewOwnerFactory() for _ in range(CREWS)]
    # Two crews per set, on overlapping weeks: exactly one of each pair gets it.
    sets = [StudioSetFactory(changeover_days=0) for _ in range(CREWS // 2)]
    first = timezone.localdate() + timedelta(days=10)

    def work(i: int):
        if i < PEOPLE:
            return workshop_services.enrolment_register(
                session=session,
                full_name=f"Participant {i}",
                email=f"burst{i}@example.org",
                country_of_residence="MX",
                nationality="MX",
                role=Enrolment.Role.DIRECTOR,
            )
        n = i - PEOPLE
        start = first + timedelta(days=n % 2)
        return booking_services.booking_request(
            crew=owners[n].crew,
            studio_set=sets[n // 2],
            days=DayRange(start, start + timedelta(days=4)),
            by=owners[n],
        )

    results = run_concurrently(PEOPLE + CREWS, work)

    failures = [r for r in results if isinstance(r, Exception)]
    # Only the expected refusals: a set already taken. Never a database error.
    assert all(isinstance(f, booking_services.BookingError) for f in failures), failures
    assert len(failures) == CREWS // 2
    enrolments = Enrolment.objects.filter(session=session)
    assert enrolments.filter(status=Enrolment.Status.CONFIRMED).count() == 5
    waiting = list(enrolments.filter(status=Enrolment.Status.WAITLISTED).order_by("waitlist_order"))
    assert [e.waitlist_order for e in waiting] == list(range(1, PEOPLE - 5 + 1))
    assert [e.created_at for e in waiting] == sorted(e.created_at for e in waiting)
    held = Booking.objects.filter(studio_set__in=sets, status=Booking.Status.REQUESTED)
    assert sorted(held.values_list("studio_set", flat=True)) == sorted(s.pk for s in sets)
    # Every event has its message, and only those: one per participant, one per held request for its crew.
    assert Notification.objects.filter(enrolment__session=session).count() == PEOPLE
    assert Notification.objects.filter(
        booking__in=held, recipient__in=[o.email for o in owners]
    ).count() == len(sets)


@pytest.mark.django_db
def test_sqlite_runs_in_write_ahead_mode_with_immediate_transactions(settings):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's settings")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
