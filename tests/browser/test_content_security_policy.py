"""The site and the admin work under the enforced Content-Security-Policy, on a phone.

Every page the browser opens reports each CSP violation (the
``securitypolicyviolation`` event, and Chromium's console message) and every
script error back here; the JavaScript each page relies on is exercised, since
a blocked inline handler only shows when it runs.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from bookings import services
from bookings.models import Blackout, DayRange, Notification

from ..auth import current_code
from ..factories import (
    PASSWORD,
    CrewOwnerFactory,
    EquipmentFactory,
    SessionFactory,
    StaffFactory,
    StudioSetFactory,
)
from .test_signup import open_menu

PHONE = {"width": 412, "height": 915}

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportProblem(
    `${location.pathname}: CSP ${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || "?"}:${event.lineNumber})`
  );
});
"""


def _watched_context(browser, live_server, problems):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=PHONE)
    context.set_default_timeout(15_000)
    context.expose_function("reportProblem", lambda text: problems.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text or "Refused to" in text:
            problems.append(f"console {message.type}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    return context, page


@pytest.fixture
def problems():
    return []


def test_public_pages_and_their_scripts_work_under_the_policy(browser, live_server, problems):
    member = CrewOwnerFactory()
    studio_set = StudioSetFactory(
        name="Qin palace courtyard", slug="qin-courtyard", daily_rate=Decimal("20000")
    )
    EquipmentFactory(
        name="Vertical camera kit", slug="vertical-camera-kit", daily_rate=Decimal("1200"), stock=4
    )
    session = SessionFactory(capacity=5)
    context, page = _watched_context(browser, live_server, problems)

    page.goto("/")
    response = page.request.get("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "unsafe" not in policy

    # The language switcher submits on change (its script is a static file now).
    open_menu(page)
    page.locator("#language-select").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.locator(".navbar-toggler").click()  # its label is Spanish now
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("#language-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto("/sets/")
    expect(page.locator("body")).to_contain_text("Qin palace courtyard")

    # The month calendar moves by htmx: the page's address stays, the month changes.
    page.goto(studio_set.get_absolute_url())
    heading = page.locator("#calendar h2")
    this_month = heading.inner_text()
    page.locator("#calendar").get_by_role("link", name=re.compile("Next")).click()
    expect(heading).not_to_have_text(this_month)
    assert page.url.endswith(studio_set.get_absolute_url())

    page.goto("/equipment/")
    expect(page.locator("body")).to_contain_text("Vertical camera kit")

    # The registration form shows the passport fields only for a visa letter.
    page.goto("/workshops/")
    page.locator(f'a[href="{session.get_absolute_url()}"]').first.click()
    expect(page.locator("#passport-fields")).to_be_hidden()
    page.locator("#id_needs_visa_letter").check()
    expect(page.locator("#id_passport_number")).to_be_visible()

    page.goto("/accounts/login/")
    page.locator("#id_username").fill(member.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/bookings/$"))

    # The quote updates as the crew types, through htmx.
    start = timezone.localdate() + timedelta(days=14)
    page.goto(f"/bookings/new/?set={studio_set.slug}")
    page.locator("#id_parts-0-studio_set").select_option(studio_set.slug)
    page.locator("#id_parts-0-start_date").fill(f"{start:%Y-%m-%d}")
    page.locator("#id_parts-0-end_date").fill(f"{start + timedelta(days=2):%Y-%m-%d}")
    expect(page.locator("#quote-total")).to_have_text("¥60,000.00")

    page.goto("/no-such-page/")
    expect(page.locator("h1")).to_contain_text("could not find")
    context.close()

    assert not problems, "\n".join(problems)


def test_admin_pages_and_their_widgets_work_under_the_policy(browser, live_server, problems):
    staff = StaffFactory()
    crew_owner = CrewOwnerFactory()
    studio_set = StudioSetFactory(name="Hong Kong street", slug="hk-street")
    monday = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())
    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=studio_set,
        days=DayRange(monday, monday + timedelta(days=2)),
        by=crew_owner,
    )
    context, page = _watched_context(browser, live_server, problems)

    page.goto("/admin/login/")
    page.locator("#id_username").fill(staff.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    # No authenticator yet: the admin sends them to set one up (QR code, key, a code).
    expect(page.locator("#totp-secret")).to_be_visible()
    expect(page.locator(".qr-code svg")).to_be_visible()
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    page.locator("#id_code").fill(current_code(device))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#backup-codes li")).to_have_count(10)
    page.get_by_role("link", name="Continue to the studio admin").click()
    expect(page.locator("#booking-desk")).to_be_visible()
    expect(page.locator("#your-log-in")).to_be_visible()
    # On a phone the index's own modules wrap instead of widening the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # A changelist with its filters, date drill-down and actions.
    page.goto("/admin/bookings/booking/")
    expect(page.locator("#result_list")).to_contain_text(booking.reference)
    page.locator("#changelist-filter").get_by_role("link", name="Requested").click()
    expect(page).to_have_url(re.compile(r"status__exact=requested"))
    page.locator("#result_list input.action-select").first.check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")

    # A change form with date widgets and an autocomplete.
    page.goto("/admin/bookings/blackout/add/")
    page.locator("#id_start_date").fill("")
    page.locator(".field-start_date").get_by_role("link", name="Today").click()
    expect(page.locator("#id_start_date")).to_have_value(re.compile(r"\d"))
    page.locator(".field-end_date .date-icon").click()
    page.locator(".calendarbox:visible").get_by_role("link", name="Today").click()
    expect(page.locator("#id_end_date")).to_have_value(re.compile(r"\d"))
    page.locator(".field-studio_set .select2-selection").click()
    page.locator(".select2-results__option", has_text="Hong Kong street").click()
    expect(page.locator(".field-studio_set .select2-selection__rendered")).to_contain_text("Hong Kong street")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_be_visible()
    assert Blackout.objects.filter(studio_set=studio_set).count() == 1

    page.goto("/admin/bookings/booking/occupancy/")
    expect(page.locator("#occupancy")).to_contain_text("Hong Kong street")
    expect(page.locator("td.requested").first).to_be_visible()

    # The outbox preview frames the email's HTML part from its own sandboxed URL.
    notification = Notification.objects.filter(booking=booking).exclude(body_html="").first()
    page.goto(f"/admin/bookings/notification/{notification.pk}/change/")
    frame = page.frame_locator("iframe.outbox-preview")
    expect(frame.locator("body")).to_contain_text(booking.reference)
    context.close()

    assert not problems, "\n".join(problems)
