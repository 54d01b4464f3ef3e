"""A Chinese or Spanish crew books as the page loads: the dates carried from the catalogue are
in the date inputs, the quote is there at once, and the request goes through without retyping."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from bookings.models import Booking
from bookings.money import format_cny

from ..factories import CrewOwnerFactory, StudioSetFactory
from .test_booking import log_in


@pytest.mark.parametrize(("language", "browser_locale"), [("zh-hans", "zh-CN"), ("es", "es-ES")])
def test_crew_books_from_the_catalogue_without_retyping(browser, live_server, language, browser_locale):
    member = CrewOwnerFactory(language=language)
    StudioSetFactory(name="Qin palace courtyard", slug="qin-courtyard", daily_rate=Decimal("15000"))
    first = timezone.localdate() + timedelta(days=14)
    last = first + timedelta(days=6)
    with translation.override(language):
        expected_total = format_cny(Decimal("105000"))  # 15,000 × 7 days

    context = browser.new_context(
        base_url=live_server.url, locale=browser_locale, viewport={"width": 412, "height": 915}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, member.email)
    page.goto("/sets/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("#id_free_from").fill(first.isoformat())
    page.locator("#id_free_to").fill(last.isoformat())
    page.locator("[name=filter]").click()
    # The filter's own inputs keep the dates after the round trip.
    expect(page.locator("#id_free_from")).to_have_value(first.isoformat())

    page.locator("#set-results a[href*='set=qin-courtyard']").click()
    # Chromium reports "" for a value it cannot read as a date.
    expect(page.locator("#id_parts-0-start_date")).to_have_value(first.isoformat())
    expect(page.locator("#id_parts-0-end_date")).to_have_value(last.isoformat())
    expect(page.locator("#quote-total")).to_have_text(expected_total)

    page.locator("#submit-booking").click()
    expect(page).to_have_url(re.compile(r"/bookings/HD-[0-9A-Z]{6}/$"))
    reference = page.url.rstrip("/").rsplit("/", 1)[1]
    booking = Booking.objects.get(reference=reference)
    assert (booking.start_date, booking.end_date) == (first, last)
    assert booking.quote_total == Decimal("105000")

    page.goto("/bookings/")
    expect(page.locator("#upcoming")).to_contain_text(reference)
    expect(page.locator("#upcoming")).to_contain_text(expected_total)
    context.close()
