import signal

from django.core.management.base import BaseCommand, CommandError

from hengdian.bench import runner, scaleout


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


class Command(BaseCommand):
    help = (
        "The scale-out proof: two gunicorn servers, two Celery workers and a beat on one PostgreSQL and "
        "one Redis; bursts to both servers; checks the promises, every email sent once, no errors logged."
    )

    def add_arguments(self, parser):
        o = runner.Options()
        parser.add_argument(
            "--port", type=int, default=8302, help="the first server's; the second uses the next"
        )
        parser.add_argument("--db-name", default="hd_bench_scaleout")
        parser.add_argument("--postgres", default=o.postgres)
        parser.add_argument("--redis", default=o.redis)
        parser.add_argument("--cache-db", type=int, default=o.cache_db)
        parser.add_argument("--broker-db", type=int, default=10)
        parser.add_argument("--registrations", type=int, default=o.registrations)
        parser.add_argument("--capacity", type=int, default=o.capacity)
        parser.add_argument("--booking-requests", type=int, default=o.booking_requests)
        parser.add_argument("--clients", type=int, default=o.clients)
        parser.add_argument("--drain-seconds", type=int, default=180, help="how long the outbox may take")

    def handle(self, *args, **options):
        opts = runner.Options(
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
        )
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            result = scaleout.scaleout(
                opts, db_name=options["db_name"], drain_seconds=options["drain_seconds"]
            )
        except runner.BenchError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError("Interrupted; everything it had started is stopped and removed.") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write(result.text)
        if result.problems:
            raise CommandError("; ".join(result.problems))
