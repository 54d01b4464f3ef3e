"""The desk's equipment occupancy: units promised and free per kind and day, as bookings hold them."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Blackout, DayRange
from bookings.services import ItemRequest, SetRequest

from ..auth import login_staff
from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory

pytestmark = pytest.mark.django_db

URL = "admin:bookings_booking_equipment_occupancy"


def days_from_now(start: int, length: int) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


def _cells(response, slug: str) -> dict[str, tuple[int, int, int]]:
    """(free, promised, blacked out) per day of one kind's row."""
    row = re.search(rf'<tr data-equipment="{slug}">(.*?)</tr>', response.text, re.S).group(1)
    return {
        day: (int(free), int(promised), int(out))
        for day, free, promised, out in re.findall(
            r'data-day="([\d-]+)" data-free="(\d+)" data-promised="(\d+)" data-blacked-out="(\d+)"', row
        )
    }


def test_cells_count_units_as_the_booking_service_holds_them(client, staff_admin):
    login_staff(client, staff_admin)
    camera = EquipmentFactory(stock=5, slug="camera-kit")
    EquipmentFactory(stock=3, slug="retired-kit", is_active=False)
    owner = CrewOwnerFactory()
    # A request for 2 units on days 1-3.
    services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(1, 3),
        items=[ItemRequest(camera, 2)],
        by=owner,
    )
    # A plan of two overlapping parts (days 5-6 and 6-8) with 1 unit for the whole plan:
    # held once on each of days 5-8, not twice on day 6.
    plan_owner = CrewOwnerFactory()
    services.shoot_plan_request(
        crew=plan_owner.crew,
        parts=[
            SetRequest(StudioSetFactory(), days_from_now(5, 2)),
            SetRequest(StudioSetFactory(), days_from_now(6, 3)),
        ],
        items=[ItemRequest(camera, 1)],
        by=plan_owner,
    )
    # One unit away for maintenance on day 2; a cancelled booking holds nothing.
    day2 = days_from_now(2, 1).start
    Blackout.objects.create(equipment=camera, units=1, start_date=day2, end_date=day2)
    cancelled = services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(9, 2),
        items=[ItemRequest(camera, 5)],
        by=owner,
    )
    services.booking_cancel(booking=cancelled, by=owner)

    response = client.get(reverse(URL), {"start": timezone.localdate().isoformat(), "weeks": "2"})

    assert response.status_code == 200
    assert 'data-equipment="retired-kit"' not in response.text
    cells = _cells(response, "camera-kit")
    assert len(cells) == 14

    def on(day: int) -> tuple[int, int, int]:
        return cells[(timezone.localdate() + timedelta(days=day)).isoformat()]

    assert on(0) == (5, 0, 0)
    assert on(1) == (3, 2, 0)
    assert on(2) == (2, 2, 1)
    assert on(4) == (5, 0, 0)
    assert [on(d) for d in (5, 6, 7, 8)] == [(4, 1, 0)] * 4
    assert on(9) == (5, 0, 0)
    # The cell's state follows: all free, some promised, none free.
    assert re.search(rf'class="cell free[^"]*" data-day="{timezone.localdate().isoformat()}"', response.text)


def test_a_kind_fully_promised_shows_none_free(client, staff_admin):
    login_staff(client, staff_admin)
    gimbal = EquipmentFactory(stock=2, slug="gimbal")
    owner = CrewOwnerFactory()
    days = days_from_now(3, 1)
    services.booking_request(
        crew=owner.crew, studio_set=StudioSetFactory(), days=days, items=[ItemRequest(gimbal, 2)], by=owner
    )
    response = client.get(reverse(URL))
    assert _cells(response, "gimbal")[days.start.isoformat()] == (0, 2, 0)
    assert re.search(rf'class="cell none-free[^"]*" data-day="{days.start.isoformat()}"', response.text)


def _many(kinds: int, bookings: int) -> None:
    stock = [EquipmentFactory(stock=1000) for _ in range(kinds)]
    owner = CrewOwnerFactory()
    for i in range(bookings):
        services.booking_request(
            crew=owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(1 + i % 10, 2),
            items=[ItemRequest(stock[i % kinds], 1)],
            by=owner,
        )


@pytest.mark.parametrize(("kinds", "bookings"), [(2, 2), (12, 30)])
def test_the_page_uses_a_fixed_number_of_queries(
    client, staff_admin, django_assert_num_queries, kinds, bookings
):
    login_staff(client, staff_admin)
    _many(kinds, bookings)
    # session, user, device; equipment kinds; kits containing them; booking lines; whole-plan lines;
    # blackouts; units out with crews
    with django_assert_num_queries(9):
        response = client.get(reverse(URL), {"weeks": "4"})
    assert response.text.count("<tr data-equipment=") == kinds


@pytest.mark.parametrize(
    ("params", "message"),
    [({"start": "2026-02-30"}, "Enter a valid date"), ({"weeks": "99"}, "Select a valid choice")],
)
def test_a_bad_window_says_so_and_shows_the_default(client, staff_admin, params, message):
    login_staff(client, staff_admin)
    response = client.get(reverse(URL), params)
    assert response.status_code == 200
    assert 'id="window-errors"' in response.text and message in response.text
    assert response.context["start"] == timezone.localdate()


def test_the_page_is_in_chinese_and_spanish(client, staff_admin):
    login_staff(client, staff_admin)
    led = EquipmentFactory(stock=4, slug="led")
    owner = CrewOwnerFactory()
    services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(1, 1),
        items=[ItemRequest(led, 1)],
        by=owner,
    )
    chinese = client.get(reverse(URL), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    spanish = client.get(reverse(URL), HTTP_ACCEPT_LANGUAGE="es").text
    assert "设备占用" in chinese and "已承诺 1<" in chinese
    assert "Ocupación del material" in spanish
    assert "1 prometida<" in spanish and "4 unidades" in spanish
