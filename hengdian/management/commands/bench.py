from django.core.management.base import CommandError

from hengdian.bench import runner
from hengdian.bench.command import BenchCommand


class Command(BenchCommand):
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
        self.add_common_arguments(parser, broker_db=o.broker_db)
        parser.add_argument("--users", type=int, default=o.users, help="locust users per page")
        parser.add_argument("--seconds", type=int, default=o.seconds, help="locust run time per page")
        parser.add_argument("--no-sqlite", action="store_true", help="skip the bursts on SQLite")
        parser.add_argument("--locust", default="", help="the locust executable (default: next to Python)")
        parser.add_argument("--output", help="also write the table to this file")

    def handle(self, *args, **options):
        opts = self.runner_options(
            options,
            db_name=options["db_name"],
            scale=options["scale"],
            users=options["users"],
            seconds=options["seconds"],
            sqlite=not options["no_sqlite"],
            locust=options["locust"],
        )
        result = self.run(lambda: runner.bench(opts))
        if options["output"]:
            with open(options["output"], "w") as f:
                f.write(result.text + "\n")
        if result.problems:
            # Speed is reported, never judged here; a broken promise or a server error fails the run.
            raise CommandError("; ".join(result.problems))
