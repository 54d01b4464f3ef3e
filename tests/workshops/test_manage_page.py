from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory
from workshops.models import Enrolment, InvitationLetter, new_manage_token

pytestmark = pytest.mark.django_db


def _url(name: str, enrolment) -> str:
    return reverse(f"workshops:{name}", args=[enrolment.manage_token])


def test_the_manage_page_shows_status_session_and_zone(client):
    enrolment = EnrolmentFactory(full_name="Анна Петрова")

    response = client.get(enrolment.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "Анна Петрова" in page
    assert "your place is confirmed" in page
    assert enrolment.session.workshop.title in page
    assert "Asia/Shanghai" in page
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "same-origin"
    # Passport data is for staff and the letter only.
    assert enrolment.passport_number not in page


@pytest.mark.parametrize("name", ["manage", "cancel", "calendar", "letter"])
def test_a_wrong_or_guessed_token_is_not_found(client, name):
    enrolment = EnrolmentFactory()
    guessed = Enrolment(manage_token=new_manage_token())
    truncated = Enrolment(manage_token=enrolment.manage_token[:-1])

    assert client.get(_url(name, guessed)).status_code == 404
    assert client.get(_url(name, truncated)).status_code == 404
    assert client.post(_url("cancel", guessed)).status_code == 404
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.CONFIRMED


def test_one_token_never_shows_another_participants_data(client):
    session = SessionFactory()
    mine = EnrolmentFactory(session=session, full_name="Lucía Gómez")
    theirs = EnrolmentFactory(session=session, full_name="Kwame Mensah")

    page = client.get(mine.get_absolute_url()).content.decode()

    assert "Lucía Gómez" in page
    assert "Kwame Mensah" not in page
    assert theirs.email not in page
    assert theirs.manage_token not in page


def test_cancelling_needs_a_confirmation_then_offers_the_place_to_the_next_person(
    client, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=1)
    confirmed = EnrolmentFactory(session=session)
    waiting = EnrolmentFactory(session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=1)

    confirmation = client.get(_url("cancel", confirmed))
    assert "Cancel your place?" in confirmation.content.decode()
    confirmed.refresh_from_db()
    assert confirmed.status == Enrolment.Status.CONFIRMED

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("cancel", confirmed), follow=True)

    confirmed.refresh_from_db()
    waiting.refresh_from_db()
    assert confirmed.status == Enrolment.Status.CANCELLED
    assert waiting.status == Enrolment.Status.OFFERED
    assert "Your enrolment is cancelled." in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([confirmed.email, waiting.email])


def test_leaving_the_waiting_list(client):
    session = SessionFactory(capacity=0)
    waiting = EnrolmentFactory(session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=1)

    page = client.get(waiting.get_absolute_url()).content.decode()
    assert "You are number 1 on the waiting list" in page
    assert "Leave the waiting list" in page

    response = client.post(_url("cancel", waiting), follow=True)

    waiting.refresh_from_db()
    assert waiting.status == Enrolment.Status.CANCELLED
    assert "You have left the waiting list." in response.content.decode()


def test_cancelling_a_cancelled_enrolment_says_so(client):
    enrolment = EnrolmentFactory(status=Enrolment.Status.CANCELLED)

    response = client.post(_url("cancel", enrolment), follow=True)

    assert "already cancelled" in response.content.decode()


def test_cancel_rejects_other_methods(client):
    assert client.put(_url("cancel", EnrolmentFactory())).status_code == 405


def test_the_calendar_file_has_the_session_times(client):
    enrolment = EnrolmentFactory()

    response = client.get(_url("calendar", enrolment))

    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in body
    studio_time = timezone.localtime(enrolment.session.starts_at, ZoneInfo("Asia/Shanghai"))
    assert f"DTSTART;TZID=Asia/Shanghai:{studio_time:%Y%m%dT%H%M%S}" in body
    assert enrolment.session.workshop.title in body


def test_the_letter_is_downloadable_once_issued_and_only_by_its_owner(client, private_storage):
    enrolment = EnrolmentFactory()
    other = EnrolmentFactory(session=enrolment.session)
    assert client.get(_url("letter", enrolment)).status_code == 404
    assert "preparing it" in client.get(enrolment.get_absolute_url()).content.decode()

    letter = InvitationLetter(enrolment=enrolment, number="HDW-2026-00001-1", issued_by=StaffFactory())
    letter.pdf.save("HDW-2026-00001-1.pdf", ContentFile(b"%PDF-1.4 test"), save=True)

    response = client.get(_url("letter", enrolment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
    assert response["Content-Type"] == "application/pdf"
    assert "HDW-2026-00001-1.pdf" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    assert "HDW-2026-00001-1" in client.get(enrolment.get_absolute_url()).content.decode()
    assert client.get(_url("letter", other)).status_code == 404
    # The files are not under the public media URL.
    assert client.get(f"/media/{letter.pdf.name}").status_code == 404


def test_a_cancelled_enrolment_no_longer_offers_its_letter(client, private_storage):
    enrolment = EnrolmentFactory(status=Enrolment.Status.CANCELLED)
    letter = InvitationLetter(enrolment=enrolment, number="HDW-2026-00002-1", issued_by=StaffFactory())
    letter.pdf.save("x.pdf", ContentFile(b"%PDF"), save=True)

    assert client.get(_url("letter", enrolment)).status_code == 404
