import re

from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tests.factories import EnrolmentFactory, SessionFactory
from workshops.models import Enrolment

from .test_signup import open_menu


def spanish(message: str) -> str:
    with translation.override("es"):
        translated = gettext(message)
    assert translated != message, f"not translated into Spanish: {message}"
    return translated


def test_a_participant_in_spanish_joins_a_full_sessions_waiting_list_and_leaves_it(page, mailoutbox):
    session = SessionFactory(capacity=1, workshop__title="Actuación para pantallas verticales")
    EnrolmentFactory(session=session)

    page.goto("/workshops/")
    open_menu(page)
    page.get_by_label("Language").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".list-group")).to_contain_text(spanish("Full — waiting list"))

    page.locator(f'a[href="{session.get_absolute_url()}"]').click()
    expect(page.locator("#full-notice")).to_contain_text(spanish("This session is full."))

    # The passport fields appear only for a visa letter.
    expect(page.locator("#passport-fields")).to_be_hidden()
    page.locator("#id_needs_visa_letter").check()
    expect(page.locator("#id_passport_number")).to_be_visible()
    page.locator("#id_needs_visa_letter").uncheck()
    expect(page.locator("#passport-fields")).to_be_hidden()

    page.locator("#id_full_name").fill("María José Fernández Núñez")
    page.locator("#id_email").fill("mjfernandez@example.org")
    page.locator("#id_nationality").select_option("MX")
    page.locator("#id_country_of_residence").select_option("ES")
    page.locator("#id_role").select_option("actor")
    page.locator("#id_consent").check()
    page.locator("#submit-id-register").click()

    # The page only says to check the inbox: the private link is in the email.
    expect(page).to_have_url(re.compile(rf"/workshops/sessions/{session.pk}/register/sent/$"))
    expect(page.locator("#registration-sent")).to_be_visible()
    (message,) = mailoutbox
    assert message.to == ["mjfernandez@example.org"]
    assert message.subject == spanish("You are on the waiting list: %(title)s") % {
        "title": session.workshop.title
    }
    manage_path = re.search(r"https?://[^/\s]+(/enrolments/[\w-]{40,}/)", message.body).group(1)
    page.goto(manage_path)

    expect(page).to_have_url(re.compile(r"/enrolments/[\w-]{40,}/$"))
    status = page.locator("#enrolment-status")
    expect(status).to_contain_text(spanish("Waiting list"))
    expect(status).to_contain_text("1")
    enrolment = Enrolment.objects.get(email="mjfernandez@example.org")
    assert enrolment.status == Enrolment.Status.WAITLISTED
    assert enrolment.language == "es"

    page.get_by_role("link", name=spanish("Leave the waiting list")).click()
    page.get_by_role("button", name=spanish("Yes, leave the waiting list")).click()

    expect(page.locator(".alert-success")).to_contain_text(spanish("You have left the waiting list."))
    expect(status).to_contain_text(spanish("Cancelled"))
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.CANCELLED
