"""Real Celery workers and Redis servers, started by tests as separate processes.

A worker started here is the same program production runs (``celery -A
hengdian worker``), so it can be killed or cut off from its broker the way a
real one is. It reads and writes the test database (tests using it need
``transaction=True``, so that both sides see committed data) and sends its
email to the SMTP server named by ``email_url``.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from hengdian.celery import app

BASE_DIR = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # seconds; generous for a slow CI machine


def wait_until(
    condition: Callable[[], bool],
    *,
    nudge: Callable[[], object] | None = None,
    timeout: float = TIMEOUT,
    every: float = 0.1,
) -> bool:
    """Poll until ``condition`` holds, calling ``nudge`` (e.g. a sweep) between looks.

    Sleeping is only acceptable here because the worker runs outside the
    test's control; the code under test never sleeps and time is otherwise
    controlled with time-machine.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if nudge is not None:
            nudge()
        time.sleep(every)
    return condition()


def shared_database_url() -> str:
    """The database this test runs on, as a ``DATABASE_URL`` for another process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def publishing_to(broker_url: str, *, eager: bool = False) -> Iterator[None]:
    """Make this process's ``.delay()`` go to ``broker_url`` (and not run inline) for a while."""
    previous = app.conf.broker_url, app.conf.task_always_eager, os.environ.get("CELERY_BROKER_URL")
    app.conf.broker_url, app.conf.task_always_eager = broker_url, eager
    # Celery reads the broker from this variable, when it is set, before its own configuration.
    os.environ["CELERY_BROKER_URL"] = broker_url
    _forget_connections()
    try:
        assert app.conf.broker_url == broker_url
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous[:2]
        if previous[2] is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous[2]
        _forget_connections()


def _forget_connections() -> None:
    # The app caches its connection and producer pools for the URL it first
    # used; kombu keeps one pool per URL, so the old ones are found again later.
    app._pool = None
    app.amqp._producer_pool = None


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def worker_process(
    *,
    broker_url: str,
    email_url: str,
    log_path: Path,
    pool: str = "solo",
    environ: dict[str, str] | None = None,
) -> Iterator[WorkerProcess]:
    """``celery -A hengdian worker`` in a process of its own, until the block ends.

    ``environ`` adds settings, e.g. the DEFAULT_FROM_EMAIL the test's own process uses.
    """
    env = {
        **os.environ,
        **(environ or {}),
        "DATABASE_URL": shared_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_URL": email_url,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "hengdian",
        "worker",
        "--pool",
        pool,
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--hostname",
        f"test-{uuid.uuid4().hex[:8]}@%h",
        # Only the task queue matters here; the rest is start-up time.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(process, log_path)
    try:
        if not wait_until(lambda: " ready." in worker.log() or not worker.alive):
            pytest.fail(f"The worker did not start:\n{worker.log()}")
        if not worker.alive:
            pytest.fail(f"The worker exited at start-up:\n{worker.log()}")
        yield worker
    finally:
        if worker.alive:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()


class RedisServer:
    """A private ``redis-server`` on ``port`` that a test can stop and start again."""

    def __init__(self, *, port: int, directory: Path):
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail("These tests need redis-server (apt-get install redis-server).")
        if self.answers():
            pytest.fail(f"Something already listens on port {self.port}.")
        # No persistence: a restart loses whatever was queued, the worst case for the outbox.
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_until(self.answers, timeout=10):
            pytest.fail(f"redis-server did not start on port {self.port}.")

    def freeze(self) -> None:
        """Stop the server process without closing anything: connections stay open, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()  # a frozen process would not act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def redis_server(*, port: int, directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(port=port, directory=directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
