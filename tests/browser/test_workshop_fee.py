"""A participant registers for a session with a fee on a phone, in Chinese; the workshop desk
records the transfer by its payment reference; the participant's page then says it is paid."""

import re
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from hengdian.roles import WORKSHOP_DESK
from tests.factories import PASSWORD, SessionFactory, StaffMemberFactory, WorkshopFactory
from workshops.models import Enrolment, PlacePayment

from .conftest import admin_log_in


def chinese(message: str) -> str:
    with translation.override("zh-hans"):
        translated = gettext(message)
    assert translated != message, f"not translated into Chinese: {message}"
    return translated


def test_a_participant_pays_by_reference_and_the_page_says_paid(
    page, browser, live_server, mailoutbox, tmp_path
):
    session = SessionFactory(workshop=WorkshopFactory(fee=Decimal("6800"), title="短剧制作强化班"))
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])

    page.goto(session.get_absolute_url())
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("#id_full_name").fill("김민지")
    page.locator("#id_email").fill("minji@example.org")
    page.locator("#id_nationality").select_option("KR")
    page.locator("#id_country_of_residence").select_option("KR")
    page.locator("#id_role").select_option("director")
    page.locator("#id_consent").check()
    page.locator("#submit-id-register").click()
    expect(page.locator("#registration-sent")).to_be_visible()

    (message,) = mailoutbox
    enrolment = Enrolment.objects.get(email="minji@example.org")
    assert enrolment.payment_reference in message.body
    manage_path = re.search(r"https?://[^/\s]+(/enrolments/[\w-]{40,}/)", message.body).group(1)
    page.goto(manage_path)
    fee = page.locator("#fee")
    expect(fee).to_contain_text(chinese("Awaiting payment"))
    expect(page.locator("#payment-reference")).to_have_text(enrolment.payment_reference)
    expect(fee).to_contain_text("¥6,800.00")
    # Nothing spills sideways on a phone, in Chinese.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=tmp_path / "fee-awaiting-zh.png", full_page=True)

    # The desk types the reference as it appears on the bank statement.
    desk = StaffMemberFactory(roles=[WORKSHOP_DESK])
    admin = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    admin.set_default_timeout(15_000)
    desk_page = admin.new_page()
    admin_log_in(desk_page, desk, PASSWORD)
    desk_page.goto("/admin/workshops/placepayment/add/")
    desk_page.locator("#id_reference").fill(enrolment.payment_reference.lower().replace("-", " "))
    desk_page.locator("#id_amount").fill("6800")
    desk_page.locator("#id_method").select_option("bank_transfer")
    desk_page.locator("#id_payer_reference").fill("KEB HANA 0042")
    desk_page.locator("input[type=submit]").click()
    expect(desk_page.locator(".messagelist")).to_contain_text("Recorded.")
    expect(desk_page).to_have_url(re.compile(rf"/admin/workshops/enrolment/{enrolment.pk}/change/$"))
    admin.close()
    assert PlacePayment.objects.get().enrolment_id == enrolment.pk

    page.reload()
    expect(fee).to_contain_text(chinese("Paid"))
    expect(page.locator("#place-payments")).to_contain_text("¥6,800.00")
    page.screenshot(path=tmp_path / "fee-paid-zh.png", full_page=True)
