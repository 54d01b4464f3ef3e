"""A shoot plan is one thing: equipment held once for the whole plan, one page, one email per event,
and "Book again"."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings import emails, selectors, services
from bookings.models import Booking, DayRange, Notification, PlanItem, ShootPlan
from bookings.services import BookingError, ItemRequest, SetRequest

from ..factories import CrewMemberFactory, CrewOwnerFactory, EquipmentFactory, StudioSetFactory
from .helpers import run_concurrently


def days_from_now(start: int, length: int) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


def two_sets_form(palace, street, first: DayRange, second: DayRange, items=(), notes=""):
    data = {
        "parts-TOTAL_FORMS": "2",
        "parts-INITIAL_FORMS": "0",
        "parts-0-studio_set": palace.slug,
        "parts-0-start_date": str(first.start),
        "parts-0-end_date": str(first.end),
        "parts-1-studio_set": street.slug,
        "parts-1-start_date": str(second.start),
        "parts-1-end_date": str(second.end),
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "notes": notes,
    }
    for i, (slug, quantity, part) in enumerate(items):
        data[f"items-{i}-equipment"] = slug
        data[f"items-{i}-quantity"] = str(quantity)
        if part is not None:
            data[f"items-{i}-part"] = part
    return data


def held(camera, days: DayRange) -> dict:
    usage = selectors.equipment_days([camera], days)[camera.pk]
    return {day: usage.held[day] for day in days.dates()}


# --- Equipment held once per day -------------------------------------------------


@pytest.mark.django_db
def test_two_overlapping_sets_with_two_camera_kits_hold_and_bill_two_not_four(owner_client, crew_owner):
    """The bug as the crew met it: the form says the equipment travels with the crew, yet two
    sets on overlapping days held (and billed) the kits once per set."""
    palace = StudioSetFactory(daily_rate=Decimal("1000"))
    street = StudioSetFactory(daily_rate=Decimal("2000"))
    camera = EquipmentFactory(daily_rate=Decimal("100"), stock=10)
    first, second = days_from_now(5, 3), days_from_now(6, 3)  # overlap on two days

    response = owner_client.post(
        reverse("bookings:new"), two_sets_form(palace, street, first, second, [(camera.slug, 2, None)])
    )

    plan = ShootPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == plan.get_absolute_url()
    whole = DayRange(first.start, second.end)
    assert set(held(camera, whole).values()) == {2}  # never 4 on the overlap
    # Billed once per day of the union (4 days), not 3 + 3.
    assert plan.quote_total == Decimal("1000") * 3 + Decimal("2000") * 3 + Decimal("100") * 2 * 4
    assert [(line["quantity"], line["days"]) for line in plan.quote_lines] == [(2, 4)]
    assert sum(b.quote_total for b in plan.bookings.all()) == Decimal("9000")


@pytest.mark.django_db
def test_a_line_for_one_set_is_held_on_that_sets_days_only_and_lines_per_set_add_up(owner_client):
    palace, street = StudioSetFactory(), StudioSetFactory()
    camera, gimbal = EquipmentFactory(stock=10), EquipmentFactory(stock=10)
    first, second = days_from_now(5, 3), days_from_now(6, 3)

    owner_client.post(
        reverse("bookings:new"),
        two_sets_form(palace, street, first, second, [(camera.slug, 1, "1"), (gimbal.slug, 1, "1")]),
    )
    plan = ShootPlan.objects.get()
    assert not plan.items.exists()
    assert held(camera, DayRange(first.start, second.end)) == {
        d: (1 if first.start <= d <= first.end else 0) for d in DayRange(first.start, second.end).dates()
    }

    # Asking for kits with each set is asking for more: both are held on the overlap.
    services.shoot_plan_request(
        crew=plan.crew,
        parts=[
            SetRequest(StudioSetFactory(), first, [ItemRequest(camera, 2)]),
            SetRequest(StudioSetFactory(), second, [ItemRequest(camera, 2)]),
        ],
        by=plan.created_by,
    )
    assert held(camera, DayRange(second.start, first.end)) == dict.fromkeys(
        DayRange(second.start, first.end).dates(), 1 + 4
    )


@pytest.mark.django_db
def test_whole_plan_line_is_held_on_the_union_of_days_not_the_gap_and_follows_cancellation(crew_owner):
    camera = EquipmentFactory(stock=10, daily_rate=Decimal("10"))
    first, second = days_from_now(5, 2), days_from_now(10, 2)  # a gap of three days
    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[SetRequest(StudioSetFactory(), first), SetRequest(StudioSetFactory(), second)],
        items=[ItemRequest(camera, 3)],
        by=crew_owner,
    )
    window = DayRange(first.start, second.end)
    assert held(camera, window) == {
        d: (3 if d in first.dates() + second.dates() else 0) for d in window.dates()
    }
    assert plan.quote_lines[0]["days"] == 4

    services.booking_cancel(booking=plan.bookings.get(start_date=second.start), by=crew_owner)
    assert held(camera, window) == {d: (3 if d in first.dates() else 0) for d in window.dates()}


@pytest.mark.django_db
def test_stock_checks_count_whole_plan_units_once(crew_owner, other_crew_member):
    camera = EquipmentFactory(stock=5)
    first, second = days_from_now(5, 3), days_from_now(6, 3)
    services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[SetRequest(StudioSetFactory(), first), SetRequest(StudioSetFactory(), second)],
        items=[ItemRequest(camera, 3)],
        by=crew_owner,
    )
    # 3 held: 2 are free for another crew on the overlap, not 5 − 6.
    services.booking_request(
        crew=other_crew_member.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(second.start, first.end),
        items=[ItemRequest(camera, 2)],
        by=other_crew_member,
    )
    with pytest.raises(BookingError, match="Not enough"):
        services.booking_request(
            crew=other_crew_member.crew,
            studio_set=StudioSetFactory(),
            days=DayRange(second.start, second.start),
            items=[ItemRequest(camera, 1)],
            by=other_crew_member,
        )
    # The stock may go down to what is held on the busiest day (5), not below.
    services.equipment_set_stock(equipment=camera, stock=5)
    with pytest.raises(BookingError, match="hold up to 5 units"):
        services.equipment_set_stock(equipment=camera, stock=4)


@pytest.mark.django_db(transaction=True)
def test_concurrent_plans_with_whole_plan_lines_never_exceed_stock():
    camera = EquipmentFactory(stock=5)
    owners = [CrewOwnerFactory() for _ in range(4)]
    first, second = days_from_now(5, 3), days_from_now(6, 3)

    def attempt(i: int):
        return services.shoot_plan_request(
            crew=owners[i].crew,
            parts=[SetRequest(StudioSetFactory.build(), first), SetRequest(StudioSetFactory.build(), second)][
                :0
            ]
            or [SetRequest(sets[i][0], first), SetRequest(sets[i][1], second)],
            items=[ItemRequest(camera, 2)],
            by=owners[i],
        )

    sets = [(StudioSetFactory(), StudioSetFactory()) for _ in range(4)]
    results = run_concurrently(4, attempt)

    made = [r for r in results if isinstance(r, ShootPlan)]
    assert len(made) == 2, results
    assert all(isinstance(r, BookingError) for r in results if not isinstance(r, ShootPlan)), results
    assert max(held(camera, DayRange(first.start, second.end)).values()) == 4
    assert PlanItem.objects.count() == 2


@pytest.mark.django_db
def test_a_line_for_a_set_the_form_does_not_have_is_refused_next_to_it(owner_client):
    palace, street = StudioSetFactory(), StudioSetFactory()
    camera = EquipmentFactory(stock=10)
    response = owner_client.post(
        reverse("bookings:new"),
        two_sets_form(palace, street, days_from_now(5, 2), days_from_now(8, 2), [(camera.slug, 1, "3")]),
    )
    assert response.status_code == 400
    assert "There is no set 3 in this request." in response.content.decode()
    assert not ShootPlan.objects.exists()


# --- The plan page and My bookings ----------------------------------------------------


@pytest.fixture
def plan(crew_owner):
    return services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[
            SetRequest(
                StudioSetFactory(name="Palace hall"),
                days_from_now(5, 3),
                [ItemRequest(EquipmentFactory(name="Gimbal"), 1)],
            ),
            SetRequest(StudioSetFactory(name="Old street"), days_from_now(8, 2)),
        ],
        items=[ItemRequest(EquipmentFactory(name="Camera kit", stock=9), 2)],
        by=crew_owner,
        notes="Palace first",
    )


@pytest.mark.django_db
def test_plan_page_shows_one_total_one_status_and_its_parts(owner_client, plan, crew_owner):
    assert plan.reference.startswith("HD-P") and len(plan.reference) == 10
    page = owner_client.get(plan.get_absolute_url()).content.decode()
    assert plan.reference in page and "Palace hall" in page and "Old street" in page
    assert "Camera kit" in page and "Gimbal" in page
    for booking in plan.bookings.all():
        assert booking.get_absolute_url() in page
    assert 'id="plan-status">Requested<' in page

    first = plan.bookings.order_by("start_date").first()
    services.booking_confirm(booking=first, by=crew_owner)
    assert 'id="plan-status">Partly confirmed<' in owner_client.get(plan.get_absolute_url()).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["requested", "requested"], "requested"),
        (["confirmed", "requested"], "partly-confirmed"),
        (["confirmed", "confirmed"], "confirmed"),
        (["confirmed", "cancelled"], "confirmed"),
        (["completed", "completed"], "completed"),
        (["rejected", "rejected"], "rejected"),
        (["expired", "expired"], "expired"),
        (["cancelled", "rejected"], "rejected"),
        (["cancelled", "cancelled"], "cancelled"),
    ],
)
def test_plan_status_is_derived_from_its_parts(plan, statuses, expected):
    for booking, status in zip(plan.bookings.order_by("start_date"), statuses, strict=True):
        Booking.objects.filter(pk=booking.pk).update(status=status)
    assert ShootPlan.objects.get(pk=plan.pk).status == expected


@pytest.mark.django_db
def test_another_crew_cannot_see_or_copy_a_plan(client, plan, other_crew_member):
    client.force_login(other_crew_member)
    assert client.get(plan.get_absolute_url()).status_code == 404
    again = reverse("bookings:plan_again", args=[plan.reference])
    assert client.get(again, {"start": str(days_from_now(40, 1).start)}).status_code == 404


@pytest.mark.django_db
def test_my_bookings_groups_a_plan_under_one_line(owner_client, plan, crew_owner):
    single = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(20, 2), by=crew_owner
    )
    response = owner_client.get(reverse("bookings:list"))
    groups = response.context["upcoming"]
    assert [(g.plan.pk, len(g.bookings), g.single) for g in groups] == [
        (plan.pk, 2, False),
        (single.plan_id, 1, True),
    ]
    page = response.content.decode()
    assert page.count(plan.get_absolute_url()) == 1
    assert single.plan.get_absolute_url() not in page  # a single booking stays one line


def _many_plans(owner, count: int) -> None:
    camera = EquipmentFactory(stock=100_000)
    for i in range(count):
        services.shoot_plan_request(
            crew=owner.crew,
            parts=[
                SetRequest(StudioSetFactory(), days_from_now(2 + i, 2), [ItemRequest(camera, 1)]),
                SetRequest(StudioSetFactory(), days_from_now(3 + i, 2)),
            ],
            items=[ItemRequest(camera, 1)],
            by=owner,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 25])
def test_plan_page_and_my_bookings_use_a_fixed_number_of_queries(
    owner_client, crew_owner, django_assert_max_num_queries, count
):
    _many_plans(crew_owner, count)
    plan = ShootPlan.objects.order_by("pk").last()
    with django_assert_max_num_queries(10):
        assert owner_client.get(plan.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(12):
        response = owner_client.get(reverse("bookings:list"))
    assert len(response.context["upcoming"]) == count


# --- One email per plan and event ------------------------------------------------


@pytest.mark.django_db
def test_one_request_email_per_member_for_the_whole_plan(crew_owner, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    member = CrewMemberFactory(crew=crew_owner.crew)
    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[
            SetRequest(StudioSetFactory(name="Palace hall"), days_from_now(5, 3)),
            SetRequest(StudioSetFactory(name="Old street"), days_from_now(8, 2)),
        ],
        items=[ItemRequest(EquipmentFactory(name="Camera kit"), 2)],
        by=crew_owner,
    )
    crew_mail = Notification.objects.filter(kind=Notification.Kind.PLAN_REQUESTED)
    assert sorted(crew_mail.values_list("recipient", flat=True)) == sorted([crew_owner.email, member.email])
    assert Notification.objects.filter(kind=Notification.Kind.PLAN_REQUEST_RECEIVED).count() == 1
    assert not Notification.objects.filter(kind=Notification.Kind.BOOKING_REQUESTED).exists()
    body = crew_mail.first().body_text
    assert plan.reference in body and "Palace hall" in body and "Old street" in body
    assert "2 × Camera kit" in body
    assert "¥" in body or "CNY" in body
    assert crew_mail.first().body_html and "Old street" in crew_mail.first().body_html


@pytest.mark.django_db
def test_plan_decision_email_carries_the_reason(plan, crew_owner):
    emails.plan_notify(
        plan=plan, kind=Notification.Kind.PLAN_REJECTED, by=crew_owner, reason="Palace closed for repairs"
    )
    emails.plan_notify(plan=plan, kind=Notification.Kind.PLAN_REJECTED, by=crew_owner, reason="again")
    sent = Notification.objects.filter(kind=Notification.Kind.PLAN_REJECTED)
    assert sent.count() == 1
    assert "Palace closed for repairs" in sent.get().body_text
    with pytest.raises(ValueError):
        emails.plan_notify(plan=plan, kind=Notification.Kind.BOOKING_REJECTED)


@pytest.mark.django_db
def test_an_expired_plan_is_one_email_and_its_reminders_one_per_kind(plan, crew_owner):
    with time_machine.travel(timezone.now() + timedelta(hours=400)):
        expired = services.booking_expire_stale_holds()
    assert len(expired) == 2
    assert Notification.objects.filter(kind=Notification.Kind.PLAN_HOLD_EXPIRED).count() == 1
    assert not Notification.objects.filter(kind=Notification.Kind.BOOKING_HOLD_EXPIRED).exists()


@pytest.mark.django_db
def test_start_reminders_are_one_per_plan(crew_owner):
    start = timezone.localdate() + timedelta(days=3)
    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[
            SetRequest(StudioSetFactory(), DayRange(start, start)),
            SetRequest(StudioSetFactory(), DayRange(start, start + timedelta(days=1))),
        ],
        by=crew_owner,
    )
    for booking in plan.bookings.all():
        services.booking_confirm(booking=booking, by=crew_owner)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        services.booking_reminders_queue_due()
        services.booking_reminders_queue_due()
    assert Notification.objects.filter(kind=Notification.Kind.PLAN_REMINDER_START).count() == 1
    assert not Notification.objects.filter(kind=Notification.Kind.BOOKING_REMINDER_START).exists()


# --- Book again ------------------------------------------------------------------------


@pytest.mark.django_db
def test_book_again_fills_the_form_shifted_and_sending_it_requests_a_new_plan(owner_client, plan):
    new_start = days_from_now(60, 1).start
    response = owner_client.get(
        reverse("bookings:plan_again", args=[plan.reference]), {"start": str(new_start)}
    )
    assert response.status_code == 200
    parts, items = response.context["parts"], response.context["items"]
    assert [(p.initial["start_date"], p.initial["end_date"]) for p in parts.forms] == [
        (new_start, new_start + timedelta(days=2)),
        (new_start + timedelta(days=3), new_start + timedelta(days=4)),
    ]
    assert sorted(f.initial["part"] for f in items.forms) == ["1", "plan"]
    assert response.context["notes"].initial["notes"] == "Palace first"
    assert response.context["total"] > 0

    data = {
        "parts-TOTAL_FORMS": "2",
        "parts-INITIAL_FORMS": "0",
        "items-TOTAL_FORMS": str(len(items.forms)),
        "items-INITIAL_FORMS": "0",
        "notes": "Palace first",
    }
    for i, form in enumerate(parts.forms):
        for name, value in form.initial.items():
            data[f"parts-{i}-{name}"] = str(value)
    for i, form in enumerate(items.forms):
        for name, value in form.initial.items():
            data[f"items-{i}-{name}"] = str(value)
    response = owner_client.post(reverse("bookings:new"), data)
    again = ShootPlan.objects.exclude(pk=plan.pk).get()
    assert response["Location"] == again.get_absolute_url()
    assert again.start_date == new_start and again.quote_total == plan.quote_total
    assert list(again.items.values_list("equipment_id", "quantity")) == list(
        plan.items.values_list("equipment_id", "quantity")
    )


@pytest.mark.django_db
def test_book_again_rechecks_availability_and_writes_nothing_when_taken(
    owner_client, plan, other_crew_member
):
    new_start = days_from_now(60, 1).start
    palace = plan.parts[0].studio_set
    services.booking_request(
        crew=other_crew_member.crew,
        studio_set=palace,
        days=DayRange(new_start, new_start),
        by=other_crew_member,
    )
    response = owner_client.get(
        reverse("bookings:plan_again", args=[plan.reference]), {"start": str(new_start)}
    )
    data = {
        "parts-TOTAL_FORMS": "2",
        "parts-INITIAL_FORMS": "0",
        "items-TOTAL_FORMS": "0",
        "items-INITIAL_FORMS": "0",
    }
    for i, form in enumerate(response.context["parts"].forms):
        for name, value in form.initial.items():
            data[f"parts-{i}-{name}"] = str(value)
    before = (ShootPlan.objects.count(), Booking.objects.count())
    response = owner_client.post(reverse("bookings:new"), data)
    assert response.status_code == 400
    assert "already taken" in response.content.decode()
    assert (ShootPlan.objects.count(), Booking.objects.count()) == before


@pytest.mark.django_db
def test_book_again_with_a_bad_day_says_so_on_the_plan_page(owner_client, plan):
    url = reverse("bookings:plan_again", args=[plan.reference])
    response = owner_client.get(url, {"start": "not-a-day"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
