"""The catalogue: set cards with a picture, and the set calendar that opens on the dates a
crew is looking at and lets it pick a first and a last free day for the booking form."""

from datetime import date, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Blackout, DayRange, SetPhoto, StudioSet

from ..factories import StudioSetFactory
from .test_booking_request import days_from_now
from .test_set_photos import png_bytes


class _Links(HTMLParser):
    """``href`` of every calendar day link, by the date it picks."""

    def __init__(self):
        super().__init__()
        self.picks: dict[str, str] = {}
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self.hrefs.append(attrs.get("href", ""))
            if "cal-pick" in (attrs.get("class") or "").split():
                self.picks[attrs["data-date"]] = attrs["href"]


def links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(unescape(href)).query).items()}


def months_ahead(months: int) -> date:
    """The 10th of the month ``months`` after this one."""
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 + months
    return date(index // 12, index % 12 + 1, 10)


# --- Pictures -------------------------------------------------------------------------


def test_every_set_category_has_an_illustration():
    folder = Path(settings.BASE_DIR) / "static" / "img" / "sets"
    for category in StudioSet.Category.values:
        svg = (folder / f"{category}.svg").read_text()
        assert svg.startswith("<svg") and len(svg) < 4000
        assert "<script" not in svg and "style=" not in svg


@pytest.mark.django_db
def test_a_set_without_photos_shows_its_category_picture_and_the_catalogue_facts(client):
    StudioSetFactory(
        name="Hong Kong street",
        category=StudioSet.Category.ANCIENT_STREET,
        area_m2=1200,
        daily_rate=8500,
        vertical_ready=True,
    )
    page = client.get(reverse("bookings:set_list")).content.decode()
    card = page[page.index('id="set-results"') :]
    assert "/static/img/sets/ancient_street.svg" in card
    assert "Hong Kong street" in card and "Ancient street" in card
    assert "1,200 m²" in card and "¥8,500.00 per day" in card and "Vertical-ready" in card


@pytest.mark.django_db
def test_a_photo_replaces_the_category_picture(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    studio_set = StudioSetFactory(category=StudioSet.Category.HOSPITAL)
    SetPhoto.objects.create(studio_set=studio_set, image=SimpleUploadedFile("ward.png", png_bytes()))
    for url in (reverse("bookings:set_list"), studio_set.get_absolute_url()):
        page = client.get(url).content.decode()
        assert "img/sets/hospital.svg" not in page and "/media/sets/" in page
    other = StudioSetFactory(category=StudioSet.Category.HOSPITAL)
    assert "img/sets/hospital.svg" in client.get(other.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_set_cards_carry_the_dates_searched_for_to_the_set_page(client):
    studio_set = StudioSetFactory()
    week = days_from_now(40, 5)
    page = client.get(reverse("bookings:set_list"), {"free_from": week.start, "free_to": week.end})
    detail = [h for h in links(page.content.decode()).hrefs if h.startswith(studio_set.get_absolute_url())]
    assert detail and all(
        query(h) == {"start": f"{week.start:%Y-%m-%d}", "end": f"{week.end:%Y-%m-%d}"} for h in detail
    )


# --- Which month the calendar opens on ------------------------------------------------


@pytest.mark.django_db
def test_the_calendar_opens_on_the_month_of_the_dates_looked_at(client):
    studio_set = StudioSetFactory()
    url = studio_set.get_absolute_url()
    start = months_ahead(3)
    this_month = timezone.localdate().replace(day=1)

    assert client.get(url).context["month"] == this_month
    response = client.get(url, {"start": start, "end": start + timedelta(days=4)})
    assert response.context["month"] == start.replace(day=1)
    assert start.strftime("%Y-%m") in response.content.decode()
    # The start alone (a first day picked) is enough; an explicit month wins.
    assert client.get(url, {"start": start}).context["month"] == start.replace(day=1)
    shown = months_ahead(5).replace(day=1)
    assert client.get(url, {"start": start, "month": f"{shown:%Y-%m}"}).context["month"] == shown
    # Dates that mean nothing open the current month rather than failing.
    for bad in ("garbage", "2027-13-45", "11/01/2027", "99999-01-01", "1900-01-01"):
        response = client.get(url, {"start": bad, "end": bad})
        assert response.status_code == 200 and response.context["month"] == this_month


@pytest.mark.django_db
def test_month_links_keep_the_days_chosen(client):
    studio_set = StudioSetFactory()
    start = months_ahead(2)
    end = start + timedelta(days=3)
    html = client.get(studio_set.get_absolute_url(), {"start": start, "end": end}).content.decode()
    found = links(html)
    months = [query(h) for h in found.hrefs if "month=" in h and h not in found.picks.values()]
    assert {m["month"] for m in months} == {f"{months_ahead(1):%Y-%m}", f"{months_ahead(3):%Y-%m}"}
    assert all(m["start"] == f"{start:%Y-%m-%d}" and m["end"] == f"{end:%Y-%m-%d}" for m in months)


# --- Picking a first and a last free day --------------------------------------------------


@pytest.mark.django_db
def test_each_free_day_starts_a_selection_and_busy_days_cannot_be_picked(client, crew_owner):
    studio_set = StudioSetFactory(changeover_days=1)
    booked = days_from_now(20, 3)
    services.booking_request(crew=crew_owner.crew, studio_set=studio_set, days=booked, by=crew_owner)
    closed = booked.end + timedelta(days=4)
    Blackout.objects.create(studio_set=studio_set, start_date=closed, end_date=closed)
    month = f"{booked.start:%Y-%m}"

    picks = {}
    for m in {month, f"{closed:%Y-%m}"}:
        picks.update(links(client.get(studio_set.get_absolute_url(), {"month": m}).content.decode()).picks)
    free = booked.end + timedelta(days=2)
    assert query(picks[f"{free:%Y-%m-%d}"]) == {"month": f"{free:%Y-%m}", "start": f"{free:%Y-%m-%d}"}
    for busy in [*booked.dates(), booked.end + timedelta(days=1), closed]:
        assert f"{busy:%Y-%m-%d}" not in picks, busy
    # The changeover this set needs before the next booking: no booking can include that day.
    assert f"{booked.start - timedelta(days=1):%Y-%m-%d}" not in picks
    today = timezone.localdate()
    assert (
        f"{today - timedelta(days=1):%Y-%m-%d}"
        not in links(client.get(studio_set.get_absolute_url()).content.decode()).picks
    )


@pytest.mark.django_db
def test_after_a_first_day_the_next_free_day_ends_the_range(client):
    studio_set = StudioSetFactory()
    first = months_ahead(2)
    html = client.get(studio_set.get_absolute_url(), {"start": first}).content.decode()
    assert f'data-first="{first:%Y-%m-%d}"' in html
    assert "Now choose the last shoot day." in html
    picks = links(html).picks
    later, earlier = first + timedelta(days=4), first - timedelta(days=2)
    assert query(picks[f"{later:%Y-%m-%d}"]) == {
        "month": f"{first:%Y-%m}",
        "start": f"{first:%Y-%m-%d}",
        "end": f"{later:%Y-%m-%d}",
    }
    # A day before the first one starts again from there.
    assert query(picks[f"{earlier:%Y-%m-%d}"]) == {"month": f"{first:%Y-%m}", "start": f"{earlier:%Y-%m-%d}"}


@pytest.mark.django_db
def test_a_free_range_links_to_the_booking_form_with_its_dates(client, crew_owner):
    client.force_login(crew_owner)
    studio_set = StudioSetFactory(slug="qin-palace")
    days = DayRange(months_ahead(2), months_ahead(2) + timedelta(days=5))
    html = client.get(studio_set.get_absolute_url(), {"start": days.start, "end": days.end}).content.decode()
    booking_links = [query(h) for h in links(html).hrefs if h.startswith(reverse("bookings:new"))]
    expected = {"set": "qin-palace", "start": f"{days.start:%Y-%m-%d}", "end": f"{days.end:%Y-%m-%d}"}
    assert expected in booking_links
    assert html.count(' cal-selected"') == days.days

    form = client.get(reverse("bookings:new"), expected).context["parts"].forms[0]
    assert form.initial["start_date"] == days.start and form.initial["end_date"] == days.end


@pytest.mark.django_db
def test_a_range_with_a_busy_day_is_refused_with_a_message(client, crew_owner):
    studio_set = StudioSetFactory()
    booked = days_from_now(30, 2)
    services.booking_request(crew=crew_owner.crew, studio_set=studio_set, days=booked, by=crew_owner)
    client.force_login(crew_owner)
    start, end = booked.start - timedelta(days=3), booked.end + timedelta(days=3)
    response = client.get(studio_set.get_absolute_url(), {"start": start, "end": end})
    html = response.content.decode()
    assert response.status_code == 200
    error = html[html.index('id="calendar-error"') :]
    assert error.index("The set is not free on every day of this range") < error.index("</p>")
    assert not [h for h in links(html).hrefs if h.startswith(reverse("bookings:new")) and "end=" in h]
    # A first day that is not free is refused too, and nothing is selected.
    html = client.get(studio_set.get_absolute_url(), {"start": booked.start}).content.decode()
    assert 'id="calendar-error"' in html and "is not free. Choose a free day." in html
    assert "data-first=" not in html
    # Ranges the booking form would refuse get its own words.
    long = client.get(studio_set.get_absolute_url(), {"start": start, "end": start + timedelta(days=90)})
    assert f"A booking covers at most {settings.BOOKING_MAX_DAYS} shoot days." in long.content.decode()
    assert ' cal-selected"' not in long.content.decode()


@pytest.mark.django_db
def test_set_page_with_a_range_uses_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    studio_set = StudioSetFactory()
    for _ in range(3):
        StudioSetFactory()
    start = months_ahead(1)
    with django_assert_max_num_queries(4):
        client.get(studio_set.get_absolute_url(), {"start": start, "end": start + timedelta(days=25)})
