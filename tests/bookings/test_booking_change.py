"""Changing a booking: in place while requested, held beside it while confirmed, raced both ways."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from bookings import services
from bookings.models import Booking, DayRange, Notification
from bookings.services import BookingChange, BookingError, ItemRequest
from hengdian.roles import BOOKING_DESK, VIEWER

from ..factories import CrewOwnerFactory, EquipmentFactory, StaffMemberFactory, StudioSetFactory
from .helpers import run_concurrently

Kind = Notification.Kind


def days_from_now(start: int, length: int) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


def shifted(days: DayRange, by: int) -> DayRange:
    return DayRange(days.start + timedelta(days=by), days.end + timedelta(days=by))


@pytest.fixture
def desk(db):
    return StaffMemberFactory(roles=[BOOKING_DESK])


def _confirmed(owner, studio_set, days, items=(), *, desk):
    booking = services.booking_request(
        crew=owner.crew, studio_set=studio_set, days=days, items=items, by=owner
    )
    return services.booking_confirm(booking=booking, by=desk)


@pytest.mark.django_db
def test_requested_booking_moves_by_a_day_in_place_keeping_its_hold(crew_owner, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    studio_set = StudioSetFactory(daily_rate=Decimal("1000"), changeover_days=1)
    camera = EquipmentFactory(daily_rate=Decimal("100"), stock=4)
    days = days_from_now(10, 5)
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days, items=[ItemRequest(camera, 2)], by=crew_owner
    )
    hold = booking.hold_expires_at
    camera.daily_rate = Decimal("150")  # today's rate applies to the change
    camera.save()

    changed = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, shifted(days, 1), [ItemRequest(camera, 3)], "night shoot"),
        by=crew_owner,
    )

    assert changed.pk == booking.pk and changed.status == Booking.Status.REQUESTED
    assert (changed.start_date, changed.end_date) == (days.start + timedelta(1), days.end + timedelta(1))
    assert changed.blocked_until == days.end + timedelta(2)
    assert changed.hold_expires_at == hold
    assert changed.previous_quote_total == Decimal("5000") + Decimal("1000")
    assert changed.quote_total == Decimal("5000") + Decimal("150") * 3 * 5
    assert list(changed.items.values_list("quantity", "daily_rate")) == [(3, Decimal("150"))]
    assert changed.notes == "night shoot"
    assert Booking.objects.count() == 1
    sent = Notification.objects.filter(kind=Kind.BOOKING_CHANGED)
    assert {n.recipient for n in sent} == {crew_owner.email, "desk@hengdian.example"}


@pytest.mark.django_db
def test_confirmed_booking_keeps_its_days_while_the_change_is_held_beside_it(crew_owner, desk, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 5)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)

    change = services.booking_change(
        booking=booking, change=BookingChange(studio_set, shifted(days, 1)), by=crew_owner
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert (booking.start_date, booking.end_date) == (days.start, days.end)
    assert change.status == Booking.Status.CHANGE and change.change_of == booking
    # Both the old days and the new one are kept from other crews.
    other = CrewOwnerFactory()
    for blocked in (
        DayRange(days.start, days.start),
        DayRange(days.end + timedelta(1), days.end + timedelta(1)),
    ):
        with pytest.raises(BookingError):
            services.booking_request(crew=other.crew, studio_set=studio_set, days=blocked, by=other)
    assert {n.recipient for n in Notification.objects.filter(kind=Kind.BOOKING_CHANGE_REQUESTED)} == {
        crew_owner.email,
        "desk@hengdian.example",
    }
    # The crew's list shows one booking, not the change as a second one.
    assert list(Booking.objects.for_user(crew_owner).bookings()) == [booking]


@pytest.mark.django_db
def test_approving_swaps_the_change_in_and_frees_the_old_day(crew_owner, desk):
    studio_set = StudioSetFactory(changeover_days=0)
    camera = EquipmentFactory(stock=2)
    days = days_from_now(10, 5)
    booking = _confirmed(crew_owner, studio_set, days, [ItemRequest(camera, 1)], desk=desk)
    change = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, shifted(days, 1), [ItemRequest(camera, 2)]),
        by=crew_owner,
    )

    services.booking_change_approve(change=change, by=desk, reason="Set free that week")

    booking.refresh_from_db()
    change.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert (booking.start_date, booking.end_date) == (days.start + timedelta(1), days.end + timedelta(1))
    assert list(booking.items.values_list("quantity", flat=True)) == [2]
    assert booking.quote_total == change.quote_total and booking.previous_quote_total is not None
    assert change.status == Booking.Status.CHANGE_APPROVED and change.change_reason == "Set free that week"
    # The old first day is free again; the camera units are held once, not twice.
    other = CrewOwnerFactory()
    services.booking_request(
        crew=other.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(days.start, days.end),
        items=[],
        by=other,
    )
    free = DayRange(days.start, days.start)
    services.booking_request(crew=other.crew, studio_set=studio_set, days=free, by=other)
    with pytest.raises(BookingError):
        services.booking_request(
            crew=other.crew,
            studio_set=StudioSetFactory(),
            days=shifted(days, 1),
            items=[ItemRequest(camera, 1)],
            by=other,
        )
    approved = Notification.objects.get(kind=Kind.BOOKING_CHANGE_APPROVED, recipient=crew_owner.email)
    assert "Set free that week" in approved.body_text and booking.reference in approved.subject


@pytest.mark.django_db
def test_refusing_releases_the_change_and_leaves_the_booking_untouched(crew_owner, desk):
    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 5)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    change = services.booking_change(
        booking=booking, change=BookingChange(studio_set, shifted(days, 2)), by=crew_owner
    )
    with pytest.raises(BookingError) as no_reason:
        services.booking_change_refuse(change=change, by=desk, reason="  ")
    assert no_reason.value.field == "reason"

    services.booking_change_refuse(change=change, by=desk, reason="Another crew's rig day")

    booking.refresh_from_db()
    assert (booking.start_date, booking.end_date, booking.status) == (days.start, days.end, "confirmed")
    other = CrewOwnerFactory()
    extra = DayRange(days.end + timedelta(1), days.end + timedelta(2))
    assert services.booking_request(crew=other.crew, studio_set=studio_set, days=extra, by=other).pk
    refused = Notification.objects.get(kind=Kind.BOOKING_CHANGE_REFUSED, recipient=crew_owner.email)
    assert "Another crew's rig day" in refused.body_text


@pytest.mark.django_db
def test_a_change_that_clashes_is_refused_and_leaves_the_original_untouched(crew_owner, desk):
    studio_set = StudioSetFactory(changeover_days=1)
    camera = EquipmentFactory(stock=3)
    days = days_from_now(10, 5)
    booking = _confirmed(crew_owner, studio_set, days, [ItemRequest(camera, 1)], desk=desk)
    other = CrewOwnerFactory()
    services.booking_request(crew=other.crew, studio_set=studio_set, days=shifted(days, 7), by=other)
    services.booking_request(
        crew=other.crew, studio_set=StudioSetFactory(), days=days, items=[ItemRequest(camera, 2)], by=other
    )

    with pytest.raises(BookingError, match="already taken"):
        services.booking_change(
            booking=booking, change=BookingChange(studio_set, shifted(days, 2)), by=crew_owner
        )
    with pytest.raises(BookingError, match="Not enough") as short:
        services.booking_change(
            booking=booking, change=BookingChange(studio_set, days, [ItemRequest(camera, 2)]), by=crew_owner
        )
    assert short.value.field == "items"

    booking.refresh_from_db()
    assert (booking.start_date, booking.end_date) == (days.start, days.end)
    assert list(booking.items.values_list("quantity", flat=True)) == [1]
    assert not Booking.objects.filter(change_of=booking).exists()


@pytest.mark.django_db
def test_own_days_and_units_count_as_free_for_the_change(crew_owner, desk):
    studio_set = StudioSetFactory(changeover_days=2)
    camera = EquipmentFactory(stock=2)
    days = days_from_now(10, 5)
    booking = _confirmed(crew_owner, studio_set, days, [ItemRequest(camera, 2)], desk=desk)

    # One day later overlaps the booking's own days and changeover: allowed, all units still there.
    change = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, shifted(days, 1), [ItemRequest(camera, 2)]),
        by=crew_owner,
    )
    assert change.status == Booking.Status.CHANGE
    # A second change replaces the first, which no longer holds anything.
    second = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, shifted(days, 2), [ItemRequest(camera, 2)]),
        by=crew_owner,
    )
    change.refresh_from_db()
    assert change.status == Booking.Status.CHANGE_WITHDRAWN
    assert Booking.objects.filter(change_of=booking, status=Booking.Status.CHANGE).get() == second


@pytest.mark.django_db
def test_extending_a_started_booking_by_one_day(crew_owner, desk):
    studio_set = StudioSetFactory(changeover_days=1)
    start = timezone.localdate() + timedelta(days=3)
    days = DayRange(start, start + timedelta(days=4))
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        longer = DayRange(days.start, days.end + timedelta(1))
        with pytest.raises(BookingError, match="first day stay"):
            services.booking_change(
                booking=booking, change=BookingChange(studio_set, shifted(days, 1)), by=crew_owner
            )
        with pytest.raises(BookingError, match="only move later"):
            services.booking_change(
                booking=booking,
                change=BookingChange(studio_set, DayRange(days.start, days.end - timedelta(1))),
                by=crew_owner,
            )
        change = services.booking_change(
            booking=booking, change=BookingChange(studio_set, longer), by=crew_owner
        )
        # Still undecided when the last booked day passes: the booking is not completed under it.
        with time_machine.travel(timezone.now() + timedelta(days=3)):
            assert services.booking_complete_finished() == 0
        services.booking_change_approve(change=change, by=desk)
    booking.refresh_from_db()
    assert booking.end_date == days.end + timedelta(1)
    assert booking.blocked_until == days.end + timedelta(2)


@pytest.mark.django_db
def test_nothing_to_change_and_finished_bookings_are_refused(crew_owner, desk):
    studio_set = StudioSetFactory()
    days = days_from_now(10, 3)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    with pytest.raises(BookingError, match="already holds"):
        services.booking_change(booking=booking, change=BookingChange(studio_set, days), by=crew_owner)
    with (
        time_machine.travel(timezone.now() + timedelta(days=20)),
        pytest.raises(BookingError, match="has ended"),
    ):
        services.booking_change(
            booking=booking, change=BookingChange(studio_set, shifted(days, 1)), by=crew_owner
        )


@pytest.mark.django_db
def test_cancelling_the_booking_withdraws_its_waiting_change(crew_owner, desk):
    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 3)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    change = services.booking_change(
        booking=booking, change=BookingChange(studio_set, shifted(days, 5)), by=crew_owner
    )
    services.booking_cancel(booking=booking, by=crew_owner)
    change.refresh_from_db()
    assert change.status == Booking.Status.CHANGE_WITHDRAWN
    other = CrewOwnerFactory()
    assert services.booking_request(
        crew=other.crew, studio_set=studio_set, days=shifted(days, 5), by=other
    ).pk


@pytest.mark.django_db
def test_another_crew_and_staff_without_the_desk_role_cannot_change_or_decide(
    crew_owner, other_crew_member, desk
):
    studio_set = StudioSetFactory()
    days = days_from_now(10, 3)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    with pytest.raises(BookingError, match="cannot change"):
        services.booking_change(
            booking=booking, change=BookingChange(studio_set, shifted(days, 1)), by=other_crew_member
        )
    change = services.booking_change(
        booking=booking, change=BookingChange(studio_set, shifted(days, 1)), by=crew_owner
    )
    viewer = StaffMemberFactory(roles=[VIEWER])
    for decide in (services.booking_change_approve, services.booking_change_refuse):
        with pytest.raises(BookingError, match="Only the booking desk"):
            decide(change=change, by=viewer, reason="x")
    with pytest.raises(BookingError, match="Only the booking desk"):
        services.booking_change_approve(change=change, by=crew_owner)
    change.refresh_from_db()
    assert change.status == Booking.Status.CHANGE


# --- Races: on PostgreSQL and on SQLite, each attempt on its own connection -------------


@pytest.mark.django_db(transaction=True)
def test_change_into_days_another_crew_requests_at_the_same_moment_one_wins():
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    for round_ in range(5):
        studio_set = StudioSetFactory(changeover_days=0)
        owner, other = CrewOwnerFactory(), CrewOwnerFactory()
        days = days_from_now(10, 3)
        booking = _confirmed(owner, studio_set, days, desk=desk)
        wanted = shifted(days, 3)  # the three days right after the booking

        def attempt(i: int, booking=booking, owner=owner, other=other, studio_set=studio_set, wanted=wanted):
            if i == 0:
                return services.booking_change(
                    booking=booking, change=BookingChange(studio_set, wanted), by=owner
                )
            return services.booking_request(crew=other.crew, studio_set=studio_set, days=wanted, by=other)

        results = run_concurrently(2, attempt)
        won = [r for r in results if isinstance(r, Booking)]
        lost = [r for r in results if isinstance(r, BookingError)]
        assert len(won) == 1 and len(lost) == 1, (round_, results)
        holding = Booking.objects.holding().filter(studio_set=studio_set, start_date=wanted.start)
        assert holding.count() == 1
        booking.refresh_from_db()
        assert (booking.start_date, booking.status) == (days.start, "confirmed")


@pytest.mark.django_db(transaction=True)
def test_two_crews_changing_into_the_same_days_at_once_one_wins():
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    studio_set = StudioSetFactory(changeover_days=0)
    camera = EquipmentFactory(stock=2)
    owners = [CrewOwnerFactory() for _ in range(2)]
    first = _confirmed(owners[0], studio_set, days_from_now(10, 3), [ItemRequest(camera, 1)], desk=desk)
    second = _confirmed(owners[1], studio_set, days_from_now(20, 3), [ItemRequest(camera, 1)], desk=desk)
    wanted = days_from_now(14, 3)

    def attempt(i: int):
        booking = (first, second)[i]
        return services.booking_change(
            booking=booking, change=BookingChange(studio_set, wanted, [ItemRequest(camera, 1)]), by=owners[i]
        )

    results = run_concurrently(2, attempt)
    assert sum(isinstance(r, Booking) for r in results) == 1, results
    assert sum(isinstance(r, BookingError) for r in results) == 1, results
    assert Booking.objects.filter(status=Booking.Status.CHANGE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_changes_racing_for_the_last_units_never_exceed_stock():
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    camera = EquipmentFactory(stock=3)
    days = days_from_now(10, 3)
    owners = [CrewOwnerFactory() for _ in range(4)]
    bookings = [_confirmed(o, StudioSetFactory(), days, desk=desk) for o in owners]

    def attempt(i: int):
        booking = bookings[i]
        return services.booking_change(
            booking=booking,
            change=BookingChange(booking.studio_set, days, [ItemRequest(camera, 1)]),
            by=owners[i],
        )

    results = run_concurrently(4, attempt)
    assert sum(isinstance(r, Booking) for r in results) == 3, results
    held = sum(
        Booking.objects.holding().filter(items__equipment=camera).values_list("items__quantity", flat=True)
    )
    assert held == 3


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's")
def test_the_database_itself_refuses_a_change_overlapping_another_crews_booking(crew_owner, desk):
    from django.db import IntegrityError, transaction

    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 3)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    other = CrewOwnerFactory()
    taken = services.booking_request(crew=other.crew, studio_set=studio_set, days=shifted(days, 3), by=other)
    fields = {
        f: getattr(booking, f)
        for f in ("plan_id", "crew_id", "studio_set_id", "quote_total", "created_by_id")
    }
    # Its own booking's days are no clash for a change; another crew's are.
    Booking.objects.create(
        change_of=booking,
        status="change",
        start_date=days.start,
        end_date=days.end,
        blocked_until=days.end,
        **fields,
    ).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            change_of=booking,
            status="change",
            start_date=taken.start_date,
            end_date=taken.end_date,
            blocked_until=taken.end_date,
            **fields,
        )


@pytest.mark.django_db
def test_the_crews_timeline_tells_each_change_and_decision_once(crew_owner, desk):
    from bookings.selectors import booking_timeline

    studio_set = StudioSetFactory(changeover_days=0)
    camera = EquipmentFactory(stock=3)
    days = days_from_now(10, 3)
    booking = _confirmed(crew_owner, studio_set, days, [ItemRequest(camera, 1)], desk=desk)
    refused = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, shifted(days, 1), [ItemRequest(camera, 1)]),
        by=crew_owner,
    )
    services.booking_change_refuse(change=refused, by=desk, reason="Rig day")
    approved = services.booking_change(
        booking=booking,
        change=BookingChange(studio_set, shifted(days, 2), [ItemRequest(camera, 2)]),
        by=crew_owner,
    )
    services.booking_change_approve(change=approved, by=desk, reason="Free then")

    events = [(e.what.split(":")[0], e.who, e.reason) for e in booking_timeline(booking)]
    assert events == [
        ("Requested", str(crew_owner), ""),
        ("Confirmed", "Booking desk", ""),
        ("Change asked for", str(crew_owner), ""),
        ("Change refused", "Booking desk", "Rig day"),
        ("Change asked for", str(crew_owner), ""),
        ("Change approved", "Booking desk", "Free then"),
    ]


@pytest.mark.django_db
def test_equipment_for_the_whole_plan_follows_a_changed_part_and_is_never_held_twice(crew_owner, desk):
    from bookings.models import ShootPlan
    from bookings.services import SetRequest

    kits = EquipmentFactory(stock=2)
    palace, street = StudioSetFactory(changeover_days=0), StudioSetFactory(changeover_days=0)
    first, second = days_from_now(10, 3), days_from_now(12, 3)  # overlapping on day 12
    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[SetRequest(palace, first), SetRequest(street, second)],
        items=[ItemRequest(kits, 2)],
        by=crew_owner,
    )
    street_booking = plan.bookings.get(studio_set=street)
    for booking in plan.bookings.all():
        services.booking_confirm(booking=booking, by=desk)
    later = shifted(second, 3)  # the street part moves three days on

    change = services.booking_change(
        booking=street_booking, change=BookingChange(street, later), by=crew_owner
    )

    # While the desk decides, the kits are held over the old days and the new ones alike.
    other = CrewOwnerFactory()
    for day in (second.end, later.end):
        with pytest.raises(BookingError, match="Not enough"):
            services.booking_request(
                crew=other.crew,
                studio_set=StudioSetFactory(),
                days=DayRange(day, day),
                items=[ItemRequest(kits, 1)],
                by=other,
            )
    services.booking_change_approve(change=change, by=desk)
    plan = ShootPlan.objects.get(pk=plan.pk)
    union_days = len({*first.dates(), *later.dates()})
    assert plan.quote_lines[0]["days"] == union_days
    # The gap left between the parts is free again; the kits were never promised beyond stock.
    gap = DayRange(first.end + timedelta(1), later.start - timedelta(1))
    services.booking_request(
        crew=other.crew, studio_set=StudioSetFactory(), days=gap, items=[ItemRequest(kits, 2)], by=other
    )


@pytest.mark.django_db
def test_a_change_the_desk_did_not_decide_in_time_lapses_and_frees_its_days(crew_owner, desk):
    from hengdian import tasks

    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 3)
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    later = shifted(days, 5)
    change = services.booking_change(booking=booking, change=BookingChange(studio_set, later), by=crew_owner)

    with time_machine.travel(timezone.now() + timedelta(days=9)):
        assert tasks.sweep()["lapsed"] == 0  # the day before the shoot: still time to decide
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        assert tasks.sweep()["lapsed"] == 1
        assert tasks.sweep()["lapsed"] == 0

    change.refresh_from_db()
    booking.refresh_from_db()
    assert change.status == Booking.Status.CHANGE_WITHDRAWN
    assert (booking.start_date, booking.status) == (days.start, Booking.Status.CONFIRMED)
    told = Notification.objects.get(kind=Kind.BOOKING_CHANGE_LAPSED, recipient=crew_owner.email)
    assert booking.reference in told.subject
    assert change.history.first().history_user is None  # the system did it
    other = CrewOwnerFactory()
    assert services.booking_request(crew=other.crew, studio_set=studio_set, days=later, by=other).pk


@pytest.mark.django_db
def test_an_undecided_extension_lapses_after_the_last_day_and_the_booking_then_completes(crew_owner, desk):
    from hengdian import tasks

    studio_set = StudioSetFactory(changeover_days=0)
    start = timezone.localdate() + timedelta(days=2)
    days = DayRange(start, start + timedelta(days=2))
    booking = _confirmed(crew_owner, studio_set, days, desk=desk)
    with time_machine.travel(timezone.now() + timedelta(days=3)):  # shooting
        services.booking_change(
            booking=booking,
            change=BookingChange(studio_set, DayRange(days.start, days.end + timedelta(1))),
            by=crew_owner,
        )
    with time_machine.travel(timezone.now() + timedelta(days=4)):  # the last booked day
        assert tasks.sweep()["lapsed"] == 0
    with time_machine.travel(timezone.now() + timedelta(days=5)):  # the day after it
        assert tasks.sweep()["lapsed"] == 1
        assert services.booking_complete_finished() == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.COMPLETED
