import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from bookings import services
from bookings.models import Booking, DayRange

from ..factories import PASSWORD, CrewOwnerFactory, EquipmentFactory, StaffFactory, StudioSetFactory
from .conftest import admin_log_in


def log_in(page, email):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()


def test_crew_finds_a_free_set_books_it_with_cameras_and_staff_confirm_it(page, browser, live_server):
    member = CrewOwnerFactory()
    rival = CrewOwnerFactory()
    staff = StaffFactory()
    StudioSetFactory(name="Qin palace courtyard", slug="qin-courtyard", daily_rate=Decimal("20000"))
    busy = StudioSetFactory(name="Hong Kong street", slug="hk-street")
    EquipmentFactory(
        name="Vertical camera kit", slug="vertical-camera-kit", daily_rate=Decimal("1200"), stock=4
    )
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    week = DayRange(monday, monday + timedelta(days=6))
    services.booking_request(crew=rival.crew, studio_set=busy, days=week, by=rival)

    log_in(page, member.email)
    page.goto("/sets/")
    page.locator("#id_free_from").fill(f"{week.start:%Y-%m-%d}")
    page.locator("#id_free_to").fill(f"{week.end:%Y-%m-%d}")
    page.get_by_role("button", name="Show sets").click()
    results = page.locator("#set-results")
    expect(results).to_contain_text("Qin palace courtyard")
    expect(results).not_to_contain_text("Hong Kong street")

    page.get_by_role("link", name="Book this set").click()
    expect(page.locator("#id_parts-0-start_date")).to_have_value(f"{week.start:%Y-%m-%d}")
    page.get_by_role("button", name="Add equipment").click()
    page.locator("#id_items-0-equipment").select_option("vertical-camera-kit")
    page.locator("#id_items-0-quantity").fill("1")
    # 20,000 × 7 + 1,200 × 1 × 7
    expect(page.locator("#quote-total")).to_have_text("¥148,400.00")
    page.locator("#id_items-0-quantity").fill("2")
    expect(page.locator("#quote-total")).to_have_text("¥156,800.00")

    page.get_by_role("button", name="Request booking").click()
    expect(page).to_have_url(re.compile(r"/bookings/HD-[0-9A-Z]{6}/$"))
    reference = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("#booking-status")).to_have_text("Requested")

    page.goto("/bookings/")
    expect(page.locator("#upcoming")).to_contain_text(reference)
    expect(page.locator("#upcoming")).to_contain_text("2 × Vertical camera kit")
    booking = Booking.objects.get(reference=reference)
    assert booking.quote_total == Decimal("156800.00")

    # Studio staff confirm it from the admin, in a browser session of their own.
    context = browser.new_context(base_url=live_server.url)
    admin = context.new_page()
    admin_log_in(admin, staff, PASSWORD)
    admin.goto("/admin/bookings/booking/")
    admin.locator(f"tr:has-text('{reference}') input[name=_selected_action]").check()
    admin.locator("select[name=action]").select_option("confirm_selected")
    admin.locator("button[name=index]").click()
    expect(admin.locator(".messagelist")).to_contain_text(reference)
    context.close()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    page.goto(f"/bookings/{reference}/")
    expect(page.locator("#booking-status")).to_have_text("Confirmed")
