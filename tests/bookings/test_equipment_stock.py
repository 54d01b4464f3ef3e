"""The studio never owns fewer units of a kind than crews already hold on some day."""

import pytest
from django.urls import reverse

from bookings import services
from bookings.models import Booking, BookingItem, Equipment
from bookings.services import BookingError, ItemRequest

from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory
from .helpers import run_concurrently
from .test_booking_request import days_from_now


def hold(camera: Equipment, units: int, days) -> Booking:
    owner = CrewOwnerFactory()
    return services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        days=days,
        items=[ItemRequest(camera, units)],
        by=owner,
    )


@pytest.mark.django_db
def test_the_stock_cannot_go_below_the_units_held_on_any_day_and_the_refusal_names_them():
    camera = EquipmentFactory(stock=5)
    first = hold(camera, 3, days_from_now(10, 3))  # days 10-12
    second = hold(camera, 2, days_from_now(11, 3))  # days 11-13: 5 held on days 11 and 12

    with pytest.raises(BookingError) as refused:
        services.equipment_set_stock(equipment=camera, stock=4)

    assert refused.value.field == "stock"
    assert first.reference in str(refused.value) and second.reference in str(refused.value)
    assert "5 units" in str(refused.value)
    camera.refresh_from_db()
    assert camera.stock == 5

    services.equipment_set_stock(equipment=camera, stock=5)  # exactly what is held: fine
    services.equipment_set_stock(equipment=camera, stock=9)  # more is always fine
    camera.refresh_from_db()
    assert camera.stock == 9


@pytest.mark.django_db
def test_cancelled_and_finished_bookings_hold_nothing(crew_owner):
    camera = EquipmentFactory(stock=4)
    cancelled = hold(camera, 4, days_from_now(10, 3))
    services.booking_cancel(booking=cancelled, by=cancelled.created_by)
    finished = hold(camera, 4, days_from_now(3, 2))
    Booking.objects.filter(pk=finished.pk).update(
        start_date=days_from_now(-5, 2).start, end_date=days_from_now(-5, 2).end
    )

    services.equipment_set_stock(equipment=camera, stock=0)

    camera.refresh_from_db()
    assert camera.stock == 0


@pytest.mark.django_db
def test_the_admin_says_why_next_to_the_stock_and_saves_nothing(staff_client):
    camera = EquipmentFactory(stock=3, name_en="Vertical camera kit")
    booking = hold(camera, 3, days_from_now(10, 2))
    url = reverse("admin:bookings_equipment_change", args=[camera.pk])
    data = {
        "name_en": "Vertical camera kit (renamed)",
        "slug": camera.slug,
        "category": camera.category,
        "daily_rate": "1200",
        "stock": "2",
        "is_active": "on",
        "components-TOTAL_FORMS": "0",
        "components-INITIAL_FORMS": "0",
    }

    response = staff_client.post(url, data)

    assert response.status_code == 200
    page = response.content.decode()
    stock_row = page[page.index('class="form-row') :][: page.index('name="stock"') + 2000]
    assert booking.reference in page and "errorlist" in stock_row
    camera.refresh_from_db()
    assert (camera.stock, camera.name_en) == (3, "Vertical camera kit")

    response = staff_client.post(url, {**data, "stock": "3"})
    assert response.status_code == 302
    camera.refresh_from_db()
    assert (camera.stock, camera.name_en) == (3, "Vertical camera kit (renamed)")


@pytest.mark.django_db(transaction=True)
def test_a_request_and_a_lower_stock_at_the_same_moment_never_promise_more_than_is_owned():
    for _round in range(5):
        camera = EquipmentFactory(stock=3)
        owner, studio_set = CrewOwnerFactory(), StudioSetFactory()

        def attempt(i: int, camera=camera, owner=owner, studio_set=studio_set):
            if i == 0:
                return services.booking_request(
                    crew=owner.crew,
                    studio_set=studio_set,
                    days=days_from_now(10, 3),
                    items=[ItemRequest(camera, 3)],
                    by=owner,
                )
            return services.equipment_set_stock(equipment=camera, stock=1)

        booked, lowered = run_concurrently(2, attempt)

        camera.refresh_from_db()
        held = sum(BookingItem.objects.filter(equipment=camera).values_list("quantity", flat=True))
        # Exactly one of the two happened, and the stock covers what is held.
        assert isinstance(booked, Booking) != isinstance(lowered, Equipment), (booked, lowered)
        assert isinstance(booked, BookingError) or isinstance(lowered, BookingError), (booked, lowered)
        assert camera.stock == (3 if isinstance(booked, Booking) else 1)
        assert held <= camera.stock
