"""The catalogue pages keep their rendered lists in the shared cache (bookings/pagecache.py):
whatever changes, the next page shows it, in the visitor's language, and never
what another visitor alone may see."""

import re
from datetime import timedelta

import pytest
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from bookings import pagecache, services
from bookings.models import Blackout, Booking
from workshops.models import Enrolment

from .bookings.test_booking_request import days_from_now
from .factories import EnrolmentFactory, EquipmentFactory, SessionFactory, StudioSetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    # On whatever cache the tests run with (in one process, a local one is shared too).
    settings.PAGE_CACHE = True


def _day_state(response, day) -> str:
    match = re.search(rf'data-date="{day:%Y-%m-%d}" data-state="([a-z]+)"', response.content.decode())
    return match[1]


def _free_units(response, slug: str) -> str:
    row = re.search(rf'<tr data-slug="{slug}">.*?</tr>', response.content.decode(), re.S)[0]
    return re.search(r'class="text-end free-units">([0-9]+)<', row)[1]


def test_a_renamed_set_shows_its_new_name_on_the_list_and_its_page(client):
    studio_set = StudioSetFactory(name="Old palace")
    detail = reverse("bookings:set_detail", args=[studio_set.slug])
    assert "Old palace" in client.get("/sets/").content.decode()
    assert "Old palace" in client.get(detail).content.decode()

    studio_set.name = "Restored palace"
    studio_set.save()

    for url in ("/sets/", detail):
        html = client.get(url).content.decode()
        assert "Restored palace" in html
        assert "Old palace" not in html


def test_a_set_taken_off_the_catalogue_leaves_the_list(client):
    StudioSetFactory(name="Kept street")
    gone = StudioSetFactory(name="Closed street")
    assert "Closed street" in client.get("/sets/").content.decode()

    gone.is_active = False
    gone.save()

    html = client.get("/sets/").content.decode()
    assert "Kept street" in html
    assert "Closed street" not in html


def test_a_booking_shows_on_the_calendar_the_free_list_and_the_equipment_check(client, crew_owner):
    studio_set = StudioSetFactory(name="Busy hall")
    camera = EquipmentFactory(stock=5, slug="cam")
    days = days_from_now(10, 2)
    detail = reverse("bookings:set_detail", args=[studio_set.slug])
    month = f"{days.start:%Y-%m}"
    week = {"start": days.start, "end": days.end}
    free_sets = {"free_from": days.start, "free_to": days.end}
    assert _day_state(client.get(detail, {"month": month}), days.start) == "free"
    assert "Busy hall" in client.get("/sets/", free_sets).content.decode()
    assert _free_units(client.get("/equipment/", week), "cam") == "5"

    services.booking_request(
        crew=crew_owner.crew,
        studio_set=studio_set,
        days=days,
        items=[services.ItemRequest(camera, 3)],
        by=crew_owner,
    )

    assert _day_state(client.get(detail, {"month": month}), days.start) == "booked"
    assert "Busy hall" not in client.get("/sets/", free_sets).content.decode()
    assert _free_units(client.get("/equipment/", week), "cam") == "2"


def test_a_hold_the_sweep_expires_frees_the_days_again(client, crew_owner):
    studio_set = StudioSetFactory()
    days = days_from_now(10, 1)
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days, items=[], by=crew_owner
    )
    detail = reverse("bookings:set_detail", args=[studio_set.slug])
    month = {"month": f"{days.start:%Y-%m}"}
    assert _day_state(client.get(detail, month), days.start) == "booked"

    # A bulk update(), which sends no signal.
    expired = services.booking_expire_stale_holds(now=booking.hold_expires_at + timedelta(minutes=1))

    assert expired == [booking.pk]
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.EXPIRED
    assert _day_state(client.get(detail, month), days.start) == "free"


def test_a_blackout_closes_the_days_on_the_calendar(client):
    studio_set = StudioSetFactory()
    day = timezone.localdate() + timedelta(days=12)
    detail = reverse("bookings:set_detail", args=[studio_set.slug])
    month = {"month": f"{day:%Y-%m}"}
    assert _day_state(client.get(detail, month), day) == "free"

    Blackout.objects.create(studio_set=studio_set, start_date=day, end_date=day, reason="Repairs")

    assert _day_state(client.get(detail, month), day) == "blackout"


def test_each_language_gets_its_own_list(client):
    StudioSetFactory(name_en="Water town", name_zh_hans="水乡", name_es="Pueblo de agua")
    assert "Water town" in client.get("/sets/").content.decode()

    with translation.override("zh-hans"):
        client.cookies["django_language"] = "zh-hans"
        chinese = client.get("/sets/").content.decode()
    client.cookies["django_language"] = "es"
    spanish = client.get("/sets/").content.decode()

    assert "水乡" in chinese and "Water town" not in chinese
    assert "Pueblo de agua" in spanish and "水乡" not in spanish


def test_only_crews_see_the_book_button_whoever_came_first(owner_client):
    StudioSetFactory()
    visitor = Client()
    book = reverse("bookings:new") + "?set="
    assert book not in visitor.get("/sets/").content.decode()
    assert book in owner_client.get("/sets/").content.decode()
    assert book not in visitor.get("/sets/").content.decode()


def test_each_page_carries_its_own_visitors_csrf_token(owner_client):
    StudioSetFactory()
    other = Client()
    other.get("/sets/")
    mine = owner_client.get("/sets/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', mine.content.decode())[1]
    # A masked token: it unmasks to the secret in this client's own cookie.
    assert _unmask_cipher_token(token) == owner_client.cookies["csrftoken"].value


def test_pages_work_when_the_cache_is_down(client, settings):
    StudioSetFactory(name="Still listed")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = client.get("/sets/")
    assert response.status_code == 200
    assert "Still listed" in response.content.decode()


def test_an_enrolment_updates_the_places_left_on_the_workshop_list(client):
    session = SessionFactory(capacity=3)
    EnrolmentFactory(session=session)
    assert "2 places left" in client.get("/workshops/").content.decode()

    EnrolmentFactory(session=session)
    assert "1 place left" in client.get("/workshops/").content.decode()

    Enrolment.objects.filter(session=session).first().delete()
    assert "2 places left" in client.get("/workshops/").content.decode()


def test_the_home_page_counts_a_new_set(client):
    StudioSetFactory()
    assert "among our 1 standing set," in client.get("/").content.decode()
    StudioSetFactory()
    assert "among our 2 standing sets," in client.get("/").content.decode()


def test_a_fragment_rendered_before_a_change_is_never_used_after_it():
    found = pagecache.lookup("probe", [pagecache.CATALOGUE], ["q"])
    assert found.html is None
    pagecache.bump(pagecache.CATALOGUE)  # a booking commits while the page renders
    pagecache.store(found, "<p>before</p>")
    assert pagecache.lookup("probe", [pagecache.CATALOGUE], ["q"]).html is None

    fresh = pagecache.lookup("probe", [pagecache.CATALOGUE], ["q"])
    pagecache.store(fresh, "<p>after</p>")
    assert pagecache.lookup("probe", [pagecache.CATALOGUE], ["q"]).html == "<p>after</p>"
    # Another language is another fragment.
    with translation.override("es"):
        assert pagecache.lookup("probe", [pagecache.CATALOGUE], ["q"]).html is None


def test_nothing_is_kept_when_the_page_cache_is_off(settings):
    settings.PAGE_CACHE = False
    assert pagecache.lookup("probe", [pagecache.CATALOGUE], []) is None


@pytest.mark.django_db
def test_my_bookings_is_cached_per_crew_and_follows_its_bookings(client, crew_owner, other_crew_member):
    from datetime import timedelta

    from django.utils import timezone

    from bookings import services
    from bookings.models import DayRange

    from .factories import StudioSetFactory

    first = timezone.localdate() + timedelta(days=10)
    mine = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=DayRange(first, first), by=crew_owner
    )
    client.force_login(crew_owner)
    assert mine.reference in client.get("/bookings/").content.decode()
    assert mine.reference in client.get("/bookings/").content.decode()  # from the cache

    # Another crew never sees it, cached or not.
    client.force_login(other_crew_member)
    assert mine.reference not in client.get("/bookings/").content.decode()

    # A change to the crew's bookings shows at once.
    client.force_login(crew_owner)
    services.booking_cancel(booking=mine, by=crew_owner)
    page = client.get("/bookings/").content.decode()
    assert mine.reference in page and "Cancelled" in page
