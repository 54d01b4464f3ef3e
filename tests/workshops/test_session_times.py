"""A session's times read naturally: a single day is written once, in every language."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation

from bookings.notifications import studio_span
from tests.factories import EnrolmentFactory, SessionFactory
from workshops.emails import enrolment_notify
from workshops.models import Enrolment

pytestmark = pytest.mark.django_db
STUDIO = ZoneInfo("Asia/Shanghai")
ONE_DAY = (datetime(2026, 12, 12, 9, 0, tzinfo=STUDIO), datetime(2026, 12, 12, 17, 0, tzinfo=STUDIO))
TWO_DAYS = (datetime(2026, 12, 12, 9, 0, tzinfo=STUDIO), datetime(2026, 12, 13, 17, 0, tzinfo=STUDIO))
SINGLE_DAY = {
    "en": "Dec. 12, 2026, 9 a.m.–5 p.m.",
    "zh-hans": "2026年12月12日 09:00–17:00",
    "es": "12 de diciembre de 2026, 09:00–17:00",
}
SEVERAL_DAYS = {
    "en": "Dec. 12, 2026, 9 a.m. – Dec. 13, 2026, 5 p.m.",
    "zh-hans": "2026年12月12日 09:00 – 2026年12月13日 17:00",
    "es": "12 de diciembre de 2026 a las 09:00 – 13 de diciembre de 2026 a las 17:00",
}


@pytest.fixture(autouse=True)
def _before_the_sessions():
    with time_machine.travel(datetime(2026, 11, 1, 12, 0, tzinfo=STUDIO), tick=False):
        yield


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


@pytest.mark.parametrize("language", SINGLE_DAY)
def test_a_single_day_is_written_once(language):
    with translation.override(language):
        assert studio_span(*ONE_DAY) == SINGLE_DAY[language]
        assert studio_span(*TWO_DAYS) == SEVERAL_DAYS[language]


@pytest.mark.parametrize("language", SINGLE_DAY)
def test_session_pages_write_a_single_day_once(client, language):
    session = SessionFactory(starts_at=ONE_DAY[0], ends_at=ONE_DAY[1])
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    for url in (reverse("workshops:list"), session.workshop.get_absolute_url(), session.get_absolute_url()):
        page = text(client.get(url, **headers).content.decode())
        assert SINGLE_DAY[language] in page, url
    manage = EnrolmentFactory(session=session, language=language).get_absolute_url()
    assert SINGLE_DAY[language] in text(client.get(manage, **headers).content.decode())


@pytest.mark.parametrize("language", SINGLE_DAY)
def test_a_session_over_several_days_names_both(client, language):
    SessionFactory(starts_at=TWO_DAYS[0], ends_at=TWO_DAYS[1])
    page = text(client.get(reverse("workshops:list"), HTTP_ACCEPT_LANGUAGE=language).content.decode())
    assert SEVERAL_DAYS[language] in page


@pytest.mark.parametrize("language", SINGLE_DAY)
def test_emails_write_a_single_day_once(django_capture_on_commit_callbacks, language):
    enrolment = EnrolmentFactory(
        session=SessionFactory(starts_at=ONE_DAY[0], ends_at=ONE_DAY[1]), language=language
    )
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_notify(enrolment=enrolment, kind="enrolment-confirmed")
    (message,) = mail.outbox
    assert enrolment.status == Enrolment.Status.CONFIRMED
    assert SINGLE_DAY[language] in message.body
    assert SINGLE_DAY[language] in text(message.alternatives[0][0])
    assert "a las 09:00 –" not in message.body
