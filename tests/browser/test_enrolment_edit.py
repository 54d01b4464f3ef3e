import re

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tests.factories import EnrolmentFactory
from workshops.models import Enrolment

from .test_signup import open_menu


def translated(language: str, message: str) -> str:
    with translation.override(language):
        text = gettext(message)
    assert text != message, f"not translated into {language}: {message}"
    return text


@pytest.mark.parametrize(("site_language", "email_language"), [("zh-hans", "es"), ("es", "zh-hans")])
def test_a_participant_changes_their_name_and_email_language_from_the_private_link(
    page, mailoutbox, site_language, email_language
):
    enrolment = EnrolmentFactory(full_name="Amara Okafor", language="en")

    page.goto(enrolment.get_absolute_url())
    open_menu(page)
    page.get_by_label("Language").select_option(site_language)
    expect(page.locator("html")).to_have_attribute("lang", site_language)

    page.get_by_role("link", name=translated(site_language, "Change my details")).click()
    expect(page).to_have_url(re.compile(r"/enrolments/[\w-]{40,}/edit/$"))
    # The passport on file is never shown back; the fields start empty.
    expect(page.locator("#id_passport_number")).to_have_value("")
    page.locator("#id_full_name").fill("Amara Ngozi Okafor")
    page.locator("#id_language").select_option(email_language)
    page.get_by_role("button", name=translated(site_language, "Save my changes")).click()

    expect(page).to_have_url(re.compile(r"/enrolments/[\w-]{40,}/$"))
    expect(page.get_by_role("alert")).to_contain_text(translated(site_language, "Your changes are saved."))
    expect(page.locator("main")).to_contain_text("Amara Ngozi Okafor")
    enrolment.refresh_from_db()
    assert enrolment.full_name == "Amara Ngozi Okafor"
    assert enrolment.language == email_language
    assert LogEntry.objects.filter(object_id=str(enrolment.pk), content_type__model="enrolment").count() == 1

    # Emails about the enrolment now come in the new language.
    page.get_by_role("link", name=translated(site_language, "Cancel my place")).click()
    page.get_by_role("button", name=translated(site_language, "Yes, cancel my place")).click()
    expect(page.locator("#enrolment-status")).to_contain_text(translated(site_language, "Cancelled"))
    (message,) = mailoutbox
    assert message.subject == translated(email_language, "Your enrolment is cancelled: %(title)s") % {
        "title": enrolment.session.workshop.title
    }
    assert "Amara Ngozi Okafor" in message.body
    # The letter that was requested is said to be withdrawn, not "not requested".
    expect(page.locator("main")).not_to_contain_text(translated(site_language, "Not requested"))
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.CANCELLED
