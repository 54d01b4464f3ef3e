"""Passport data is deleted on time: the number, expiry, date of birth and the letters' PDF files,
90 days after the session ends or 30 days after cancelling; the record of the letter stays."""

import os
from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from hengdian import tasks
from hengdian.roles import VISA_OFFICER, WORKSHOP_DESK
from tests.auth import login_staff
from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory, StaffMemberFactory
from workshops import services
from workshops.models import Enrolment, HistoricalEnrolment, InvitationLetter

pytestmark = pytest.mark.django_db


def _with_letter(**kwargs) -> tuple[Enrolment, InvitationLetter]:
    enrolment = EnrolmentFactory(**kwargs)
    letter = services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())
    return enrolment, letter


def _stored(private_storage, letter_name: str) -> bool:
    return (private_storage / letter_name).exists()


def test_passport_data_and_letter_files_are_deleted_ninety_days_after_the_session_and_the_record_stays(
    private_storage, django_capture_on_commit_callbacks
):
    enrolment, letter = _with_letter(session=SessionFactory())
    kept = EnrolmentFactory(session=SessionFactory(starts_at=timezone.now() + timedelta(days=60)))
    name = letter.pdf.name
    assert _stored(private_storage, name)
    ends = enrolment.session.ends_at

    with time_machine.travel(ends + timedelta(days=89, hours=23), tick=False):
        assert services.passport_data_purge_due() == []
    with (
        time_machine.travel(ends + timedelta(days=90), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.purge_passport_data()["purged"] == 1

    enrolment.refresh_from_db()
    letter.refresh_from_db()
    assert (enrolment.passport_number, enrolment.passport_expiry, enrolment.date_of_birth) == ("", None, None)
    assert enrolment.passport_purged_at == ends + timedelta(days=90)
    assert enrolment.needs_visa_letter  # the record that one was asked for
    assert (letter.number, letter.pdf.name) == (letter.number, "")
    assert not _stored(private_storage, name)
    # History never held the passport data, and records who deleted it: the system, and why.
    latest = HistoricalEnrolment.objects.filter(id=enrolment.pk).latest("history_date")
    assert latest.history_user is None and "retention" in latest.history_change_reason
    kept.refresh_from_db()
    assert kept.passport_number  # not due yet
    with time_machine.travel(ends + timedelta(days=91), tick=False):
        assert services.passport_data_purge_due() == []


def test_a_cancelled_enrolment_loses_its_passport_data_thirty_days_after_cancelling(private_storage):
    enrolment, _letter = _with_letter(session=SessionFactory(starts_at=timezone.now() + timedelta(days=200)))
    services.enrolment_cancel(enrolment=enrolment)
    enrolment.refresh_from_db()

    with time_machine.travel(enrolment.cancelled_at + timedelta(days=29), tick=False):
        assert services.passport_data_purge_due() == []
    with time_machine.travel(enrolment.cancelled_at + timedelta(days=30), tick=False):
        assert services.passport_data_purge_due() == [enrolment.pk]


def test_the_retention_periods_are_settings(private_storage, settings):
    settings.PASSPORT_RETENTION_DAYS = 7
    enrolment = EnrolmentFactory(session=SessionFactory(starts_at=timezone.now() - timedelta(days=20)))

    assert services.passport_data_purge_due() == [enrolment.pk]


def test_a_purge_that_rolls_back_keeps_the_files(private_storage, django_capture_on_commit_callbacks):
    _enrolment, letter = _with_letter(session=SessionFactory(starts_at=timezone.now() - timedelta(days=200)))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.passport_data_purge_due()
    # The callbacks were never run: as if the transaction had rolled back, the file is still there.
    assert callbacks
    assert _stored(private_storage, letter.pdf.name)


def test_orphan_letter_files_older_than_a_day_are_deleted(private_storage):
    _enrolment, letter = _with_letter()
    storage = storages["private"]
    orphan = storage.save("letters/2026/HDW-2026-00099-1.pdf", ContentFile(b"%PDF-1.4 rolled back"))
    fresh = storage.save("letters/2026/HDW-2026-00100-1.pdf", ContentFile(b"%PDF-1.4 being written"))
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(private_storage / orphan, (two_days_ago, two_days_ago))
    os.utime(private_storage / letter.pdf.name, (two_days_ago, two_days_ago))

    assert services.letter_files_orphaned_delete() == [orphan]

    assert not _stored(private_storage, orphan)
    assert _stored(private_storage, fresh)  # may belong to a letter not yet committed
    assert _stored(private_storage, letter.pdf.name)


def test_the_visa_officer_sees_when_the_data_goes_and_after_it_the_letter_says_it_was_deleted(
    client, private_storage, django_capture_on_commit_callbacks
):
    enrolment, letter = _with_letter(session=SessionFactory(starts_at=timezone.now() - timedelta(days=10)))
    url = reverse("admin:workshops_enrolment_change", args=[enrolment.pk])
    due = timezone.localtime(enrolment.passport_purge_due).date()

    login_staff(client, StaffMemberFactory(roles=[VISA_OFFICER]))
    page = client.get(url)
    assert page.context["adminform"].form.instance.pk == enrolment.pk
    assert f"{due:%Y}" in page.text and "passport data deleted on" in page.text.lower()
    login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))
    assert "passport data deleted on" not in client.get(url).text.lower()

    with (
        time_machine.travel(enrolment.passport_purge_due, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.passport_data_purge_due()
    login_staff(client, StaffMemberFactory(roles=[VISA_OFFICER]))
    pdf = client.get(reverse("admin:workshops_invitationletter_pdf", args=[letter.pk]))
    assert pdf.status_code == 404
    manage = client.get(enrolment.get_absolute_url())
    assert "were deleted on" in manage.text
    assert client.get(reverse("workshops:letter", args=[enrolment.manage_token])).status_code == 404
