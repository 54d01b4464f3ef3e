"""Kits: one line books several kinds, and every check counts the components it holds."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from bookings import selectors, services
from bookings.models import Blackout, Booking, BookingItem, Equipment, EquipmentUnit, KitComponent, ShootPlan
from bookings.services import BookingChange, BookingError, ItemRequest, SetRequest

from ..auth import login_staff
from ..factories import CrewOwnerFactory, EquipmentFactory, KitComponentFactory, StudioSetFactory
from .helpers import run_concurrently
from .test_booking_request import days_from_now


def interview_package(*, pricing: str = Equipment.KitPricing.KIT_RATE, tag: str = "") -> dict[str, Equipment]:
    """The "Vertical interview package": 1 camera kit, 1 gimbal, 2 LED panels, 1 wireless audio set.

    Two kits' worth of everything but the LED panels, of which there are three.
    """
    kinds = {
        "camera": EquipmentFactory(
            name="Camera kit", slug=f"camera{tag}", stock=2, daily_rate=Decimal("1200")
        ),
        "gimbal": EquipmentFactory(name="Gimbal", slug=f"gimbal{tag}", stock=2, daily_rate=Decimal("300")),
        "led": EquipmentFactory(name="LED panel", slug=f"led{tag}", stock=3, daily_rate=Decimal("150")),
        "audio": EquipmentFactory(
            name="Wireless audio set", slug=f"audio{tag}", stock=2, daily_rate=Decimal("200")
        ),
    }
    kit = EquipmentFactory(
        name="Vertical interview package",
        slug=f"interview{tag}",
        stock=0,
        daily_rate=Decimal("1500"),
        kit_pricing=pricing,
    )
    for name, quantity in (("camera", 1), ("gimbal", 1), ("led", 2), ("audio", 1)):
        KitComponentFactory(kit=kit, component=kinds[name], quantity=quantity)
    return {**kinds, "kit": kit}


def book(items, days, *, plan_items=()) -> Booking:
    owner = CrewOwnerFactory()
    plan = services.shoot_plan_request(
        crew=owner.crew,
        parts=[SetRequest(StudioSetFactory(), days, [ItemRequest(e, q) for e, q in items])],
        items=[ItemRequest(e, q) for e, q in plan_items],
        by=owner,
    )
    return plan.bookings.get()


# --- Requests -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_kit_is_refused_when_one_component_is_short_on_one_day_and_the_message_names_it():
    kinds = interview_package()
    day = days_from_now(11, 1).start
    book([(kinds["led"], 2)], days_from_now(11, 1))  # 1 LED panel left on that day

    with pytest.raises(BookingError) as refused:
        book([(kinds["kit"], 1)], days_from_now(10, 3))

    assert str(refused.value) == (
        f"Not enough LED panel for Vertical interview package (3 owned) — {day:%Y-%m-%d}: 1 short."
    )
    assert refused.value.field == "items"
    assert not BookingItem.objects.filter(equipment=kinds["kit"]).exists()
    # The day after, the whole kit is free.
    booking = book([(kinds["kit"], 1)], days_from_now(12, 2))
    assert list(booking.items.values_list("equipment__slug", "quantity")) == [("interview", 1)]


@pytest.mark.django_db
def test_a_kit_and_a_separate_line_of_a_component_count_together():
    kinds = interview_package()
    days = days_from_now(10, 2)

    # 1 camera in the kit, 2 more on the plan's own line: 3 of the 2 owned.
    with pytest.raises(BookingError) as refused:
        book([(kinds["kit"], 1)], days, plan_items=[(kinds["camera"], 2)])

    message = str(refused.value)
    assert message.startswith("Not enough Camera kit for Vertical interview package (2 owned) — ")
    assert message.count(": 1 short") == 2  # each of the two days
    assert "LED panel" not in message
    assert not Booking.objects.exists()

    book([(kinds["kit"], 1)], days, plan_items=[(kinds["camera"], 1)])
    with pytest.raises(BookingError, match="Not enough Camera kit for Vertical interview package"):
        book([(kinds["kit"], 1)], days)


@pytest.mark.django_db
def test_two_kits_on_one_line_take_twice_each_components_units():
    kinds = interview_package()
    day = days_from_now(10, 1).start

    with pytest.raises(BookingError) as refused:
        book([(kinds["kit"], 2)], days_from_now(10, 1))

    # 4 LED panels of 3; two of everything else is there, so only the LED panels are named.
    assert str(refused.value) == (
        f"Not enough LED panel for Vertical interview package (3 owned) — {day:%Y-%m-%d}: 1 short."
    )
    assert not Booking.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("inactive", ["kit", "led"])
def test_an_inactive_kit_or_component_cannot_be_booked(inactive):
    kinds = interview_package()
    Equipment.objects.filter(pk=kinds[inactive].pk).update(is_active=False)

    with pytest.raises(BookingError, match="Vertical interview package cannot be booked at the moment"):
        book([(kinds["kit"], 1)], days_from_now(10, 1))
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_changing_a_booking_to_a_kit_checks_its_components(crew_owner):
    kinds = interview_package()
    days = days_from_now(10, 2)
    book([(kinds["gimbal"], 2)], days)
    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(),
        days=days,
        items=[ItemRequest(kinds["camera"], 1)],
        by=crew_owner,
    )

    with pytest.raises(BookingError, match="Not enough Gimbal for Vertical interview package"):
        services.booking_change(
            booking=booking,
            change=BookingChange(booking.studio_set, days, [ItemRequest(kinds["kit"], 1)]),
            by=crew_owner,
        )
    assert list(booking.items.values_list("equipment__slug", flat=True)) == ["camera"]


@pytest.mark.django_db(transaction=True)
def test_a_kit_and_its_component_racing_for_the_last_unit_give_one_booking():
    for round_ in range(5):
        kinds = interview_package(tag=f"-{round_}")
        # One gimbal is left; every other component has room for both requests.
        Equipment.objects.filter(pk=kinds["gimbal"].pk).update(stock=1)
        owners = [CrewOwnerFactory(), CrewOwnerFactory()]
        sets = [StudioSetFactory(), StudioSetFactory()]
        wanted = [kinds["kit"], kinds["gimbal"]]
        days = days_from_now(10, 2)

        def attempt(i: int, owners=owners, sets=sets, wanted=wanted, days=days):
            return services.booking_request(
                crew=owners[i].crew,
                studio_set=sets[i],
                days=days,
                items=[ItemRequest(wanted[i], 1)],
                by=owners[i],
            )

        results = run_concurrently(2, attempt)

        booked = [r for r in results if isinstance(r, Booking)]
        refused = [r for r in results if isinstance(r, BookingError)]
        assert (len(booked), len(refused)) == (1, 1), results
        assert "Not enough Gimbal" in str(refused[0])
        lines = BookingItem.objects.filter(equipment__in=wanted)
        assert list(lines.values_list("booking", flat=True)) == [booked[0].pk]
        gimbals = selectors.equipment_days([kinds["gimbal"]], days)[kinds["gimbal"].pk]
        assert [gimbals.held[d] for d in days.dates()] == [1, 1]


# --- Availability ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_kits_holds_reduce_its_components_free_units():
    kinds = interview_package()
    days = days_from_now(10, 2)
    book([(kinds["kit"], 1)], days_from_now(10, 1))  # 2 LED panels on the first day
    book([(kinds["led"], 1)], days_from_now(11, 1))  # 1 on the second

    usage = selectors.equipment_days([kinds["led"], kinds["kit"]], days)

    first, second = days.dates()
    assert (usage[kinds["led"].pk].held[first], usage[kinds["led"].pk].held[second]) == (2, 1)
    assert (usage[kinds["led"].pk].free_on(first), usage[kinds["led"].pk].free_on(second)) == (1, 2)
    # The kit: what its components have left makes no whole kit on the first day, one on the second.
    assert usage[kinds["kit"].pk].held[first] == 1
    assert (usage[kinds["kit"].pk].free_on(first), usage[kinds["kit"].pk].free_on(second)) == (0, 1)
    # Asked about the kit alone, the components come with it.
    alone = selectors.equipment_days([kinds["kit"]], days)
    assert list(alone) == [kinds["kit"].pk]
    assert alone[kinds["kit"].pk].tightest(days) == 0


@pytest.mark.django_db
def test_a_components_stock_cannot_drop_below_what_kits_hold():
    kinds = interview_package()
    booking = book([(kinds["kit"], 1)], days_from_now(10, 2))  # 2 LED panels

    with pytest.raises(BookingError) as refused:
        services.equipment_set_stock(equipment=kinds["led"], stock=1)

    assert booking.reference in str(refused.value)
    kinds["led"].refresh_from_db()
    assert kinds["led"].stock == 3
    services.equipment_set_stock(equipment=kinds["led"], stock=2)
    # A kit's own stock counts for nothing: its bookings hold its components.
    services.equipment_set_stock(equipment=kinds["kit"], stock=0)


@pytest.mark.django_db
def test_a_whole_plan_kit_line_holds_its_components_on_every_day_of_the_plan():
    kinds = interview_package()
    owner = CrewOwnerFactory()
    services.shoot_plan_request(
        crew=owner.crew,
        parts=[
            SetRequest(StudioSetFactory(), days_from_now(10, 2)),
            SetRequest(StudioSetFactory(), days_from_now(11, 2)),
        ],
        items=[ItemRequest(kinds["kit"], 1)],
        by=owner,
    )

    usage = selectors.equipment_days([kinds["led"]], days_from_now(9, 5))[kinds["led"].pk]

    assert [usage.held[d] for d in days_from_now(9, 5).dates()] == [0, 2, 2, 2, 0]


@pytest.mark.django_db
def test_the_occupancy_grid_counts_kits_in_their_components_rows_and_units_in_repair_apart():
    kinds = interview_package()
    days = days_from_now(3, 2)
    book([(kinds["kit"], 1)], days)
    unit = EquipmentUnit.objects.create(
        equipment=kinds["led"], asset_tag="LED-0001", status=EquipmentUnit.Status.IN_REPAIR
    )
    Blackout.objects.create(
        equipment=kinds["led"],
        units=1,
        unit=unit,
        reason=Blackout.Reason.REPAIR,
        start_date=days.end,
        end_date=days.end,
    )

    grid = selectors.equipment_occupancy_grid(start=days.start, days=3)

    rows = {row.equipment.slug: row for row in grid.rows}
    assert "interview" not in rows  # a kit owns no units: it has no row
    led = [(c.promised, c.blacked_out, c.in_repair, c.free, c.state) for c in rows["led"].cells]
    assert led == [(2, 0, 0, 1, "some-promised"), (2, 0, 1, 0, "none-free"), (0, 0, 0, 3, "free")]
    assert [c.promised for c in rows["camera"].cells] == [1, 1, 0]
    usage = selectors.equipment_days([kinds["led"]], days)[kinds["led"].pk]
    assert (usage.in_repair[days.end], usage.blacked_out[days.end]) == (1, 0)


@pytest.mark.django_db
def test_the_occupancy_page_shows_units_in_repair(client, staff_admin):
    login_staff(client, staff_admin)
    kinds = interview_package()
    day = days_from_now(2, 1).start
    unit = EquipmentUnit.objects.create(equipment=kinds["camera"], asset_tag="CAM-0001")
    Blackout.objects.create(
        equipment=kinds["camera"],
        units=1,
        unit=unit,
        reason=Blackout.Reason.REPAIR,
        start_date=day,
        end_date=day,
    )

    page = client.get(reverse("admin:bookings_booking_equipment_occupancy")).content.decode()

    row = re.search(r'<tr data-equipment="camera">(.*?)</tr>', page, re.S).group(1)
    assert re.search(
        rf'data-day="{day:%Y-%m-%d}" data-free="1" data-promised="0" data-blacked-out="0" data-in-repair="1"',
        row,
    )
    assert "1 in repair" in row
    assert 'data-equipment="interview"' not in page


@pytest.mark.django_db
def test_a_blackout_on_a_component_finds_the_bookings_holding_it_through_a_kit():
    kinds = interview_package()
    days = days_from_now(10, 2)
    booking = book([(kinds["kit"], 1)], days)

    clashes = selectors.bookings_under_blackout(days=days, equipment=kinds["led"], units=2)

    assert clashes == [booking]
    assert selectors.bookings_under_blackout(days=days, equipment=kinds["led"], units=1) == []


def _kits_booked(count: int) -> list[Equipment]:
    parts = [EquipmentFactory(stock=100) for _ in range(3)]
    kits = []
    for i in range(count):
        kit = EquipmentFactory(stock=0)
        for part in parts:
            KitComponentFactory(kit=kit, component=part, quantity=1 + i % 2)
        book([(kit, 1)], days_from_now(1 + i % 5, 2))
        kits.append(kit)
    return [*parts, *kits]


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 12])
def test_kits_add_no_query_per_kit(client, django_assert_num_queries, django_assert_max_num_queries, count):
    kinds = _kits_booked(count)
    week = days_from_now(1, 7)

    # The kinds, what the kits are made of, the kit rows around them, booking and plan lines, blackouts.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("bookings:equipment_list"), {"start": week.start, "end": week.end})
    assert response.content.decode().count('class="small text-body-secondary kit-parts"') == count
    with django_assert_num_queries(4):
        usage = selectors.equipment_days(kinds, week)
    assert sum(usage[kinds[0].pk].held.values()) == sum(2 * (1 + i % 2) for i in range(count))
    # ... and the units out with crews.
    with django_assert_num_queries(6):
        grid = selectors.equipment_occupancy_grid(start=week.start, days=7)
    assert len(grid.rows) == 3


# --- Quotes -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pricing", "rate"),
    [
        (Equipment.KitPricing.KIT_RATE, Decimal("1500.00")),
        # 1 × 1200 + 1 × 300 + 2 × 150 + 1 × 200
        (Equipment.KitPricing.SUM, Decimal("2000.00")),
    ],
)
def test_a_kit_is_quoted_at_its_own_rate_or_at_the_sum_of_its_components(pricing, rate):
    kinds = interview_package(pricing=pricing)
    studio_set = StudioSetFactory(daily_rate=Decimal("10000"))

    booking = book([(kinds["kit"], 1)], days_from_now(10, 3))

    kit_line = booking.quote_lines[1]
    assert (kit_line["label"], kit_line["rate"], kit_line["quantity"], kit_line["days"]) == (
        "Vertical interview package",
        str(rate),
        1,
        3,
    )
    assert Decimal(kit_line["amount"]) == rate * 3
    assert set(kit_line) == {"label", "labels", "rate", "quantity", "days", "amount"}
    assert booking.quote_total == Decimal("30000") + rate * 3
    assert booking.items.get().daily_rate == rate
    lines = selectors.quote_lines(studio_set, days_from_now(10, 1), [(kinds["kit"], 1)])
    assert lines[1].rate == rate
    plan_lines = selectors.plan_quote_lines([days_from_now(10, 2)], [(kinds["kit"], 1)])
    assert plan_lines[0].amount == rate * 2


# --- What crews see -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_equipment_list_says_what_a_kit_holds_and_how_many_can_be_made(client):
    kinds = interview_package()  # 3 LED panels make one kit; everything else two
    week = days_from_now(10, 7)
    book([(kinds["camera"], 2)], days_from_now(12, 1))  # no camera left that day

    page = client.get(
        reverse("bookings:equipment_list"), {"start": week.start, "end": week.end}
    ).content.decode()

    row = re.search(r'<tr data-slug="interview">.*?</tr>', page, re.S)[0]
    assert "1 × Camera kit, 1 × Gimbal, 2 × LED panel, 1 × Wireless audio set" in row
    assert ">1 kit<" in row
    assert '<td class="text-end free-units">0</td>' in row


@pytest.mark.django_db
def test_the_booking_form_refuses_more_kits_than_the_stock_makes(owner_client):
    interview_package()
    days = days_from_now(10, 1)
    data = {
        "parts-TOTAL_FORMS": "1",
        "parts-INITIAL_FORMS": "0",
        "parts-0-studio_set": StudioSetFactory().slug,
        "parts-0-start_date": str(days.start),
        "parts-0-end_date": str(days.end),
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-equipment": "interview",
        "items-0-quantity": "2",
        "notes": "",
    }

    response = owner_client.post(reverse("bookings:new"), data)

    assert response.status_code == 400
    assert "The studio&#x27;s equipment makes 1 of Vertical interview package." in response.content.decode()
    assert not ShootPlan.objects.exists()
    response = owner_client.post(reverse("bookings:new"), {**data, "items-0-quantity": "1"})
    assert response.status_code == 302
    assert BookingItem.objects.get().equipment.slug == "interview"


# --- The admin ------------------------------------------------------------------------------


def _equipment_form(equipment: Equipment, components=(), **changes) -> dict:
    data = {
        "name_en": equipment.name,
        "slug": equipment.slug,
        "category": equipment.category,
        "daily_rate": str(equipment.daily_rate),
        "stock": str(equipment.stock),
        "kit_pricing": equipment.kit_pricing,
        "is_active": "on",
        "components-TOTAL_FORMS": str(len(components)),
        "components-INITIAL_FORMS": "0",
    }
    for i, (component, quantity) in enumerate(components):
        data[f"components-{i}-component"] = str(component.pk)
        data[f"components-{i}-quantity"] = str(quantity)
    return {**data, **changes}


def _errors_near(page: str, field: str) -> str:
    """The admin's form row of ``field`` up to its input (the row's error list comes first)."""
    at = page.index(f'name="{field}"')
    return page[page.rindex('class="form-row', 0, at) : at]


@pytest.mark.django_db
def test_the_admin_makes_a_kit_from_the_components_inline(staff_client):
    camera = EquipmentFactory(name="Camera kit", stock=2)
    led = EquipmentFactory(name="LED panel", stock=3)
    kit = EquipmentFactory(name="Vertical interview package", stock=0)
    url = reverse("admin:bookings_equipment_change", args=[kit.pk])

    response = staff_client.post(
        url, _equipment_form(kit, [(camera, 1), (led, 2)], kit_pricing=Equipment.KitPricing.SUM)
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    kit.refresh_from_db()
    assert kit.kit_pricing == Equipment.KitPricing.SUM
    assert sorted(kit.components.values_list("component__name_en", "quantity")) == [
        ("Camera kit", 1),
        ("LED panel", 2),
    ]
    assert 'name="components-0-quantity"' in staff_client.get(url).content.decode()


@pytest.mark.django_db
def test_the_admin_refuses_a_kit_inside_a_kit_both_ways(staff_client):
    kinds = interview_package()
    bundle = EquipmentFactory(name="Studio bundle", stock=0)

    # A kit as a component of another kit.
    response = staff_client.post(
        reverse("admin:bookings_equipment_change", args=[bundle.pk]),
        _equipment_form(bundle, [(kinds["kit"], 1), (kinds["camera"], 1)]),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Vertical interview package is a kit itself: add what it is made of instead." in page
    assert not KitComponent.objects.filter(kit=bundle).exists()

    # A component of a kit made a kit itself.
    response = staff_client.post(
        reverse("admin:bookings_equipment_change", args=[kinds["led"].pk]),
        _equipment_form(kinds["led"], [(kinds["gimbal"], 1)]),
    )
    assert response.status_code == 200
    assert (
        "LED panel goes in Vertical interview package, so it cannot be a kit itself."
        in response.content.decode()
    )
    assert not KitComponent.objects.filter(kit=kinds["led"]).exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_kit_that_tracks_units(staff_client):
    camera = EquipmentFactory(name="Camera kit", stock=2)
    bundle = EquipmentFactory(name="Studio bundle", stock=0)

    response = staff_client.post(
        reverse("admin:bookings_equipment_change", args=[bundle.pk]),
        _equipment_form(bundle, [(camera, 1)], tracks_units="on", name_en="Renamed"),
    )

    assert response.status_code == 200
    assert "A kit has no units of its own" in _errors_near(response.content.decode(), "tracks_units")
    bundle.refresh_from_db()
    assert (bundle.tracks_units, bundle.name, bundle.is_kit) == (False, "Studio bundle", False)


@pytest.mark.django_db
def test_the_admin_refuses_a_blackout_on_a_kit(staff_client):
    kinds = interview_package()
    day = days_from_now(10, 1).start
    response = staff_client.post(
        reverse("admin:bookings_blackout_add"),
        {
            "studio_set": "",
            "equipment": kinds["kit"].pk,
            "units": "1",
            "start_date": day.isoformat(),
            "end_date": (day + timedelta(days=1)).isoformat(),
            "reason": Blackout.Reason.MAINTENANCE,
            "note": "",
        },
    )
    assert response.status_code == 200
    assert "A kit owns no units: close what it is made of instead." in response.content.decode()
    assert not Blackout.objects.exists()
