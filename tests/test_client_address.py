"""One reading of the client's address, for the log-in lockout and the registration rate limit.

Behind the README's proxy every request arrives from the proxy's address; the
client is in X-Forwarded-For, which only the proxies in front may be trusted
to write (TRUSTED_PROXIES). With no proxy, anyone can send that header.
"""

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from hengdian.clientip import client_ip
from tests.factories import PASSWORD, SessionFactory
from workshops.models import Enrolment

PROXY = "10.0.0.2"
LOGIN = reverse("login")


def _request(remote="198.51.100.9", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = 0
    assert client_ip(_request(forwarded="203.0.113.1")) == "198.51.100.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        # The proxy appends the address it saw; anything before it is the client's own claim.
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        (2, "1.2.3.4, 203.0.113.5, 10.0.0.1", "203.0.113.5"),
        (1, " 2001:DB8:0:0::1 ", "2001:db8::1"),
        # Too short, missing, empty or not an address: the proxy's own address, never a guess.
        (2, "203.0.113.5", PROXY),
        (1, None, PROXY),
        (1, "", PROXY),
        (1, "1.2.3.4, not-an-address", PROXY),
        (1, "203.0.113.5:4711", PROXY),
    ],
)
def test_behind_proxies_the_address_the_nearest_proxies_saw_is_used(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(_request(remote=PROXY, forwarded=forwarded)) == expected


def _register(client, session, n, **extra):
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
    return client.post(reverse("workshops:register", args=[session.pk]), data, **extra)


@pytest.mark.django_db
@time_machine.travel(timezone.now(), tick=False)
def test_spoofed_forwarded_addresses_do_not_escape_the_registration_limit(client, settings):
    settings.TRUSTED_PROXIES = 0
    settings.REGISTRATION_RATE_LIMIT = (2, 60)
    session = SessionFactory(capacity=10)

    codes = [
        _register(
            client, session, n, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        ).status_code
        for n in range(3)
    ]

    assert codes[2] == 429
    assert Enrolment.objects.count() == 2


@pytest.mark.django_db
@time_machine.travel(timezone.now(), tick=False)
def test_behind_one_proxy_two_clients_are_limited_separately(client, settings):
    settings.TRUSTED_PROXIES = 1
    settings.REGISTRATION_RATE_LIMIT = (2, 60)
    session = SessionFactory(capacity=10)

    first = [
        _register(client, session, n, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code
        for n in range(3)
    ]
    second = _register(client, session, 9, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert first[2] == 429
    assert second.status_code != 429
    assert set(Enrolment.objects.values_list("email", flat=True)) == {
        "p0@example.org",
        "p1@example.org",
        "p9@example.org",
    }


@pytest.mark.django_db
def test_behind_one_proxy_a_locked_out_client_does_not_lock_out_another(client, settings, crew_owner):
    settings.TRUSTED_PROXIES = 1
    settings.AXES_FAILURE_LIMIT = 3
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for _ in range(3):
        client.post(LOGIN, {"username": crew_owner.email, "password": "wrong"}, **attacker)
    assert (
        client.post(LOGIN, {"username": crew_owner.email, "password": PASSWORD}, **attacker).status_code
        == 429
    )

    owner = client.post(
        LOGIN,
        {"username": crew_owner.email, "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )

    assert owner.status_code == 302
    assert client.session["_auth_user_id"] == str(crew_owner.pk)


@pytest.mark.django_db
def test_without_proxies_a_forged_forwarded_address_does_not_escape_the_lockout(client, settings, crew_owner):
    settings.TRUSTED_PROXIES = 0
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        client.post(
            LOGIN,
            {"username": crew_owner.email, "password": "wrong"},
            REMOTE_ADDR="203.0.113.66",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    response = client.post(
        LOGIN,
        {"username": crew_owner.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.66",
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
