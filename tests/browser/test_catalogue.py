"""The catalogue on a phone: the set calendar opens on the dates searched for and two taps
on free days open the booking form with them; the equipment page fits the screen."""

import re
from datetime import date, timedelta

import pytest
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from bookings import services
from bookings.models import DayRange

from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory
from .test_booking import log_in


def month_after_next() -> date:
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 + 2
    return date(index // 12, index % 12 + 1, 1)


def test_crew_opens_a_set_on_the_month_searched_for_and_taps_two_free_days(page):
    member = CrewOwnerFactory()
    rival = CrewOwnerFactory()
    studio_set = StudioSetFactory(name="Qin palace courtyard", slug="qin-courtyard")
    first_of_month = month_after_next()
    booked = DayRange(first_of_month + timedelta(days=14), first_of_month + timedelta(days=15))
    services.booking_request(crew=rival.crew, studio_set=studio_set, days=booked, by=rival)
    search = DayRange(first_of_month + timedelta(days=2), first_of_month + timedelta(days=6))

    log_in(page, member.email)
    page.goto("/sets/")
    page.locator("#id_free_from").fill(f"{search.start:%Y-%m-%d}")
    page.locator("#id_free_to").fill(f"{search.end:%Y-%m-%d}")
    page.get_by_role("button", name="Show sets").click()
    page.get_by_role("link", name="Qin palace courtyard").click()

    # The calendar shows the month of the dates searched for, not this month.
    with translation.override("en"):
        heading = formats.date_format(first_of_month, "YEAR_MONTH_FORMAT")
    expect(page.locator("#calendar-month")).to_have_text(heading)
    expect(page.locator("#calendar-chosen")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Busy days are not links; a range across one is refused where the crew looks.
    calendar = page.locator("#calendar")
    expect(calendar.locator(f'a.cal-pick[data-date="{booked.start:%Y-%m-%d}"]')).to_have_count(0)
    first, last = booked.start - timedelta(days=3), booked.end + timedelta(days=2)
    calendar.locator(f'a.cal-pick[data-date="{first:%Y-%m-%d}"]').click()
    expect(page.locator("#calendar-status")).to_contain_text("Now choose the last shoot day.")
    expect(calendar.locator(f'td[data-date="{first:%Y-%m-%d}"]')).to_have_class(
        re.compile(r"\bcal-selected\b")
    )
    calendar.locator(f'a.cal-pick[data-date="{last:%Y-%m-%d}"]').click()
    expect(page.locator("#calendar-status")).to_contain_text("not free on every day of this range")
    assert "/sets/" in page.url

    # Two free days with nothing between them, by keyboard this time: the form opens with them.
    last = booked.start - timedelta(days=1)
    calendar.locator(f'a.cal-pick[data-date="{last:%Y-%m-%d}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/bookings/new/**")
    expect(page.locator("#id_parts-0-studio_set")).to_have_value("qin-courtyard")
    expect(page.locator("#id_parts-0-start_date")).to_have_value(f"{first:%Y-%m-%d}")
    expect(page.locator("#id_parts-0-end_date")).to_have_value(f"{last:%Y-%m-%d}")


def test_first_day_kept_across_a_month_change(page):
    member = CrewOwnerFactory()
    StudioSetFactory(name="Hong Kong street", slug="hk-street")
    first_of_month = month_after_next()
    first = first_of_month - timedelta(days=10)  # in the month before, not in the next grid
    last = first_of_month + timedelta(days=3)

    log_in(page, member.email)
    page.goto(f"/sets/hk-street/?month={first:%Y-%m}")
    page.locator(f'#calendar a.cal-pick[data-date="{first:%Y-%m-%d}"]').click()
    page.get_by_role("link", name="Next →").click()
    with translation.override("en"):
        heading = formats.date_format(first_of_month, "YEAR_MONTH_FORMAT")
    expect(page.locator("#calendar-month")).to_have_text(heading)
    page.locator(f'#calendar a.cal-pick[data-date="{last:%Y-%m-%d}"]').click()
    # Across months the set page checks the range and offers the form.
    page.get_by_role("link", name="Book these days").click()
    page.wait_for_url("**/bookings/new/**")
    expect(page.locator("#id_parts-0-start_date")).to_have_value(f"{first:%Y-%m-%d}")
    expect(page.locator("#id_parts-0-end_date")).to_have_value(f"{last:%Y-%m-%d}")


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN", "es-ES"])
def test_equipment_page_fits_a_phone(browser, live_server, locale):
    EquipmentFactory(name="Vertical camera kit with gimbal and follow focus", stock=12)
    context = browser.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": 412, "height": 915}
    )
    page = context.new_page()
    week = DayRange(timezone.localdate() + timedelta(days=3), timezone.localdate() + timedelta(days=9))
    for url in ("/equipment/", f"/equipment/?start={week.start:%Y-%m-%d}&end={week.end:%Y-%m-%d}"):
        page.goto(url)
        expect(page.locator("#equipment-table")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
        button = page.locator("main form button[type=submit]").bounding_box()
        assert button["x"] >= 0 and button["x"] + button["width"] <= 412
    context.close()
