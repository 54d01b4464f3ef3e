"""The outbox delivered by a real Celery worker on the real Redis broker — not eager mode.

The worker runs in a thread of this process (solo pool), so it uses Django's
test database through its own connection — hence committed data, i.e.
``transaction=True`` — and appends to the same ``mail.outbox`` as the test.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from bookings import notifications, services
from bookings import tasks as booking_tasks
from bookings.models import Notification
from hengdian import tasks
from hengdian.celery import app

from ..factories import CrewOwnerFactory, StudioSetFactory
from ..workers import wait_until
from .helpers import FlakyBackend
from .test_booking_request import days_from_now

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def flaky_backend(settings):
    FlakyBackend.failures = 0
    FlakyBackend.calls = 0
    settings.EMAIL_BACKEND = f"{FlakyBackend.__module__}.{FlakyBackend.__qualname__}"
    yield FlakyBackend
    FlakyBackend.failures = 0


@pytest.fixture
def live_worker() -> Iterator[None]:
    """A real worker consuming the configured Redis broker, with eager mode off for this test."""
    broker_url = app.conf.broker_url or django_settings.CELERY_BROKER_URL
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"These tests need Redis at {broker_url} (CELERY_BROKER_URL): {exc}")

    previous = app.conf.task_always_eager, app.conf.worker_hijack_root_logger
    app.conf.task_always_eager = False
    app.conf.worker_hijack_root_logger = False  # leave pytest's log capture alone
    app.control.purge()  # messages left over from an interrupted run
    try:
        with start_worker(
            app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
        ):
            yield
    finally:
        app.control.purge()
        app.conf.task_always_eager, app.conf.worker_hijack_root_logger = previous


def status_of(notification: Notification) -> str:
    return Notification.objects.values_list("status", flat=True).get(pk=notification.pk)


def queue(dedupe_key: str, recipient: str = "coordinator@example.com") -> Notification:
    with transaction.atomic():
        notification = notifications.notification_queue(
            kind="booking-requested",
            recipient=recipient,
            language="en",
            subject="Booking HD-ABC234 requested",
            body_text="Your request for Palace hall is held for 48 hours.",
            body_html="<p>Your request for <b>Palace hall</b> is held for 48 hours.</p>",
            dedupe_key=dedupe_key,
        )
        assert notification is not None
        # Inside the event's transaction nothing has been handed to the worker yet.
        assert Notification.objects.get(pk=notification.pk).status == Notification.Status.PENDING
    return notification


@pytest.mark.django_db(transaction=True)
def test_worker_delivers_a_queued_notification_exactly_once(live_worker):
    notification = queue("booking:1:requested")

    assert wait_until(lambda: status_of(notification) == Notification.Status.SENT)

    # Redelivered and re-queued copies of the task (acks_late, the sweep) change nothing.
    booking_tasks.send_notification.delay(notification.pk)
    booking_tasks.send_notification.delay(notification.pk)
    tasks.sweep.delay()
    # One worker takes the queue in order: once a later message is sent, the copies above were handled.
    marker = queue("booking:2:requested", recipient="marker@example.com")
    assert wait_until(lambda: status_of(marker) == Notification.Status.SENT)

    assert sorted(email.to[0] for email in mail.outbox) == ["coordinator@example.com", "marker@example.com"]
    notification.refresh_from_db()
    assert notification.attempts == 1
    assert notification.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_booking_request_produces_exactly_one_delivered_email(live_worker):
    coordinator = CrewOwnerFactory(language="es")

    booking = services.booking_request(
        crew=coordinator.crew, studio_set=StudioSetFactory(), days=days_from_now(10, 5), by=coordinator
    )

    notification = Notification.objects.get(booking=booking)
    assert wait_until(lambda: status_of(notification) == Notification.Status.SENT)
    tasks.sweep.delay()  # a sweep after the fact finds nothing left to send
    marker = queue("marker:1", recipient="marker@example.com")
    assert wait_until(lambda: status_of(marker) == Notification.Status.SENT)

    (email,) = [m for m in mail.outbox if m.to != ["marker@example.com"]]
    assert email.to == [coordinator.email]
    assert booking.reference in email.subject
    assert email.alternatives[0][1] == "text/html"
    assert Notification.objects.filter(booking=booking).count() == 1


@pytest.mark.django_db(transaction=True)
def test_worker_retries_a_send_that_failed_twice_and_delivers_it_once(live_worker, flaky_backend, settings):
    settings.NOTIFICATION_RETRY_BASE = timedelta(seconds=0)  # due again at once; the backoff has its own test
    settings.NOTIFICATION_MAX_ATTEMPTS = 5
    flaky_backend.failures = 2

    notification = queue("booking:1:requested")

    assert wait_until(
        lambda: status_of(notification) == Notification.Status.SENT,
        nudge=tasks.sweep.delay,  # what beat does every minute
    )
    notification.refresh_from_db()
    assert notification.attempts == 3
    assert notification.last_error == ""
    assert flaky_backend.calls == 3
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["coordinator@example.com"]


@pytest.mark.django_db(transaction=True)
def test_row_left_sending_by_a_dead_worker_is_delivered_once_by_another(live_worker, settings):
    settings.NOTIFICATION_SENDING_TIMEOUT = timedelta(minutes=5)
    now = timezone.now()
    common = {
        "kind": "booking-confirmed",
        "language": "en",
        "subject": "Booking HD-ABC234 confirmed",
        "body_text": "Confirmed.",
        "status": Notification.Status.SENDING,
        "attempts": 1,
    }
    # Its worker was killed ten minutes ago, after claiming it.
    stranded = Notification.objects.create(
        recipient="stranded@example.com",
        dedupe_key="booking:1:confirmed",
        claimed_at=now - timedelta(minutes=10),
        **common,
    )
    # This one's worker may still be talking to the mail server.
    in_flight = Notification.objects.create(
        recipient="in-flight@example.com",
        dedupe_key="booking:2:confirmed",
        claimed_at=now - timedelta(seconds=30),
        **common,
    )

    tasks.sweep.delay()

    assert wait_until(lambda: status_of(stranded) == Notification.Status.SENT)
    stranded.refresh_from_db()
    assert stranded.attempts == 2
    assert [email.to for email in mail.outbox] == [["stranded@example.com"]]
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.attempts) == (Notification.Status.SENDING, 1)
