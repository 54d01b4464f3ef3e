"""The equipment store: tagged units, handing them out and taking them back, repairs and overdue."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django.utils.formats import date_format

from bookings import selectors, services
from bookings.models import (
    SHOOT_DAY_STARTS,
    Blackout,
    Booking,
    DayRange,
    EquipmentUnit,
    Handover,
    Notification,
)
from bookings.services import BookingError, ItemRequest, SetRequest
from bookings.services.store import LineState, line_states_for
from hengdian import tasks

from ..factories import CrewMemberFactory, CrewOwnerFactory, EquipmentFactory, StaffFactory, StudioSetFactory
from .helpers import run_concurrently

Kind = Notification.Kind
STUDIO_TZ = timezone.get_default_timezone()


def today() -> date:
    return timezone.localdate()


def tracked_kind(tags: list[str], **kwargs):
    """A kind that tracks units, with one available unit per tag."""
    kind = EquipmentFactory(stock=0, **kwargs)
    for tag in tags:
        services.unit_add(equipment=kind, asset_tag=tag)
    services.equipment_track_units(equipment=kind, tracks=True)
    kind.refresh_from_db()
    return kind


def confirmed_booking(kind, quantity: int, *, start: date | None = None, days: int = 3, crew=None) -> Booking:
    owner = CrewOwnerFactory() if crew is None else crew.members.first()
    start = start or today()
    booking = services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(start, start + timedelta(days=days - 1)),
        items=[ItemRequest(kind, quantity)],
        by=owner,
    )
    return services.booking_confirm(booking=booking, by=StaffFactory())


def line_of(booking: Booking):
    return booking.items.select_related("booking", "equipment").get()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=STUDIO_TZ).replace(hour=hour, minute=minute)


# --- Units and stock ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_kind_that_tracks_units_owns_exactly_its_units_that_are_not_retired():
    kind = EquipmentFactory(stock=7)
    services.unit_add(equipment=kind, asset_tag=" cam-0001 ")
    services.unit_add(equipment=kind, asset_tag="CAM-0002")
    kind.refresh_from_db()
    assert kind.stock == 7  # not tracking yet: today's number stands

    services.equipment_track_units(equipment=kind, tracks=True)
    kind.refresh_from_db()
    assert (kind.tracks_units, kind.stock) == (True, 2)
    assert EquipmentUnit.objects.filter(asset_tag="CAM-0001").exists()  # stored as printed

    services.unit_add(equipment=kind, asset_tag="CAM-0003")
    services.unit_retire(unit=EquipmentUnit.objects.get(asset_tag="CAM-0001"), by=StaffFactory())
    kind.refresh_from_db()
    assert kind.stock == 2
    assert EquipmentUnit.objects.get(asset_tag="CAM-0001").status == EquipmentUnit.Status.RETIRED


@pytest.mark.django_db
def test_migrating_keeps_every_kind_on_its_plain_count():
    kind = EquipmentFactory(stock=12)
    kind.refresh_from_db()
    assert (kind.tracks_units, kind.stock) == (False, 12)


@pytest.mark.django_db
def test_bad_units_are_refused_with_a_message_for_the_field_and_nothing_saved():
    kind = EquipmentFactory(stock=0)
    services.unit_add(equipment=kind, asset_tag="CAM-0001")
    for tag, field in [("CAM-0001", "asset_tag"), ("cam 01", "asset_tag"), ("", "asset_tag")]:
        with pytest.raises(BookingError) as refused:
            services.unit_add(equipment=kind, asset_tag=tag)
        assert refused.value.field == field
    assert EquipmentUnit.objects.count() == 1


@pytest.mark.django_db
def test_tracking_units_is_refused_while_crews_hold_more_than_there_are_units():
    kind = EquipmentFactory(stock=3)
    confirmed_booking(kind, 2, start=today() + timedelta(days=5))
    services.unit_add(equipment=kind, asset_tag="CAM-0001")

    with pytest.raises(BookingError) as refused:
        services.equipment_track_units(equipment=kind, tracks=True)

    assert refused.value.field == "stock"
    kind.refresh_from_db()
    assert (kind.tracks_units, kind.stock) == (False, 3)


# --- Handing out ------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_tagged_units_are_handed_out_for_todays_booking_and_the_line_is_collected():
    kind = tracked_kind(["CAM-0001", "CAM-0002", "CAM-0003"])
    booking = confirmed_booking(kind, 2)
    member = booking.crew.members.first()
    clerk = StaffFactory()

    made = services.handover_check_out(
        line=line_of(booking), asset_tags=["cam-0001", "CAM-0002"], collected_by=member, by=clerk
    )

    assert [h.unit.asset_tag for h in made] == ["CAM-0001", "CAM-0002"]
    assert {h.collected_by_name for h in made} == {member.get_full_name() or member.email}
    assert set(EquipmentUnit.objects.filter(status="out").values_list("asset_tag", flat=True)) == {
        "CAM-0001",
        "CAM-0002",
    }
    state = line_states_for(bookings=[booking], today=today())[f"item-{line_of(booking).pk}"]
    assert (state.state, state.out, state.needed) == (LineState.OUT, 2, 2)


@pytest.mark.django_db
def test_handing_out_what_cannot_go_is_refused_naming_the_tag_and_nothing_is_handed_out():
    kind = tracked_kind(["CAM-0001", "CAM-0002", "CAM-0003", "CAM-0004"])
    tracked_kind(["LED-0001"])
    booking = confirmed_booking(kind, 2)
    other = confirmed_booking(kind, 1)
    services.handover_check_out(
        line=line_of(other), asset_tags=["CAM-0003"], collected_by_name="Driver Wang", by=StaffFactory()
    )
    line = line_of(booking)
    cases = [
        (["CAM-0009"], "CAM-0009"),  # nobody has this tag
        (["LED-0001"], "LED-0001"),  # a kind the line does not have
        (["CAM-0003"], "CAM-0003"),  # out on the other crew's line
        (["CAM-0001", "CAM-0002", "CAM-0004"], "booked"),  # more than the line booked
        (["CAM-0001", "cam-0001"], "twice"),
    ]
    for tags, said in cases:
        with pytest.raises(BookingError) as refused:
            services.handover_check_out(
                line=line, asset_tags=tags, collected_by_name="Lin", by=StaffFactory()
            )
        assert said in str(refused.value), tags
        assert refused.value.field == "asset_tags"
    assert Handover.objects.count() == 1
    assert EquipmentUnit.objects.get(asset_tag="CAM-0001").status == EquipmentUnit.Status.AVAILABLE


@pytest.mark.django_db
def test_only_a_confirmed_booking_under_way_is_served_and_only_to_its_own_crew():
    kind = tracked_kind(["CAM-0001", "CAM-0002"])
    later = confirmed_booking(kind, 1, start=today() + timedelta(days=3))
    owner = CrewOwnerFactory()
    requested = services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(today(), today()),
        items=[ItemRequest(kind, 1)],
        by=owner,
    )
    stranger = CrewMemberFactory()

    with pytest.raises(BookingError, match="handed out from"):
        services.handover_check_out(
            line=line_of(later), asset_tags=["CAM-0001"], collected_by_name="Lin", by=StaffFactory()
        )
    with pytest.raises(BookingError, match="confirmed"):
        services.handover_check_out(
            line=line_of(requested), asset_tags=["CAM-0001"], collected_by_name="Lin", by=StaffFactory()
        )
    today_booking = confirmed_booking(kind, 1)
    with pytest.raises(BookingError) as refused:
        services.handover_check_out(
            line=line_of(today_booking), asset_tags=["CAM-0001"], collected_by=stranger, by=StaffFactory()
        )
    assert refused.value.field == "collected_by"
    with pytest.raises(BookingError) as refused:
        services.handover_check_out(line=line_of(today_booking), asset_tags=["CAM-0001"], by=StaffFactory())
    assert refused.value.field == "collected_by_name"
    assert not Handover.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_clerks_handing_out_the_same_unit_at_the_same_moment_one_succeeds():
    for _round in range(3):
        Handover.objects.all().delete()
        EquipmentUnit.objects.update(status="available")
        kind = tracked_kind([f"CAM-{_round}1", f"CAM-{_round}2"])
        lines = [line_of(confirmed_booking(kind, 1)) for _ in range(2)]
        clerks = [StaffFactory() for _ in range(2)]

        def hand_out(i: int, lines=lines, clerks=clerks, tag=f"CAM-{_round}1"):
            try:
                return services.handover_check_out(
                    line=lines[i],
                    asset_tags=[tag],
                    collected_by_name=f"Runner {i}",
                    by=clerks[i],
                )
            except BookingError as exc:
                return exc
            finally:
                connection.close()

        results = run_concurrently(2, hand_out)

        assert sum(isinstance(r, list) for r in results) == 1, results
        assert sum(isinstance(r, BookingError) for r in results) == 1
        assert Handover.objects.out().filter(unit__asset_tag=f"CAM-{_round}1").count() == 1


# --- Taking back ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_units_come_back_one_by_one_and_the_line_is_returned_when_the_last_is_back():
    kind = tracked_kind(["CAM-0001", "CAM-0002"])
    booking = confirmed_booking(kind, 2)
    clerk = StaffFactory()
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001", "CAM-0002"], collected_by_name="Lin", by=clerk
    )
    key = f"item-{line_of(booking).pk}"

    services.handover_return(asset_tag="cam-0001", condition="ok", by=clerk)
    assert line_states_for(bookings=[booking], today=today())[key].state == LineState.PARTLY_RETURNED
    services.handover_return(asset_tag="CAM-0002", condition="ok", by=clerk)
    state = line_states_for(bookings=[booking], today=today())[key]

    assert (state.state, state.out, state.returned) == (LineState.RETURNED, 0, 2)
    assert set(EquipmentUnit.objects.values_list("status", flat=True)) == {"available"}
    with pytest.raises(BookingError, match="not out"):
        services.handover_return(asset_tag="CAM-0002", condition="ok", by=clerk)


@pytest.mark.django_db
def test_a_damaged_return_takes_the_unit_off_later_days_and_tells_the_desk_which_bookings_are_short(settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    kind = tracked_kind(["CAM-0001", "CAM-0002"])
    now_booking = confirmed_booking(kind, 2, days=2)
    later = confirmed_booking(kind, 2, start=today() + timedelta(days=5))
    fine = confirmed_booking(kind, 1, start=today() + timedelta(days=20))
    clerk = StaffFactory()
    services.handover_check_out(
        line=line_of(now_booking), asset_tags=["CAM-0001", "CAM-0002"], collected_by_name="Lin", by=clerk
    )

    with pytest.raises(BookingError) as refused:
        services.handover_return(asset_tag="CAM-0001", condition="damaged", note="", by=clerk)
    assert refused.value.field == "return_note"

    handover = services.handover_return(
        asset_tag="CAM-0001", condition="damaged", note="Cracked screen", by=clerk
    )

    unit = EquipmentUnit.objects.get(asset_tag="CAM-0001")
    assert unit.status == EquipmentUnit.Status.IN_REPAIR
    usage = selectors.equipment_days([kind], DayRange(today(), today() + timedelta(days=30)))[kind.pk]
    assert usage.free_on(today() + timedelta(days=20)) == 0  # 2 owned, 1 in repair, 1 booked
    assert usage.free_on(today() + timedelta(days=25)) == 1
    # The crew shooting now is one short too, for the rest of its days: it needs a replacement.
    assert [b.reference for b in handover.short_bookings] == [now_booking.reference, later.reference]
    told = Notification.objects.get(kind=Kind.EQUIPMENT_SHORT)
    assert told.recipient == "desk@hengdian.example"
    assert later.reference in told.body_text and fine.reference not in told.body_text
    assert "CAM-0001" in told.body_text
    # The days each booking is short on: the current shoot's two (one camera of two is left), the later one's three.
    assert [d for b in handover.short_bookings for d in b.short_days] == [
        today(),
        today() + timedelta(days=1),
        *[today() + timedelta(days=n) for n in (5, 6, 7)],
    ]
    assert date_format(today() + timedelta(days=6), "DATE_FORMAT") in told.body_text

    with pytest.raises(BookingError, match="Not enough"):
        confirmed_booking(kind, 2, start=today() + timedelta(days=40))

    services.unit_mark_repaired(unit=unit, by=clerk)
    assert EquipmentUnit.objects.get(asset_tag="CAM-0001").status == EquipmentUnit.Status.AVAILABLE
    assert not Blackout.objects.filter(unit=unit).exists()  # repaired the same day: no day was lost
    confirmed_booking(kind, 2, start=today() + timedelta(days=40))


@pytest.mark.django_db
def test_a_repair_over_several_days_keeps_those_days_on_record():
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1)
    clerk = StaffFactory()
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001"], collected_by_name="Lin", by=clerk
    )
    services.handover_return(asset_tag="CAM-0001", condition="damaged", note="Lens mount loose", by=clerk)
    unit = EquipmentUnit.objects.get()

    services.unit_mark_repaired(unit=unit, by=clerk, now=timezone.now() + timedelta(days=3))

    repair = Blackout.objects.get(unit=unit)
    assert (repair.start_date, repair.end_date) == (today(), today() + timedelta(days=2))
    assert repair.reason == Blackout.Reason.REPAIR


# --- Overdue --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_overdue_equipment_is_told_to_the_crew_and_the_store_the_morning_after_once(settings):
    settings.EQUIPMENT_STORE_EMAILS = ["store@hengdian.example"]
    kind = tracked_kind(["CAM-0001", "CAM-0002"])
    booking = confirmed_booking(kind, 2, days=1)
    CrewMemberFactory(crew=booking.crew)
    clerk = StaffFactory()
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001", "CAM-0002"], collected_by_name="Lin", by=clerk
    )
    services.handover_return(asset_tag="CAM-0002", condition="ok", by=clerk)
    last_day = booking.end_date
    next_day = last_day + timedelta(days=1)

    with time_machine.travel(at(next_day, 6, 59), tick=False):
        tasks.sweep()
    assert not Notification.objects.filter(kind__startswith="equipment-overdue").exists()

    with time_machine.travel(at(next_day, SHOOT_DAY_STARTS.hour), tick=False):
        tasks.sweep()
        tasks.sweep()
    with time_machine.travel(at(next_day + timedelta(days=2), 9), tick=False):
        tasks.sweep()

    crew_mail = Notification.objects.filter(kind=Kind.EQUIPMENT_OVERDUE)
    store_mail = Notification.objects.filter(kind=Kind.EQUIPMENT_OVERDUE_STORE)
    assert sorted(crew_mail.values_list("recipient", flat=True)) == sorted(
        booking.crew.members.values_list("email", flat=True)
    )
    assert list(store_mail.values_list("recipient", flat=True)) == ["store@hengdian.example"]
    body = store_mail.get().body_text
    assert "CAM-0001" in body and "CAM-0002" not in body and booking.reference in body
    state = line_states_for(bookings=[booking], today=next_day)[f"item-{line_of(booking).pk}"]
    assert state.state == LineState.OVERDUE


@pytest.mark.django_db
def test_nothing_is_overdue_once_every_unit_is_back(settings):
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1, days=1)
    clerk = StaffFactory()
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001"], collected_by_name="Lin", by=clerk
    )
    services.handover_return(asset_tag="CAM-0001", condition="ok", by=clerk)

    with time_machine.travel(at(booking.end_date + timedelta(days=1), 9), tick=False):
        tasks.sweep()

    assert not Notification.objects.filter(kind__startswith="equipment-overdue").exists()


@pytest.mark.django_db
def test_whole_plan_equipment_is_handed_out_over_the_plan_and_overdue_after_its_last_part(settings):
    settings.EQUIPMENT_STORE_EMAILS = ["store@hengdian.example"]
    kind = tracked_kind(["GIM-0001"])
    owner = CrewOwnerFactory()
    plan = services.shoot_plan_request(
        crew=owner.crew,
        parts=[
            SetRequest(StudioSetFactory(), DayRange(today(), today())),
            SetRequest(
                StudioSetFactory(), DayRange(today() + timedelta(days=2), today() + timedelta(days=3))
            ),
        ],
        items=[ItemRequest(kind, 1)],
        by=owner,
    )
    services.shoot_plan_confirm(plan=plan, by=StaffFactory())
    line = plan.items.select_related("plan", "equipment").get()

    services.handover_check_out(line=line, asset_tags=["GIM-0001"], collected_by=owner, by=StaffFactory())

    with time_machine.travel(at(today() + timedelta(days=2), 9), tick=False):
        tasks.sweep()
    assert not Notification.objects.filter(kind=Kind.EQUIPMENT_OVERDUE_STORE).exists()
    with time_machine.travel(at(today() + timedelta(days=4), 9), tick=False):
        tasks.sweep()
    assert Notification.objects.filter(kind=Kind.EQUIPMENT_OVERDUE_STORE, plan=plan).count() == 1


@pytest.mark.django_db
def test_a_kit_is_handed_out_as_units_of_its_tagged_components():
    from ..factories import KitComponentFactory

    camera = tracked_kind(["CAM-0001", "CAM-0002"])
    panel = tracked_kind(["LED-0001", "LED-0002", "LED-0003"])
    cable = EquipmentFactory(stock=50)  # no tags: not handed out by unit
    kit = EquipmentFactory(stock=0, name_en="Interview package")
    KitComponentFactory(kit=kit, component=camera, quantity=1)
    KitComponentFactory(kit=kit, component=panel, quantity=2)
    KitComponentFactory(kit=kit, component=cable, quantity=4)
    booking = confirmed_booking(kit, 1)
    line = line_of(booking)
    clerk = StaffFactory()

    with pytest.raises(BookingError, match="2 booked, 3 would be out"):  # a third panel: the kit has two
        services.handover_check_out(
            line=line, asset_tags=["LED-0001", "LED-0002", "LED-0003"], collected_by_name="Lin", by=clerk
        )
    services.handover_check_out(
        line=line, asset_tags=["CAM-0001", "LED-0001"], collected_by_name="Lin", by=clerk
    )
    key = f"item-{line.pk}"
    assert line_states_for(bookings=[booking], today=today())[key].state == LineState.PARTLY_OUT
    services.handover_check_out(line=line, asset_tags=["LED-0002"], collected_by_name="Lin", by=clerk)

    state = line_states_for(bookings=[booking], today=today())[key]
    assert (state.state, state.out, state.needed) == (LineState.OUT, 3, 3)


@pytest.mark.django_db(transaction=True)
def test_two_clerks_taking_back_the_same_unit_at_once_record_one_return():
    kind = tracked_kind(["CAM-0001"])
    booking = confirmed_booking(kind, 1)
    clerks = [StaffFactory(), StaffFactory()]
    services.handover_check_out(
        line=line_of(booking), asset_tags=["CAM-0001"], collected_by_name="Lin", by=clerks[0]
    )

    def take_back(i: int):
        try:
            return services.handover_return(
                asset_tag="CAM-0001", condition=("ok", "damaged")[i], note="Dent", by=clerks[i]
            )
        except BookingError as exc:
            return exc
        finally:
            connection.close()

    results = run_concurrently(2, take_back)

    assert sum(isinstance(r, Handover) for r in results) == 1, results
    assert "not out" in str(next(r for r in results if isinstance(r, BookingError))), results
    handover = Handover.objects.get()
    unit = EquipmentUnit.objects.get()
    # The unit's state follows the one return that was recorded.
    assert unit.status == ("in_repair" if handover.condition == "damaged" else "available")
    assert Blackout.objects.filter(unit=unit).count() == (handover.condition == "damaged")
