"""One page under load (``manage.py bench`` runs locust headless once per page).

BENCH_PATH is the page; BENCH_COOKIE, when set, is sent as the Cookie header (the demo
crew's session: the server's cookies are Secure, so a client over plain HTTP would not
send them back by itself). Every request says it came through the TLS proxy.
"""

import os

from locust import FastHttpUser, constant, task

PATH = os.environ.get("BENCH_PATH", "/bench/floor/")
HEADERS = {"X-Forwarded-Proto": "https", "Accept-Language": "en"}
if os.environ.get("BENCH_COOKIE"):
    HEADERS["Cookie"] = os.environ["BENCH_COOKIE"]


class Visitor(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self):
        with self.client.get(PATH, headers=HEADERS, name=PATH, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
