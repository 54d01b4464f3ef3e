"""Headers and cookie attributes every response carries, in development and in production."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from hengdian.headers import permissions_policy_header

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ("get", "/"),
    ("get", "/accounts/login/"),
    ("get", "/no-such-page/"),
    ("get", "/healthz"),
    ("post", "/i18n/setlang/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), PAGES)
def test_every_response_switches_off_browser_features_and_isolates_the_window(client, method, path):
    response = getattr(client, method)(path)

    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy.split(", ")
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.django_db
def test_a_feature_can_be_allowed_for_our_own_pages_by_setting(client, settings):
    settings.PERMISSIONS_POLICY = {**settings.PERMISSIONS_POLICY, "camera": ["self"]}
    response = client.get(reverse("home"))
    assert "camera=(self)" in response["Permissions-Policy"].split(", ")
    assert "microphone=()" in response["Permissions-Policy"].split(", ")


def test_permissions_policy_header_syntax():
    assert permissions_policy_header({"camera": [], "fullscreen": ["self", '"https://a.example"']}) == (
        'camera=(), fullscreen=(self "https://a.example")'
    )


def test_the_language_cookie_is_lax_and_hidden_from_scripts(client):
    response = client.post(reverse("set_language"), {"language": "es", "next": "/"})
    cookie = response.cookies["django_language"]
    assert cookie.value == "es"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "booking.hengdian.example",
    "DEFAULT_FROM_EMAIL": "Hengdian Studio Booking <booking@hengdianworld.com>",
}

# Pages that need no database, requested over HTTPS as the TLS proxy forwards them. Static
# files are not collected here, so their URLs come from the plain storage, not the manifest.
PRODUCTION_SCRIPT = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
override_settings(
    STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
).enable()
client = Client(HTTP_HOST="booking.hengdian.example", HTTP_X_FORWARDED_PROTO="https")
page = client.get("/accounts/login/")
plain = Client(HTTP_HOST="booking.hengdian.example").get("/accounts/login/")
language = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
cookies = {}
for response in (page, language):
    for name, morsel in response.cookies.items():
        cookies[name] = {k: morsel[k] for k in ("secure", "httponly", "samesite")}
print(json.dumps({
    "status": page.status_code,
    "headers": dict(page.headers),
    "plain": [plain.status_code, plain.headers.get("Location")],
    "cookies": cookies,
}))
"""


@pytest.fixture(scope="module")
def production():
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="hengdian.settings")
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_to_https(production):
    assert production["plain"] == [301, "https://booking.hengdian.example/accounts/login/"]


def test_production_pages_carry_the_security_headers(production):
    headers = production["headers"]
    assert production["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    policy = headers["Content-Security-Policy"].split("; ")
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert directive in policy
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in headers


def test_production_cookies_are_secure_and_same_site(production):
    cookies = production["cookies"]
    assert set(cookies) >= {"csrftoken", "django_language"}
    for name, attributes in cookies.items():
        assert attributes["secure"] is True, name
        assert attributes["samesite"] == "Lax", name
    assert cookies["django_language"]["httponly"] is True
