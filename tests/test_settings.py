"""Settings behave as the README says: each case starts a fresh process with its own environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "booking.hengdian.example",
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


def test_a_malformed_value_names_its_variable():
    result = _manage("check", DJANGO_DEBUG="1", CONN_MAX_AGE="forever")
    assert result.returncode != 0
    assert "CONN_MAX_AGE" in result.stderr


def test_deploy_check_is_clean_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


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
