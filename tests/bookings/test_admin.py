"""The studio's admin for bookings: decisions, occupancy overview and CSV export."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Blackout, Booking, BookingItem, DayRange, ShootPlan, StudioSet
from bookings.services import ItemRequest

from ..auth import login_staff
from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory, UserFactory

CHANGELIST = "admin:bookings_booking_changelist"
OCCUPANCY = "admin:bookings_booking_occupancy"
EXPORT = "admin:bookings_booking_export"


def days_from_now(start: int, length: int) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


def request_booking(owner, studio_set, days: DayRange, items=()) -> Booking:
    return services.booking_request(crew=owner.crew, studio_set=studio_set, days=days, items=items, by=owner)


@pytest.fixture
def staff_client(client, staff_admin):
    login_staff(client, staff_admin)
    return client


# --- Actions ----------------------------------------------------------------------


def _run_action(client, action: str, bookings):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [b.pk for b in bookings]},
        follow=True,
    )


@pytest.mark.django_db
def test_staff_confirm_action_confirms_requests_and_says_so(staff_client, staff_admin, crew_owner):
    first = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))
    second = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))

    response = _run_action(staff_client, "confirm_selected", [first, second])

    assert response.status_code == 200
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CONFIRMED
        assert booking.decided_by == staff_admin
        assert booking.hold_expires_at is None
        assert f"{booking.reference} confirmed." in response.text


@pytest.mark.django_db
def test_staff_reject_action_asks_for_a_reason_then_rejects(staff_client, staff_admin, crew_owner):
    booking = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))

    asked = _run_action(staff_client, "reject_selected", [booking])

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED
    assert 'name="reason"' in asked.text

    blank = staff_client.post(
        reverse(CHANGELIST),
        {"action": "reject_selected", "_selected_action": [booking.pk], "apply": "1", "reason": "  "},
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED
    assert "This field is required." in blank.text

    response = staff_client.post(
        reverse(CHANGELIST),
        {"action": "reject_selected", "_selected_action": [booking.pk], "apply": "1", "reason": "Set closed"},
        follow=True,
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert booking.decided_by == staff_admin
    assert booking.decision_reason == "Set closed"
    assert f"{booking.reference} rejected." in response.text


@pytest.mark.django_db
def test_bookings_are_cancelled_one_at_a_time_not_from_the_list(staff_client, staff_admin, crew_owner):
    booking = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))
    services.booking_confirm(booking=booking, by=staff_admin)

    _run_action(staff_client, "cancel_selected", [booking])

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.django_db
def test_failing_action_shows_the_error_and_changes_nothing(staff_client, staff_admin, crew_owner):
    rejected = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))
    services.booking_reject(booking=rejected, by=staff_admin, reason="Not available")
    requested = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))

    response = _run_action(staff_client, "confirm_selected", [rejected, requested])

    assert response.status_code == 200
    rejected.refresh_from_db()
    requested.refresh_from_db()
    assert rejected.status == Booking.Status.REJECTED
    assert requested.status == Booking.Status.CONFIRMED
    assert f"{rejected.reference} is rejected, so it cannot be confirmed." in response.text
    assert 'class="error"' in response.text
    assert f"{requested.reference} confirmed." in response.text


@pytest.mark.django_db
def test_booking_cannot_be_edited_or_deleted_in_the_admin(staff_client, crew_owner):
    booking = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 3))

    # "Add" is the desk's own page, through the booking service (tests/bookings/test_desk_booking.py).
    assert staff_client.get(reverse("admin:bookings_booking_add")).context["title"] == "Book for a crew"
    assert staff_client.get(reverse("admin:bookings_booking_delete", args=[booking.pk])).status_code == 403
    response = staff_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]), {"status": "confirmed"}
    )
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED
    changelist = staff_client.get(reverse(CHANGELIST))
    assert "delete_selected" not in changelist.text


@pytest.mark.django_db
def test_booking_page_shows_the_quote_escaped_and_the_equipment(staff_client, crew_owner):
    gimbal = EquipmentFactory(name="Gimbal", daily_rate=Decimal("300"))
    booking = request_booking(crew_owner, StudioSetFactory(), days_from_now(5, 2), [ItemRequest(gimbal, 2)])
    booking.quote_lines[0]["label"] = "<script>alert(1)</script>"
    booking.save(update_fields=["quote_lines"])

    response = staff_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "¥1,200.00" in response.text  # gimbal: 300 × 2 × 2 days
    assert "Gimbal" in response.text


# --- Who may see the extra pages --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", [OCCUPANCY, EXPORT])
def test_crew_member_and_anonymous_are_sent_to_the_admin_login(client, crew_member, url_name):
    url = reverse(url_name)
    login = reverse("admin:login")

    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(f"{login}?next=")

    client.force_login(crew_member)
    response = client.get(url, {"date_from": "2025-01-01", "date_to": "2025-01-31"})
    assert response.status_code == 302
    assert response.url.startswith(f"{login}?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", [OCCUPANCY, EXPORT])
def test_staff_without_booking_permission_is_refused(client, url_name):
    login_staff(client, UserFactory(is_staff=True))
    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.django_db
def test_admin_index_and_changelist_link_to_the_new_pages(staff_client):
    for page in (reverse("admin:index"), reverse(CHANGELIST)):
        text = staff_client.get(page).text
        assert f'href="{reverse(OCCUPANCY)}"' in text
        assert f'href="{reverse(EXPORT)}"' in text


# --- Occupancy overview -----------------------------------------------------------


class _GridParser(HTMLParser):
    """Collects the occupancy table's cells as {(set slug, day): (state, text)}."""

    def __init__(self):
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self._set = None
        self._cell = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-set" in attrs:
            self._set = attrs["data-set"]
        elif tag == "td" and "data-day" in attrs:
            self._cell = (self._set, attrs["data-day"], attrs["data-state"])
            self._text = []

    def handle_data(self, data):
        if self._cell:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell:
            slug, day, state = self._cell
            self.cells[(slug, day)] = (state, " ".join(" ".join(self._text).split()))
            self._cell = None


def _cells(response) -> dict[tuple[str, str], tuple[str, str]]:
    parser = _GridParser()
    parser.feed(response.text)
    return parser.cells


@pytest.mark.django_db
def test_occupancy_marks_bookings_changeovers_and_blackouts(staff_client, staff_admin):
    palace = StudioSetFactory(name="Palace hall", slug="palace", changeover_days=2)
    office = StudioSetFactory(name="CEO office", slug="office")
    StudioSetFactory(name="Closed backlot", slug="closed", is_active=False)
    first_crew = CrewOwnerFactory(crew__name="Line producer crew")
    second_crew = CrewOwnerFactory(crew__name="Coordinator crew")
    held = request_booking(first_crew, palace, days_from_now(2, 3))  # days 2–4, changeover 5–6
    confirmed = request_booking(second_crew, office, days_from_now(1, 2))
    services.booking_confirm(booking=confirmed, by=staff_admin)
    lapsed = request_booking(second_crew, palace, days_from_now(10, 1))
    services.booking_reject(booking=lapsed, by=staff_admin, reason="Not available")
    Blackout.objects.create(
        studio_set=office,
        start_date=days_from_now(7, 1).start,
        end_date=days_from_now(8, 1).start,
        reason=Blackout.Reason.MAINTENANCE,
    )

    response = staff_client.get(reverse(OCCUPANCY))

    assert response.status_code == 200
    cells = _cells(response)

    def cell(slug: str, offset: int) -> tuple[str, str]:
        return cells[(slug, f"{days_from_now(offset, 1).start:%Y-%m-%d}")]

    assert len(cells) == 2 * 14  # active sets only, two weeks from today
    assert cell("palace", 1) == ("free", "")
    for offset in (2, 3, 4):
        assert cell("palace", offset) == ("requested", "Line producer crew Requested")
    for offset in (5, 6):
        assert cell("palace", offset) == ("changeover", "↻ Changeover")
    assert cell("palace", 7) == ("free", "")
    assert cell("palace", 10) == ("free", "")  # a rejected booking frees its days
    assert cell("office", 0) == ("free", "")
    assert cell("office", 1) == ("confirmed", "Coordinator crew Confirmed")
    assert cell("office", 2) == ("confirmed", "Coordinator crew Confirmed")
    assert cell("office", 7) == ("blackout", "✕ Maintenance")
    assert cell("office", 8) == ("blackout", "✕ Maintenance")
    assert cell("office", 9) == ("free", "")
    assert f'href="{reverse("admin:bookings_booking_change", args=[held.pk])}"' in response.text


@pytest.mark.django_db
def test_occupancy_window_follows_start_and_weeks_and_links_on(staff_client):
    StudioSetFactory(slug="palace")
    start = date(2030, 3, 4)

    response = staff_client.get(reverse(OCCUPANCY), {"start": "2030-03-04", "weeks": "3"})

    assert response.status_code == 200
    assert response.context["grid"].days == DayRange(start, date(2030, 3, 24))
    assert len(_cells(response)) == 21
    assert "window-errors" not in response.text
    assert f'href="{reverse(OCCUPANCY)}?start=2030-02-11&amp;weeks=3"' in response.text
    assert f'href="{reverse(OCCUPANCY)}?start=2030-03-25&amp;weeks=3"' in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "next tuesday"}, "Enter a valid date."),
        ({"weeks": "9"}, "Select a valid choice."),
        ({"weeks": "many"}, "Select a valid choice."),
        ({"start": "9999-12-31", "weeks": "4"}, "within 5 years of today"),
    ],
)
def test_occupancy_bad_params_show_a_message_and_the_default_window(staff_client, params, message):
    StudioSetFactory()

    response = staff_client.get(reverse(OCCUPANCY), params)

    assert response.status_code == 200
    assert 'id="window-errors"' in response.text
    assert message in response.text
    assert response.context["grid"].days == days_from_now(0, 14)


# --- CSV export -------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.django_db
def test_export_lists_overlapping_bookings_with_equipment(staff_client, staff_admin):
    camera = EquipmentFactory(name="Vertical camera kit", daily_rate=Decimal("1200"), stock=5)
    gimbal = EquipmentFactory(name="Gimbal", daily_rate=Decimal("300"), stock=5)
    owner = CrewOwnerFactory(crew__name="横店微短剧组")
    palace = StudioSetFactory(name="Palace hall", daily_rate=Decimal("10000"))
    office = StudioSetFactory(name="CEO office")
    inside = request_booking(
        owner, palace, days_from_now(10, 3), [ItemRequest(camera, 2), ItemRequest(gimbal, 1)]
    )
    straddling = request_booking(owner, office, days_from_now(6, 5))  # days 6–10
    services.booking_reject(booking=straddling, by=staff_admin, reason="Not available")
    before = request_booking(owner, StudioSetFactory(), days_from_now(2, 3))  # days 2–4
    after = request_booking(owner, StudioSetFactory(), days_from_now(21, 2))
    window = DayRange(days_from_now(10, 1).start, days_from_now(20, 1).start)

    response = staff_client.get(reverse(EXPORT), {"date_from": window.start, "date_to": window.end})

    assert response.status_code == 200
    assert "attachment;" in response["Content-Disposition"]
    header, *rows = _csv_rows(response)
    assert header == [
        "Reference",
        "Crew",
        "Set",
        "First day",
        "Last day",
        "Days",
        "Status",
        "Quote total (CNY)",
        "Equipment",
        "Created at (Asia/Shanghai)",
    ]
    assert [r[0] for r in rows] == [straddling.reference, inside.reference]
    assert before.reference not in response.text and after.reference not in response.text
    straddling_row, inside_row = rows
    assert straddling_row[6] == "Rejected"
    assert straddling_row[8] == ""
    created = timezone.localtime(inside.created_at).strftime("%Y-%m-%d %H:%M")
    assert inside_row == [
        inside.reference,
        "横店微短剧组",
        "Palace hall",
        f"{inside.start_date:%Y-%m-%d}",
        f"{inside.end_date:%Y-%m-%d}",
        "3",
        "Requested",
        "38100.00",  # 10000 × 3 + 1200 × 2 × 3 + 300 × 1 × 3
        "1 × Gimbal; 2 × Vertical camera kit",
        created,
    ]


@pytest.mark.django_db
def test_export_neutralises_spreadsheet_formulas(staff_client):
    owner = CrewOwnerFactory(crew__name='=HYPERLINK("http://example.com","x")')
    tricky = StudioSetFactory(name="@SUM(A1:A9)")
    hose = EquipmentFactory(name="-2+3 cable")
    booking = request_booking(owner, tricky, days_from_now(3, 1), [ItemRequest(hose, 1)])
    booking.crew.refresh_from_db()
    plus = CrewOwnerFactory(crew__name="+86 crew")
    request_booking(plus, StudioSetFactory(name="Rooftop"), days_from_now(3, 1))
    day = days_from_now(3, 1).start

    response = staff_client.get(reverse(EXPORT), {"date_from": day, "date_to": day})

    _header, *rows = _csv_rows(response)
    by_set = {r[2]: r for r in rows}
    assert by_set["'@SUM(A1:A9)"][1] == '\'=HYPERLINK("http://example.com","x")'
    assert by_set["'@SUM(A1:A9)"][8] == "1 × -2+3 cable"  # does not start with a formula character
    assert by_set["Rooftop"][1] == "'+86 crew"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "fields", "message"),
    [
        ({"date_from": "", "date_to": ""}, ["date_from", "date_to"], "This field is required."),
        ({"date_from": "2030-01-01", "date_to": ""}, ["date_to"], "This field is required."),
        ({"date_from": "2030-01-10", "date_to": "2030-01-09"}, ["date_to"], "cannot be before the first"),
        ({"date_from": "2030-01-01", "date_to": "2031-01-02"}, ["date_to"], "at most 366 days"),
        ({"date_from": "soon", "date_to": "2030-01-09"}, ["date_from"], "Enter a valid date."),
    ],
)
def test_export_invalid_range_shows_form_errors(staff_client, params, fields, message):
    response = staff_client.get(reverse(EXPORT), params)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    errors = response.context["form"].errors
    assert list(errors) == fields
    for field in fields:
        assert message in errors[field][0]
        # shown next to its field, not only at the top
        assert re.search(rf'field-{field}">\s*<ul class="errorlist[^>]*>\s*<li>[^<]*{message}', response.text)
    assert message in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "last"), [("2028-01-01", "2028-12-31"), ("2030-01-01", "2031-01-01")])
def test_export_accepts_366_days(staff_client, first, last):
    response = staff_client.get(reverse(EXPORT), {"date_from": first, "date_to": last})
    assert response["Content-Type"] == "text/csv; charset=utf-8"


@pytest.mark.django_db
def test_export_page_without_parameters_shows_the_form(staff_client):
    response = staff_client.get(reverse(EXPORT))
    assert response.status_code == 200
    assert not response.context["form"].is_bound
    assert 'name="date_from"' in response.text


# --- Query counts: the same with little and much data -----------------------------


def _make_data(n_sets: int, n_bookings: int) -> DayRange:
    owners = CrewOwnerFactory.create_batch(3)
    sets = StudioSet.objects.bulk_create(
        StudioSet(
            name=f"Stage {i:03d}", slug=f"stage-{i:03d}", category="palace", daily_rate=1, changeover_days=1
        )
        for i in range(n_sets)
    )
    camera = EquipmentFactory(stock=100_000)
    plans = [ShootPlan.objects.create(crew=o.crew, created_by=o) for o in owners]
    today = timezone.localdate()
    bookings = []
    for i in range(n_bookings):
        slot, owner = i // n_sets, owners[i % 3]
        start = today + timedelta(days=3 * slot)
        bookings.append(
            Booking(
                plan=plans[i % 3],
                crew=owner.crew,
                studio_set=sets[i % n_sets],
                start_date=start,
                end_date=start + timedelta(days=1),
                blocked_until=start + timedelta(days=2),
                status=Booking.Status.CONFIRMED if i % 2 else Booking.Status.REQUESTED,
                quote_total=Decimal(2),
                created_by=owner,
                reference=f"HD-T{i:05d}",
            )
        )
    bookings = Booking.objects.bulk_create(bookings)
    BookingItem.objects.bulk_create(
        BookingItem(booking=b, equipment=camera, quantity=1, daily_rate=Decimal(1)) for b in bookings
    )
    Blackout.objects.bulk_create(
        Blackout(studio_set=s, start_date=today + timedelta(days=40), end_date=today + timedelta(days=41))
        for s in sets
    )
    return DayRange(today, today + timedelta(days=3 * (n_bookings // n_sets)))


@pytest.mark.django_db
@pytest.mark.parametrize(("n_sets", "n_bookings"), [(5, 10), (200, 2000)])
def test_admin_pages_use_a_fixed_number_of_queries(
    staff_client, django_assert_max_num_queries, n_sets, n_bookings
):
    span = _make_data(n_sets, n_bookings)

    # session, user, the verified device, sets, bookings, blackouts
    with django_assert_max_num_queries(6):
        response = staff_client.get(reverse(OCCUPANCY), {"weeks": "4"})
    assert len(response.context["grid"].rows) == n_sets
    assert sum(c.booking is not None for r in response.context["grid"].rows for c in r.cells) > 0

    # session, user, device, set filter, two counts, the page; then the date drill-down: the
    # first and last day (all in one year here, so it opens on the months), again for the
    # months, and one indexed probe for each month between them (here two at most)
    with django_assert_max_num_queries(11):
        response = staff_client.get(reverse(CHANGELIST))
    assert response.context["cl"].result_count == n_bookings

    # session, user, device, bookings, equipment lines
    with django_assert_max_num_queries(5):
        response = staff_client.get(reverse(EXPORT), {"date_from": span.start, "date_to": span.end})
    assert len(_csv_rows(response)) == n_bookings + 1


@pytest.mark.django_db
def test_export_lists_a_booking_once_while_a_change_waits_beside_it(staff_client, staff_admin):
    owner = CrewOwnerFactory()
    studio_set = StudioSetFactory(changeover_days=0)
    days = days_from_now(10, 3)
    booking = services.booking_confirm(booking=request_booking(owner, studio_set, days), by=staff_admin)
    services.booking_change(
        booking=booking,
        change=services.BookingChange(
            studio_set, DayRange(days.start + timedelta(days=1), days.end + timedelta(days=1))
        ),
        by=owner,
    )

    response = staff_client.get(reverse(EXPORT), {"date_from": days.start, "date_to": days.end})

    _header, *rows = _csv_rows(response)
    assert [(r[0], r[6]) for r in rows] == [(booking.reference, "Confirmed")]
