"""Amounts in yuan are written one way per language, on every page, in emails and in the admin."""

import csv
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from bookings import services
from bookings.money import format_cny
from hengdian.roles import BOOKING_DESK, WORKSHOP_DESK

from .auth import login_staff
from .bookings.test_booking_pages import form_data
from .bookings.test_booking_request import days_from_now
from .factories import (
    CrewOwnerFactory,
    EquipmentFactory,
    SessionFactory,
    StaffMemberFactory,
    StudioSetFactory,
    WorkshopFactory,
)

NBSP = "\xa0"
EXPECTED = {
    "en": "¥121,800.00",
    "zh-hans": "¥121,800.00",
    "es": f"121.800,00{NBSP}¥",
}


@pytest.mark.parametrize(("language", "expected"), EXPECTED.items())
def test_amounts_are_grouped_for_the_language(language, expected):
    with translation.override(language):
        assert format_cny(Decimal("121800")) == expected
        assert format_cny("121800.00") == expected
        assert format_cny(121800) == expected


@pytest.mark.parametrize("language", EXPECTED)
def test_small_and_odd_amounts(language):
    with translation.override(language):
        small = format_cny(Decimal("5600"))
        cents = format_cny(Decimal("0.5"))
        empty = format_cny(None)
    assert small == {"en": "¥5,600.00", "zh-hans": "¥5,600.00", "es": f"5.600,00{NBSP}¥"}[language]
    assert cents == {"en": "¥0.50", "zh-hans": "¥0.50", "es": f"0,50{NBSP}¥"}[language]
    assert empty == ""


def _amounts(language, *values):
    with translation.override(language):
        return [format_cny(Decimal(v)) for v in values]


@pytest.mark.django_db
@pytest.mark.parametrize("language", EXPECTED)
def test_catalogue_pages_show_grouped_rates(client, language):
    studio_set = StudioSetFactory(daily_rate=Decimal("15000"))
    EquipmentFactory(daily_rate=Decimal("1200"))
    rate, equipment_rate = _amounts(language, "15000", "1200")
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    assert rate in client.get(reverse("bookings:set_list"), **headers).content.decode()
    assert rate in client.get(studio_set.get_absolute_url(), **headers).content.decode()
    assert equipment_rate in client.get(reverse("bookings:equipment_list"), **headers).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", EXPECTED)
def test_quote_booking_detail_and_list_show_grouped_amounts(owner_client, language):
    studio_set = StudioSetFactory(daily_rate=Decimal("15000"))
    camera = EquipmentFactory(daily_rate=Decimal("1200"), stock=4)
    days = days_from_now(10, 7)
    data = form_data(studio_set.slug, days.start, days.end, items=[(camera.slug, 2)])
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    total, set_amount, camera_amount, camera_rate = _amounts(language, "121800", "105000", "16800", "1200")

    quote = owner_client.post(reverse("bookings:quote"), data, **headers).content.decode()
    assert total in quote and set_amount in quote and camera_amount in quote and camera_rate in quote

    booking_url = owner_client.post(reverse("bookings:new"), data, **headers)["Location"]
    detail = owner_client.get(booking_url, **headers).content.decode()
    assert total in detail and set_amount in detail and camera_amount in detail
    assert "105000" not in detail
    assert total in owner_client.get(reverse("bookings:list"), **headers).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", EXPECTED)
def test_workshop_fee_is_grouped(client, language):
    session = SessionFactory(workshop=WorkshopFactory(fee=Decimal("5600")))
    (fee,) = _amounts(language, "5600")
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    assert fee in client.get(reverse("workshops:list"), **headers).content.decode()
    assert fee in client.get(session.workshop.get_absolute_url(), **headers).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", EXPECTED)
def test_booking_emails_show_the_grouped_total(django_capture_on_commit_callbacks, language):
    owner = CrewOwnerFactory(language=language)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_request(
            crew=owner.crew,
            studio_set=StudioSetFactory(daily_rate=Decimal("15000")),
            days=days_from_now(10, 7),
            items=[services.ItemRequest(EquipmentFactory(daily_rate=Decimal("1200"), stock=4), 2)],
            by=owner,
        )
    (total,) = _amounts(language, "121800")
    (message,) = [m for m in mail.outbox if owner.email in m.to]
    assert total in message.body
    assert total in message.alternatives[0][0]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_admin_shows_grouped_amounts_and_the_csv_raw_numbers(client, language):
    owner = CrewOwnerFactory()
    booking = services.booking_request(
        crew=owner.crew,
        studio_set=StudioSetFactory(daily_rate=Decimal("15000")),
        days=days_from_now(10, 7),
        items=[services.ItemRequest(EquipmentFactory(daily_rate=Decimal("1200"), stock=4), 2)],
        by=owner,
    )
    login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    total, set_rate, equipment_rate, set_amount = _amounts(language, "121800", "15000", "1200", "105000")

    changelist = client.get(reverse("admin:bookings_booking_changelist"), **headers).content.decode()
    assert total in changelist
    change = client.get(reverse("admin:bookings_booking_change", args=[booking.pk]), **headers)
    change = change.content.decode()
    assert total in change and set_amount in change and equipment_rate in change
    assert "121800.00" not in change and "105000" not in change
    assert set_rate in client.get(reverse("admin:bookings_studioset_changelist"), **headers).content.decode()
    assert (
        equipment_rate
        in client.get(reverse("admin:bookings_equipment_changelist"), **headers).content.decode()
    )

    first, last = booking.start_date.isoformat(), booking.end_date.isoformat()
    export = client.get(reverse("admin:bookings_booking_export"), {"date_from": first, "date_to": last})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert "121800.00" in rows[1]


@pytest.mark.django_db
def test_workshop_admin_shows_the_grouped_fee(client):
    WorkshopFactory(fee=Decimal("5600"))
    login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))
    page = client.get(reverse("admin:workshops_workshop_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "¥5,600.00" in page.content.decode()
