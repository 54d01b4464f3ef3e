from django.core.management.base import CommandError

from hengdian.bench import scaleout
from hengdian.bench.command import BenchCommand


class Command(BenchCommand):
    help = (
        "The scale-out proof: two gunicorn servers, two Celery workers and a beat on one PostgreSQL and "
        "one Redis; bursts to both servers; checks the promises, every email sent once, no errors logged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=8302, help="the first server's; the second uses the next"
        )
        parser.add_argument("--db-name", default="hd_bench_scaleout")
        self.add_common_arguments(parser, broker_db=10)
        parser.add_argument("--drain-seconds", type=int, default=180, help="how long the outbox may take")

    def handle(self, *args, **options):
        opts = self.runner_options(options)
        result = self.run(
            lambda: scaleout.scaleout(
                opts, db_name=options["db_name"], drain_seconds=options["drain_seconds"]
            )
        )
        if result.problems:
            raise CommandError("; ".join(result.problems))
