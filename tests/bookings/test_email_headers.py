"""Every email says it was sent by the system (RFC 3834) and where a reply reaches a person."""

import email

import pytest
from django.test import Client
from django.urls import reverse

from bookings import notifications, services
from bookings.models import Notification
from workshops import services as workshop_services

from ..factories import EquipmentFactory, SessionFactory, StudioSetFactory
from .test_booking_request import days_from_now

pytestmark = pytest.mark.django_db

BOOKING_DESK = "booking-desk@hengdianworld.com"
WORKSHOP_DESK = "workshops@hengdianworld.com"


@pytest.fixture(autouse=True)
def desks(settings):
    settings.BOOKING_DESK_EMAIL = BOOKING_DESK
    settings.WORKSHOP_DESK_EMAIL = WORKSHOP_DESK
    settings.STAFF_NOTIFICATION_EMAILS = ["desk-staff@hengdianworld.com"]


def headers(message) -> email.message.Message:
    """The headers as they leave for the mail server, not as Django holds them."""
    return email.message_from_bytes(message.message().as_bytes())


def assert_automatic_with_reply_to(messages, desk: str) -> None:
    assert messages
    for message in messages:
        sent = headers(message)
        assert sent["Auto-Submitted"] == "auto-generated", message.subject
        assert sent.get_all("Reply-To") == [desk], message.subject
        assert sent["From"] == message.from_email


def test_booking_emails_to_the_crew_and_the_desk_reply_to_the_booking_desk(
    crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_request(
            crew=crew_owner.crew,
            studio_set=StudioSetFactory(),
            days=days_from_now(10, 3),
            items=[services.ItemRequest(EquipmentFactory(), 1)],
            by=crew_owner,
        )

    assert {m.to[0] for m in mailoutbox} == {crew_owner.email, "desk-staff@hengdianworld.com"}
    assert_automatic_with_reply_to(mailoutbox, BOOKING_DESK)


@pytest.mark.parametrize("waitlisted", [False, True])
def test_participant_emails_reply_to_the_workshop_desk(
    waitlisted, mailoutbox, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=0 if waitlisted else 5)
    with django_capture_on_commit_callbacks(execute=True):
        workshop_services.enrolment_register(
            session=session,
            full_name="Thandiwe Mokoena",
            email="thandiwe@example.org",
            country_of_residence="ZA",
            nationality="ZA",
            role="actor",
        )

    (message,) = mailoutbox
    assert message.to == ["thandiwe@example.org"]
    assert_automatic_with_reply_to(mailoutbox, WORKSHOP_DESK)


def test_sign_up_and_password_reset_emails_reply_to_the_booking_desk(
    crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            reverse("signup"),
            {
                "full_name": "Line producer",
                "email": "producer@example.com",
                "company_name": "Jade River Studio",
                "contact_phone": "+86 571 8765 4321",
                "country": "CN",
            },
        )
        Client().post(reverse("password_reset"), {"email": crew_owner.email})

    kinds = set(Notification.objects.filter(status=Notification.Status.SENT).values_list("kind", flat=True))
    assert kinds == {Notification.Kind.ACCOUNT_SIGNUP, Notification.Kind.PASSWORD_RESET}
    assert len(mailoutbox) == 2
    assert_automatic_with_reply_to(mailoutbox, BOOKING_DESK)


def test_every_kind_has_a_desk():
    for kind in Notification.Kind.values:
        expected = WORKSHOP_DESK if kind.startswith("enrolment-") else BOOKING_DESK
        assert notifications.reply_to(kind) == expected, kind
