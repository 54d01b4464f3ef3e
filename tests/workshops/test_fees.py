"""Workshop fees: a confirmed place in a session with a fee awaits payment until paid, by a
deadline; unpaid places are released to the waiting list in order; refunds follow the policy."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings.models import Notification
from hengdian import tasks
from tests.auth import login_staff
from tests.bookings.helpers import run_concurrently
from tests.factories import SessionFactory, StaffFactory, StaffMemberFactory, WorkshopFactory
from workshops import fees, services
from workshops.models import Enrolment, PlacePayment, PlacePaymentState, normalize_payment_reference
from workshops.selectors import enrolments_with_payments

FEE = Decimal("6800.00")
Kind = Notification.Kind


def at(day, hour=10) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def fee_session(*, days_ahead: int = 40, capacity: int = 2, **kwargs):
    starts_at = at(timezone.localdate() + timedelta(days=days_ahead), 9)
    return SessionFactory(
        workshop=WorkshopFactory(fee=FEE),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=4),
        registration_closes_at=starts_at - timedelta(days=2),
        capacity=capacity,
        **kwargs,
    )


def register(session, n: int, **overrides) -> Enrolment:
    details = {
        "session": session,
        "full_name": f"Participant {n}",
        "email": f"person{n}@example.org",
        "country_of_residence": "MX",
        "nationality": "MX",
        "role": Enrolment.Role.DIRECTOR,
        **overrides,
    }
    return services.enrolment_register(**details).enrolment


def pay(enrolment, amount, *, kind=PlacePayment.Kind.PAYMENT, by=None, **kwargs):
    return services.place_payment_record(
        enrolment=enrolment,
        amount=Decimal(amount),
        paid_on=kwargs.pop("paid_on", timezone.localdate()),
        method=PlacePayment.Method.BANK_TRANSFER,
        kind=kind,
        by=by or StaffFactory(),
        **kwargs,
    )


def state(enrolment) -> str:
    enrolment = enrolments_with_payments(Enrolment.objects.filter(pk=enrolment.pk)).get()
    return enrolment.payment_state(
        paid=enrolment.paid, refunded=enrolment.refunded, today=timezone.localdate()
    )


def message(enrolment, kind) -> Notification:
    return Notification.objects.get(enrolment=enrolment, kind=kind)


# --- Terms ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_confirmed_place_with_a_fee_awaits_payment_with_a_deadline_and_a_reference_in_its_email():
    session = fee_session(days_ahead=40)

    enrolment = register(session, 1)

    assert enrolment.status == Enrolment.Status.CONFIRMED
    assert enrolment.fee == FEE
    assert enrolment.payment_due_on == timezone.localdate() + timedelta(days=7)
    assert re.fullmatch(r"HDW-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", enrolment.payment_reference)
    assert state(enrolment) == PlacePaymentState.AWAITING
    email = message(enrolment, Kind.ENROLMENT_CONFIRMED).body_text
    assert "¥6,800.00" in email
    assert enrolment.payment_reference in email
    assert "Pay by" in email


@pytest.mark.django_db
def test_a_free_session_asks_for_nothing():
    enrolment = register(SessionFactory(), 1)

    assert enrolment.fee == 0
    assert enrolment.payment_reference is None
    assert enrolment.payment_due_on is None
    assert "Payment reference" not in message(enrolment, Kind.ENROLMENT_CONFIRMED).body_text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days_ahead", "due_in_days"),
    [
        (60, 7),  # the usual week to pay
        (18, 4),  # never later than 14 days before the session
        (10, 1),  # confirmed closer than that: until the end of the next day
        (1, 0),  # the session is tomorrow: today
    ],
)
def test_the_deadline_is_a_week_but_never_later_than_two_weeks_before_the_session(days_ahead, due_in_days):
    session = fee_session(days_ahead=days_ahead)
    now = timezone.now()

    assert fees.payment_deadline(session=session, confirmed_at=now) == timezone.localdate(now) + timedelta(
        days=due_in_days
    )


@pytest.mark.django_db
def test_the_fee_is_the_workshops_fee_when_the_place_was_confirmed():
    session = fee_session()
    enrolment = register(session, 1)

    session.workshop.fee = Decimal("9999")
    session.workshop.save()

    enrolment.refresh_from_db()
    assert enrolment.fee == FEE


def test_payment_references_are_read_however_they_were_typed():
    assert normalize_payment_reference("hdw k7m2 q9xp") == "HDW-K7M2-Q9XP"
    assert normalize_payment_reference("HDWK7M2Q9XP") == "HDW-K7M2-Q9XP"
    assert normalize_payment_reference("K7M2-Q9XP") == "HDW-K7M2-Q9XP"
    assert normalize_payment_reference("HDW-K7M2") == ""


# --- Payments -------------------------------------------------------------------------


@pytest.mark.django_db
def test_partial_payments_add_up_and_the_one_that_completes_the_fee_marks_the_place_paid_once():
    enrolment = register(fee_session(), 1, needs_visa_letter=False)

    recorded = pay(enrolment, "3000")
    assert recorded.enrolment.paid == Decimal("3000")
    assert recorded.enrolment.paid_at is None
    assert state(enrolment) == PlacePaymentState.AWAITING
    assert not Notification.objects.filter(enrolment=enrolment, kind=Kind.ENROLMENT_PAID).exists()

    recorded = pay(enrolment, "3800")
    assert recorded.enrolment.paid_at is not None
    assert state(enrolment) == PlacePaymentState.PAID
    assert "¥6,800.00" in message(enrolment, Kind.ENROLMENT_PAID).body_text

    pay(enrolment, "100")
    assert state(enrolment) == PlacePaymentState.OVERPAID
    assert Notification.objects.filter(enrolment=enrolment, kind=Kind.ENROLMENT_PAID).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "paid_on_days", "kind", "field"),
    [
        ("0", 0, PlacePayment.Kind.PAYMENT, "amount"),
        ("-5", 0, PlacePayment.Kind.PAYMENT, "amount"),
        ("100", 1, PlacePayment.Kind.PAYMENT, "paid_on"),
        ("100", -400, PlacePayment.Kind.PAYMENT, "paid_on"),
        ("100", 0, PlacePayment.Kind.REFUND, "amount"),  # nothing paid yet
    ],
)
def test_bad_payments_are_refused_with_the_field_and_nothing_is_saved(amount, paid_on_days, kind, field):
    enrolment = register(fee_session(), 1)

    with pytest.raises(services.EnrolmentError) as refused:
        pay(enrolment, amount, kind=kind, paid_on=timezone.localdate() + timedelta(days=paid_on_days))

    assert refused.value.field == field
    assert not PlacePayment.objects.exists()


@pytest.mark.django_db
def test_a_place_without_a_fee_takes_no_payment():
    enrolment = register(SessionFactory(), 1)

    with pytest.raises(services.EnrolmentError, match="no fee"):
        pay(enrolment, "100")


# --- Release to the waiting list ---------------------------------------------------------


@pytest.mark.django_db
def test_unpaid_places_are_released_the_day_after_the_deadline_to_the_waiting_list_in_order():
    session = fee_session(days_ahead=40, capacity=2)
    unpaid, paid = register(session, 1), register(session, 2)
    first, second, third = (register(session, n) for n in (3, 4, 5))
    assert first.status == Enrolment.Status.WAITLISTED
    pay(paid, FEE)
    pay(unpaid, "1000")  # part of it: not enough

    with time_machine.travel(at(unpaid.payment_due_on, 23), tick=False):
        assert services.place_release_unpaid() == []  # the deadline day is still the participant's

    release_day = unpaid.payment_due_on + timedelta(days=1)
    with time_machine.travel(at(release_day, 0), tick=False):
        released = services.place_release_unpaid()

    assert [e.pk for e in released] == [unpaid.pk]
    unpaid.refresh_from_db()
    for waiting in (first, second, third):
        waiting.refresh_from_db()
    assert third.status == Enrolment.Status.WAITLISTED
    assert unpaid.status == Enrolment.Status.CANCELLED
    assert unpaid.refund_percent == 100
    assert state(unpaid) == PlacePaymentState.REFUND_DUE  # the ¥1,000 comes back
    released_email = message(unpaid, Kind.ENROLMENT_RELEASED).body_text
    assert "¥1,000.00" in released_email
    assert first.status == Enrolment.Status.OFFERED  # the place is offered to the first in line
    assert second.status == Enrolment.Status.WAITLISTED
    assert "¥6,800.00" in message(first, Kind.ENROLMENT_OFFERED).body_text
    assert paid.status == Enrolment.Status.CONFIRMED
    # Accepted the next day, the place gets a deadline of its own, counted from then.
    with time_machine.travel(at(release_day + timedelta(days=1), 9), tick=False):
        first = services.enrolment_offer_accept(enrolment=first)
    assert first.status == Enrolment.Status.CONFIRMED
    assert first.payment_due_on == release_day + timedelta(days=8)
    assert first.payment_reference not in (None, unpaid.payment_reference)
    assert first.payment_reference in message(first, Kind.ENROLMENT_PROMOTED).body_text

    with time_machine.travel(at(release_day + timedelta(days=1), 10), tick=False):
        assert services.place_release_unpaid() == []
    assert Notification.objects.filter(kind=Kind.ENROLMENT_RELEASED).count() == 1


@pytest.mark.django_db
def test_the_sweep_releases_unpaid_places_and_reminds_the_day_before_once():
    session = fee_session(days_ahead=40, capacity=1)
    enrolment = register(session, 1)
    waiting = register(session, 2)

    with time_machine.travel(at(enrolment.payment_due_on - timedelta(days=2)), tick=False):
        assert tasks.sweep()["released"] == 0
    assert not Notification.objects.filter(kind=Kind.ENROLMENT_PAYMENT_DUE).exists()
    for hour in (9, 10):
        with time_machine.travel(at(enrolment.payment_due_on - timedelta(days=1), hour), tick=False):
            tasks.sweep()
    reminder = message(enrolment, Kind.ENROLMENT_PAYMENT_DUE)
    assert enrolment.payment_reference in reminder.body_text

    with time_machine.travel(at(enrolment.payment_due_on + timedelta(days=1), 0), tick=False):
        assert tasks.sweep()["released"] == 1
    waiting.refresh_from_db()
    assert waiting.status == Enrolment.Status.OFFERED


@pytest.mark.django_db
def test_a_place_paid_on_its_deadline_is_kept():
    session = fee_session(capacity=1)
    enrolment = register(session, 1)
    register(session, 2)

    with time_machine.travel(at(enrolment.payment_due_on, 16), tick=False):
        pay(enrolment, FEE)
    with time_machine.travel(at(enrolment.payment_due_on + timedelta(days=3)), tick=False):
        assert services.place_release_unpaid() == []

    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_release_a_place_once_and_offer_it_to_one_person():
    session = fee_session(capacity=1)
    unpaid = register(session, 1)
    waiting = [register(session, n) for n in (2, 3)]

    with time_machine.travel(at(unpaid.payment_due_on + timedelta(days=1)), tick=False):
        results = run_concurrently(2, lambda i: services.place_release_unpaid())

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(len(r) for r in results) == [0, 1]
    statuses = [Enrolment.objects.get(pk=e.pk).status for e in waiting]
    assert statuses == [Enrolment.Status.OFFERED, Enrolment.Status.WAITLISTED]
    assert Notification.objects.filter(kind=Kind.ENROLMENT_OFFERED).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))  # a narrow race: a few rounds make a deadlock show
def test_a_payment_recorded_as_the_sweep_releases_the_place_is_never_lost(round_):
    session = fee_session(capacity=1)
    unpaid = register(session, 1)
    register(session, 2)
    desk = StaffFactory()

    def work(i: int):
        if i == 0:
            return services.place_release_unpaid()
        return pay(unpaid, FEE, by=desk)

    with time_machine.travel(at(unpaid.payment_due_on + timedelta(days=1)), tick=False):
        results = run_concurrently(2, work)

    assert not [r for r in results if isinstance(r, Exception)], results
    unpaid.refresh_from_db()
    assert PlacePayment.objects.filter(enrolment=unpaid).count() == 1
    if unpaid.status == Enrolment.Status.CONFIRMED:  # the payment came first
        assert unpaid.paid_at is not None
        assert state(unpaid) == PlacePaymentState.PAID
    else:  # the release came first: the money is owed back in full, the place offered on
        assert state(unpaid) == PlacePaymentState.REFUND_DUE
        assert Enrolment.objects.filter(session=session, status=Enrolment.Status.OFFERED).count() == 1


@pytest.mark.django_db
def test_money_arriving_after_the_release_is_recorded_and_owed_back():
    session = fee_session(capacity=1)
    unpaid = register(session, 1)
    waiting = register(session, 2)

    with time_machine.travel(at(unpaid.payment_due_on + timedelta(days=1)), tick=False):
        services.place_release_unpaid()
        pay(unpaid, FEE)

    assert state(unpaid) == PlacePaymentState.REFUND_DUE
    assert Enrolment.objects.get(pk=waiting.pk).status == Enrolment.Status.OFFERED


# --- Cancelling and refunds -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("days_ahead", "percent", "refund"), [(40, 100, "6,800.00"), (20, 50, "3,400.00")])
def test_a_participant_who_cancels_after_paying_is_refunded_by_the_policy(days_ahead, percent, refund):
    enrolment = register(fee_session(days_ahead=days_ahead), 1)
    pay(enrolment, FEE)

    services.enrolment_cancel(enrolment=enrolment)

    enrolment.refresh_from_db()
    assert enrolment.refund_percent == percent
    assert state(enrolment) == PlacePaymentState.REFUND_DUE
    assert f"¥{refund}" in message(enrolment, Kind.ENROLMENT_CANCELLED).body_text

    pay(enrolment, refund.replace(",", ""), kind=PlacePayment.Kind.REFUND)
    assert state(enrolment) == PlacePaymentState.SETTLED


@pytest.mark.django_db
def test_cancelling_in_the_last_two_weeks_refunds_nothing_and_a_called_off_session_refunds_all():
    late = register(fee_session(days_ahead=10), 1)
    pay(late, FEE)
    services.enrolment_cancel(enrolment=late)
    assert state(late) == PlacePaymentState.SETTLED

    called_off = register(fee_session(days_ahead=10), 2)
    pay(called_off, FEE)
    services.session_cancel(session=called_off.session)
    called_off.refresh_from_db()
    assert called_off.refund_percent == 100
    assert state(called_off) == PlacePaymentState.REFUND_DUE


# --- Letters ----------------------------------------------------------------------------


def _with_passport() -> dict:
    today = timezone.localdate()
    return {
        "needs_visa_letter": True,
        "passport_number": "G12345678",
        "passport_expiry": today + timedelta(days=3000),
        "date_of_birth": today - timedelta(days=12000),
    }


@pytest.mark.django_db
def test_a_visa_letter_is_issued_only_for_a_paid_place(private_storage):
    enrolment = register(fee_session(), 1, **_with_passport())
    visa = StaffFactory()

    with pytest.raises(services.EnrolmentError, match="not paid the fee"):
        services.invitation_letter_issue(enrolment=enrolment, by=visa)

    pay(enrolment, FEE)
    letter = services.invitation_letter_issue(enrolment=enrolment, by=visa)
    assert letter.enrolment_id == enrolment.pk


@pytest.mark.django_db
def test_letters_for_unpaid_places_can_be_allowed(private_storage, settings):
    settings.WORKSHOP_LETTER_NEEDS_PAYMENT = False
    enrolment = register(fee_session(), 1, **_with_passport())

    assert services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())


# --- Pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_manage_page_shows_what_to_pay_and_then_that_it_is_paid(client):
    enrolment = register(fee_session(), 1)

    page = client.get(enrolment.get_absolute_url()).text
    assert "Awaiting payment" in page
    assert enrolment.payment_reference in page
    assert "¥6,800.00" in page

    pay(enrolment, FEE)
    page = client.get(enrolment.get_absolute_url()).text
    assert "Awaiting payment" not in page
    assert "was paid in full" in page


@pytest.mark.django_db
def test_the_cancel_page_says_what_comes_back(client):
    enrolment = register(fee_session(days_ahead=20), 1)
    pay(enrolment, FEE)

    page = client.get(reverse("workshops:cancel", args=[enrolment.manage_token])).text

    assert "¥3,400.00 is paid back to you" in page


@pytest.mark.django_db
def test_the_workshop_desk_records_a_payment_by_the_reference_typed_loosely(client):
    from hengdian.roles import WORKSHOP_DESK

    enrolment = register(fee_session(), 1)
    desk = StaffMemberFactory(roles=[WORKSHOP_DESK])
    login_staff(client, desk)
    url = reverse("admin:workshops_placepayment_add")
    typed = enrolment.payment_reference.lower().replace("-", " ")
    data = {
        "reference": typed,
        "kind": "payment",
        "amount": "6800",
        "paid_on": f"{timezone.localdate():%Y-%m-%d}",
        "method": "bank_transfer",
        "payer_reference": "BOC 2026112900123",
        "note": "",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:workshops_enrolment_change", args=[enrolment.pk])
    payment = PlacePayment.objects.get()
    assert (payment.enrolment_id, payment.amount, payment.recorded_by_id) == (enrolment.pk, FEE, desk.pk)
    assert state(enrolment) == PlacePaymentState.PAID


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"reference": "HDW-2222-2222"}, "reference", "No place has this payment reference"),
        ({"amount": "0"}, "amount", "above zero"),
        ({"amount": "abc"}, "amount", "Enter a number"),
        ({"paid_on": "2999-01-01"}, "paid_on", "cannot be in the future"),
        ({"kind": "refund"}, "amount", "no more can be refunded"),
    ],
)
def test_bad_input_on_the_payment_page_is_shown_next_to_the_field_and_nothing_is_saved(
    client, change, field, text
):
    from hengdian.roles import WORKSHOP_DESK

    enrolment = register(fee_session(), 1)
    login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))
    data = {
        "reference": enrolment.payment_reference,
        "kind": "payment",
        "amount": "6800",
        "paid_on": f"{timezone.localdate():%Y-%m-%d}",
        "method": "bank_transfer",
        **change,
    }

    response = client.post(reverse("admin:workshops_placepayment_add"), data)

    assert response.status_code == 400
    assert text in " ".join(response.context["form"].errors.get(field, []))
    assert not PlacePayment.objects.exists()


@pytest.mark.django_db
def test_only_the_workshop_desk_records_place_payments(client):
    from hengdian.roles import VIEWER, VISA_OFFICER

    for role in (VIEWER, VISA_OFFICER):
        login_staff(client, StaffMemberFactory(roles=[role]))
        assert client.get(reverse("admin:workshops_placepayment_add")).status_code == 403


@pytest.mark.django_db
def test_the_enrolment_list_filters_by_fee_state_in_a_fixed_number_of_queries(
    client, django_assert_max_num_queries
):
    from hengdian.roles import WORKSHOP_DESK

    session = fee_session(capacity=10)
    awaiting = [register(session, n) for n in range(3)]
    pay(awaiting[0], FEE)
    login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))
    url = reverse("admin:workshops_enrolment_changelist")

    page = client.get(url, {"fee": "awaiting"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list.values_list("pk", flat=True).order_by("pk")) == [
        e.pk for e in awaiting[1:]
    ]
    paid = client.get(url, {"fee": "paid"})
    assert [e.pk for e in paid.context["cl"].result_list] == [awaiting[0].pk]

    for n in range(3, 8):
        pay(register(session, n), "100")
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_place_payments_export_for_accounting_with_refunds_negative(client, django_assert_max_num_queries):
    from hengdian.roles import VIEWER

    enrolment = register(fee_session(days_ahead=40), 1, full_name="=HYPERLINK(1)")
    pay(enrolment, FEE)
    services.enrolment_cancel(enrolment=enrolment)
    pay(enrolment, FEE, kind=PlacePayment.Kind.REFUND)
    for n in range(2, 6):
        pay(register(fee_session(), n), "100")
    login_staff(client, StaffMemberFactory(roles=[VIEWER]))

    with django_assert_max_num_queries(15):
        response = client.post(
            reverse("admin:workshops_placepayment_changelist"),
            {
                "action": "export_csv",
                "_selected_action": list(PlacePayment.objects.values_list("pk", flat=True)),
            },
        )

    text = response.content.decode("utf-8-sig")
    rows = [line.split(",") for line in text.strip().splitlines()]
    assert rows[0][:3] == ["Entry", "Date", "Payment reference"]
    amounts = sorted(row[5] for row in rows[1:])
    assert amounts == sorted(["6800.00", "-6800.00", "100.00", "100.00", "100.00", "100.00"])
    assert "'=HYPERLINK(1)" in text
