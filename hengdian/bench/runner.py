"""``manage.py bench``: the whole benchmark, from an empty database to one table.

Everything it starts (databases, gunicorn, Celery, locust) it stops again, also on
Ctrl-C or an error: processes are started in their own process group and killed by
group id; databases and files are dropped in ``finally``. Every subprocess has a timeout.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hengdian.bench import bursts

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


@dataclass
class Options:
    postgres: str = "postgres://postgres@127.0.0.1:5432"
    db_name: str = "hd_bench_run"
    redis: str = "redis://127.0.0.1:6379"
    cache_db: int = 8
    broker_db: int = 9
    port: int = 8300
    scale: str = "grown"  # the second size measured: grown (100k) or smoke
    users: int = 4
    seconds: int = 8
    registrations: int = 300
    capacity: int = 100
    booking_requests: int = 120
    clients: int = 16
    workers: int = 2
    sqlite: bool = True
    locust: str = ""  # the locust executable; found next to Python, or on PATH
    log: object = print
    keep_going: list = field(default_factory=list)


class BenchError(RuntimeError):
    pass


@dataclass
class Outcome:
    text: str  # the table
    problems: list[str]  # broken invariants and server errors; speed is never one


# --- processes ----------------------------------------------------------------


def base_env(opts: Options, database_url: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off), reachable over plain HTTP from this machine only."""
    drop = {"DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=f"{HOST},localhost",
        DEFAULT_FROM_EMAIL="Hengdian Studio Booking <booking@hengdianworld.com>",
        INVITATION_LETTER_PHONE="+86 579 8655 0000",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database_url,
        CACHE_URL=f"{opts.redis}/{opts.cache_db}",
        CELERY_BROKER_URL=f"{opts.redis}/{opts.broker_db}",
        # One address registers hundreds of people here; the limit is for the public, not the bench.
        REGISTRATION_RATE_LIMIT="1000000/m",
        STAFF_NOTIFICATION_EMAILS="desk@hengdianworld.com",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], *, timeout: float, what: str) -> str:
    try:
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} took longer than {timeout:.0f} s") from exc
    if result.returncode != 0:
        raise BenchError(
            f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    return run([sys.executable, "manage.py", *args], env, timeout=timeout, what=f"manage.py {' '.join(args)}")


def probe(env: dict[str, str], *args: str, timeout: float = 300) -> dict:
    return json.loads(manage(env, "bench_probe", *args, timeout=timeout).strip().splitlines()[-1])


@contextmanager
def process(args: list[str], env: dict[str, str], log_path: Path):
    """A background process in its own group; the whole group is stopped on the way out."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for(url: str, proc: subprocess.Popen, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server for {url} exited ({proc.returncode})")
        try:
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s")


def gunicorn(env: dict[str, str], port: int, workers: int, log_path: Path):
    args = [
        str(BIN / "gunicorn"),
        "hengdian.wsgi",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
    ]
    return process(args, {**env, "DJANGO_SETTINGS_MODULE": "hengdian.bench.settings"}, log_path)


# --- databases ----------------------------------------------------------------


def _psql(opts: Options, sql: str) -> None:
    env = {**os.environ}
    args = [
        sys.executable,
        "-c",
        "import psycopg, sys; c = psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2])",
        f"{opts.postgres}/postgres",
        sql,
    ]
    run(args, env, timeout=60, what=sql)


@contextmanager
def postgres_database(opts: Options, name: str):
    _psql(opts, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(opts, f'CREATE DATABASE "{name}"')
    try:
        yield f"{opts.postgres}/{name}"
    finally:
        try:
            _psql(opts, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except BenchError as exc:
            opts.log(f"could not drop {name}: {exc}")


def flush_redis(opts: Options, *dbs: int) -> None:
    import redis

    for db in dbs:
        redis.Redis.from_url(f"{opts.redis}/{db}", socket_connect_timeout=2, socket_timeout=5).flushdb()


def prepare(env: dict[str, str], opts: Options, static_root: Path) -> None:
    opts.log("migrating and loading the demo")
    manage(env, "migrate", "--noinput", timeout=600)
    manage(env, "seed_demo", "--force", timeout=600)
    manage({**env, "STATIC_ROOT": str(static_root)}, "collectstatic", "--noinput", timeout=300)


# --- measuring ----------------------------------------------------------------


def locust_executable(opts: Options) -> str:
    for candidate in (
        opts.locust,
        os.environ.get("LOCUST", ""),
        str(BIN / "locust"),
        shutil.which("locust") or "",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise BenchError("locust is not installed: make install-dev (requirements-dev.txt pins it)")


def measure_page(opts: Options, port: int, path: str, cookie: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    env.update(BENCH_PATH=path, BENCH_COOKIE=cookie, PYTHONUNBUFFERED="1")
    args = [
        locust_executable(opts),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--users",
        str(opts.users),
        "--spawn-rate",
        str(opts.users),
        "--run-time",
        f"{max(1, int(opts.seconds))}s",
        "--stop-timeout",
        "5",
        "--host",
        f"http://{HOST}:{port}",
        "--json",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    output = run(args, env, timeout=opts.seconds + 90, what=f"locust on {path}")
    entries = [e for e in json.loads(output) if e["name"] == path]
    if not entries or not entries[0]["num_requests"]:
        raise BenchError(f"locust made no request to {path}")
    stats = entries[0]
    # Response times come as {milliseconds (rounded): count}.
    times = sorted((float(ms), n) for ms, n in stats["response_times"].items())
    elapsed = stats["last_request_timestamp"] - stats["start_time"]
    return {
        "rps": stats["num_requests"] / elapsed if elapsed > 0 else 0.0,
        "p50": _percentile(times, stats["num_requests"], 0.50),
        "p99": _percentile(times, stats["num_requests"], 0.99),
        "requests": stats["num_requests"],
        "failures": stats["num_failures"],
    }


def _percentile(times: list[tuple[float, int]], total: int, fraction: float) -> float:
    seen = 0
    for ms, n in times:
        seen += n
        if seen >= fraction * total:
            return ms
    return times[-1][0] if times else 0.0


def measure_pages(opts: Options, env: dict[str, str], port: int, workdir: Path, label: str) -> dict:
    info = probe(env, "pages")
    results = {}
    for name, path in info["paths"]:
        cookie = info["cookie"] if path.startswith("/bookings/") else ""
        results[name] = measure_page(opts, port, path, cookie)
        r = results[name]
        opts.log(f"  {label:5} {name:26} {r['rps']:8.1f} req/s  p50 {r['p50']:.0f} ms  p99 {r['p99']:.0f} ms")
        if r["failures"]:
            raise BenchError(f"{path}: {r['failures']} of {r['requests']} requests failed at {label} size")
    return results


def cpu_seconds(servers: list[tuple[str, int]]) -> dict[str, dict[int, float]]:
    """CPU time used so far by each gunicorn process serving ``servers``, by each PostgreSQL
    process on this machine, and by this process (the burst clients are its threads)."""
    import psutil  # locust's own dependency, pinned in requirements-dev.txt

    binds = tuple(f"{host}:{port}" for host, port in servers)
    used: dict[str, dict[int, float]] = {"app": {}, "database": {}}
    for proc in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        cmdline, times = " ".join(proc.info["cmdline"] or ()), proc.info["cpu_times"]
        if times is None:
            continue
        if "gunicorn" in cmdline and any(bind in cmdline for bind in binds):
            used["app"][proc.info["pid"]] = times.user + times.system
        elif proc.info["name"] == "postgres":
            used["database"][proc.info["pid"]] = times.user + times.system
    own = os.times()
    used["client"] = {os.getpid(): own.user + own.system}
    return used


def _measured(result: bursts.BurstResult, before: dict, after: dict) -> None:
    """CPU ms per attempt between two ``cpu_seconds``: each process still running counts what it
    used since (a PostgreSQL backend that ended meanwhile, not one of the app's kept
    connections, is left out rather than counted negative)."""
    attempts = max(result.attempts, 1)
    result.cpu_ms = {
        kind: sum(seconds - before[kind].get(pid, 0.0) for pid, seconds in after[kind].items())
        * 1000
        / attempts
        for kind in after
    }


def run_bursts(opts: Options, env: dict[str, str], servers: list[tuple[str, int]], label: str) -> dict:
    setup = probe(
        env, "burst-setup", "--requests", str(opts.booking_requests), "--capacity", str(opts.capacity)
    )
    before = cpu_seconds(servers)
    reg = bursts.registrations(
        servers, session=setup["session"], count=opts.registrations, clients=opts.clients
    )
    middle = cpu_seconds(servers)
    book = bursts.booking_requests(servers, requests=setup["bookings"], clients=opts.clients)
    _measured(reg, before, middle)
    _measured(book, middle, cpu_seconds(servers))
    checks = probe(env, "invariants", "--session", str(setup["session"]))
    for result in (reg, book):
        opts.log(
            f"  {label}: {result.name}: {result.attempts} in {result.seconds:.2f} s = {result.rate:.1f}/s "
            f"{dict(result.outcomes)}"
        )
        for error in result.errors:
            opts.log(f"    client error: {error}")
        for reason, n in result.refusals.most_common(5):
            opts.log(f"    refused {n}×: {reason}")
    return {"registrations": reg, "bookings": book, "invariants": checks}


# --- the report -----------------------------------------------------------------


def machine(env: dict[str, str]) -> dict[str, str]:
    version = run(
        [
            sys.executable,
            "-c",
            "import psycopg, sys; c = psycopg.connect(sys.argv[1]); print(c.execute('SHOW server_version').fetchone()[0])",
            env["DATABASE_URL"],
        ],
        env,
        timeout=30,
        what="PostgreSQL version",
    ).strip()
    try:
        import sqlite3

        sqlite_version = sqlite3.sqlite_version
    except ImportError:  # pragma: no cover
        sqlite_version = "?"
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": version,
        "sqlite": sqlite_version,
    }


def table(report: dict) -> str:
    lines = []
    demo, grown = report["pages"]["demo"], report["pages"].get("grown", {})
    floor = {size: pages.get("floor", {}).get("rps") or 0 for size, pages in report["pages"].items()}
    label = report["scale"]
    lines.append(
        f"| page | demo req/s | p50 / p99 ms | ÷ floor | {label} req/s | p50 / p99 ms | ÷ floor | {label} / demo |"
    )
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, d in demo.items():
        g = grown.get(name)
        row = [name, f"{d['rps']:.0f}", f"{d['p50']:.0f} / {d['p99']:.0f}", _ratio(d["rps"], floor["demo"])]
        if g:
            row += [
                f"{g['rps']:.0f}",
                f"{g['p50']:.0f} / {g['p99']:.0f}",
                _ratio(g["rps"], floor.get("grown")),
                f"{g['rps'] / d['rps']:.2f}" if d["rps"] else "-",
            ]
        else:
            row += ["-", "-", "-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(
        "| burst | database | attempts | seconds | per second | CPU ms each: app / database / client "
        "| outcomes | invariants |"
    )
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for db, result in report["bursts"].items():
        checks = result["invariants"]
        verdict = "hold" if not checks["problems"] else "BROKEN: " + "; ".join(checks["problems"])
        for key in ("registrations", "bookings"):
            b = result[key]
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(b.outcomes.items(), key=str))
            if key == "registrations":
                outcomes += f" (confirmed {checks.get('confirmed')}, waiting {checks.get('waitlisted')})"
            cpu = " / ".join(f"{b.cpu_ms[k]:.1f}" for k in ("app", "database", "client")) if b.cpu_ms else "-"
            lines.append(
                f"| {b.name} | {db} | {b.attempts} | {b.seconds:.2f} | {b.rate:.1f} | {cpu} | {outcomes} "
                f"| {verdict} |"
            )
    refusals = [
        f"{db} {result[key].name}: {n}× “{reason}”"
        for db, result in report["bursts"].items()
        for key in ("registrations", "bookings")
        for reason, n in result[key].refusals.most_common(3)
    ]
    if refusals:
        lines.append("")
        lines.append("Refused: " + "; ".join(refusals))
    lines.append("")
    lines.append("| sweep | bookings | enrolments | ms (median of 5) |")
    lines.append("| --- | ---: | ---: | ---: |")
    for size, s in report["sweep"].items():
        lines.append(f"| {size} | {s['bookings']:,} | {s['enrolments']:,} | {s['ms']:.1f} |")
    if len(report["sweep"]) == 2:
        a, b = report["sweep"].values()
        lines.append(f"| ratio | | | {b['ms'] / a['ms']:.2f} |" if a["ms"] else "| ratio | | | - |")
    lines.append("")
    m = report["machine"]
    lines.append(
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, PostgreSQL {m['postgresql']}, "
        f"SQLite {m['sqlite']}; gunicorn {report['workers']} sync workers; locust {report['users']} users "
        f"× {report['seconds']:g} s per page; bursts from {report['clients']} clients."
    )
    return "\n".join(lines)


def _ratio(value: float, floor: float | None) -> str:
    return f"{value / floor:.3f}" if floor else "-"


# --- the whole run ------------------------------------------------------------------


def bench(opts: Options) -> Outcome:
    report: dict = {
        "pages": {},
        "bursts": {},
        "sweep": {},
        "scale": opts.scale,
        "workers": opts.workers,
        "users": opts.users,
        "seconds": opts.seconds,
        "clients": opts.clients,
    }
    locust_executable(opts)  # fail before building anything
    workdir = Path(tempfile.mkdtemp(prefix="hd-bench-"))
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            url = stack.enter_context(postgres_database(opts, opts.db_name))
            env = base_env(
                opts, url, STATIC_ROOT=str(workdir / "static"), EMAIL_URL=f"filemail://{workdir}/mail"
            )
            flush_redis(opts, opts.cache_db, opts.broker_db)
            stack.callback(flush_redis, opts, opts.cache_db, opts.broker_db)
            prepare(env, opts, workdir / "static")
            report["machine"] = machine(env)
            servers = [(HOST, opts.port)]
            with gunicorn(env, opts.port, opts.workers, workdir / "gunicorn-demo.log") as proc:
                wait_for(f"http://{HOST}:{opts.port}/bench/floor/", proc)
                opts.log("measuring the pages with the demo data")
                report["pages"]["demo"] = measure_pages(opts, env, opts.port, workdir, "demo")
            if opts.scale == "grown":
                # The sweep's baseline: about a thousand bookings, the size its cost at scale is compared with.
                opts.log("  " + manage(env, "bench_data", "--scale", "1k", timeout=600).strip())
                report["sweep"]["1k"] = probe(env, "sweep")
            else:
                report["sweep"]["demo"] = probe(env, "sweep")
            opts.log(f"growing the data ({opts.scale})")
            opts.log("  " + manage(env, "bench_data", "--scale", opts.scale, timeout=1800).strip())
            # Bulk inserts go round the app, so nothing it caches knows of them: start from a cold cache.
            flush_redis(opts, opts.cache_db)
            report["sweep"][opts.scale] = probe(env, "sweep")
            with gunicorn(env, opts.port, opts.workers, workdir / "gunicorn-grown.log") as proc:
                wait_for(f"http://{HOST}:{opts.port}/bench/floor/", proc)
                opts.log(f"measuring the pages with the {opts.scale} data")
                report["pages"]["grown"] = measure_pages(opts, env, opts.port, workdir, opts.scale)
                opts.log("bursts against PostgreSQL")
                report["bursts"]["PostgreSQL"] = run_bursts(opts, env, servers, "PostgreSQL")
        if opts.sqlite:
            report["bursts"]["SQLite"] = sqlite_bursts(opts, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    opts.log(f"done in {time.monotonic() - started:.0f} s\n")
    return Outcome(table(report), problems(report))


def problems(report: dict) -> list[str]:
    found = []
    for db, result in report["bursts"].items():
        found += [f"{db}: {p}" for p in result["invariants"]["problems"]]
        for key in ("registrations", "bookings"):
            burst = result[key]
            if burst.server_errors:
                found.append(f"{db}: {burst.server_errors} server errors in the {burst.name} burst")
            if burst.errors:
                found.append(f"{db}: client errors in the {burst.name} burst: {burst.errors[0]}")
    return found


def sqlite_bursts(opts: Options, workdir: Path) -> dict:
    """The same bursts on SQLite, the embedded default (demo data: the bursts do not read history)."""
    url = f"sqlite:///{workdir}/bench.sqlite3"
    env = base_env(opts, url, STATIC_ROOT=str(workdir / "static"), EMAIL_URL=f"filemail://{workdir}/mail")
    flush_redis(opts, opts.cache_db, opts.broker_db)
    try:
        opts.log("SQLite: migrating and loading the demo")
        manage(env, "migrate", "--noinput", timeout=600)
        manage(env, "seed_demo", "--force", timeout=600)
        with gunicorn(env, opts.port, opts.workers, workdir / "gunicorn-sqlite.log") as proc:
            wait_for(f"http://{HOST}:{opts.port}/bench/floor/", proc)
            result = run_bursts(opts, env, [(HOST, opts.port)], "SQLite")
        log = (workdir / "gunicorn-sqlite.log").read_text(errors="replace")
        if "database is locked" in log:
            result["invariants"]["problems"].append("'database is locked' in the server's log")
        return result
    finally:
        flush_redis(opts, opts.cache_db, opts.broker_db)
