import json

from django.core.management.base import BaseCommand

from hengdian.bench import probe


class Command(BaseCommand):
    help = "Used by manage.py bench: prints one line of JSON about the benchmark's database."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["pages", "burst-setup", "invariants", "sweep", "outbox"])
        parser.add_argument("--requests", type=int, default=120)
        parser.add_argument("--capacity", type=int, default=100)
        parser.add_argument("--session", type=int)
        parser.add_argument("--runs", type=int, default=5)

    def handle(self, *args, what: str, **options):
        if what == "pages":
            result = probe.pages()
        elif what == "burst-setup":
            result = probe.burst_setup(requests=options["requests"], capacity=options["capacity"])
        elif what == "invariants":
            result = probe.invariants(session_pk=options["session"])
        elif what == "sweep":
            result = probe.sweep_timing(runs=options["runs"])
        else:
            result = probe.outbox()
        self.stdout.write(json.dumps(result))
