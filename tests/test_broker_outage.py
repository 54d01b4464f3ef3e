"""Redis goes away and comes back: pages keep answering, and the same worker drains the outbox.

Everything here is real: a private redis-server this test stops and starts,
a worker process started the way production starts one (prefork pool), an
SMTP server, and the pages driven through the test client.
"""

import re
import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, Notification
from hengdian import tasks
from workshops.models import Enrolment

from .bookings.test_booking_pages import form_data
from .bookings.test_booking_request import days_from_now
from .development_mode import worker_number
from .factories import CrewOwnerFactory, SessionFactory, StudioSetFactory
from .smtp import SMTPServer
from .workers import publishing_to, redis_server, wait_until, worker_process

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

# This suite's private range is 6391-6395: a port per pytest-xdist worker (6395 stays unreachable).
REDIS_PORT = 6391 + worker_number()
CANNOT_CONNECT = "consumer: Cannot connect to redis://"
# Pages must not wait for the broker: its absence only delays emails.
PAGE_SECONDS = 5.0


def registration(email: str) -> dict:
    return {
        "full_name": "Amara Okafor",
        "email": email,
        "nationality": "NG",
        "country_of_residence": "NG",
        "role": "director",
        "language": "en",
        "consent": "on",
    }


def timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def all_sent() -> bool:
    return not Notification.objects.exclude(status=Notification.Status.SENT).exists()


def test_pages_answer_while_redis_is_down_and_the_same_worker_drains_the_outbox_when_it_is_back(tmp_path):
    owner = CrewOwnerFactory()
    crew = Client(raise_request_exception=False)
    crew.force_login(owner)
    visitor = Client(raise_request_exception=False)
    studio_set, session = StudioSetFactory(), SessionFactory(capacity=5)
    days = days_from_now(10, 3)

    with (
        SMTPServer() as smtp,
        redis_server(port=REDIS_PORT, directory=tmp_path) as redis,
        publishing_to(redis.url),
        worker_process(
            broker_url=redis.url, email_url=smtp.url, log_path=tmp_path / "worker.log", pool="prefork"
        ) as worker,
    ):
        # The worker consumes: a registration's email goes out at once.
        visitor.post(reverse("workshops:register", args=[session.pk]), registration("first@example.org"))
        assert wait_until(all_sent), worker.log()
        assert len(smtp.messages) == 1

        redis.stop()

        # Pages that do not need the broker answer as usual, and their emails wait in the outbox.
        booked, booking_seconds = timed(
            lambda: crew.post(reverse("bookings:new"), form_data(studio_set.slug, days.start, days.end))
        )
        registered, registration_seconds = timed(
            lambda: visitor.post(
                reverse("workshops:register", args=[session.pk]), registration("second@example.org")
            )
        )
        assert booked.status_code == 302, booked.content.decode()[:2000]
        assert booked["Location"] == Booking.objects.get().get_absolute_url()
        assert registered.status_code == 302
        assert registered["Location"] == reverse("workshops:registration_sent", args=[session.pk])
        assert Enrolment.objects.filter(email="second@example.org").exists()
        assert booking_seconds < PAGE_SECONDS and registration_seconds < PAGE_SECONDS
        waiting = Notification.objects.filter(status=Notification.Status.PENDING)
        assert waiting.count() == 2
        assert crew.get(reverse("bookings:list")).status_code == 200

        # The worker lost its connection and is in its reconnect loop: it has
        # tried and failed at least twice, so it is waiting between attempts,
        # which is where a longer outage keeps it (only the waits get longer).
        assert wait_until(lambda: worker.log().count(CANNOT_CONNECT) >= 2), worker.log()
        assert worker.alive

        redis.start()  # on the same port, empty: whatever was queued in it is gone

        # What beat does every minute, here every second: the sweep re-queues
        # the waiting emails, and the worker that lived through the outage sends them.
        assert wait_until(all_sent, nudge=tasks.sweep, every=1.0), worker.log()
        assert worker.alive

    assert len(smtp.messages) == 3
    assert sorted(message["To"] for message in smtp.messages) == sorted(
        ["first@example.org", owner.email, "second@example.org"]
    )
    log = worker.log()
    assert log.count("Connected to redis://") >= 2, log  # once at start, once after the outage
    # It would have kept trying however long Redis stayed away: no limit on attempts.
    assert re.search(r"Trying again in [\d.]+ seconds\.\.\. \(2/None\)", log), log


def test_pages_answer_quickly_while_redis_hangs(tmp_path):
    """A frozen Redis accepts connections and never answers: the worst case for a page that queues email."""
    owner = CrewOwnerFactory()
    crew = Client(raise_request_exception=False)
    crew.force_login(owner)
    visitor = Client(raise_request_exception=False)
    studio_set, session = StudioSetFactory(), SessionFactory(capacity=5)
    days = days_from_now(10, 3)

    with redis_server(port=REDIS_PORT, directory=tmp_path) as redis, publishing_to(redis.url):
        redis.freeze()
        try:
            booked, booking_seconds = timed(
                lambda: crew.post(reverse("bookings:new"), form_data(studio_set.slug, days.start, days.end))
            )
            registered, registration_seconds = timed(
                lambda: visitor.post(
                    reverse("workshops:register", args=[session.pk]), registration("amara@example.org")
                )
            )
        finally:
            redis.thaw()

    assert (booked.status_code, registered.status_code) == (302, 302)
    # The first page waits once for the broker's timeouts (socket_timeout, a
    # few seconds, not one wait per email or per retry); then this process
    # leaves the broker alone for a while, and the next page does not wait at all.
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"]
    assert booking_seconds < 4 * timeout, booking_seconds
    assert registration_seconds < 1.0, registration_seconds
    assert Notification.objects.filter(status=Notification.Status.PENDING).count() == 2
