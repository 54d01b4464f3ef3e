import time

from django.core.management.base import BaseCommand, CommandError

from hengdian.bench import data


class Command(BaseCommand):
    help = "Grow the demo data (seed_demo first) to a benchmark size with bulk inserts: demo, grown or smoke."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(data.SCALES), default="grown")
        parser.add_argument("--check", action="store_true", help="then check the rows are consistent")

    def handle(self, *args, scale: str, check: bool, **options):
        started = time.monotonic()
        log = self.stdout.write if options["verbosity"] > 1 else (lambda _message: None)
        result = data.build(scale, log=log)
        self.stdout.write(
            f"{scale}: "
            + ", ".join(f"{k} {v}" for k, v in result.items())
            + f" ({time.monotonic() - started:.1f} s)"
        )
        if check:
            problems = data.check()
            if problems:
                raise CommandError("; ".join(problems[:10]))
            self.stdout.write("consistent")
