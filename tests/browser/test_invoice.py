"""The desk confirms a plan, the crew downloads its invoice on a phone, the desk records the deposit."""

import subprocess
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from bookings import services
from bookings.models import DayRange, Invoice, Payment
from hengdian.roles import BOOKING_DESK

from ..factories import PASSWORD, CrewOwnerFactory, StaffMemberFactory, StudioSetFactory
from .conftest import admin_log_in
from .test_booking import log_in


def test_the_desk_confirms_the_crew_downloads_the_invoice_and_the_deposit_is_recorded(
    page, browser, live_server, tmp_path
):
    owner = CrewOwnerFactory()
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    first = timezone.localdate() + timedelta(days=20)
    plan = services.shoot_plan_request(
        crew=owner.crew,
        parts=[
            services.SetRequest(
                StudioSetFactory(daily_rate=Decimal("20000")), DayRange(first, first + timedelta(days=4))
            )
        ],
        by=owner,
    )

    admin = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    admin.set_default_timeout(15_000)
    desk_page = admin.new_page()
    admin_log_in(desk_page, desk, PASSWORD)
    desk_page.goto(f"/admin/bookings/shootplan/{plan.pk}/change/")
    desk_page.locator("a.decide-confirm").click()
    desk_page.locator("input[type=submit]").click()
    expect(desk_page.locator(".messagelist")).to_be_visible()
    invoice = Invoice.objects.get(plan=plan)

    log_in(page, owner.email)
    page.goto(plan.get_absolute_url())
    row = page.locator("#plan-invoices li")
    expect(row).to_contain_text(invoice.number)
    expect(row).to_have_attribute("data-payment", "deposit-due")
    with page.expect_download() as download:
        row.get_by_role("link", name="Download (PDF)").click()
    pdf = tmp_path / "invoice.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    assert invoice.number in text and "COMMERCIAL INVOICE" in text
    page.screenshot(path=tmp_path / "plan-deposit-due.png", full_page=True)
    # The crew asks for the official fapiao from the same row.
    row.locator("summary").click()
    row.get_by_label("Ordinary VAT fapiao (增值税普通发票)").check()
    row.get_by_role("button", name="Ask for the fapiao").click()
    expect(page.locator("#plan-invoices .fapiao-status")).to_contain_text("Fapiao asked for on")

    desk_page.goto(f"/admin/bookings/invoice/{invoice.pk}/change/")
    desk_page.locator("#record-payment").click()
    desk_page.locator("#id_amount").fill(str(invoice.deposit))
    desk_page.locator("#id_method").select_option("bank_transfer")
    desk_page.locator("#id_payer_reference").fill(f"{invoice.number} deposit")
    desk_page.locator("input[type=submit]").click()
    expect(desk_page.locator(".messagelist")).to_contain_text(invoice.number)
    admin.close()

    page.goto(plan.get_absolute_url())
    expect(page.locator("#plan-invoices li")).to_have_attribute("data-payment", "deposit-paid")
    expect(page.locator("#plan-invoices li")).to_contain_text("Deposit paid")
    assert page.evaluate("document.documentElement.scrollWidth") <= 412
    page.screenshot(path=tmp_path / "plan-deposit-paid.png", full_page=True)
    assert Payment.objects.get().amount == invoice.deposit
