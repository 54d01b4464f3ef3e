"""Delivery over real SMTP: as close to exactly once as SMTP allows.

SMTP cannot be exactly once: if a worker dies after the server accepted a
message but before the row says so, the message is sent again when the row is
claimed again. These tests show that the window is as small as it can be (the
row is marked sent before the connection is closed) and that a second copy is
harmless (it carries the same Message-ID, so mail clients show one message).
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from bookings import notifications
from bookings.models import Notification
from hengdian.celery import app

from ..smtp import SMTPServer
from ..workers import publishing_to, wait_until, worker_process

MESSAGE_ID = re.compile(r"^<notification-(\d+)\.[0-9a-f]{12}@[\w.-]+>$")


@pytest.fixture
def smtp_settings(settings):
    """Sends from this process go over SMTP to whichever test server sets EMAIL_PORT."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "Hengdian Studio Booking <booking@hengdian.example>"
    return settings


def parts(message) -> list[bytes]:
    return [part.get_payload(decode=True) for part in message.walk() if not part.is_multipart()]


def queue(dedupe_key: str = "booking:7:confirmed") -> Notification:
    with transaction.atomic():
        notification = notifications.notification_queue(
            kind="booking-confirmed",
            recipient="coordinator@example.com",
            language="en",
            subject="Booking confirmed: Palace hall (HD-ABC234)",
            body_text="Good news: booking HD-ABC234 is confirmed.",
            body_html="<p>Good news: booking HD-ABC234 is confirmed.</p>",
            dedupe_key=dedupe_key,
        )
    assert notification is not None
    return notification


@pytest.mark.django_db(transaction=True)
def test_each_email_carries_a_stable_message_id_derived_from_its_row(smtp_settings):
    with SMTPServer() as server:
        smtp_settings.EMAIL_PORT = server.port
        notification = queue()

    (message,) = server.messages
    match = MESSAGE_ID.match(message["Message-ID"])
    assert match, message["Message-ID"]
    assert int(match.group(1)) == notification.pk
    assert message["Message-ID"].endswith("@hengdian.example>")
    assert message["Message-ID"] == notifications.message_id(notification)
    assert message["Subject"] == "Booking confirmed: Palace hall (HD-ABC234)"


@pytest.mark.django_db(transaction=True)
def test_the_row_is_marked_sent_before_the_connection_is_closed(smtp_settings):
    status_at_quit = []

    def at_quit() -> None:
        status_at_quit.append(
            Notification.objects.values_list("status", flat=True).get(dedupe_key="booking:7:confirmed")
        )

    with SMTPServer(on_quit=at_quit) as server:
        smtp_settings.EMAIL_PORT = server.port
        notification = queue()

    assert len(server.messages) == 1
    # When the worker says goodbye, the row already says sent: a worker that
    # dies during QUIT, or a QUIT that fails, cannot cause a second copy.
    assert status_at_quit == [Notification.Status.SENT]
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_a_worker_killed_after_the_server_accepted_sends_again_later_with_the_same_message_id(
    smtp_settings, tmp_path
):
    smtp_settings.NOTIFICATION_SENDING_TIMEOUT = timedelta(minutes=5)

    def kill_the_worker_before_answering(message) -> bool:
        if len(server.messages) > 1:
            return True  # the second attempt is answered normally
        # The server has the whole message, but the worker dies before it hears so.
        worker.kill()
        return False

    broker_url = app.conf.broker_url
    with SMTPServer(on_data=kill_the_worker_before_answering) as server:
        smtp_settings.EMAIL_PORT = server.port
        with (
            publishing_to(broker_url),
            worker_process(
                broker_url=broker_url,
                email_url=server.url,
                log_path=tmp_path / "worker.log",
                environ={"DEFAULT_FROM_EMAIL": smtp_settings.DEFAULT_FROM_EMAIL},
            ) as worker,
        ):
            app.control.purge()
            notification = queue()
            assert wait_until(lambda: not worker.alive), worker.log()

        assert len(server.messages) == 1
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == (Notification.Status.SENDING, 1)
        claimed_at = notification.claimed_at

        # Before the sending timeout a sweep leaves it alone: its worker might still be sending.
        with time_machine.travel(claimed_at + timedelta(minutes=4), tick=False):
            assert notifications.notification_requeue_due() == 0
        assert len(server.messages) == 1

        # After it, the row is claimed again (here in this process, eagerly) and sent a second time.
        with time_machine.travel(claimed_at + timedelta(minutes=5, seconds=1), tick=False):
            assert notifications.notification_requeue_due() == 1

    first, second = server.messages
    assert first["Message-ID"] == notifications.message_id(notification)
    assert second["Message-ID"] == first["Message-ID"]
    assert (
        parts(second)
        == parts(first)
        == [
            b"Good news: booking HD-ABC234 is confirmed.",
            b"<p>Good news: booking HD-ABC234 is confirmed.</p>",
        ]
    )
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 2)
