from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tests.factories import PASSWORD, CrewOwnerFactory

from .test_signup import open_menu


def test_switching_the_site_to_chinese_offers_chinese_emails_in_one_click(page):
    owner = CrewOwnerFactory(language="en")
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(owner.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My bookings")

    open_menu(page)
    page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    offer = page.locator("#email-language-offer")
    expect(offer).to_contain_text("简体中文")
    with translation.override("zh-hans"):
        accept = gettext("Yes, email me in this language")
    offer.get_by_role("button", name=accept).click()

    expect(page.locator("#email-language-offer")).to_have_count(0)
    owner.refresh_from_db()
    assert owner.language == "zh-hans"
    with translation.override("zh-hans"):
        expect(page.get_by_role("heading", level=1)).to_have_text(gettext("My bookings"))
