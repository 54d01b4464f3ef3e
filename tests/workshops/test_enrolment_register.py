from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings.models import Notification
from tests.bookings.helpers import run_concurrently
from tests.factories import EnrolmentFactory, SessionFactory
from workshops import selectors, services
from workshops.models import Enrolment, Session


def _register(session, n: int, **overrides):
    details = {
        "session": session,
        "full_name": f"Participant {n}",
        "email": f"person{n}@example.org",
        "country_of_residence": "BR",
        "nationality": "BR",
        "role": Enrolment.Role.ACTOR,
        **overrides,
    }
    return services.enrolment_register(**details)


def _statuses(session) -> dict[str, list[str]]:
    rows = session.enrolments.order_by("confirmed_at", "waitlist_order", "pk")
    result: dict[str, list[str]] = {}
    for e in rows:
        result.setdefault(e.status, []).append(e.email)
    return result


@pytest.mark.django_db(transaction=True)
def test_twelve_people_registering_at_once_fill_five_places_and_queue_seven_in_arrival_order():
    session = SessionFactory(capacity=5)

    results = run_concurrently(12, lambda i: _register(session, i))

    assert [r for r in results if isinstance(r, Exception)] == []
    confirmed = Enrolment.objects.filter(session=session, status=Enrolment.Status.CONFIRMED)
    waiting = Enrolment.objects.filter(session=session, status=Enrolment.Status.WAITLISTED)
    assert confirmed.count() == 5
    assert waiting.count() == 7
    # Arrival order is the order the session lock was granted: the confirmed
    # people registered before everyone waiting, and waiting-list numbers
    # follow registration time without gaps or repeats.
    last_confirmed = max(e.created_at for e in confirmed)
    assert all(e.created_at >= last_confirmed for e in waiting)
    queue = list(waiting.order_by("waitlist_order"))
    assert [e.waitlist_order for e in queue] == list(range(1, 8))
    assert [e.created_at for e in queue] == sorted(e.created_at for e in queue)
    assert [selectors.waitlist_position(e) for e in queue] == list(range(1, 8))
    # Everyone was told, in one email each.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"person{i}@example.org" for i in range(12))


@pytest.mark.django_db
def test_confirmed_cancellation_offers_the_place_to_exactly_the_first_person_waiting(
    django_capture_on_commit_callbacks,
):
    session = SessionFactory(capacity=2)
    first, second = (_register(session, i).enrolment for i in range(2))
    waiting = [_register(session, i).enrolment for i in range(2, 5)]
    assert {e.status for e in waiting} == {Enrolment.Status.WAITLISTED}

    with django_capture_on_commit_callbacks(execute=True):
        services.enrolment_cancel(enrolment=first)

    for e in [first, second, *waiting]:
        e.refresh_from_db()
    assert first.status == Enrolment.Status.CANCELLED
    assert waiting[0].status == Enrolment.Status.OFFERED
    assert [e.status for e in waiting[1:]] == [Enrolment.Status.WAITLISTED] * 2
    assert [selectors.waitlist_position(e) for e in waiting[1:]] == [1, 2]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, waiting[0].email])
    offered = next(m for m in mail.outbox if m.to == [waiting[0].email])
    assert "A place is free for you" in offered.subject

    with django_capture_on_commit_callbacks(execute=True):
        services.enrolment_offer_accept(enrolment=waiting[0])
    waiting[0].refresh_from_db()
    assert waiting[0].status == Enrolment.Status.CONFIRMED
    assert "A place is yours" in mail.outbox[-1].subject


@pytest.mark.django_db
def test_leaving_the_waiting_list_promotes_nobody():
    session = SessionFactory(capacity=1)
    _register(session, 0)
    leaving, staying = (_register(session, i).enrolment for i in (1, 2))

    services.enrolment_cancel(enrolment=leaving)

    staying.refresh_from_db()
    assert staying.status == Enrolment.Status.WAITLISTED
    assert selectors.waitlist_position(staying) == 1


@pytest.mark.django_db
def test_raising_capacity_by_two_offers_places_to_the_next_two(django_capture_on_commit_callbacks):
    session = SessionFactory(capacity=5)
    for i in range(12):
        _register(session, i)

    Session.objects.filter(pk=session.pk).update(capacity=7)
    with django_capture_on_commit_callbacks(execute=True):
        promoted = services.session_fill_from_waiting_list(session=session)

    assert [e.email for e in promoted] == ["person5@example.org", "person6@example.org"]
    assert session.enrolments.filter(status=Enrolment.Status.CONFIRMED).count() == 5
    assert session.enrolments.filter(status=Enrolment.Status.OFFERED).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["person5@example.org", "person6@example.org"]
    assert services.session_fill_from_waiting_list(session=session) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "session_kwargs",
    [
        {"status": Session.Status.CLOSED},
        {"status": Session.Status.CANCELLED},
        {"registration_closes_at": timezone.now() - timedelta(minutes=1)},
    ],
    ids=["closed", "cancelled", "deadline-passed"],
)
def test_closed_cancelled_and_late_registrations_are_refused(session_kwargs):
    session = SessionFactory(**session_kwargs)

    with pytest.raises(services.EnrolmentError, match="closed"):
        _register(session, 1)

    assert not Enrolment.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_registering_the_same_email_again_creates_nothing_and_resends_the_link(
    django_capture_on_commit_callbacks,
):
    session = SessionFactory()
    first = _register(session, 1)

    with django_capture_on_commit_callbacks(execute=True):
        again = _register(session, 1, email="PERSON1@Example.org", full_name="Someone Else")

    assert again.created is False
    assert Enrolment.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["person1@example.org"]]
    assert first.enrolment.manage_token in mail.outbox[0].body


@pytest.mark.django_db
def test_after_cancelling_the_same_email_can_register_again():
    session = SessionFactory()
    first = _register(session, 1).enrolment
    services.enrolment_cancel(enrolment=first)

    again = _register(session, 1)

    assert again.created is True
    assert again.enrolment.pk != first.pk


@pytest.mark.django_db
def test_passport_data_is_not_kept_without_a_letter_request():
    registration = _register(
        SessionFactory(), 1, passport_number="X1234567", date_of_birth=timezone.localdate().replace(year=1990)
    )

    enrolment = Enrolment.objects.get(pk=registration.enrolment.pk)
    assert enrolment.passport_number == ""
    assert enrolment.date_of_birth is None


@pytest.mark.django_db
def test_cancelling_twice_is_refused():
    enrolment = EnrolmentFactory()
    services.enrolment_cancel(enrolment=enrolment)

    with pytest.raises(services.EnrolmentError):
        services.enrolment_cancel(enrolment=enrolment)


@pytest.mark.django_db
def test_promote_refuses_when_the_session_is_full():
    session = SessionFactory(capacity=1)
    _register(session, 0)
    waiting = _register(session, 1).enrolment

    with pytest.raises(services.EnrolmentError, match="full"):
        services.enrolment_promote(enrolment=waiting)

    waiting.refresh_from_db()
    assert waiting.status == Enrolment.Status.WAITLISTED


@pytest.mark.django_db
def test_a_place_left_free_goes_to_the_first_person_waiting_before_a_newcomer():
    session = SessionFactory(capacity=1)
    _register(session, 1)
    second = _register(session, 2).enrolment
    # A place left free without anyone being promoted (capacity raised behind the services' back).
    Session.objects.filter(pk=session.pk).update(capacity=2)

    newcomer = _register(session, 3).enrolment

    second.refresh_from_db()
    assert second.status == Enrolment.Status.OFFERED
    assert (newcomer.status, newcomer.waitlist_order) == (Enrolment.Status.WAITLISTED, 2)
    assert selectors.waitlist_position(newcomer) == 1


@pytest.mark.django_db
def test_each_registration_queues_exactly_its_own_message_and_a_refused_one_none():
    session = SessionFactory(capacity=1)
    first = _register(session, 1).enrolment
    waiting = _register(session, 2).enrolment

    assert list(Notification.objects.filter(enrolment=first).values_list("kind", flat=True)) == [
        Notification.Kind.ENROLMENT_CONFIRMED
    ]
    told = Notification.objects.get(enrolment=waiting)
    assert told.kind == Notification.Kind.ENROLMENT_WAITLISTED
    assert "at position 1" in told.body_text

    Session.objects.filter(pk=session.pk).update(registration_closes_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(services.EnrolmentError):
        _register(session, 3)
    assert Notification.objects.count() == 2 and Enrolment.objects.count() == 2
