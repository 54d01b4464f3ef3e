import io
from datetime import timedelta

import pytest
from django.core import mail
from pypdf import PdfReader

from tests.factories import EnrolmentFactory, StaffFactory
from workshops import services
from workshops.models import Enrolment, InvitationLetter

pytestmark = pytest.mark.django_db


def _pdf_text(letter: InvitationLetter) -> str:
    with letter.pdf.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_an_issued_letter_is_stored_and_its_text_names_the_participant_and_number(
    django_capture_on_commit_callbacks,
):
    enrolment = EnrolmentFactory(full_name="Оксана Шевченко")
    staff = StaffFactory()

    with django_capture_on_commit_callbacks(execute=True):
        letter = services.invitation_letter_issue(enrolment=enrolment, by=staff)

    letter.refresh_from_db()
    assert letter.number.startswith("HDW-")
    assert letter.issued_by == staff
    text = _pdf_text(letter)
    assert "Оксана Шевченко" in text
    assert letter.number in text
    assert enrolment.passport_number in text
    (message,) = mail.outbox
    assert enrolment.passport_number not in message.subject + message.body
    assert enrolment.get_absolute_url() in message.body


def test_a_reissued_letter_gets_a_new_number():
    enrolment = EnrolmentFactory()
    staff = StaffFactory()

    first = services.invitation_letter_issue(enrolment=enrolment, by=staff)
    second = services.invitation_letter_issue(enrolment=enrolment, by=staff)

    assert first.number != second.number
    assert enrolment.letters.count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "needs_visa_letter": False,
                "passport_number": "",
                "passport_expiry": None,
                "date_of_birth": None,
            },
            "did not ask",
        ),
        ({"status": Enrolment.Status.WAITLISTED, "waitlist_order": 1}, "no confirmed place"),
        ({"status": Enrolment.Status.CANCELLED}, "no confirmed place"),
    ],
    ids=["not-requested", "waitlisted", "cancelled"],
)
def test_letters_are_refused_when_they_cannot_be_used(overrides, message):
    enrolment = EnrolmentFactory(**overrides)

    with pytest.raises(services.EnrolmentError, match=message):
        services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())

    assert not InvitationLetter.objects.exists()
    assert mail.outbox == []


def test_a_passport_expiring_before_the_session_ends_gets_no_letter():
    enrolment = EnrolmentFactory()
    Enrolment.objects.filter(pk=enrolment.pk).update(
        passport_expiry=(enrolment.session.starts_at + timedelta(days=1)).date()
    )

    with pytest.raises(services.EnrolmentError, match="expires before the session ends"):
        services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())

    assert not InvitationLetter.objects.exists()
