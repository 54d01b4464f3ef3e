"""The admin's date drill-down: the same years and months as Django's, without reading every row."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.admin.base import with_drill_down
from bookings.models import Blackout
from bookings.models.outbox import Notification

from ..auth import login_staff
from ..factories import StudioSetFactory

pytestmark = pytest.mark.django_db

STUDIO = ZoneInfo("Asia/Shanghai")


def _blackouts(studio_set, days: list[date]) -> None:
    Blackout.objects.bulk_create(
        Blackout(studio_set=studio_set, start_date=day, end_date=day, reason=Blackout.Reason.OTHER)
        for day in days
    )


def _emails(moments: list[datetime]) -> None:
    rows = Notification.objects.bulk_create(
        Notification(
            kind=Notification.Kind.BOOKING_REQUESTED,
            recipient="crew@example.com",
            language="en",
            subject="s",
            body_text="b",
            dedupe_key=f"drill-down-{i}",
        )
        for i in range(len(moments))
    )
    for row, moment in zip(rows, moments, strict=True):
        Notification.objects.filter(pk=row.pk).update(created_at=moment)


def test_years_and_months_of_dates_are_those_django_finds():
    # 2021 and 2025 have rows, the years between do not; one month of 2025 is empty.
    days = [date(2021, 3, 1), date(2021, 12, 31), date(2025, 1, 1), date(2025, 3, 15), date(2025, 12, 31)]
    _blackouts(StudioSetFactory(), days)
    everything = Blackout.objects.all()

    years = with_drill_down(everything).dates("start_date", "year")
    assert years == list(everything.dates("start_date", "year"))
    assert [d.year for d in years] == [2021, 2025]

    in_2025 = everything.filter(start_date__year=2025)
    months = with_drill_down(in_2025).dates("start_date", "month")
    assert months == list(in_2025.dates("start_date", "month"))
    assert [d.month for d in months] == [1, 3, 12]
    assert with_drill_down(everything.none()).dates("start_date", "year") == []


@pytest.mark.parametrize("tz", [STUDIO, ZoneInfo("UTC")])
def test_years_and_months_of_timestamps_are_the_studio_calendars(tz):
    # 31 December 23:30 in Hengdian is still the old year there, though it is past noon in UTC;
    # 1 January 00:30 in Hengdian is the new year there, though still the old one in UTC.
    _emails(
        [
            datetime(2024, 12, 31, 23, 30, tzinfo=STUDIO),
            datetime(2026, 1, 1, 0, 30, tzinfo=STUDIO),
            datetime(2026, 5, 20, 12, 0, tzinfo=STUDIO),
        ]
    )
    everything = Notification.objects.all()
    drilled = with_drill_down(everything).datetimes("created_at", "year", tzinfo=tz)
    assert drilled == list(everything.datetimes("created_at", "year", tzinfo=tz))

    in_2026 = everything.filter(created_at__gte=datetime(2026, 1, 1, tzinfo=tz))
    drilled = with_drill_down(in_2026).datetimes("created_at", "month", tzinfo=tz)
    assert drilled == list(in_2026.datetimes("created_at", "month", tzinfo=tz))


def test_a_mistyped_far_year_falls_back_to_the_admins_own_query():
    _blackouts(StudioSetFactory(), [date(2025, 1, 1), date(9998, 1, 1)])
    years = with_drill_down(Blackout.objects.all()).dates("start_date", "year")
    assert [d.year for d in years] == [2025, 9998]


def _changelist_queries(client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    years = re.findall(r"start_date__year=(\d+)", response.text)
    return len(queries), sorted(set(years))


def test_the_blackout_list_drill_down_costs_the_same_at_any_size(client, staff_admin):
    login_staff(client, staff_admin)
    url = reverse("admin:bookings_blackout_changelist")
    studio_set = StudioSetFactory()
    _blackouts(studio_set, [date(2023, 5, 1), date(2025, 5, 1)])
    small, years = _changelist_queries(client, url)
    assert years == ["2023", "2025"]

    # Many more rows in the same years: the drill-down asks no more of the database.
    _blackouts(studio_set, [date(2023, 1, 1) + timedelta(days=i) for i in range(300)])
    large, years = _changelist_queries(client, url)
    assert years == ["2023", "2025"]
    assert large == small
    # And no query reads the table for its distinct years.
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
