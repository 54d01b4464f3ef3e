"""Settings behave as the README says: each case starts a fresh process with its own environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "booking.hengdian.example",
    "DEFAULT_FROM_EMAIL": "Hengdian Studio Booking <booking@hengdianworld.com>",
    "INVITATION_LETTER_PHONE": "+86 579 8655 0000",
}


def _manage(*args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE belongs to the browser tests, never to a deployment.
    dropped = {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_mode_refuses_to_start_without(missing):
    result = _manage("check", **{**PRODUCTION, missing: None})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"The environment variable {missing} must be set" in result.stderr


@pytest.mark.parametrize("value", ["-1", "one"])
def test_a_bad_proxy_count_stops_start_up(value):
    result = _manage("check", DJANGO_DEBUG="1", TRUSTED_PROXIES=value)
    assert result.returncode != 0
    assert "The environment variable TRUSTED_PROXIES" in result.stderr


@pytest.mark.parametrize("value", ["forever", "-1"])
def test_a_malformed_connection_age_names_its_variable(value):
    result = _manage("check", DJANGO_DEBUG="1", CONN_MAX_AGE=value)
    assert result.returncode != 0
    assert "CONN_MAX_AGE" in result.stderr


def test_deploy_check_is_clean_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_in_production_with_the_development_sender():
    result = _manage("check", "--deploy", **{**PRODUCTION, "DEFAULT_FROM_EMAIL": None})
    assert result.returncode != 0
    assert "hengdian.E001" in result.stderr
    assert "DEFAULT_FROM_EMAIL is 'Hengdian Studio Booking <booking@localhost>'" in result.stderr


@pytest.mark.parametrize(
    "sender",
    [
        "booking@localhost",
        "Booking <booking@studio.local>",
        "booking@mail.localhost",
        "booking@example.com",
        "booking@hengdian.example",
        "booking@mailhost",
        "not an address",
    ],
)
def test_sender_check_refuses_addresses_no_one_can_reply_to(settings, sender):
    settings.DEBUG = False
    settings.DEFAULT_FROM_EMAIL = settings.SERVER_EMAIL = sender
    errors = [m for m in run_checks(include_deployment_checks=True) if m.id == "hengdian.E001"]
    assert [e.msg.split(" is ")[0] for e in errors] == ["DEFAULT_FROM_EMAIL", "SERVER_EMAIL"]


def test_sender_check_accepts_a_real_domain_and_ignores_development(settings):
    settings.DEBUG = False
    settings.DEFAULT_FROM_EMAIL = settings.SERVER_EMAIL = "Hengdian <booking@hengdianworld.com>"
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "hengdian.E001"]
    settings.DEBUG = True
    settings.DEFAULT_FROM_EMAIL = settings.SERVER_EMAIL = "booking@localhost"
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "hengdian.E001"]


def test_production_is_the_default_and_refuses_to_start_without_a_secret_key():
    result = _manage("runserver", "--noreload", "127.0.0.1:6398")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "The environment variable SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_gunicorn_with_no_environment_refuses_to_load_the_app():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_DEBUG"}}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "--check-config", "hengdian.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "The environment variable SECRET_KEY must be set" in result.stdout + result.stderr


def test_development_mode_is_asked_for_explicitly():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.TIME_ZONE)",
        DJANGO_DEBUG="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True Asia/Shanghai"


def test_filemail_url_with_three_slashes_writes_to_that_absolute_folder(tmp_path):
    folder = tmp_path / "mail"
    result = _manage(
        "sendtestemail", "desk@hengdianworld.com", DJANGO_DEBUG="1", EMAIL_URL=f"filemail://{folder}"
    )
    assert result.returncode == 0, result.stderr
    sent = list(folder.glob("*.log"))
    assert len(sent) == 1
    assert "desk@hengdianworld.com" in sent[0].read_text()


def test_filemail_url_with_two_slashes_is_relative_to_the_project(tmp_path):
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_FILE_PATH)",
        DJANGO_DEBUG="1",
        EMAIL_URL="filemail://var/emails-relative",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(ROOT / "var" / "emails-relative")


def _csp_errors():
    return [
        m for m in run_checks(include_deployment_checks=True) if m.id in {"hengdian.E002", "hengdian.E003"}
    ]


def test_a_report_only_policy_is_refused_in_production(settings):
    settings.DEBUG = False
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    assert [e.id for e in _csp_errors()] == ["hengdian.E002"]
    settings.DEBUG = True
    assert _csp_errors() == []


def test_production_needs_an_enforced_policy_without_inline_code(settings):
    settings.DEBUG = False
    assert _csp_errors() == []
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**directives, "style-src": ["'self'", "'unsafe-inline'"]}
    }
    assert [e.msg for e in _csp_errors()] == [
        "The Content-Security-Policy's style-src allows 'unsafe-inline'."
    ]
    settings.CONTENT_SECURITY_POLICY = None
    assert [e.id for e in _csp_errors()] == ["hengdian.E003"]


def test_desk_addresses_must_be_reachable_and_the_letter_phone_set(settings):
    settings.DEBUG = False
    settings.BOOKING_DESK_EMAIL = "desk@localhost"
    settings.WORKSHOP_DESK_EMAIL = "workshops@hengdianworld.com"
    settings.INVITATION_LETTER_EMAIL = "visa@studio.local"
    settings.INVITATION_LETTER_PHONE = ""
    found: dict[str, list[str]] = {}
    for message in run_checks(include_deployment_checks=True):
        found.setdefault(message.id, []).append(message.msg.split(" is ")[0])
    assert found["hengdian.E004"] == ["BOOKING_DESK_EMAIL", "INVITATION_LETTER_EMAIL"]
    assert found["hengdian.W005"] == ["INVITATION_LETTER_PHONE"]


@pytest.mark.parametrize("name", ["BOOKING_DESK_EMAIL", "WORKSHOP_DESK_EMAIL", "INVITATION_LETTER_EMAIL"])
def test_a_malformed_desk_address_stops_start_up(name):
    result = _manage("check", DJANGO_DEBUG="1", **{name: "the booking desk"})
    assert result.returncode != 0
    assert f"The environment variable {name} is invalid" in result.stderr


def test_desks_default_to_the_sender_address():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.BOOKING_DESK_EMAIL, s.WORKSHOP_DESK_EMAIL, s.INVITATION_LETTER_EMAIL)",
        DJANGO_DEBUG="1",
        DEFAULT_FROM_EMAIL="Hengdian <desk@hengdianworld.com>",
        BOOKING_DESK_EMAIL=None,
        WORKSHOP_DESK_EMAIL=None,
        INVITATION_LETTER_EMAIL=None,
    )
    assert result.stdout.splitlines()[-1].split() == ["desk@hengdianworld.com"] * 3, result.stderr


@pytest.mark.parametrize(
    "value", ["14:0,7:30", "14:0,7:130,0:60", "fourteen:0,0:60", "14-0,0:60", "7:30,7:40,0:60"]
)
def test_bad_cancellation_fee_tiers_stop_start_up(value):
    result = _manage("check", DJANGO_DEBUG="1", CANCELLATION_FEE_TIERS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "The environment variable CANCELLATION_FEE_TIERS" in result.stderr


def test_cancellation_fee_tiers_are_read_most_days_first():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CANCELLATION_FEE_TIERS)",
        DJANGO_DEBUG="1",
        CANCELLATION_FEE_TIERS=" 0:50, 30:0 ,10:25",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "((30, 0), (10, 25), (0, 50))"
