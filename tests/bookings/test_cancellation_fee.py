"""Cancelling a confirmed booking costs a share of its quote, by how close the first shoot day is."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from bookings import services
from bookings.fees import cancellation_fee, fee_policy
from bookings.models import Booking, Notification

from ..factories import StudioSetFactory
from .test_booking_request import days_from_now

Kind = Notification.Kind
TIERS = ((14, 0), (7, 30), (0, 60))
FIRST_DAY = date(2030, 3, 20)


@pytest.mark.parametrize(
    "days_before, percent, amount",
    [
        (30, 0, "0.00"),
        (14, 0, "0.00"),
        (13, 30, "900.00"),
        (7, 30, "900.00"),
        (6, 60, "1800.00"),
        (1, 60, "1800.00"),
    ],
)
def test_the_fee_follows_the_tiers_at_their_boundaries(days_before, percent, amount):
    fee = cancellation_fee(
        quote_total=Decimal("3000.00"),
        start_date=FIRST_DAY,
        today=FIRST_DAY - timedelta(days=days_before),
        tiers=TIERS,
    )

    assert (fee.percent, fee.amount, fee.days_before) == (percent, Decimal(amount), days_before)


def test_the_fee_is_rounded_to_the_fen_and_a_request_costs_nothing():
    fee = cancellation_fee(quote_total=Decimal("333.33"), start_date=FIRST_DAY, today=FIRST_DAY, tiers=TIERS)
    request = cancellation_fee(
        quote_total=Decimal("333.33"), start_date=FIRST_DAY, today=FIRST_DAY, tiers=TIERS, confirmed=False
    )

    assert fee.amount == Decimal("200.00")  # 60 % of 333.33 = 199.998
    assert fee.amount.as_tuple().exponent == -2
    assert (request.percent, request.amount) == (0, Decimal("0.00"))


def test_the_policy_reads_as_day_ranges_with_todays_tier_marked():
    rows = fee_policy(TIERS, days_before=9)

    assert [(r.min_days, r.max_days, r.percent, r.current) for r in rows] == [
        (14, None, 0, False),
        (7, 13, 30, True),
        (0, 6, 60, False),
    ]


# --- Stored with the cancellation -----------------------------------------------------------


@pytest.fixture
def confirmed(crew_owner, staff_admin, settings):
    """A confirmed booking of 3 days at ¥10,000 a day, starting ``days`` from today."""
    settings.CANCELLATION_FEE_TIERS = TIERS

    def make(days: int) -> Booking:
        booking = services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(daily_rate=Decimal("10000.00")),
            days=days_from_now(days, 3),
            by=crew_owner,
        )
        return services.booking_confirm(booking=booking, by=staff_admin)

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(
    "days, percent, amount", [(14, 0, "0.00"), (13, 30, "9000.00"), (7, 30, "9000.00"), (6, 60, "18000.00")]
)
def test_a_crew_cancellation_stores_and_emails_the_fee(confirmed, crew_owner, days, percent, amount):
    booking = confirmed(days)

    services.booking_cancel(booking=booking, by=crew_owner, reason="Lead actor ill")

    booking.refresh_from_db()
    assert (booking.cancellation_fee_percent, booking.cancellation_fee) == (percent, Decimal(amount))
    assert booking.cancellation_fee_waived is False
    body = Notification.objects.get(
        booking=booking, kind=Kind.BOOKING_CANCELLED, recipient=crew_owner.email
    ).body_text
    if percent:
        assert f"Cancellation fee: ¥{Decimal(amount):,.2f} ({percent} % of the quoted total)" in body
    else:
        assert "Cancellation fee: No fee" in body
    assert "Reason: Lead actor ill" in body


@pytest.mark.django_db
def test_withdrawing_a_request_costs_nothing(crew_owner, settings):
    settings.CANCELLATION_FEE_TIERS = TIERS
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(2, 3), by=crew_owner
    )

    services.booking_cancel(booking=booking, by=crew_owner)

    booking.refresh_from_db()
    assert (booking.cancellation_fee_percent, booking.cancellation_fee) == (0, Decimal("0.00"))


@pytest.mark.django_db
def test_the_desk_may_waive_the_fee_with_a_reason(confirmed, staff_admin, crew_owner):
    booking = confirmed(3)

    with pytest.raises(services.BookingError) as refused:
        services.booking_cancel(booking=booking, by=staff_admin, reason="Set flooded", waive_fee=True)
    assert refused.value.field == "waiver_reason"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED

    services.booking_cancel(
        booking=booking, by=staff_admin, reason="Set flooded", waive_fee=True, waiver_reason="Our fault"
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert (booking.cancellation_fee, booking.cancellation_fee_percent) == (Decimal("0.00"), 60)
    assert booking.cancellation_fee_waived is True
    assert booking.cancellation_fee_waived_by == staff_admin
    assert booking.cancellation_fee_waiver_reason == "Our fault"
    body = Notification.objects.get(
        booking=booking, kind=Kind.BOOKING_CANCELLED, recipient=crew_owner.email
    ).body_text
    assert "Cancellation fee: Waived by the booking desk: Our fault" in body


@pytest.mark.django_db
def test_a_crew_cannot_waive_its_own_fee(confirmed, crew_owner):
    booking = confirmed(3)

    with pytest.raises(services.BookingError):
        services.booking_cancel(booking=booking, by=crew_owner, waive_fee=True, waiver_reason="Please")

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [
        {"cancellation_fee": Decimal("-1.00")},
        {"cancellation_fee_percent": 101},
        {"cancellation_fee_waived": True, "cancellation_fee": Decimal("5.00")},
    ],
)
def test_the_database_refuses_impossible_fees(confirmed, values):
    booking = confirmed(20)

    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.filter(pk=booking.pk).update(**values)


# --- The crew's cancel page ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_cancel_page_shows_the_fee_before_the_crew_confirms(confirmed, owner_client, other_crew_member):
    booking = confirmed(6)
    url = reverse("bookings:cancel", args=[booking.reference])

    page = owner_client.get(url)

    assert page.status_code == 200
    html = page.text
    assert "60 % of the quoted total ¥30,000.00, that is <strong>¥18,000.00</strong>" in html
    assert "Yes, cancel it and pay ¥18,000.00" in html
    assert 'name="fee_percent" value="60"' in html
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED  # looking changes nothing
    owner_client.force_login(other_crew_member)
    assert owner_client.get(url).status_code == 404


@pytest.mark.django_db
def test_cancelling_from_the_page_stores_the_fee_and_shows_it_on_the_booking(confirmed, owner_client):
    booking = confirmed(10)
    url = reverse("bookings:cancel", args=[booking.reference])

    response = owner_client.post(url, {"fee_percent": "30", "reason": "Script rewrite"}, follow=True)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert (booking.cancellation_fee, booking.cancellation_reason) == (Decimal("9000.00"), "Script rewrite")
    assert "¥9,000.00 (30 % of the quoted total)" in response.text
    assert "Script rewrite" in response.text


@pytest.mark.django_db
def test_a_fee_that_changed_since_the_page_was_shown_is_not_charged(confirmed, owner_client):
    booking = confirmed(6)  # 60 % today; the page was opened when it was 30 %
    url = reverse("bookings:cancel", args=[booking.reference])

    response = owner_client.post(url, {"fee_percent": "30"}, follow=True)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert "The cancellation fee is now 60% of the quoted total" in response.text
    assert response.redirect_chain[-1][0] == url


@pytest.mark.django_db
def test_the_fee_counts_days_on_the_studios_calendar(confirmed, crew_owner, time_machine):
    booking = confirmed(8)
    # 00:30 in Shanghai, six studio days before the first shoot day, is still the day before in UTC.
    time_machine.move_to(
        datetime.combine(
            booking.start_date - timedelta(days=6), time(0, 30), tzinfo=ZoneInfo("Asia/Shanghai")
        )
    )

    services.booking_cancel(booking=booking, by=crew_owner)

    booking.refresh_from_db()
    assert booking.cancellation_fee_percent == 60


# --- The desk's cancel page ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_desk_sees_the_fee_and_waiving_needs_a_reason(confirmed, staff_client):
    booking = confirmed(6)
    url = reverse("admin:bookings_booking_cancel", args=[booking.pk])

    page = staff_client.get(url)
    refused = staff_client.post(url, {"reason": "Set flooded", "waive_fee": "on", "waiver_reason": ""})
    done = staff_client.post(url, {"reason": "Set flooded", "waive_fee": "on", "waiver_reason": "Our fault"})

    assert "a fee of ¥18,000.00 (60 % of the quoted total)" in page.text
    assert 'name="waive_fee"' in page.text
    assert refused.status_code == 400
    assert refused.context["form"].errors == {"waiver_reason": ["Say why the fee is waived."]}
    assert done.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.cancellation_fee, booking.cancellation_fee_waived) == (
        Booking.Status.CANCELLED,
        Decimal("0.00"),
        True,
    )
