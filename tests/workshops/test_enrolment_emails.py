import pytest
from django.core import mail

from tests.factories import EnrolmentFactory
from workshops.emails import KINDS, enrolment_email_send
from workshops.models import Enrolment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "zh-hans", "es"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_email_ever_contains_the_passport_number(kind, language):
    status = Enrolment.Status.WAITLISTED if kind == "waitlisted" else Enrolment.Status.CONFIRMED
    enrolment = EnrolmentFactory(
        status=status, waitlist_order=1 if kind == "waitlisted" else None, language=language
    )

    enrolment_email_send(enrolment_id=enrolment.pk, kind=kind)

    (message,) = mail.outbox
    assert message.to == [enrolment.email]
    text = message.subject + message.body
    assert enrolment.passport_number not in text
    assert enrolment.passport_number[-4:] not in text
    assert enrolment.get_absolute_url() in message.body
    assert enrolment.session.workshop.title in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "waiting list, at position 1"), ("es", "posición 1"), ("zh-hans", "第 1 位")],
)
def test_the_waiting_list_email_is_in_the_participants_language(language, expected):
    enrolment = EnrolmentFactory(status=Enrolment.Status.WAITLISTED, waitlist_order=1, language=language)

    enrolment_email_send(enrolment_id=enrolment.pk, kind="waitlisted")

    assert expected in mail.outbox[0].body
    assert "Asia/Shanghai" in mail.outbox[0].body
