"""My bookings: the upcoming plans first, then the past a page of plans at a time."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, ShootPlan
from bookings.selectors import PAST_PLANS_PER_PAGE

from ..factories import CrewOwnerFactory, StudioSetFactory

pytestmark = pytest.mark.django_db


def _plans(owner, studio_set, *, count: int, first_start, parts: int = 1, step: int = -5) -> list[list[str]]:
    """``count`` plans of ``parts`` bookings each, one every ``step`` days from ``first_start``;
    returns each plan's booking references."""
    references = []
    for i in range(count):
        plan = ShootPlan.objects.create(crew=owner.crew, created_by=owner)
        start = first_start + timedelta(days=step * i)
        bookings = Booking.objects.bulk_create(
            Booking(
                plan=plan,
                crew=owner.crew,
                studio_set=studio_set,
                start_date=start + timedelta(days=part),
                end_date=start + timedelta(days=part),
                blocked_until=start + timedelta(days=part),
                status=Booking.Status.COMPLETED if step < 0 else Booking.Status.CONFIRMED,
                quote_total=Decimal(1),
                created_by=owner,
                reference=f"HD-{'P' if step < 0 else 'U'}{i:03d}{part:02d}",
            )
            for part in range(parts)
        )
        references.append([b.reference for b in bookings])
    return references


def test_the_past_is_paged_by_plan_latest_first_after_the_upcoming(client):
    owner = CrewOwnerFactory()
    studio_set = StudioSetFactory()
    today = timezone.localdate()
    upcoming = _plans(owner, studio_set, count=2, first_start=today + timedelta(days=3), step=5)
    past = _plans(
        owner, studio_set, count=PAST_PLANS_PER_PAGE + 3, first_start=today - timedelta(days=10), parts=2
    )
    client.force_login(owner)

    first = client.get(reverse("bookings:list")).content.decode()
    for reference in upcoming[0] + past[0] + past[PAST_PLANS_PER_PAGE - 1]:
        assert reference in first
    assert past[PAST_PLANS_PER_PAGE][0] not in first
    assert first.index(upcoming[0][0]) < first.index(past[0][0])
    assert "Page 1 of 2" in first and "?page=2#past-bookings" in first

    second = client.get(reverse("bookings:list"), {"page": 2}).content.decode()
    # Both parts of a plan stay on one page; the upcoming ones are on the first page only.
    for plan in past[PAST_PLANS_PER_PAGE:]:
        assert all(reference in second for reference in plan)
    assert upcoming[0][0] not in second and past[0][0] not in second


@pytest.mark.parametrize("page", ["99", "0", "-3", "x", "9" * 30])
def test_a_page_number_out_of_range_shows_a_page_not_an_error(client, page):
    owner = CrewOwnerFactory()
    past = _plans(
        owner,
        StudioSetFactory(),
        count=PAST_PLANS_PER_PAGE + 1,
        first_start=timezone.localdate() - timedelta(days=3),
    )
    client.force_login(owner)
    response = client.get(reverse("bookings:list"), {"page": page})
    assert response.status_code == 200
    assert past[0][0] in response.content.decode() or past[-1][0] in response.content.decode()


def test_another_crews_past_is_not_on_any_page(client):
    owner, other = CrewOwnerFactory(), CrewOwnerFactory()
    theirs = _plans(other, StudioSetFactory(), count=3, first_start=timezone.localdate() - timedelta(days=3))
    client.force_login(owner)
    for page in ("1", "2"):
        assert theirs[0][0] not in client.get(reverse("bookings:list"), {"page": page}).content.decode()


@pytest.mark.parametrize("past_plans", [3, 120])
def test_my_bookings_costs_a_few_queries_however_long_the_past(
    client, django_assert_max_num_queries, past_plans
):
    owner = CrewOwnerFactory()
    studio_set = StudioSetFactory()
    today = timezone.localdate()
    _plans(owner, studio_set, count=2, first_start=today + timedelta(days=3), step=5)
    _plans(owner, studio_set, count=past_plans, first_start=today - timedelta(days=10), parts=2)
    client.force_login(owner)
    for page in ("1", "2"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse("bookings:list"), {"page": page}).status_code == 200
