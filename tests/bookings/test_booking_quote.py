"""The price quote is on the booking form whenever what it holds allows one."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from bookings.models import Booking

from ..factories import EquipmentFactory, StudioSetFactory
from .test_booking_pages import form_data
from .test_booking_request import days_from_now

PENDING = 'id="quote-pending"'


def total(html: str) -> str:
    start = html.index('id="quote-total">') + len('id="quote-total">')
    return html[start : html.index("<", start)]


@pytest.mark.django_db
def test_the_form_opened_with_a_set_and_dates_shows_the_quote_at_once(owner_client):
    studio_set = StudioSetFactory(daily_rate=Decimal("15000"))
    days = days_from_now(10, 7)
    html = owner_client.get(
        reverse("bookings:new"), {"set": studio_set.slug, "start": days.start, "end": days.end}
    ).content.decode()
    assert PENDING not in html
    assert total(html) == "¥105,000.00"


@pytest.mark.django_db
def test_the_form_opened_without_a_set_asks_for_one(owner_client):
    html = owner_client.get(reverse("bookings:new")).content.decode()
    assert PENDING in html


@pytest.mark.django_db
@pytest.mark.parametrize("button", ["add_items", "add_parts"])
def test_the_quote_stays_after_adding_a_row(owner_client, button):
    studio_set = StudioSetFactory(daily_rate=Decimal("15000"))
    camera = EquipmentFactory(daily_rate=Decimal("1200"), stock=4)
    days = days_from_now(10, 7)
    data = form_data(studio_set.slug, days.start, days.end, items=[(camera.slug, 2)], **{button: "1"})
    response = owner_client.post(reverse("bookings:new"), data)
    html = response.content.decode()
    assert response.status_code == 200
    row = "booking-item" if button == "add_items" else "booking-part"
    assert html.count(f'{row}">') == 2  # the row was added
    assert total(html) == "¥121,800.00"  # 15,000 × 7 + 1,200 × 2 × 7
    assert "is-invalid" not in html
    assert not Booking.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["bookings:new", "bookings:quote"])
def test_too_many_units_shows_the_error_and_still_the_quote(owner_client, url):
    studio_set = StudioSetFactory(daily_rate=Decimal("15000"))
    camera = EquipmentFactory(daily_rate=Decimal("1200"), stock=2)
    days = days_from_now(10, 7)
    response = owner_client.post(
        reverse(url), form_data(studio_set.slug, days.start, days.end, items=[(camera.slug, 3)])
    )
    html = response.content.decode()
    if url == "bookings:new":
        assert response.status_code == 400
        assert "The studio owns 2 units of" in html
    assert total(html) == "¥130,200.00"  # 15,000 × 7 + 1,200 × 3 × 7
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_invalid_dates_give_no_quote(owner_client):
    studio_set = StudioSetFactory()
    days = days_from_now(10, 7)
    response = owner_client.post(reverse("bookings:quote"), form_data(studio_set.slug, days.end, days.start))
    assert PENDING in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans", "es"])
def test_the_quote_names_the_days_in_the_readers_words(owner_client, language):
    studio_set = StudioSetFactory()
    days = days_from_now(10, 7)
    html = owner_client.get(
        reverse("bookings:new"),
        {"set": studio_set.slug, "start": days.start, "end": days.end},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    quote = html[html.index('id="quote"') :]
    with translation.override(language):
        expected = f"{date_format(days.start)} – {date_format(days.end)}"
    assert expected in quote
    assert days.start.isoformat() not in quote
