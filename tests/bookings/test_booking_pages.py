import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Blackout, Booking, BookingItem, ShootPlan

from ..auth import login_staff
from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory, UserFactory
from .test_booking_request import days_from_now


def form_data(studio_set="", start="", end="", items=(), notes="", **extra):
    data = {
        "parts-TOTAL_FORMS": "1",
        "parts-INITIAL_FORMS": "0",
        "parts-MIN_NUM_FORMS": "1",
        "parts-MAX_NUM_FORMS": "6",
        "parts-0-studio_set": studio_set,
        "parts-0-start_date": str(start),
        "parts-0-end_date": str(end),
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "notes": notes,
    }
    for i, (slug, quantity) in enumerate(items):
        data[f"items-{i}-equipment"] = slug
        data[f"items-{i}-quantity"] = str(quantity)
    data.update(extra)
    return data


def no_rows_written():
    return not (Booking.objects.exists() or BookingItem.objects.exists() or ShootPlan.objects.exists())


@pytest.fixture
def booking(crew_owner):
    return services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(10, 7),
        items=[services.ItemRequest(EquipmentFactory(), 1)],
        by=crew_owner,
    )


# --- Making a booking through the form -----------------------------------------


@pytest.mark.django_db
def test_crew_member_books_a_set_with_equipment_and_sees_it(owner_client, crew_owner):
    studio_set = StudioSetFactory(daily_rate=Decimal("5000"))
    camera = EquipmentFactory(daily_rate=Decimal("1200"), stock=4)
    days = days_from_now(3, 7)

    response = owner_client.post(
        reverse("bookings:new"),
        form_data(
            studio_set.slug,
            days.start,
            days.end,
            items=[(camera.slug, 2)],
            notes="Night shoot",
            quote_total="1",
        ),
    )

    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == booking.get_absolute_url()
    # The posted "quote_total" is ignored: the price is always computed by the server.
    assert booking.quote_total == Decimal("5000") * 7 + Decimal("1200") * 2 * 7
    assert booking.crew == crew_owner.crew
    assert booking.notes == "Night shoot"
    page = owner_client.get(reverse("bookings:list")).content.decode()
    assert booking.reference in page


@pytest.mark.django_db
def test_a_shoot_plan_books_two_sets_in_one_submission(owner_client):
    palace, street = StudioSetFactory(), StudioSetFactory()
    first, second = days_from_now(3, 3), days_from_now(6, 4)
    data = form_data(palace.slug, first.start, first.end)
    data.update(
        {
            "parts-TOTAL_FORMS": "2",
            "parts-1-studio_set": street.slug,
            "parts-1-start_date": str(second.start),
            "parts-1-end_date": str(second.end),
        }
    )
    response = owner_client.post(reverse("bookings:new"), data)
    assert response.status_code == 302
    assert ShootPlan.objects.get().bookings.count() == 2


@pytest.mark.django_db
def test_live_quote_changes_with_quantity_and_writes_nothing(owner_client):
    studio_set = StudioSetFactory(daily_rate=Decimal("1000"))
    camera = EquipmentFactory(daily_rate=Decimal("100"), stock=5)
    days = days_from_now(3, 7)
    url = reverse("bookings:quote")
    one = owner_client.post(url, form_data(studio_set.slug, days.start, days.end, items=[(camera.slug, 1)]))
    two = owner_client.post(url, form_data(studio_set.slug, days.start, days.end, items=[(camera.slug, 2)]))
    assert "¥7,700.00" in one.content.decode()
    assert "¥8,400.00" in two.content.decode()
    assert no_rows_written()


@pytest.mark.django_db
def test_clash_is_reported_on_the_form_with_the_dates(owner_client, other_crew_member):
    studio_set = StudioSetFactory()
    services.booking_request(
        crew=other_crew_member.crew, studio_set=studio_set, days=days_from_now(5, 3), by=other_crew_member
    )
    days = days_from_now(6, 3)
    response = owner_client.post(reverse("bookings:new"), form_data(studio_set.slug, days.start, days.end))
    assert response.status_code == 400
    assert f"{days_from_now(5, 1).start:%Y-%m-%d}" in response.content.decode()
    assert Booking.objects.count() == 1


TODAY = timezone.localdate


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("end_before_start", "cannot be before the first"),
        ("past", "cannot be in the past"),
        ("too_long", "at most 30"),
        ("quantity_zero", "greater than or equal to 1"),
        ("quantity_negative", "greater than or equal to 1"),
        ("quantity_huge", "less than or equal to 999"),
        ("quantity_over_stock", "owns 3 units"),
        ("unknown_set", "Select a valid choice"),
        ("inactive_set", "Select a valid choice"),
        ("unknown_equipment", "Select a valid choice"),
        ("inactive_equipment", "Select a valid choice"),
        ("long_note", "at most 2000 characters"),
        ("not_a_date", "Enter a valid date"),
        ("duplicate_equipment", "Already listed above"),
        ("tampered_management_form", "Choose at least one set"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(owner_client, case, message):
    studio_set = StudioSetFactory(slug="palace")
    StudioSetFactory(slug="closed-set", is_active=False)
    EquipmentFactory(slug="camera", stock=3)
    EquipmentFactory(slug="retired-camera", is_active=False)
    start = timezone.localdate() + timedelta(days=3)
    end = start + timedelta(days=6)
    cases = {
        "end_before_start": form_data(studio_set.slug, end, start),
        "past": form_data(studio_set.slug, start - timedelta(days=10), end),
        "too_long": form_data(studio_set.slug, start, start + timedelta(days=30)),
        "quantity_zero": form_data(studio_set.slug, start, end, items=[("camera", 0)]),
        "quantity_negative": form_data(studio_set.slug, start, end, items=[("camera", -2)]),
        "quantity_huge": form_data(studio_set.slug, start, end, items=[("camera", 10000)]),
        "quantity_over_stock": form_data(studio_set.slug, start, end, items=[("camera", 4)]),
        "unknown_set": form_data("no-such-set", start, end),
        "inactive_set": form_data("closed-set", start, end),
        "unknown_equipment": form_data(studio_set.slug, start, end, items=[("no-such-kit", 1)]),
        "inactive_equipment": form_data(studio_set.slug, start, end, items=[("retired-camera", 1)]),
        "long_note": form_data(studio_set.slug, start, end, notes="x" * 10_000),
        "not_a_date": form_data(studio_set.slug, "next monday", "2026-13-45"),
        "duplicate_equipment": form_data(studio_set.slug, start, end, items=[("camera", 1), ("camera", 1)]),
        "tampered_management_form": {**form_data(studio_set.slug, start, end), "parts-TOTAL_FORMS": "lots"},
    }

    response = owner_client.post(reverse("bookings:new"), cases[case])

    assert response.status_code == 400
    assert message in response.content.decode()
    assert no_rows_written()


@pytest.mark.django_db
def test_add_buttons_add_a_form_without_booking(owner_client):
    studio_set = StudioSetFactory()
    days = days_from_now(3, 7)
    response = owner_client.post(
        reverse("bookings:new"), {**form_data(studio_set.slug, days.start, days.end), "add_items": "1"}
    )
    assert response.status_code == 200
    assert 'name="items-0-equipment"' in response.content.decode()
    assert no_rows_written()


@pytest.mark.django_db
def test_a_set_row_added_and_left_empty_is_ignored(owner_client, crew_owner):
    studio_set = StudioSetFactory(daily_rate=Decimal("5000"))
    days = days_from_now(3, 2)
    # "Add another set", then nothing chosen in the new row: the quote and the
    # request both answered 500.
    data = form_data(studio_set.slug, days.start, days.end, **{"parts-TOTAL_FORMS": "2"})

    quote = owner_client.post(reverse("bookings:quote"), data)
    assert quote.status_code == 200
    assert "10,000" in quote.content.decode()

    response = owner_client.post(reverse("bookings:new"), data)
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert (booking.studio_set, booking.quote_total) == (studio_set, Decimal("10000"))


# --- Managing bookings -----------------------------------------------------------


@pytest.mark.django_db
def test_cancel_asks_first_then_keeps_the_record(owner_client, booking):
    url = reverse("bookings:cancel", args=[booking.reference])
    confirm = owner_client.get(url)
    assert confirm.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED

    response = owner_client.post(url)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert "cancelled" in owner_client.get(booking.get_absolute_url()).content.decode().lower()


@pytest.mark.django_db
def test_ics_download_describes_the_booking(owner_client, booking):
    response = owner_client.get(reverse("bookings:ics", args=[booking.reference]))
    body = response.content.decode()
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert f"DTSTART;VALUE=DATE:{booking.start_date:%Y%m%d}" in body
    assert f"DTEND;VALUE=DATE:{booking.end_date + timedelta(days=1):%Y%m%d}" in body
    assert booking.reference in body


@pytest.mark.django_db
def test_crew_feed_uses_a_secret_token_that_can_be_reset(client, crew_owner, booking, other_crew_member):
    services.booking_request(
        crew=other_crew_member.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(3, 2),
        by=other_crew_member,
    )
    old = crew_owner.crew.calendar_token
    feed = client.get(reverse("bookings:feed", args=[old]))
    assert feed.status_code == 200
    body = feed.content.decode()
    assert booking.reference in body
    assert other_crew_member.crew.bookings.get().reference not in body
    assert client.get(reverse("bookings:feed", args=["guessed-token"])).status_code == 404

    client.force_login(crew_owner)
    client.post(reverse("bookings:calendar_reset"))
    crew_owner.crew.refresh_from_db()
    assert crew_owner.crew.calendar_token != old
    assert client.get(reverse("bookings:feed", args=[old])).status_code == 404


# --- Who sees what ---------------------------------------------------------------

BOOKING_URLS = [
    ("get", "bookings:detail"),
    ("get", "bookings:cancel"),
    ("post", "bookings:cancel"),
    ("get", "bookings:ics"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "name"), BOOKING_URLS)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", 302),
        ("other_crew", 404),
        ("own_member", 200),
        # On the site staff are nobody special: they decide and cancel in the admin.
        ("superuser", 404),
        ("staff_without_permissions", 404),
    ],
)
def test_booking_urls_are_scoped_to_the_crew(
    client, booking, crew_member, other_crew_member, staff_admin, method, name, persona, expected
):
    users = {
        "anonymous": None,
        "other_crew": other_crew_member,
        "own_member": crew_member,
        "superuser": staff_admin,
        "staff_without_permissions": UserFactory(is_staff=True),
    }
    if users[persona]:
        client.force_login(users[persona])
    response = getattr(client, method)(reverse(name, args=[booking.reference]))
    if method == "post" and expected == 200:
        expected = 302  # a successful cancel redirects to the booking
    assert response.status_code == expected
    if expected == 302 and persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    booking.refresh_from_db()
    cancelled = method == "post" and persona == "own_member"
    assert booking.status == (Booking.Status.CANCELLED if cancelled else Booking.Status.REQUESTED)


@pytest.mark.django_db
def test_my_bookings_lists_only_the_crews_own(client, booking, crew_member, other_crew_member, staff_admin):
    client.force_login(crew_member)
    assert booking.reference in client.get(reverse("bookings:list")).content.decode()
    client.force_login(other_crew_member)
    assert booking.reference not in client.get(reverse("bookings:list")).content.decode()
    # Staff read bookings in the admin, not in a crew's list.
    login_staff(client, staff_admin)
    assert booking.reference not in client.get(reverse("bookings:list")).content.decode()
    client.logout()
    assert client.get(reverse("bookings:list")).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_booking_form_needs_a_crew(client, staff_admin, method):
    assert getattr(client, method)(reverse("bookings:new")).status_code == 302
    login_staff(client, staff_admin)
    assert getattr(client, method)(reverse("bookings:new")).status_code == 404
    assert client.post(reverse("bookings:quote")).status_code == 404


# --- Catalogue pages ---------------------------------------------------------------


@pytest.mark.django_db
def test_free_filter_hides_sets_taken_or_closed_in_the_range(client, crew_owner):
    taken, closed, _free = (StudioSetFactory(name=n) for n in ("Taken hall", "Closed hall", "Free hall"))
    StudioSetFactory(name="Cheap office", daily_rate=Decimal("100"), category="modern_office")
    services.booking_request(crew=crew_owner.crew, studio_set=taken, days=days_from_now(8, 3), by=crew_owner)
    day = days_from_now(9, 1).start
    Blackout.objects.create(studio_set=closed, start_date=day, end_date=day)
    week = days_from_now(7, 7)

    page = client.get(
        reverse("bookings:set_list"), {"free_from": week.start, "free_to": week.end}
    ).content.decode()
    assert "Free hall" in page and "Taken hall" not in page and "Closed hall" not in page
    page = client.get(
        reverse("bookings:set_list"), {"category": "modern_office", "max_rate": "500"}
    ).content.decode()
    assert "Cheap office" in page and "Free hall" not in page


@pytest.mark.django_db
def test_bad_filter_values_get_messages_not_errors(client):
    response = client.get(
        reverse("bookings:set_list"), {"free_from": "soon", "free_to": "2020-01-01", "max_rate": "-5"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "free_from" in form.errors and "max_rate" in form.errors


@pytest.mark.django_db
def test_set_calendar_marks_booked_changeover_and_blackout_days(client, crew_owner):
    studio_set = StudioSetFactory(changeover_days=1)
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=studio_set, days=days_from_now(3, 2), by=crew_owner
    )
    blackout_day = booking.blocked_until + timedelta(days=2)
    Blackout.objects.create(studio_set=studio_set, start_date=blackout_day, end_date=blackout_day)
    month = booking.start_date.strftime("%Y-%m")

    cells = {}
    for m in {month, blackout_day.strftime("%Y-%m")}:
        for week in client.get(studio_set.get_absolute_url(), {"month": m}).context["weeks"]:
            cells.update({c.day: c.state for c in week if c.in_month})
    assert cells[booking.start_date] == cells[booking.end_date] == "booked"
    assert cells[booking.blocked_until] == "changeover"
    assert cells[blackout_day] == "blackout"
    assert cells[booking.blocked_until + timedelta(days=1)] == "free"
    assert client.get(studio_set.get_absolute_url(), {"month": "garbage"}).status_code == 200


@pytest.mark.django_db
def test_equipment_page_shows_units_free_on_the_tightest_day(client, crew_owner):
    camera = EquipmentFactory(stock=5, slug="cam")
    services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(4, 1),
        items=[services.ItemRequest(camera, 3)],
        by=crew_owner,
    )
    week = days_from_now(2, 7)
    response = client.get(reverse("bookings:equipment_list"), {"start": week.start, "end": week.end})
    row = re.search(r'<tr data-slug="cam">.*?</tr>', response.content.decode(), re.S)
    assert '<td class="text-end free-units">2</td>' in row[0]


# --- Query counts: the same with little and much data --------------------------------


def _make_data(n_sets: int, n_bookings: int):
    owner = CrewOwnerFactory()
    sets = StudioSetFactory.create_batch(n_sets)
    camera = EquipmentFactory(stock=10_000)
    plan = ShootPlan.objects.create(crew=owner.crew, created_by=owner)
    start = timezone.localdate() + timedelta(days=1)
    bookings = Booking.objects.bulk_create(
        Booking(
            plan=plan,
            crew=owner.crew,
            studio_set=sets[i % n_sets],
            start_date=start + timedelta(days=2 * (i // n_sets)),
            end_date=start + timedelta(days=2 * (i // n_sets)),
            blocked_until=start + timedelta(days=2 * (i // n_sets)),
            quote_total=Decimal(1),
            created_by=owner,
            reference=f"HD-T{i:05d}",
        )
        for i in range(n_bookings)
    )
    BookingItem.objects.bulk_create(
        BookingItem(booking=b, equipment=camera, quantity=1, daily_rate=Decimal(1)) for b in bookings
    )
    return owner, sets


@pytest.mark.django_db
@pytest.mark.parametrize(("n_sets", "n_bookings"), [(5, 10), (200, 2000)])
def test_pages_use_a_fixed_number_of_queries(client, django_assert_max_num_queries, n_sets, n_bookings):
    owner, sets = _make_data(n_sets, n_bookings)
    client.force_login(owner)
    week = days_from_now(1, 7)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("bookings:set_list")).status_code == 200
    with django_assert_max_num_queries(8):
        client.get(reverse("bookings:set_list"), {"free_from": week.start, "free_to": week.end})
    with django_assert_max_num_queries(6):
        assert client.get(sets[0].get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(8):
        response = client.get(reverse("bookings:list"))
    assert response.status_code == 200
    # Grouped by plan: all of them here are parts of one plan.
    assert sum(len(group.bookings) for group in response.context["upcoming"]) == n_bookings
    # The kinds, what the kits are made of, the kit rows around them, booking and plan lines, blackouts.
    with django_assert_max_num_queries(8):
        client.get(reverse("bookings:equipment_list"), {"start": week.start, "end": week.end})
