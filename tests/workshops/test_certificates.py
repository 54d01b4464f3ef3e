"""Certificates of attendance: after the session, for 80 % of its days attended, emailed once,
bilingual with the name as registered in any script, and verifiable by number."""

import subprocess
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings.models import Notification
from hengdian import tasks
from tests.bookings.helpers import run_concurrently
from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory
from workshops import services
from workshops.certificates import certificate_pdf
from workshops.models import Certificate


def _at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def _session(days: int = 5):
    """Five days, 09:00 to 17:00, starting tomorrow."""
    first = timezone.localdate() + timedelta(days=1)
    return SessionFactory(starts_at=_at(first, 9), ends_at=_at(first + timedelta(days=days - 1), 17))


def _attend(session, enrolment, days: int) -> None:
    desk = StaffFactory()
    first = timezone.localdate(session.starts_at)
    for offset in range(days):
        with time_machine.travel(_at(first + timedelta(days=offset), 9), tick=False):
            services.checkin_record(session=session, code=enrolment.checkin_code, by=desk)


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


@pytest.mark.django_db
def test_four_of_five_days_earn_a_certificate_after_the_session_three_do_not_and_it_is_emailed_once():
    session = _session(days=5)
    keen = EnrolmentFactory(session=session, full_name="김민지")
    absent = EnrolmentFactory(session=session)
    _attend(session, keen, 4)
    _attend(session, absent, 3)

    with time_machine.travel(session.ends_at - timedelta(minutes=1), tick=False):
        assert services.certificates_issue_due() == []  # not before it has ended
    with time_machine.travel(session.ends_at + timedelta(minutes=1), tick=False):
        assert tasks.sweep()["certificates"] == 1
        assert tasks.sweep()["certificates"] == 0

    certificate = Certificate.objects.get()
    assert (certificate.enrolment, certificate.name) == (keen, "김민지")
    assert (certificate.days_attended, certificate.days_total, certificate.hours) == (4, 5, Decimal("32.0"))
    email = Notification.objects.get(kind=Notification.Kind.ENROLMENT_CERTIFICATE)
    assert email.recipient == keen.email
    assert certificate.number in email.body_text
    assert reverse("workshops:certificate_verify", args=[certificate.number]) in email.body_text


@pytest.mark.django_db
def test_the_share_of_days_is_a_setting(settings):
    settings.CERTIFICATE_MIN_ATTENDANCE_PERCENT = Decimal("50")
    session = _session(days=4)
    _attend(session, EnrolmentFactory(session=session), 2)

    with time_machine.travel(session.ends_at + timedelta(hours=1), tick=False):
        assert len(services.certificates_issue_due()) == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_issue_one_certificate():
    session = _session(days=1)
    _attend(session, EnrolmentFactory(session=session), 1)

    with time_machine.travel(session.ends_at + timedelta(hours=1), tick=False):
        results = run_concurrently(2, lambda i: services.certificates_issue_due())

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Certificate.objects.count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.ENROLMENT_CERTIFICATE).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "language", "spanish"),
    [("김민지", "en", False), ("Оксана Шевченко", "en", False), ("María José Núñez", "es", True)],
)
def test_the_pdf_is_bilingual_with_the_name_as_registered_and_spanish_for_a_spanish_speaker(
    tmp_path, name, language, spanish
):
    session = _session(days=2)
    enrolment = EnrolmentFactory(session=session, full_name=name, language=language)
    _attend(session, enrolment, 2)
    with time_machine.travel(session.ends_at + timedelta(hours=1), tick=False):
        (certificate,) = services.certificates_issue_due()

    text = " ".join(_text(certificate_pdf(certificate), tmp_path).split())

    assert name in text
    assert certificate.number in text
    assert "Certificate of Attendance" in text and "出席证书" in text
    assert ("asistió al taller" in text) is spanish
    fonts = subprocess.run(["pdffonts", "-"], input=certificate_pdf(certificate), capture_output=True).stdout
    assert b"Helvetica" not in fonts


@pytest.mark.django_db
def test_the_participant_downloads_it_and_anyone_can_verify_it_but_learns_nothing_else(client, tmp_path):
    session = _session(days=1)
    enrolment = EnrolmentFactory(session=session, full_name="Thandiwe Mokoena")
    _attend(session, enrolment, 1)
    with time_machine.travel(session.ends_at + timedelta(hours=1), tick=False):
        (certificate,) = services.certificates_issue_due()

    page = client.get(enrolment.get_absolute_url()).text
    assert certificate.number in page
    download = client.get(reverse("workshops:certificate", args=[enrolment.manage_token]))
    assert download["Content-Type"] == "application/pdf"
    assert "Thandiwe Mokoena" in _text(download.content, tmp_path)

    verify = client.get(certificate.get_absolute_url())
    assert verify.status_code == 200 and "Genuine." in verify.text and "Thandiwe Mokoena" in verify.text
    assert enrolment.email not in verify.text and enrolment.passport_number not in verify.text
    assert "noindex" in verify["X-Robots-Tag"]
    unknown = client.get(reverse("workshops:certificate_verify", args=["HDW-C-2222-2222-2222"]))
    assert unknown.status_code == 404 and "No certificate has the number" in unknown.text
    other = EnrolmentFactory()
    assert client.get(reverse("workshops:certificate", args=[other.manage_token])).status_code == 404
