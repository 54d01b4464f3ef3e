"""A crew moves its confirmed shoot by a day, at phone size; the desk approves it in the admin."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from bookings import services
from bookings.models import Booking, DayRange, Notification
from hengdian.roles import BOOKING_DESK

from ..factories import PASSWORD, CrewOwnerFactory, EquipmentFactory, StaffMemberFactory, StudioSetFactory
from .conftest import admin_log_in
from .test_booking import log_in

Kind = Notification.Kind


def test_crew_moves_its_shoot_by_a_day_and_the_desk_approves_it(page, browser, live_server, tmp_path):
    owner = CrewOwnerFactory()
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    studio_set = StudioSetFactory(name="Modern CEO office", slug="ceo-office", changeover_days=1)
    camera = EquipmentFactory(name="Vertical camera kit", stock=4)
    first = timezone.localdate() + timedelta(days=12)
    days = DayRange(first, first + timedelta(days=6))
    booking = services.booking_confirm(
        booking=services.booking_request(
            crew=owner.crew,
            studio_set=studio_set,
            days=days,
            items=[services.ItemRequest(camera, 2)],
            by=owner,
        ),
        by=desk,
    )
    moved = DayRange(days.start + timedelta(days=1), days.end + timedelta(days=1))

    log_in(page, owner.email)
    page.goto(booking.get_absolute_url())
    page.get_by_role("link", name="Change booking").click()
    page.locator("#id_part-start_date").fill(moved.start.isoformat())
    page.locator("#id_part-end_date").fill(moved.end.isoformat())
    page.locator("#submit-change").click()
    expect(page.locator("#pending-change")).to_be_visible()
    # Until the desk decides, the booking keeps its own days.
    expect(page.locator("dl").first).to_contain_text(str(days.start.day))
    page.screenshot(path=tmp_path / "pending.png", full_page=True)

    admin = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    admin.set_default_timeout(15_000)
    desk_page = admin.new_page()
    admin_log_in(desk_page, desk, PASSWORD)
    desk_page.goto(f"/admin/bookings/booking/{booking.pk}/change/")
    desk_page.locator("#booking-changes").get_by_role("link", name="Approve the change").click()
    desk_page.locator("#id_reason").fill("The office is free that extra day")
    desk_page.locator("input[type=submit]").click()
    expect(desk_page.locator(".messagelist")).to_contain_text(booking.reference)

    # The occupancy grid shows the booking on its new last day, not its old first day.
    desk_page.goto(f"/admin/bookings/booking/occupancy/?start={days.start.isoformat()}&weeks=2")
    row = desk_page.locator("tr[data-set='ceo-office']")
    expect(row.locator(f"td[data-day='{moved.end.isoformat()}']")).to_have_attribute(
        "data-state", "confirmed"
    )
    expect(row.locator(f"td[data-day='{days.start.isoformat()}']")).not_to_have_attribute(
        "data-state", "confirmed"
    )
    admin.close()

    page.goto(booking.get_absolute_url())
    expect(page.locator("#last-change")).to_contain_text("The office is free that extra day")
    timeline = page.locator("#booking-timeline li")
    expect(timeline).to_have_count(4)  # requested, confirmed, change asked for, change approved
    expect(timeline.nth(2)).to_contain_text("Change asked for")
    expect(timeline.nth(3)).to_contain_text("Change approved")
    expect(timeline.nth(3)).to_contain_text("Booking desk")
    expect(timeline.nth(3)).to_contain_text("The office is free that extra day")
    expect(page.locator("dl").first).to_contain_text(str(moved.end.day))
    page.screenshot(path=tmp_path / "approved.png", full_page=True)
    booking.refresh_from_db()
    assert (booking.start_date, booking.end_date) == (moved.start, moved.end)
    # One email per step to the crew: asked for, approved.
    crew_mail = Notification.objects.filter(recipient=owner.email).values_list("kind", flat=True)
    assert sorted(crew_mail) == sorted(
        [
            Kind.BOOKING_REQUESTED,
            Kind.BOOKING_CONFIRMED,
            Kind.BOOKING_CHANGE_REQUESTED,
            Kind.BOOKING_CHANGE_APPROVED,
        ]
    )
    assert Booking.objects.filter(change_of=booking, status=Booking.Status.CHANGE_APPROVED).count() == 1
