"""When staff move a session or change its venue, everyone on it hears once, old and new side by
side; the calendar file updates; reminders follow the new day; letters naming the old dates are
flagged for the visa officer."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings.models import Notification
from hengdian import tasks
from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory
from workshops import services
from workshops.models import Enrolment

from .test_admin import _post_session, _split, waitlisted

Kind = Notification.Kind


@pytest.mark.django_db
def test_moving_a_session_tells_everyone_on_it_once_and_flags_letters_naming_the_old_dates(
    staff_client, private_storage
):
    session = SessionFactory(capacity=1, workshop__title="Vertical framing")
    with_letter = EnrolmentFactory(session=session, language="es")
    services.invitation_letter_issue(enrolment=with_letter, by=StaffFactory())
    waiting = waitlisted(session, 1, needs_visa_letter=False, passport_number="")
    gone = EnrolmentFactory(session=session, status=Enrolment.Status.CANCELLED)
    old_start = session.starts_at

    response = _post_session(
        staff_client,
        session,
        **_split("starts_at", old_start + timedelta(days=1)),
        **_split("ends_at", session.ends_at + timedelta(days=1)),
    )

    assert response.status_code == 302
    told = Notification.objects.filter(kind=Kind.ENROLMENT_SESSION_CHANGED)
    assert sorted(told.values_list("recipient", flat=True)) == sorted([with_letter.email, waiting.email])
    assert gone.email not in told.values_list("recipient", flat=True)
    spanish = told.get(recipient=with_letter.email)
    assert spanish.subject == "Sesión modificada: Vertical framing"
    before = timezone.localtime(old_start).strftime("%Y")
    assert before in spanish.body_text and "antes" in spanish.body_text
    with_letter.refresh_from_db()
    assert with_letter.letter_reissue_requested_at is not None  # the visa officer's filter shows it
    assert "nueva" in spanish.body_text  # a new letter is coming

    # Saved again with nothing changed: nobody hears twice.
    session.refresh_from_db()
    assert _post_session(staff_client, session).status_code == 302
    assert told.count() == 2


@pytest.mark.django_db
def test_a_new_venue_is_announced_and_the_calendar_file_changes_its_sequence(client, staff_client):
    session = SessionFactory()
    enrolment = EnrolmentFactory(session=session, needs_visa_letter=False, passport_number="")
    ics_url = reverse("workshops:calendar", args=[enrolment.manage_token])
    before = client.get(ics_url).content.decode()

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        _post_session(staff_client, session, venue_en="Stage 7, Hengdian Film Park")
    after = client.get(ics_url).content.decode()

    email = Notification.objects.get(kind=Kind.ENROLMENT_SESSION_CHANGED)
    assert "Stage 7, Hengdian Film Park" in email.body_text and session.venue in email.body_text

    def sequence(ics: str) -> int:
        return int(next(line for line in ics.splitlines() if line.startswith("SEQUENCE:")).split(":")[1])

    assert sequence(after) > sequence(before)
    assert "Stage 7" in after


@pytest.mark.django_db
def test_a_reminder_sent_for_the_old_day_is_sent_again_for_the_new_day():
    starts = timezone.now() + timedelta(days=5)
    session = SessionFactory(starts_at=starts, ends_at=starts + timedelta(days=2))
    enrolment = EnrolmentFactory(session=session)
    week = Kind.ENROLMENT_REMINDER_WEEK

    tasks.sweep()
    tasks.sweep()
    assert Notification.objects.filter(enrolment=enrolment, kind=week).count() == 1

    before = {"starts_at": session.starts_at, "ends_at": session.ends_at, "venue": {"en": session.venue}}
    session.starts_at += timedelta(days=1)
    session.ends_at += timedelta(days=1)
    session.save()
    services.session_changes_announce(session=session, before=before)
    tasks.sweep()
    tasks.sweep()

    reminders = Notification.objects.filter(enrolment=enrolment, kind=week).order_by("pk")
    assert [r.about_date for r in reminders] == [
        timezone.localdate(starts),
        timezone.localdate(starts + timedelta(days=1)),
    ]
