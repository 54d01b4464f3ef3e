"""``manage.py bench_scaleout``: two app servers, two Celery workers and one beat on one database.

The deployment the README describes for more than one machine, started on this one:
gunicorn on two ports, two Celery workers and one beat, one PostgreSQL and one Redis.
The registration and booking bursts go alternately to the two servers; then, once the
outbox is empty, it checks the promises in the database, that every email was sent
exactly once (one Message-ID per outbox row, read back from the file email backend's
output, and no row left unsent), and that no worker, beat or server logged an error.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from hengdian.bench import runner
from hengdian.bench.runner import BIN, HOST, BenchError, Options, Outcome

MESSAGE_ID = re.compile(r"^Message-ID:\s*<notification-(\d+)\.", re.MULTILINE | re.IGNORECASE)
LOG_ERROR = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")


def scaleout(opts: Options, *, db_name: str = "hd_bench_scaleout", drain_seconds: int = 180) -> Outcome:
    workdir = Path(tempfile.mkdtemp(prefix="hd-scaleout-"))
    mail = workdir / "mail"
    problems: list[str] = []
    lines: list[str] = []
    try:
        with ExitStack() as stack:
            url = stack.enter_context(runner.postgres_database(opts, db_name))
            env = runner.base_env(
                opts, url, STATIC_ROOT=str(workdir / "static"), EMAIL_URL=f"filemail://{mail}"
            )
            runner.flush_redis(opts, opts.cache_db, opts.broker_db)
            stack.callback(runner.flush_redis, opts, opts.cache_db, opts.broker_db)
            runner.prepare(env, opts, workdir / "static")
            ports = [opts.port, opts.port + 1]
            with ExitStack() as processes:
                result = _serve_and_burst(opts, env, processes, workdir, ports)
                opts.log("waiting for the workers to empty the outbox")
                _drain(env, drain_seconds)
                # Leaving the block stops beat first (no new sweep), then the workers (each
                # finishes what it holds), then the servers.
            # Everything is stopped: the outbox, the files and the logs are final.
            outbox = runner.probe(env, "outbox", timeout=120)
            problems += runner.problems({"bursts": {"PostgreSQL": result}})
        sent_ids = set(outbox["sent_ids"])
        copies = Counter(
            int(pk)
            for f in sorted(mail.glob("*"))
            for pk in MESSAGE_ID.findall(f.read_text(errors="replace"))
        )
        twice = sorted(pk for pk, n in copies.items() if n > 1)
        missing = sorted(sent_ids - set(copies))
        unknown = sorted(set(copies) - sent_ids)
        # Rows the sweep added after the outbox was empty may wait for the next start: not an error.
        unsent = {k: v for k, v in outbox["counts"].items() if k not in ("sent", "pending")}
        late = outbox["counts"].get("pending", 0)
        if twice:
            problems.append(f"{len(twice)} emails sent more than once, e.g. outbox row {twice[0]}")
        if missing:
            problems.append(
                f"{len(missing)} outbox rows marked sent with no email written, e.g. {missing[0]}"
            )
        if unknown:
            problems.append(f"{len(unknown)} emails written whose row is not marked sent, e.g. {unknown[0]}")
        if unsent:
            problems.append(f"outbox rows failed or stuck: {unsent}")
        log_errors = []
        for log in sorted(workdir.glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if LOG_ERROR.search(line):
                    log_errors.append(f"{log.name}: {line.strip()[:200]}")
        if log_errors:
            problems.append(f"{len(log_errors)} error lines in the logs, e.g. {log_errors[0]}")
        checks = result["invariants"]
        lines += [
            "| scale-out check | result |",
            "| --- | --- |",
            f"| app servers, workers, beat | 2 gunicorn ({opts.workers} workers each), 2 Celery workers, 1 beat |",
        ]
        for key in ("registrations", "bookings"):
            b = result[key]
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(b.outcomes.items(), key=str))
            lines.append(f"| {b.name} | {b.attempts} in {b.seconds:.2f} s = {b.rate:.1f}/s; {outcomes} |")
        lines += [
            f"| invariants | {'hold' if not checks['problems'] else '; '.join(checks['problems'])} "
            f"(confirmed {checks.get('confirmed')}, waiting {checks.get('waitlisted')}, "
            f"set-day overlaps {checks['set_day_overlaps']}, unit-days over stock {checks['unit_days_over']}) |",
            f"| emails | {sum(copies.values())} written for {len(sent_ids)} sent outbox rows; "
            f"{len(twice)} twice, {len(missing)} missing, failed {unsent or 0}, queued after the drain {late} |",
            f"| log errors | {len(log_errors)} |",
        ]
        if problems:
            lines.append("")
            lines += [f"PROBLEM: {p}" for p in problems]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Outcome("\n".join(lines), problems)


def _serve_and_burst(opts: Options, env: dict, stack: ExitStack, workdir: Path, ports: list[int]) -> dict:
    servers = [
        (
            stack.enter_context(runner.gunicorn(env, port, opts.workers, workdir / f"gunicorn-{port}.log")),
            port,
        )
        for port in ports
    ]
    celery = str(BIN / "celery")
    for n in (1, 2):
        stack.enter_context(
            runner.process(
                [
                    celery,
                    "-A",
                    "hengdian",
                    "worker",
                    "-n",
                    f"bench{n}@%h",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                ],
                env,
                workdir / f"worker-{n}.log",
            )
        )
    stack.enter_context(
        runner.process(
            [
                celery,
                "-A",
                "hengdian",
                "beat",
                "--schedule",
                str(workdir / "beat-schedule"),
                "--loglevel",
                "INFO",
            ],
            env,
            workdir / "beat.log",
        )
    )
    for proc, port in servers:
        runner.wait_for(f"http://{HOST}:{port}/bench/floor/", proc)
    opts.log(f"bursts, alternately to ports {ports[0]} and {ports[1]}")
    return runner.run_bursts(opts, env, [(HOST, p) for p in ports], "scale-out")


def _drain(env: dict[str, str], seconds: int) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        outbox = runner.probe(env, "outbox", timeout=120)
        waiting = {k: v for k, v in outbox["counts"].items() if k in ("pending", "sending")}
        if not waiting:
            return outbox
        if time.monotonic() > deadline:
            raise BenchError(f"the outbox still holds {waiting} after {seconds} s")
        time.sleep(2)
