"""Subjects and plain-text bodies are plain text, and names from older data cannot stop a send."""

import pytest
from django.core import mail

from bookings import notifications, services
from bookings.models import Notification
from workshops import services as workshop_services

from ..factories import CrewFactory, CrewOwnerFactory, SessionFactory, StaffFactory, StudioSetFactory
from .test_booking_request import days_from_now

pytestmark = pytest.mark.django_db

DESK = "desk@hengdian.example"


@pytest.fixture
def desk(settings):
    settings.STAFF_NOTIFICATION_EMAILS = [DESK]
    return DESK


def request_and_confirm(owner, studio_set, capture) -> None:
    with capture(execute=True):
        booking = services.booking_request(
            crew=owner.crew, studio_set=studio_set, days=days_from_now(10, 3), by=owner
        )
    with capture(execute=True):
        services.booking_confirm(booking=booking, by=StaffFactory())


def test_a_crew_name_with_a_line_break_still_gets_its_booking_emails_and_the_desks_copies(
    desk, django_capture_on_commit_callbacks
):
    # Saved before names were validated: forms refuse line breaks now, old rows may have them.
    owner = CrewOwnerFactory(crew=CrewFactory(name="Red Lantern\r\nShorts\x0b Ltd"))

    request_and_confirm(owner, StudioSetFactory(name="Palace\nhall"), django_capture_on_commit_callbacks)

    rows = Notification.objects.order_by("pk")
    assert [(n.kind, n.recipient, n.status) for n in rows] == [
        (Notification.Kind.BOOKING_REQUESTED, owner.email, Notification.Status.SENT),
        (Notification.Kind.BOOKING_REQUEST_RECEIVED, DESK, Notification.Status.SENT),
        (Notification.Kind.BOOKING_CONFIRMED, owner.email, Notification.Status.SENT),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, DESK, owner.email])
    desk_copy = next(m for m in mail.outbox if m.to == [DESK])
    assert "for Red Lantern Shorts Ltd" in desk_copy.subject
    assert "Palace hall" in desk_copy.subject
    for message in mail.outbox:
        assert not any(ord(c) < 32 for c in message.subject), repr(message.subject)


def test_a_subject_from_very_long_names_is_shortened_not_refused(desk, django_capture_on_commit_callbacks):
    owner = CrewOwnerFactory(crew=CrewFactory(name="Vertical " * 22))  # 198 characters

    request_and_confirm(owner, StudioSetFactory(name="Hall " * 40), django_capture_on_commit_callbacks)

    assert Notification.objects.filter(status=Notification.Status.SENT).count() == 3
    desk_copy = next(m for m in mail.outbox if m.to == [DESK])
    assert 240 < len(desk_copy.subject) <= 255
    assert desk_copy.subject.endswith("…")


def test_a_row_queued_with_a_line_break_before_the_fix_is_still_sent(mailoutbox):
    Notification.objects.create(
        kind=Notification.Kind.BOOKING_CONFIRMED,
        recipient="crew@example.com",
        language="en",
        subject="Booking confirmed: Palace\nhall",
        body_text="Confirmed.",
        dedupe_key="booking:1:confirmed:user:1",
    )

    assert notifications.notification_requeue_due() == 1

    assert [m.subject for m in mailoutbox] == ["Booking confirmed: Palace hall"]


def test_names_with_ampersands_and_angle_brackets_are_not_html_escaped_in_subjects_or_text(
    desk, django_capture_on_commit_callbacks
):
    owner = CrewOwnerFactory(crew=CrewFactory(name="Tom & Jerry <Shorts>"), first_name="Ana & <Bo>")

    request_and_confirm(owner, StudioSetFactory(name="Court & <Hall>"), django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert "Court & <Hall>" in message.subject
        assert "Court & <Hall>" in message.body
        assert "&amp;" not in message.subject + message.body
        assert "&lt;" not in message.subject + message.body
        html = message.alternatives[0][0]
        assert "Court &amp; &lt;Hall&gt;" in html
        assert "<Hall>" not in html
    desk_copy = next(m for m in mail.outbox if m.to == [DESK])
    assert "Tom & Jerry <Shorts>" in desk_copy.subject
    crew_copy = next(m for m in mail.outbox if m.to == [owner.email])
    assert "Hello Ana & <Bo>," in crew_copy.body


def test_workshop_titles_with_ampersands_are_not_html_escaped_in_subjects_or_text(
    mailoutbox, django_capture_on_commit_callbacks
):
    session = SessionFactory(workshop__title="Light & <Shadow>")

    with django_capture_on_commit_callbacks(execute=True):
        workshop_services.enrolment_register(
            session=session,
            full_name="Kim & <Lee>",
            email="kim@example.org",
            country_of_residence="KR",
            nationality="KR",
            role="actor",
        )

    (message,) = mailoutbox
    assert "Light & <Shadow>" in message.subject
    assert "Light & <Shadow>" in message.body
    assert "Hello Kim & <Lee>," in message.body
    assert "Light &amp; &lt;Shadow&gt;" in message.alternatives[0][0]
