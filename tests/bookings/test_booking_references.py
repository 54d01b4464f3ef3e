"""A new booking or plan whose random reference is already taken is saved under another one,
never refused as if its days were taken."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking, DayRange, Notification, ShootPlan
from bookings.models import bookings as booking_models
from bookings.references import ReferencesExhausted
from bookings.services import BookingChange, BookingError, SetRequest
from hengdian.roles import BOOKING_DESK

from ..factories import CrewOwnerFactory, StaffMemberFactory, StudioSetFactory


def days_from_now(start: int, length: int) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


def draws(monkeypatch, *codes: str) -> list[str]:
    """Make the random generator give ``codes`` first (then random ones); returns what it gave."""
    given: list[str] = []
    queue = list(codes)
    real = booking_models.reference_code

    def code() -> str:
        given.append(queue.pop(0) if queue else real())
        return given[-1]

    monkeypatch.setattr(booking_models, "reference_code", code)
    return given


@pytest.mark.django_db
def test_a_booking_whose_reference_is_taken_is_saved_under_a_new_one(crew_owner, monkeypatch):
    earlier = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(3, 2), by=crew_owner
    )
    taken = earlier.reference.removeprefix("HD-")
    # The plan draws first, then its booking: the booking's first draw repeats the earlier one.
    given = draws(monkeypatch, "PLAN22", taken)

    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(3, 2), by=crew_owner
    )

    assert given[:2] == ["PLAN22", taken] and len(given) == 3
    assert booking.reference == f"HD-{given[2]}" != earlier.reference
    assert booking.plan.reference == "HD-PPLAN22"
    assert Booking.objects.count() == 2
    # Its request email names the reference it was saved under.
    notice = Notification.objects.filter(booking=booking, recipient=crew_owner.email).get()
    assert booking.reference in notice.subject + notice.body_text


@pytest.mark.django_db
def test_a_plan_whose_reference_is_taken_is_saved_under_a_new_one(crew_owner, monkeypatch):
    first = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[SetRequest(StudioSetFactory(), days_from_now(3, 2), [])],
        by=crew_owner,
    )
    given = draws(monkeypatch, first.reference.removeprefix("HD-P"))

    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[
            SetRequest(StudioSetFactory(), days_from_now(3, 2), []),
            SetRequest(StudioSetFactory(), days_from_now(6, 2), []),
        ],
        by=crew_owner,
    )

    assert plan.reference == f"HD-P{given[1]}" != first.reference
    assert ShootPlan.objects.count() == 2 and plan.bookings.count() == 2


@pytest.mark.django_db
def test_a_change_whose_reference_is_taken_is_saved_under_a_new_one(crew_owner, monkeypatch):
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 3)
    booking = services.booking_request(crew=crew_owner.crew, studio_set=studio_set, days=days, by=crew_owner)
    booking = services.booking_confirm(booking=booking, by=desk)
    given = draws(monkeypatch, booking.reference.removeprefix("HD-"))

    change = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, DayRange(days.start, days.end + timedelta(days=1))),
        by=crew_owner,
    )

    assert change.reference == f"HD-{given[1]}" != booking.reference
    assert change.status == Booking.Status.CHANGE and change.change_of == booking


@pytest.mark.django_db
def test_a_generator_that_only_repeats_is_not_reported_as_a_clash(crew_owner, monkeypatch):
    earlier = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(3, 2), by=crew_owner
    )
    monkeypatch.setattr(booking_models, "reference_code", lambda: earlier.reference.removeprefix("HD-"))
    other = CrewOwnerFactory()

    with pytest.raises(ReferencesExhausted):
        services.booking_request(
            crew=other.crew, studio_set=StudioSetFactory(), days=days_from_now(3, 2), by=other
        )

    # Nothing half-saved: the plan drawn before the refusal went with it.
    assert Booking.objects.count() == 1 and ShootPlan.objects.count() == 1


@pytest.mark.django_db
def test_a_real_clash_still_says_the_days_were_taken(crew_owner, other_crew_member):
    studio_set = StudioSetFactory()
    services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(5, 3), by=crew_owner
    )

    with pytest.raises(BookingError, match="already taken"):
        services.booking_request(
            crew=other_crew_member.crew, studio_set=studio_set, days=days_from_now(6, 3), by=other_crew_member
        )
