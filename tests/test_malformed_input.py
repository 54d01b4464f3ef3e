"""Malformed URLs and query strings get a 404, a 400 or the page with a message: never a 500.

PostgreSQL refuses NUL bytes in text (psycopg raises before the query is
sent), so these tests matter most on the PostgreSQL run; SQLite must answer
the same way.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, Crew

from .auth import login_staff
from .bookings.test_booking_request import days_from_now
from .factories import EquipmentFactory, SessionFactory, StudioSetFactory


@pytest.fixture
def client():
    # A 500 must show up as a status code to assert on, not as an exception.
    return Client(raise_request_exception=False)


@pytest.fixture
def booking(crew_owner):
    return services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(10, 3), by=crew_owner
    )


# --- NUL bytes ------------------------------------------------------------------


NUL_IN_PATH = [
    "/bookings/HD-%00AAAA/",
    "/bookings/HD-%00AAAA/cancel/",
    "/bookings/HD-%00AAAA.ics",
    "/bookings/feed/abc%00def.ics",
    "/sets/palace%00/",
    "/enrolments/abc%00def/",
    "/%00",
]
NUL_IN_QUERY = [
    "/bookings/new/?set=%00",
    "/bookings/new/?start=%00&end=2030-01-01",
    "/sets/?category=%00",
    "/equipment/?start=%00",
    "/accounts/login/?next=%00",
    "/sets/?%00=1",
]


@pytest.mark.django_db
def test_a_nul_byte_in_the_path_is_a_404_and_in_the_query_string_a_400(client, crew_owner, booking):
    client.force_login(crew_owner)
    for path in NUL_IN_PATH:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "We could not find that page" in response.content.decode()
    for url in NUL_IN_QUERY:
        response = client.get(url)
        assert response.status_code == 400, url
        assert "NUL character" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "reason"),
    [("es", "contiene un carácter NUL"), ("zh-hans", "包含 NUL 字符"), ("en", "contains a NUL character")],
)
def test_the_refusal_is_in_the_visitors_language(client, language, reason):
    response = client.get("/sets/?category=%00", headers={"accept-language": language})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'lang="{language}"' in html
    assert reason in html


@pytest.mark.django_db
def test_a_cookie_with_a_nul_byte_is_ignored(crew_owner):
    client = Client(raise_request_exception=False)
    client.force_login(crew_owner)
    assert client.get("/bookings/").status_code == 200
    # A session cookie with a NUL reached the session table and crashed every page.
    client.cookies["sessionid"] = "abcdefghij\x00"
    response = client.get("/bookings/")
    assert response.status_code == 302  # not logged in: that cookie names no session
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_header_with_a_nul_byte_is_a_400_and_records_nothing(client, crew_owner):
    from axes.models import AccessAttempt

    # A failed log-in stores the user agent; PostgreSQL cannot store a NUL.
    response = client.post(
        reverse("login"),
        {"username": crew_owner.email, "password": "wrong"},
        headers={"user-agent": "x\x00y"},
    )
    assert response.status_code == 400
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
def test_references_and_feed_tokens_outside_their_alphabet_are_404_without_a_query(
    client, crew_owner, booking, django_assert_num_queries
):
    client.force_login(crew_owner)
    client.get("/bookings/")  # the session is loaded once; what follows must not reach the database
    for path in (
        "/bookings/hd-aaaaaa/",
        "/bookings/HD-AAAAAAAAAAAAAAAAAAAAA/",
        "/bookings/HD-ÄÄÄÄÄÄ.ics",
        "/bookings/feed/not a token.ics",
        "/bookings/feed/" + "a" * 65 + ".ics",
    ):
        with django_assert_num_queries(0):
            response = Client(raise_request_exception=False).get(path)
        assert response.status_code == 404, path
    assert client.get(booking.get_absolute_url()).status_code == 200
    assert client.get(reverse("bookings:ics", args=[booking.reference])).status_code == 200
    assert client.get(reverse("bookings:feed", args=[crew_owner.crew.calendar_token])).status_code == 200


@pytest.mark.django_db
def test_an_unknown_set_in_the_booking_link_is_a_message_not_an_error(client, crew_owner):
    client.force_login(crew_owner)
    for value in ("no-such-set", "Palace hall <script>", "x" * 500, "宫殿"):
        response = client.get("/bookings/new/", {"set": value})
        assert response.status_code == 200
        assert "That set is not open for booking" in response.content.decode()


# --- Months and dates at the edges of the calendar ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "month",
    [
        "9999-12",
        "1-1",
        "0001-01",
        "0-1",
        "12345678901234567890-1",
        pytest.param("1" * 5000 + "-1", id="huge"),
    ],
)
def test_a_month_outside_the_calendar_is_a_404(client, month):
    studio_set = StudioSetFactory()
    response = client.get(studio_set.get_absolute_url(), {"month": month})
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "month",
    ["", "soon", "2025", "2025-13", "2025-0", "-", "2025-1-1", "2025-99999999999999999999", "٢٠٢٥-٠١"],
)
def test_a_malformed_month_shows_this_month(client, month):
    studio_set = StudioSetFactory()
    response = client.get(studio_set.get_absolute_url(), {"month": month})
    assert response.status_code == 200
    assert response.context["month"] == timezone.localdate().replace(day=1)


@pytest.mark.django_db
def test_the_calendar_stops_offering_months_at_its_edges(client):
    studio_set = StudioSetFactory()
    today = timezone.localdate()
    first = today.replace(day=1)
    # Walk forward through "next" links until there are none: it must end, on a month that answers.
    month, steps = first, 0
    while True:
        response = client.get(studio_set.get_absolute_url(), {"month": f"{month:%Y-%m}"})
        assert response.status_code == 200
        if response.context["next_month"] is None:
            break
        month, steps = response.context["next_month"], steps + 1
        assert steps < 200
    assert month > first + timedelta(days=365)
    after = (month + timedelta(days=32)).replace(day=1)
    assert client.get(studio_set.get_absolute_url(), {"month": f"{after:%Y-%m}"}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "0001-01-01", "end": "0001-01-02"},
        {"start": "2025-02-30", "end": "2025-03-01"},
    ],
)
def test_dates_at_the_edges_are_messages_on_every_date_form(client, crew_owner, query):
    EquipmentFactory()
    assert client.get("/equipment/", query).status_code == 200
    assert client.get("/sets/", {"free_from": query["start"], "free_to": query["end"]}).status_code == 200
    client.force_login(crew_owner)
    assert client.get("/bookings/new/", query).status_code == 200


# --- The admin --------------------------------------------------------------------

# Every admin list with a date drill-down, so one added later is tested too.
ADMIN_LISTS_WITH_DATES = sorted(
    (model._meta.app_label, model._meta.model_name, model_admin.date_hierarchy)
    for model, model_admin in admin.site._registry.items()
    if model_admin.date_hierarchy
)


DRILL_DOWNS_PAST_THE_CALENDAR = [
    {"__year": "9999", "__month": "12"},
    {"__year": "9999", "__month": "12", "__day": "31"},
    {"__year": "9999"},
    {"__year": "99999999999999999999"},
    {"__year": "1", "__month": "1", "__day": "1"},
    {"__year": "0"},
    {"__year": "-5"},
]


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model", "field"), ADMIN_LISTS_WITH_DATES)
def test_the_admin_date_drill_down_past_the_calendar_is_refused_not_a_500(
    client, staff_admin, app, model, field
):
    login_staff(client, staff_admin)
    url = reverse(f"admin:{app}_{model}_changelist")
    for drill_down in DRILL_DOWNS_PAST_THE_CALENDAR:
        response = client.get(url, {f"{field}{suffix}": value for suffix, value in drill_down.items()})
        # The admin's own answer to a filter it cannot apply: back to the list, flagged.
        assert response.status_code == 302, drill_down
        assert response["Location"] == f"{url}?e=1"
    assert client.get(f"{url}?e=1").status_code == 200


def test_every_admin_list_has_a_date_drill_down_to_test():
    assert len(ADMIN_LISTS_WITH_DATES) >= 8


@pytest.mark.django_db
def test_the_admin_drill_down_still_filters_a_real_month(client, staff_admin, booking):
    login_staff(client, staff_admin)
    url = reverse("admin:bookings_booking_changelist")
    start = booking.start_date
    shown = client.get(url, {"start_date__year": start.year, "start_date__month": start.month})
    assert shown.status_code == 200
    assert booking.reference in shown.content.decode()
    other = client.get(url, {"start_date__year": start.year - 1, "start_date__month": start.month})
    assert booking.reference not in other.content.decode()


@pytest.mark.django_db
def test_a_nul_byte_in_an_admin_filter_or_search_is_a_400(client, staff_admin):
    login_staff(client, staff_admin)
    for url in (
        "/admin/bookings/booking/?status=%00",
        "/admin/bookings/booking/?studio_set__id__exact=%00",
        "/admin/bookings/crew/?country=%00",
        "/admin/workshops/enrolment/?q=%00",
        "/admin/autocomplete/?term=%00&app_label=bookings&model_name=blackout&field_name=studio_set",
        "/admin/autocomplete/?term=a%00&app_label=bookings&model_name=user&field_name=crew",
    ):
        assert client.get(url).status_code == 400, url


@pytest.mark.django_db
def test_the_admin_autocomplete_still_answers_a_real_search(client, staff_admin):
    login_staff(client, staff_admin)
    studio_set = StudioSetFactory(name="Qing palace")
    response = client.get(
        "/admin/autocomplete/",
        {"term": "Qing", "app_label": "bookings", "model_name": "blackout", "field_name": "studio_set"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [studio_set.name]


@pytest.mark.django_db
def test_nothing_is_written_by_a_refused_request(client, crew_owner):
    client.force_login(crew_owner)
    session = SessionFactory()
    before = (Booking.objects.count(), Crew.objects.count(), session.enrolments.count())
    client.post("/bookings/new/?set=%00", {"parts-TOTAL_FORMS": "1"})
    client.post(f"/workshops/sessions/{session.pk}/register/?x=%00", {"full_name": "A"})
    assert (Booking.objects.count(), Crew.objects.count(), session.enrolments.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/bookings/new/", "/bookings/quote/"])
def test_a_forged_form_count_builds_no_more_forms_than_a_request_can_hold(
    client, crew_owner, url, django_assert_max_num_queries
):
    client.force_login(crew_owner)
    client.get("/bookings/")
    # A thousand forms took eight seconds to build and answered with 5 MB of HTML; now
    # at most 6 set forms and 20 equipment forms are built (one query each to list the choices).
    with django_assert_max_num_queries(35):
        response = client.post(
            url,
            {
                "parts-TOTAL_FORMS": "99999",
                "parts-INITIAL_FORMS": "0",
                "items-TOTAL_FORMS": "1000",
                "items-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code < 500
    assert len(response.content) < 200_000
    if url == "/bookings/new/":
        assert response.status_code == 400
        assert "A request can hold at most 6 sets" in response.content.decode()
