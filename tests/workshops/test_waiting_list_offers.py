"""The waiting list: a freed place is offered to the first person waiting, who accepts it within a
window or lets it pass on; within the visa lead time, people who need a visa letter are passed over
(told once, kept on the list) for the next who need none."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings.models import Notification
from hengdian import tasks
from hengdian.roles import WORKSHOP_DESK
from tests.auth import login_staff
from tests.bookings.helpers import run_concurrently
from tests.factories import SessionFactory, StaffMemberFactory
from workshops import selectors, services
from workshops.models import Enrolment

Kind = Notification.Kind
Status = Enrolment.Status


def register(session, name: str, *, visa: bool = False) -> Enrolment:
    today = timezone.localdate()
    passport = (
        {
            "needs_visa_letter": True,
            "passport_number": "P1234567",
            "passport_expiry": today + timedelta(days=3000),
            "date_of_birth": today - timedelta(days=11000),
        }
        if visa
        else {}
    )
    return services.enrolment_register(
        session=session,
        full_name=name,
        email=f"{name.lower()}@example.org",
        country_of_residence="KR",
        nationality="KR",
        role="actor",
        **passport,
    ).enrolment


def _status(*enrolments) -> list[str]:
    return [Enrolment.objects.get(pk=e.pk).status for e in enrolments]


def session_in(days: int, capacity: int = 1):
    starts = timezone.now() + timedelta(days=days)
    return SessionFactory(
        starts_at=starts,
        ends_at=starts + timedelta(days=2),
        registration_closes_at=starts - timedelta(hours=1),
        capacity=capacity,
    )


@pytest.mark.django_db
def test_an_offer_is_accepted_within_its_window_or_passes_to_the_next_person():
    session = session_in(40)
    holder = register(session, "Holder")
    first, second = register(session, "First"), register(session, "Second")

    services.enrolment_cancel(enrolment=holder)

    first.refresh_from_db()
    assert first.status == Status.OFFERED
    assert abs(first.offer_expires_at - (timezone.now() + timedelta(hours=48))) < timedelta(minutes=1)
    assert selectors.sessions_with_places().get(pk=session.pk).seats_left == 0  # the offer holds the place
    assert message_kinds(first) == [Kind.ENROLMENT_WAITLISTED, Kind.ENROLMENT_OFFERED]

    with time_machine.travel(first.offer_expires_at - timedelta(minutes=1), tick=False):
        assert tasks.sweep()["lapsed_offers"] == 0
    with time_machine.travel(first.offer_expires_at, tick=False):
        assert tasks.sweep()["lapsed_offers"] == 1
        with pytest.raises(services.EnrolmentError, match="No place is offered"):
            services.enrolment_offer_accept(enrolment=first)

    assert _status(first, second) == [Status.CANCELLED, Status.OFFERED]
    assert Kind.ENROLMENT_OFFER_LAPSED in message_kinds(first)
    services.enrolment_offer_accept(enrolment=second)
    assert _status(second) == [Status.CONFIRMED]


def message_kinds(enrolment) -> list[str]:
    return list(
        Notification.objects.filter(enrolment=enrolment).order_by("pk").values_list("kind", flat=True)
    )


@pytest.mark.django_db
def test_an_offer_never_outlasts_the_start_of_the_session():
    session = session_in(1)
    holder = register(session, "Holder")
    waiting = register(session, "Waiting")

    services.enrolment_cancel(enrolment=holder)

    waiting.refresh_from_db()
    assert waiting.offer_expires_at == session.starts_at


@pytest.mark.django_db
def test_within_the_visa_lead_time_someone_needing_a_visa_is_passed_over_told_once_and_kept():
    session = session_in(10, capacity=2)  # default lead time: 21 days
    holders = [register(session, "HolderA"), register(session, "HolderB")]
    needs_visa = register(session, "Visa", visa=True)
    no_visa = register(session, "Local")

    services.enrolment_cancel(enrolment=holders[0])

    assert _status(needs_visa, no_visa) == [Status.WAITLISTED, Status.OFFERED]
    assert selectors.waitlist_position(Enrolment.objects.get(pk=needs_visa.pk)) == 1
    assert Kind.ENROLMENT_VISA_SKIPPED in message_kinds(needs_visa)
    skipped = Notification.objects.get(enrolment=needs_visa, kind=Kind.ENROLMENT_VISA_SKIPPED)
    assert "21 days" in skipped.body_text

    services.enrolment_cancel(enrolment=holders[1])  # nobody else needs no visa: the place stays free
    assert _status(needs_visa) == [Status.WAITLISTED]
    assert Notification.objects.filter(enrolment=needs_visa, kind=Kind.ENROLMENT_VISA_SKIPPED).count() == 1


@pytest.mark.django_db
def test_far_enough_ahead_someone_needing_a_visa_is_offered_the_place_in_turn():
    session = session_in(40)
    holder = register(session, "Holder")
    needs_visa = register(session, "Visa", visa=True)
    register(session, "Local")

    services.enrolment_cancel(enrolment=holder)

    assert _status(needs_visa) == [Status.OFFERED]


@pytest.mark.django_db
def test_the_lead_time_is_the_sessions_own(settings):
    session = session_in(10)
    session.visa_lead_days = 7
    session.save()
    holder = register(session, "Holder")
    needs_visa = register(session, "Visa", visa=True)

    services.enrolment_cancel(enrolment=holder)

    assert _status(needs_visa) == [Status.OFFERED]


@pytest.mark.django_db(transaction=True)
def test_racing_cancellations_offer_each_freed_place_once_in_order_under_the_lead_time_rule():
    session = session_in(10, capacity=3)
    holders = [register(session, f"Holder{n}") for n in range(3)]
    needs_visa = register(session, "Visa", visa=True)
    locals_ = [register(session, f"Local{n}") for n in range(3)]

    results = run_concurrently(3, lambda i: services.enrolment_cancel(enrolment=holders[i]))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert _status(needs_visa, *locals_) == [
        Status.WAITLISTED,
        Status.OFFERED,
        Status.OFFERED,
        Status.OFFERED,
    ]
    assert session.enrolments.filter(status__in=[Status.CONFIRMED, Status.OFFERED]).count() == 3
    assert Notification.objects.filter(enrolment=needs_visa, kind=Kind.ENROLMENT_VISA_SKIPPED).count() == 1


@pytest.mark.django_db
def test_the_participant_accepts_or_declines_on_their_page(client):
    session = session_in(40)
    holder = register(session, "Holder")
    first, second = register(session, "First"), register(session, "Second")
    services.enrolment_cancel(enrolment=holder)

    page = client.get(first.get_absolute_url()).text
    assert 'id="place-offered"' in page
    declined = client.post(reverse("workshops:cancel", args=[first.manage_token]), follow=True)
    assert "You have declined the place" in declined.text
    assert _status(first, second) == [Status.CANCELLED, Status.OFFERED]

    accepted = client.post(reverse("workshops:accept", args=[second.manage_token]), follow=True)
    assert "The place is yours" in accepted.text
    assert _status(second) == [Status.CONFIRMED]
    again = client.post(reverse("workshops:accept", args=[second.manage_token]), follow=True)
    assert "already accepted" in again.text
    assert client.get(reverse("workshops:accept", args=[second.manage_token])).status_code == 405


@pytest.mark.django_db
def test_staff_may_still_promote_someone_needing_a_visa_by_hand_with_a_warning(client):
    session = session_in(10, capacity=1)
    holder = register(session, "Holder")
    needs_visa = register(session, "Visa", visa=True)
    services.enrolment_cancel(enrolment=holder)
    login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))

    response = client.post(
        reverse("admin:workshops_enrolment_changelist"),
        {"action": "promote_selected", "_selected_action": [needs_visa.pk]},
        follow=True,
    )

    assert _status(needs_visa) == [Status.CONFIRMED]
    assert "the visa may not come in time" in response.text


@pytest.mark.django_db
def test_a_visa_needer_is_offered_a_place_before_the_lead_time_and_passed_over_within_it():
    session = session_in(30, capacity=2)
    holders = [register(session, "HolderA"), register(session, "HolderB")]
    first_visa = register(session, "VisaA", visa=True)
    second_visa = register(session, "VisaB", visa=True)
    local = register(session, "Local")

    with time_machine.travel(session.starts_at - timedelta(days=22), tick=False):
        services.enrolment_cancel(enrolment=holders[0])
    assert _status(first_visa, second_visa, local) == [Status.OFFERED, Status.WAITLISTED, Status.WAITLISTED]

    with time_machine.travel(session.starts_at - timedelta(days=20), tick=False):
        services.enrolment_cancel(enrolment=holders[1])
    assert _status(first_visa, second_visa, local) == [Status.OFFERED, Status.WAITLISTED, Status.OFFERED]
    assert Kind.ENROLMENT_VISA_SKIPPED in message_kinds(second_visa)
