"""The admin writes dates the way each language does (2027年1月1日, 1 de enero de 2027)."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from bookings.models import Blackout
from hengdian.roles import BOOKING_DESK

from ..auth import login_staff
from ..factories import StaffMemberFactory, StudioSetFactory

pytestmark = pytest.mark.django_db
START = date(2027, 1, 1)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def desk(client):
    return login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))


@pytest.mark.parametrize(
    ("language", "window", "column", "wrong"),
    [
        ("zh-hans", "2027年1月1日 – 2027年1月14日", "1月1日", "一月"),
        ("es", "1 de enero de 2027 – 14 de enero de 2027", "1 ene", "01/01/2027"),
        ("en", "Jan. 1, 2027 – Jan. 14, 2027", "Jan 1", "1 Jan"),
    ],
)
def test_occupancy_window_and_columns_use_the_language_formats(desk, language, window, column, wrong):
    StudioSetFactory()
    html = desk.get(
        reverse("admin:bookings_booking_occupancy"),
        {"start": START.isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    page = text(html)
    assert window in page
    assert column in page
    assert wrong not in page


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "2031年5月1日"), ("es", "1 de mayo de 2031"), ("en", "May 1, 2031")],
)
def test_blackout_list_shows_dates_in_words(desk, language, expected):
    Blackout.objects.create(
        studio_set=StudioSetFactory(),
        start_date=date(2031, 5, 1),
        end_date=date(2031, 5, 1) + timedelta(days=2),
    )
    page = text(
        desk.get(
            reverse("admin:bookings_blackout_changelist"), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
    )
    assert expected in page
    assert "01/05/2031" not in page and "2031/05/01" not in page
