"""The registration rate limit while the shared cache (Redis) is down: it keeps counting, per process."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import SessionFactory
from workshops import ratelimit
from workshops.models import Enrolment

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every cache call fails at once, as with Redis stopped.
UNREACHABLE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture(autouse=True)
def _fresh_process_counts():
    ratelimit.process_counts.clear()
    yield
    ratelimit.process_counts.clear()


def _register(client, session, n, address):
    data = {
        "full_name": "Amara Okafor",
        "email": f"p{n}@example.org",
        "nationality": "NG",
        "country_of_residence": "NG",
        "role": "director",
        "experience": "Two web series.",
        "language": "en",
        "consent": "on",
        "website": "",
    }
    return client.post(reverse("workshops:register", args=[session.pk]), data, REMOTE_ADDR=address)


@time_machine.travel(timezone.now(), tick=False)
def test_with_the_cache_down_registrations_are_still_limited_per_client(client, settings, caplog):
    settings.CACHES = UNREACHABLE
    settings.REGISTRATION_RATE_LIMIT = (2, 60)
    session = SessionFactory(capacity=10)

    with caplog.at_level(logging.WARNING, logger="workshops.ratelimit"):
        codes = [_register(client, session, n, "203.0.113.7").status_code for n in range(3)]
        other = _register(client, session, 9, "198.51.100.2")

    assert 429 not in codes[:2]
    assert codes[2] == 429
    assert other.status_code != 429
    assert Enrolment.objects.count() == 3
    assert not Enrolment.objects.filter(email="p2@example.org").exists()
    assert "counting registration in this process" in caplog.text


def test_with_the_cache_down_the_limit_resets_with_the_next_window(client, settings):
    settings.CACHES = UNREACHABLE
    settings.REGISTRATION_RATE_LIMIT = (1, 60)
    session = SessionFactory(capacity=10)
    start = timezone.now().replace(second=0, microsecond=0)

    with time_machine.travel(start, tick=False):
        assert _register(client, session, 0, "203.0.113.7").status_code != 429
        assert _register(client, session, 1, "203.0.113.7").status_code == 429
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert _register(client, session, 2, "203.0.113.7").status_code != 429

    assert Enrolment.objects.count() == 2
