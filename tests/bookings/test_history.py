"""Every change to a booking and the catalogue is recorded: who (a user or the system), when, what and why."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bookings import history, services
from bookings.models import Blackout, Booking, BookingItem
from hengdian.roles import BOOKING_DESK, WORKSHOP_DESK

from ..auth import login_staff
from ..factories import EquipmentFactory, StaffFactory, StaffMemberFactory, StudioSetFactory
from .test_booking_request import days_from_now

pytestmark = pytest.mark.django_db


def _request(crew_owner, *, items=1, start=10):
    return services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(),
        days=days_from_now(start, 5),
        items=[services.ItemRequest(EquipmentFactory(), 1) for _ in range(items)],
        by=crew_owner,
    )


def _latest(booking):
    return booking.history.order_by("-history_date", "-history_id").first()


def test_a_request_records_the_booking_its_plan_and_its_lines_under_the_crew_member(crew_owner):
    booking = _request(crew_owner, items=2)

    (row,) = booking.history.all()
    assert (row.history_type, row.history_user, row.status) == ("+", crew_owner, "requested")
    assert booking.plan.history.get().history_user == crew_owner
    lines = BookingItem.history.filter(booking_id=booking.pk)
    assert lines.count() == 2
    assert {line.history_user for line in lines} == {crew_owner}


@pytest.mark.parametrize(
    ("service", "status"),
    [(services.booking_confirm, "confirmed"), (services.booking_reject, "rejected")],
)
def test_a_decision_records_the_staff_member_and_the_reason(crew_owner, service, status):
    booking = _request(crew_owner)
    desk = StaffFactory()

    service(booking=booking, by=desk, reason="Set free that week")

    row = _latest(booking)
    assert (row.status, row.history_user, row.history_change_reason) == (status, desk, "Set free that week")


def test_a_cancellation_records_who_cancelled(crew_owner):
    booking = _request(crew_owner)

    services.booking_cancel(booking=booking, by=crew_owner)

    row = _latest(booking)
    assert (row.status, row.history_user, row.history_change_reason) == ("cancelled", crew_owner, "")


def test_the_expiry_sweep_records_each_expired_hold_as_the_system(crew_owner):
    stale, fresh = _request(crew_owner), _request(crew_owner, start=20)
    Booking.objects.filter(pk=fresh.pk).update(hold_expires_at=timezone.now() + timedelta(days=3))
    # Even when a request happens to be going on, the sweep's change is the system's.
    with time_machine.travel(timezone.now() + timedelta(days=2, hours=1)):
        assert services.booking_expire_stale_holds() == [stale.pk]

    row = _latest(stale)
    assert (row.status, row.history_type, row.history_user) == ("expired", "~", None)
    assert row.history_change_reason == history.HOLD_EXPIRED
    assert fresh.history.count() == 1


def test_the_completion_sweep_records_each_completed_booking_as_the_system(crew_owner):
    booking = _request(crew_owner)
    services.booking_confirm(booking=booking, by=StaffFactory())

    with time_machine.travel(timezone.now() + timedelta(days=20)):
        assert services.booking_complete_finished() == 1
        assert services.booking_complete_finished() == 0

    rows = list(booking.history.order_by("history_date", "history_id"))
    assert [r.status for r in rows] == ["requested", "confirmed", "completed"]
    assert (rows[-1].history_user, rows[-1].history_change_reason) == (None, history.SHOOT_FINISHED)


def test_admin_edits_of_a_set_equipment_and_a_blackout_record_the_staff_member(client):
    desk_member = StaffMemberFactory(roles=[BOOKING_DESK])
    desk = login_staff(client, desk_member)
    studio_set = StudioSetFactory(name="Qin palace")
    camera = EquipmentFactory()
    blackout = Blackout.objects.create(
        studio_set=studio_set, start_date=timezone.localdate(), end_date=timezone.localdate()
    )

    set_form = desk.get(reverse("admin:bookings_studioset_change", args=[studio_set.pk]))
    assert set_form.status_code == 200
    data = {
        "name_en": "Qin palace hall",
        "name_zh_hans": "秦王宫大殿",
        "slug": studio_set.slug,
        "category": studio_set.category,
        "daily_rate": "10000.00",
        "changeover_days": "0",
        "vertical_ready": "on",
        "is_active": "on",
        "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": "0",
    }
    response = desk.post(reverse("admin:bookings_studioset_change", args=[studio_set.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    row = studio_set.history.order_by("-history_id").first()
    assert (row.history_user, row.name_en, row.name_zh_hans) == (desk_member, "Qin palace hall", "秦王宫大殿")

    response = desk.post(
        reverse("admin:bookings_equipment_change", args=[camera.pk]),
        {
            "name_en": camera.name,
            "slug": camera.slug,
            "category": camera.category,
            "daily_rate": "1300.00",
            "stock": "5",
            "is_active": "on",
            "components-TOTAL_FORMS": "0",
            "components-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    row = camera.history.order_by("-history_id").first()
    assert (row.history_user, row.stock) == (desk_member, 5)

    response = desk.post(reverse("admin:bookings_blackout_delete", args=[blackout.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Blackout.objects.exists()
    # Deleting the blackout keeps its history, and says who deleted it.
    gone = Blackout.history.filter(id=blackout.pk).order_by("-history_id").first()
    assert (gone.history_type, gone.history_user) == ("-", desk_member)
    history_page = desk.get(reverse("admin:bookings_studioset_history", args=[studio_set.pk]))
    assert "Qin palace hall" in history_page.content.decode()


# --- The admin's History pages ------------------------------------------------------


def _booking_with_history(crew_owner, changes: int) -> Booking:
    booking = _request(crew_owner, items=2)
    staff = StaffFactory()
    for n in range(changes):
        booking.notes = f"Note {n}"
        history.note(booking, by=staff if n % 2 else None, reason=f"Reason {n}")
        booking.save()
    return booking


@pytest.mark.parametrize("changes", [2, 29])
def test_the_booking_history_page_lists_changes_in_a_fixed_number_of_queries(
    crew_owner, staff_client, django_assert_max_num_queries, changes
):
    booking = _booking_with_history(crew_owner, changes)
    url = reverse("admin:bookings_booking_history", args=[booking.pk])

    with django_assert_max_num_queries(14):
        response = staff_client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Reason {changes - 1}" in page
    assert "System" in page
    assert "Revert" not in page


def test_the_history_offers_no_revert_form(crew_owner, staff_client):
    booking = _booking_with_history(crew_owner, 1)
    version = booking.history.earliest("history_date").history_id

    response = staff_client.get(f"/admin/bookings/booking/{booking.pk}/history/{version}/", follow=True)

    # Not simple-history's version form: the admin treats the address as an unknown object.
    assert "Revert" not in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    with pytest.raises(NoReverseMatch):
        reverse("admin:bookings_booking_simple_history", args=[booking.pk, version])


def test_staff_without_the_view_permission_cannot_see_a_booking_history(crew_owner, client):
    booking = _booking_with_history(crew_owner, 1)
    workshop_desk = login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))

    response = workshop_desk.get(reverse("admin:bookings_booking_history", args=[booking.pk]))

    assert response.status_code == 403
    assert "Reason 0" not in response.content.decode()


# --- The crew's timeline ---------------------------------------------------------------


def test_the_crew_sees_its_booking_timeline_with_the_desk_unnamed(crew_owner, owner_client):
    booking = _request(crew_owner)
    desk = StaffFactory(first_name="Wang", last_name="Fang")
    services.booking_confirm(booking=booking, by=desk, reason="Palace free that week")

    page = owner_client.get(booking.get_absolute_url()).content.decode()

    timeline = page[page.index('id="booking-timeline"') :]
    assert timeline.index("Requested") < timeline.index("Confirmed")
    assert str(crew_owner) in timeline
    assert "Booking desk" in timeline
    assert "Palace free that week" in timeline
    assert "Wang" not in page and desk.email not in page


def test_the_timeline_names_the_system_for_an_expired_hold(crew_owner):
    from bookings.selectors import booking_timeline

    booking = _request(crew_owner)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        services.booking_expire_stale_holds()

    events = booking_timeline(booking)

    assert [(e.what, e.who) for e in events] == [("Requested", str(crew_owner)), ("Hold expired", "System")]
    assert events[1].reason == history.HOLD_EXPIRED


def test_a_change_of_equipment_shows_as_a_change(crew_owner):
    from bookings.selectors import booking_timeline

    booking = _request(crew_owner)
    line = booking.items.get()
    line.quantity = 2
    history.note(line, by=StaffFactory(), reason="One more camera")
    line.save()

    events = booking_timeline(booking)

    assert [(e.what, e.who, e.reason) for e in events][1:] == [
        ("Changed: equipment", "Booking desk", "One more camera")
    ]


def test_another_crew_gets_a_404_for_the_booking_page(crew_owner, other_crew_member, client):
    booking = _request(crew_owner)
    client.force_login(other_crew_member)

    assert client.get(booking.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("changes", [2, 29])
def test_the_booking_page_with_its_timeline_answers_in_a_fixed_number_of_queries(
    crew_owner, owner_client, django_assert_max_num_queries, changes
):
    booking = _booking_with_history(crew_owner, changes)
    for n in range(changes):
        booking.start_date += timedelta(days=1) if n % 2 else timedelta(days=-1)
        booking.end_date = booking.start_date + timedelta(days=4)
        booking.blocked_until = booking.end_date
        booking.save()

    # Up to 15 with the equipment lines' states: the lines, the kits among them and their handovers.
    with django_assert_max_num_queries(15):
        response = owner_client.get(booking.get_absolute_url())

    assert response.status_code == 200
    assert response.content.decode().count("Changed: dates") == changes
