import smtplib
import threading
from collections.abc import Callable

from django.core.mail.backends import locmem
from django.db import connection


def run_concurrently(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together, each on its own
    database connection; return what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


class FlakyBackend(locmem.EmailBackend):
    """A mail server that refuses the first ``failures`` sends, then delivers to ``mail.outbox``."""

    failures = 0
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).failures > 0:
            type(self).failures -= 1
            raise smtplib.SMTPException("421 Service not available, try again later")
        return super().send_messages(messages)
