import signal

from django.core.management.base import BaseCommand, CommandError

from hengdian.bench import runner


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


class Command(BaseCommand):
    help = (
        "Benchmark the app as deployed (gunicorn, PostgreSQL, Redis): pages at demo and grown size, "
        "bursts on PostgreSQL and SQLite, the sweep; prints one table. Creates and drops its own database."
    )

    def add_arguments(self, parser):
        o = runner.Options()
        parser.add_argument("--scale", choices=["grown", "smoke"], default=o.scale)
        parser.add_argument("--port", type=int, default=o.port)
        parser.add_argument(
            "--db-name", default=o.db_name, help="the PostgreSQL database it creates and drops"
        )
        parser.add_argument("--postgres", default=o.postgres, help="server URL, without a database name")
        parser.add_argument("--redis", default=o.redis, help="server URL, without a database number")
        parser.add_argument("--cache-db", type=int, default=o.cache_db)
        parser.add_argument("--broker-db", type=int, default=o.broker_db)
        parser.add_argument("--users", type=int, default=o.users, help="locust users per page")
        parser.add_argument("--seconds", type=int, default=o.seconds, help="locust run time per page")
        parser.add_argument("--registrations", type=int, default=o.registrations)
        parser.add_argument("--capacity", type=int, default=o.capacity)
        parser.add_argument("--booking-requests", type=int, default=o.booking_requests)
        parser.add_argument("--clients", type=int, default=o.clients)
        parser.add_argument("--no-sqlite", action="store_true", help="skip the bursts on SQLite")
        parser.add_argument("--locust", default="", help="the locust executable (default: next to Python)")
        parser.add_argument("--output", help="also write the table to this file")

    def handle(self, *args, **options):
        opts = runner.Options(
            postgres=options["postgres"].rstrip("/"),
            db_name=options["db_name"],
            redis=options["redis"].rstrip("/"),
            cache_db=options["cache_db"],
            broker_db=options["broker_db"],
            port=options["port"],
            scale=options["scale"],
            users=options["users"],
            seconds=options["seconds"],
            registrations=options["registrations"],
            capacity=options["capacity"],
            booking_requests=options["booking_requests"],
            clients=options["clients"],
            sqlite=not options["no_sqlite"],
            locust=options["locust"],
            log=lambda message: self.stderr.write(message),
        )
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            result = runner.bench(opts)
        except runner.BenchError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError("Interrupted; everything it had started is stopped and removed.") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write(result.text)
        if options["output"]:
            with open(options["output"], "w") as f:
                f.write(result.text + "\n")
        if result.problems:
            # Speed is reported, never judged here; a broken promise or a server error fails the run.
            raise CommandError("; ".join(result.problems))
