"""Every <input type="date"> carries ISO yyyy-mm-dd, whatever the page's language.

Browsers accept nothing else in a date input: a localised value (2027/01/11 in
Chinese, 11/01/2027 in Spanish) shows as an empty field and is submitted empty.
The words around the inputs stay in the reader's language.
"""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from bookings.models import Booking
from hengdian.roles import BOOKING_DESK
from workshops.forms import EnrolmentForm

from ..auth import login_staff
from ..factories import SessionFactory, StaffMemberFactory, StudioSetFactory
from .test_booking_pages import form_data

LANGUAGES = ["zh-hans", "es"]


def date_values(html: str) -> dict[str, str]:
    """name → value of every date input on the page."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="date"' in tag:
            name = re.search(r'name="([^"]+)"', tag)[1]
            value = re.search(r'value="([^"]*)"', tag)
            values[name] = value[1] if value else ""
    return values


def in_weeks(weeks: int) -> date:
    return timezone.localdate() + timedelta(weeks=weeks)


@pytest.fixture
def first(db):
    return in_weeks(3)


@pytest.fixture
def last(first):
    return first + timedelta(days=4)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_booking_form_prefilled_from_the_set_page_carries_iso_dates(owner_client, language, first, last):
    studio_set = StudioSetFactory()
    response = owner_client.get(
        reverse("bookings:new"),
        {"set": studio_set.slug, "start": first.isoformat(), "end": last.isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    html = response.content.decode()
    assert response["Content-Language"] == language
    assert date_values(html) == {
        "parts-0-start_date": first.isoformat(),
        "parts-0-end_date": last.isoformat(),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_booking_form_default_dates_are_iso(owner_client, language):
    html = owner_client.get(reverse("bookings:new"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert date_values(html)["parts-0-start_date"] == tomorrow.isoformat()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_add_another_set_round_trip_keeps_iso_dates(owner_client, language, first, last):
    studio_set = StudioSetFactory()
    data = form_data(studio_set.slug, first.isoformat(), last.isoformat(), add_parts="1")
    html = owner_client.post(reverse("bookings:new"), data, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert date_values(html)["parts-0-start_date"] == first.isoformat()
    assert date_values(html)["parts-0-end_date"] == last.isoformat()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_iso_dates_are_accepted_in_every_language(owner_client, crew_owner, language, first, last):
    studio_set = StudioSetFactory()
    response = owner_client.post(
        reverse("bookings:new"),
        form_data(studio_set.slug, first.isoformat(), last.isoformat()),
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.start_date, booking.end_date) == (first, last)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_set_filter_carries_iso_dates_and_localised_labels(client, language, first, last):
    StudioSetFactory()
    html = client.get(
        reverse("bookings:set_list"),
        {"free_from": first.isoformat(), "free_to": last.isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    assert date_values(html) == {"free_from": first.isoformat(), "free_to": last.isoformat()}
    with translation.override(language):
        assert str(translation.gettext("Free from")) in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_equipment_range_carries_iso_dates(client, language, first, last):
    html = client.get(
        reverse("bookings:equipment_list"),
        {"start": first.isoformat(), "end": last.isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    assert date_values(html) == {"start": first.isoformat(), "end": last.isoformat()}


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page", ["occupancy", "export"])
def test_admin_occupancy_and_export_carry_iso_dates(client, language, page, first):
    login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))
    response = client.get(
        reverse(f"admin:bookings_booking_{page}"),
        {"start": first.isoformat()} if page == "occupancy" else {},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    values = date_values(response.content.decode())
    assert values
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) for value in values.values()), values


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_registration_passport_dates_render_iso(language):
    """A form given the dates it already knows (the participant's own edit form) shows them."""
    expiry, born = date(2031, 5, 1), date(1992, 4, 3)
    with translation.override(language):
        form = EnrolmentForm(
            session=SessionFactory(), initial={"passport_expiry": expiry, "date_of_birth": born}
        )
        html = str(form["passport_expiry"]) + str(form["date_of_birth"])
    assert date_values(html) == {"passport_expiry": "2031-05-01", "date_of_birth": "1992-04-03"}
