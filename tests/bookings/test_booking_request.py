from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from bookings import services
from bookings.models import Blackout, Booking, BookingItem, DayRange, ShootPlan
from bookings.services import BookingError, ItemRequest, SetRequest

from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory
from .helpers import run_concurrently


def days_from_now(start: int, length: int) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


@pytest.mark.django_db
def test_request_holds_the_set_and_stores_the_quote(crew_owner, settings):
    studio_set = StudioSetFactory(daily_rate=Decimal("10000"))
    camera = EquipmentFactory(daily_rate=Decimal("1200"), stock=5)

    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=studio_set,
        days=days_from_now(3, 7),
        items=[ItemRequest(camera, 2)],
        by=crew_owner,
    )

    assert booking.status == Booking.Status.REQUESTED
    assert booking.reference.startswith("HD-") and len(booking.reference) == 9
    assert booking.quote_total == Decimal("10000") * 7 + Decimal("1200") * 2 * 7
    assert [line["amount"] for line in booking.quote_lines] == ["70000.00", "16800.00"]
    hold = booking.hold_expires_at - timezone.now()
    assert (
        timedelta(hours=settings.BOOKING_HOLD_HOURS - 1)
        < hold
        <= timedelta(hours=settings.BOOKING_HOLD_HOURS)
    )
    item = booking.items.get()
    assert (item.quantity, item.daily_rate) == (2, Decimal("1200"))

    # A later rate change does not alter the stored quote.
    studio_set.daily_rate = Decimal("99999")
    studio_set.save()
    booking.refresh_from_db()
    assert booking.quote_total == Decimal("86800.00")


@pytest.mark.django_db
def test_second_crew_cannot_book_overlapping_days(crew_owner, other_crew_member):
    studio_set = StudioSetFactory()
    services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(5, 7), by=crew_owner
    )

    with pytest.raises(BookingError) as err:
        services.booking_request(
            crew=other_crew_member.crew,
            studio_set=studio_set,
            days=days_from_now(10, 7),
            by=other_crew_member,
        )
    first_day = days_from_now(5, 7).start
    assert f"{first_day:%Y-%m-%d}" in str(err.value)
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_changeover_day_is_refused_and_the_day_after_is_accepted(crew_owner, other_crew_member):
    studio_set = StudioSetFactory(changeover_days=1)
    first = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(5, 3), by=crew_owner
    )
    changeover_day = first.end_date + timedelta(days=1)

    with pytest.raises(BookingError, match="changeover"):
        services.booking_request(
            crew=other_crew_member.crew,
            studio_set=studio_set,
            days=DayRange(changeover_day, changeover_day + timedelta(days=2)),
            by=other_crew_member,
        )
    second = services.booking_request(
        crew=other_crew_member.crew,
        studio_set=studio_set,
        days=DayRange(changeover_day + timedelta(days=1), changeover_day + timedelta(days=3)),
        by=other_crew_member,
    )
    assert second.status == Booking.Status.REQUESTED
    # A booking ending right before an existing one also needs its changeover day.
    with pytest.raises(BookingError):
        services.booking_request(
            crew=other_crew_member.crew,
            studio_set=studio_set,
            days=DayRange(first.start_date - timedelta(days=2), first.start_date - timedelta(days=1)),
            by=other_crew_member,
        )


@pytest.mark.django_db
def test_equipment_is_checked_per_day_not_summed_over_the_range(crew_owner):
    camera = EquipmentFactory(stock=3)
    # 3 units on days 1-2 and 3 units on days 3-4: never more than 3 on one day.
    for start in (1, 3):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(start, 2),
            items=[ItemRequest(camera, 3)],
            by=crew_owner,
        )
    Blackout.objects.create(
        equipment=camera, units=1, start_date=days_from_now(6, 1).start, end_date=days_from_now(6, 1).start
    )
    with pytest.raises(BookingError) as err:
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(2, 6),
            items=[ItemRequest(camera, 1)],
            by=crew_owner,
        )
    text = str(err.value)
    for short_day in (2, 3, 4):
        assert f"{days_from_now(short_day, 1).start:%Y-%m-%d}: 1 short" in text
    assert f"{days_from_now(5, 1).start:%Y-%m-%d}" not in text
    # Day 6 has 2 of 3 units left after the blackout: a request for 2 fits.
    services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(5, 2),
        items=[ItemRequest(camera, 2)],
        by=crew_owner,
    )


@pytest.mark.django_db
def test_set_blackout_refuses_a_booking(crew_owner):
    studio_set = StudioSetFactory()
    day = days_from_now(8, 1).start
    Blackout.objects.create(studio_set=studio_set, start_date=day, end_date=day, reason="studio_event")
    with pytest.raises(BookingError, match="closed"):
        services.booking_request(
            crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(5, 7), by=crew_owner
        )
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_shoot_plan_whose_second_set_clashes_creates_nothing(crew_owner, other_crew_member):
    palace, street = StudioSetFactory(), StudioSetFactory()
    camera = EquipmentFactory(stock=5)
    services.booking_request(
        crew=other_crew_member.crew, studio_set=street, days=days_from_now(10, 2), by=other_crew_member
    )
    before = (Booking.objects.count(), BookingItem.objects.count(), ShootPlan.objects.count())

    with pytest.raises(BookingError, match=street.name):
        services.shoot_plan_request(
            crew=crew_owner.crew,
            parts=[
                SetRequest(palace, days_from_now(7, 3), [ItemRequest(camera, 2)]),
                SetRequest(street, days_from_now(10, 4), [ItemRequest(camera, 2)]),
            ],
            by=crew_owner,
        )
    assert (Booking.objects.count(), BookingItem.objects.count(), ShootPlan.objects.count()) == before


@pytest.mark.django_db
def test_shoot_plan_books_several_sets_together(crew_owner):
    palace, street = StudioSetFactory(), StudioSetFactory()
    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[SetRequest(palace, days_from_now(7, 3)), SetRequest(street, days_from_now(10, 4))],
        by=crew_owner,
    )
    assert sorted(b.studio_set_id for b in plan.bookings.all()) == sorted([palace.pk, street.pk])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "length", "message"),
    [(-1, 3, "past"), (2, 31, "at most 30"), (360, 10, "up to")],
)
def test_calendar_rules_are_enforced_by_the_service(crew_owner, start, length, message):
    with pytest.raises(BookingError, match=message):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(start, length),
            by=crew_owner,
        )
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_end_before_start_and_zero_quantity_are_refused(crew_owner):
    today = timezone.localdate()
    with pytest.raises(BookingError, match="before the first"):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=DayRange(today + timedelta(days=5), today + timedelta(days=4)),
            by=crew_owner,
        )
    with pytest.raises(BookingError, match="at least 1"):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(5, 2),
            items=[ItemRequest(EquipmentFactory(), 0)],
            by=crew_owner,
        )
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_inactive_set_or_equipment_cannot_be_booked(crew_owner):
    with pytest.raises(BookingError, match="not open"):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(is_active=False),
            days=days_from_now(5, 2),
            by=crew_owner,
        )
    with pytest.raises(BookingError, match="cannot be booked"):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(5, 2),
            items=[ItemRequest(EquipmentFactory(is_active=False), 1)],
            by=crew_owner,
        )
    assert not Booking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_for_one_set_make_exactly_one_booking():
    studio_set = StudioSetFactory(changeover_days=1)
    owners = [CrewOwnerFactory() for _ in range(20)]

    def attempt(i: int):
        return services.booking_request(
            crew=owners[i].crew, studio_set=studio_set, days=days_from_now(5 + i % 3, 7), by=owners[i]
        )

    results = run_concurrently(20, attempt)

    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, BookingError)]
    assert len(booked) == 1, results
    assert len(refused) == 19, results
    assert Booking.objects.filter(studio_set=studio_set).count() == 1


@pytest.mark.django_db(transaction=True)
def test_stock_of_three_and_ten_concurrent_requests_for_one_unit_give_three():
    camera = EquipmentFactory(stock=3)
    owners = [CrewOwnerFactory() for _ in range(10)]
    sets = [StudioSetFactory() for _ in range(10)]

    def attempt(i: int):
        return services.booking_request(
            crew=owners[i].crew,
            studio_set=sets[i],
            days=days_from_now(5, 7),
            items=[ItemRequest(camera, 1)],
            by=owners[i],
        )

    results = run_concurrently(10, attempt)

    assert sum(isinstance(r, Booking) for r in results) == 3, results
    assert sum(isinstance(r, BookingError) for r in results) == 7, results
    assert sum(BookingItem.objects.filter(equipment=camera).values_list("quantity", flat=True)) == 3


@pytest.mark.django_db
def test_cancel_frees_the_days_at_once_and_keeps_the_record(crew_owner, crew_member, other_crew_member):
    studio_set = StudioSetFactory()
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(5, 7), by=crew_owner
    )
    with pytest.raises(BookingError):
        services.booking_cancel(booking=booking, by=other_crew_member)

    services.booking_cancel(booking=booking, by=crew_member)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    services.booking_request(
        crew=other_crew_member.crew, studio_set=studio_set, days=days_from_now(5, 7), by=other_crew_member
    )
    with pytest.raises(BookingError, match="cancelled"):
        services.booking_cancel(booking=booking, by=crew_member)


@pytest.mark.django_db
def test_cannot_cancel_on_or_after_the_first_shoot_day(crew_owner):
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(2, 3), by=crew_owner
    )
    with (
        time_machine.travel(timezone.now() + timedelta(days=2)),
        pytest.raises(BookingError, match="started"),
    ):
        services.booking_cancel(booking=booking, by=crew_owner)


@pytest.mark.django_db
def test_confirm_and_reject_follow_the_lifecycle(crew_owner, staff_admin):
    a = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(5, 2), by=crew_owner
    )
    b = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(5, 2), by=crew_owner
    )
    assert services.booking_confirm(booking=a, by=staff_admin).status == Booking.Status.CONFIRMED
    assert (
        services.booking_reject(booking=b, by=staff_admin, reason="Not available").status
        == Booking.Status.REJECTED
    )
    with pytest.raises(BookingError, match="confirmed"):
        services.booking_reject(booking=a, by=staff_admin, reason="Not available")
    with pytest.raises(BookingError, match="rejected"):
        services.booking_confirm(booking=b, by=staff_admin)


@pytest.mark.django_db
def test_stale_holds_expire_and_free_the_set(crew_owner, other_crew_member, staff_admin, settings):
    studio_set = StudioSetFactory()
    stale = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(9, 3), by=crew_owner
    )
    fresh_set = StudioSetFactory()
    with time_machine.travel(timezone.now() + timedelta(hours=settings.BOOKING_HOLD_HOURS - 1)):
        fresh = services.booking_request(
            crew=crew_owner.crew, studio_set=fresh_set, days=days_from_now(9, 3), by=crew_owner
        )
    later = timezone.now() + timedelta(hours=settings.BOOKING_HOLD_HOURS, minutes=1)

    with time_machine.travel(later):
        assert services.booking_expire_stale_holds() == [stale.pk]
        assert services.booking_expire_stale_holds() == []
        with pytest.raises(BookingError, match="expired"):
            services.booking_confirm(booking=stale, by=staff_admin)
        services.booking_request(
            crew=other_crew_member.crew, studio_set=studio_set, days=days_from_now(9, 3), by=other_crew_member
        )
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == Booking.Status.EXPIRED
    assert fresh.status == Booking.Status.REQUESTED


@pytest.mark.django_db
def test_finished_confirmed_bookings_become_completed(crew_owner, staff_admin):
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(1, 2), by=crew_owner
    )
    services.booking_confirm(booking=booking, by=staff_admin)
    assert services.booking_complete_finished() == 0
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert services.booking_complete_finished() == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.COMPLETED


@pytest.mark.django_db
def test_postgresql_itself_refuses_overlapping_active_bookings(crew_owner):
    from django.db import IntegrityError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL; SQLite relies on IMMEDIATE transactions")
    studio_set = StudioSetFactory(changeover_days=1)
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(5, 3), by=crew_owner
    )
    # Bypass the service on purpose: write a clashing row straight to the table.
    clash = Booking(
        plan=booking.plan,
        crew=booking.crew,
        studio_set=studio_set,
        start_date=booking.blocked_until,
        end_date=booking.blocked_until,
        blocked_until=booking.blocked_until,
        quote_total=0,
        created_by=crew_owner,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    clash.status = Booking.Status.CANCELLED
    clash.reference = "HD-CANCEL"
    clash.pk = None
    clash.save()  # inactive rows do not count
