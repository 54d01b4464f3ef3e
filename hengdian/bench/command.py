"""What ``manage.py bench`` and ``manage.py bench_scaleout`` share: their common options, and
running with everything they started stopped again on Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from . import runner


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


class BenchCommand(BaseCommand):
    def add_common_arguments(self, parser, *, broker_db: int) -> None:
        """The servers it uses and the bursts it sends."""
        o = runner.Options()
        parser.add_argument("--postgres", default=o.postgres, help="server URL, without a database name")
        parser.add_argument("--redis", default=o.redis, help="server URL, without a database number")
        parser.add_argument("--cache-db", type=int, default=o.cache_db)
        parser.add_argument("--broker-db", type=int, default=broker_db)
        parser.add_argument("--registrations", type=int, default=o.registrations)
        parser.add_argument("--capacity", type=int, default=o.capacity)
        parser.add_argument("--booking-requests", type=int, default=o.booking_requests)
        parser.add_argument("--clients", type=int, default=o.clients)

    def runner_options(self, options: dict, **extra) -> runner.Options:
        return runner.Options(
            postgres=options["postgres"].rstrip("/"),
            redis=options["redis"].rstrip("/"),
            cache_db=options["cache_db"],
            broker_db=options["broker_db"],
            port=options["port"],
            registrations=options["registrations"],
            capacity=options["capacity"],
            booking_requests=options["booking_requests"],
            clients=options["clients"],
            log=lambda message: self.stderr.write(message),
            **extra,
        )

    def run(self, measure: Callable[[], runner.Outcome]) -> runner.Outcome:
        """``measure()``, stopping what it started on SIGTERM as on Ctrl-C; prints its table."""
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            result = measure()
        except runner.BenchError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError("Interrupted; everything it had started is stopped and removed.") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write(result.text)
        return result
