"""A pytest plugin, loaded by ``-p`` from pyproject.toml before Django's settings are read.

The app runs in production mode unless ``DJANGO_DEBUG=1`` says otherwise, and
production mode refuses to start without a real ``SECRET_KEY``. The suite is
development: it sets the variable here, before pytest-django imports the
settings, so a bare ``pytest`` in a fresh clone works as ``make test`` does,
and a production shell's ``DJANGO_DEBUG=0`` cannot turn every request in the
suite into an HTTPS redirect. Tests of production mode start their own
processes with their own environment (tests/test_settings.py).

Under pytest-xdist (``make test`` runs ``-n 2``) each worker process also gets
Redis databases of its own, for the cache and for the test broker: every test
empties the cache, and must not empty another worker's rate-limit counters in
the middle of its test; a real Celery worker started by one test must not take
another test's tasks.
"""

import os
import re

os.environ["DJANGO_DEBUG"] = "1"


def worker_number() -> int:
    """0 outside pytest-xdist and in its worker gw0, 1 in gw1, …"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return int(worker) if worker.isdigit() else 0


def _worker_redis_url(url: str, number: int) -> str:
    """``redis://host:6379/15`` for gw0, ``/13`` for gw1, ``/11`` for gw2, …: every other database
    downwards, so the cache's (15 in the Makefile) and the broker's (14) never meet."""
    match = re.fullmatch(r"(rediss?://[^?#]*/)(\d+)(.*)", url)
    if not match or number == 0:
        return url
    database = int(match.group(2)) - 2 * number
    if database < 0:
        raise RuntimeError(f"Too many test workers for the Redis databases below {url}")
    return f"{match.group(1)}{database}{match.group(3)}"


for _variable in ("CACHE_URL", "CELERY_BROKER_URL"):
    if os.environ.get(_variable):
        os.environ[_variable] = _worker_redis_url(os.environ[_variable], worker_number())
