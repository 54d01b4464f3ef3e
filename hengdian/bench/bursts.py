"""Many clients at once through the real server: registrations for one session, booking requests.

Each client is a thread with its own connection and cookies (plain ``http.client``, so
nothing but the standard library); it opens the form like a browser (GET), then posts
it with its CSRF token. Requests say they came through the TLS proxy, as in production.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlencode

TIMEOUT = 60


class _FormParser(HTMLParser):
    """The fields of the page's form that posts to ``action`` (or the page's first POST form)."""

    def __init__(self, action: str | None):
        super().__init__(convert_charrefs=True)
        self.action = action
        self.fields: dict[str, str] = {}
        self.inside = False
        self.done = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and (a.get("method") or "").lower() == "post":
            self.inside = self.action is None or (a.get("action") or "") in ("", self.action)
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value") or "on"
            elif kind not in ("submit", "button", "image", "file"):
                self.fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self.select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self.select:
            if "selected" in a or not self.fields.get(self.select):
                self.fields[self.select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form" and self.inside:
            self.inside, self.done = False, True


ERROR_TEXT = re.compile(
    r'class="[^"]*(?:invalid-feedback|alert-danger|errorlist)[^"]*"[^>]*>(.*?)</(?:div|ul|span)>', re.S
)


def form_errors(html: str) -> str:
    """The page's error messages, as plain text."""
    texts = [unescape(re.sub(r"<[^>]+>", " ", m)) for m in ERROR_TEXT.findall(html)]
    return " / ".join(" ".join(t.split()) for t in texts if t.strip())[:200] or "no message"


def form_fields(html: str, action: str | None = None) -> dict[str, str]:
    parser = _FormParser(action)
    parser.feed(html)
    return parser.fields


CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class BlankForm:
    """The fields of a form as the server first showed it, with each visitor's own CSRF token.

    Every visitor is shown the same blank form; only the token differs. Parsing the whole
    page for each of them (Python's HTMLParser) cost the load generator more CPU than the
    server spent on the page, on the same two cores: so it is parsed once, and each later
    page is checked to still be that form and read for its token alone.
    """

    def __init__(self, action: str):
        self.action = action
        self.fields: dict[str, str] | None = None
        self.lock = threading.Lock()

    def fill(self, html: str) -> dict[str, str]:
        token = CSRF_TOKEN.search(html)
        if token is None or f'name="{next(iter(self.fields or {}), "")}"' not in html:
            fields = form_fields(html, self.action)
            with self.lock:
                self.fields = {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"}
            return fields
        return {**self.fields, "csrfmiddlewaretoken": unescape(token.group(1))}


class Client:
    """One browser: a keep-alive connection and its cookie jar."""

    def __init__(self, host: str, port: int, cookie: str = ""):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        if cookie:
            name, _, value = cookie.partition("=")
            self.cookies[name] = value
        self.conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str, str]:
        headers = {
            "Host": f"{self.host}:{self.port}",
            "X-Forwarded-Proto": "https",
            "Origin": f"https://{self.host}:{self.port}",
            "Referer": f"https://{self.host}:{self.port}{path}",
            "Accept-Language": "en",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # the server closed a kept-alive connection: one retry on a new one
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, response.getheader("Location") or "", text

    def close(self):
        self.conn.close()


@dataclass
class BurstResult:
    name: str
    attempts: int
    seconds: float
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Why the app turned requests down (its own error messages), e.g. "those days were just taken".
    refusals: Counter = field(default_factory=Counter)

    # CPU milliseconds spent per attempt by the app servers, the database server and this
    # load generator (all on the same cores): what a burst's rate is bound by.
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.attempts / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.outcomes.items() if isinstance(status, int) and status >= 500)


def _run(name: str, jobs: list, work, *, clients: int) -> BurstResult:
    """Run ``work(job, server)`` for every job from ``clients`` threads at once; time the whole burst."""
    outcomes: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(min(clients, len(jobs)) if jobs else 1)

    def one(args):
        index, job = args
        if index < clients:
            start_line.wait(timeout=TIMEOUT)
        try:
            outcome = work(job)
        except Exception as exc:  # a client-side failure is reported, never hidden
            outcome = type(exc).__name__
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        with lock:
            outcomes[outcome] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, enumerate(jobs)))
    return BurstResult(name, len(jobs), time.perf_counter() - started, outcomes, errors[:5])


def registrations(servers: list[tuple[str, int]], *, session: int, count: int, clients: int) -> BurstResult:
    """``count`` people register for one session; person i uses server i % len(servers)."""
    path = f"/workshops/sessions/{session}/register/"
    lock, refusals, blank = threading.Lock(), Counter(), BlankForm(path)

    def work(i: int):
        client = Client(*servers[i % len(servers)])
        try:
            status, _location, html = client.request("GET", path)
            if status != 200:
                return status
            fields = blank.fill(html)
            fields.update(
                full_name=f"Burst Participant {i}",
                email=f"burst-{session}-{i}@bench.example",
                role="actor",
                consent="on",
                website="",
            )
            status, location, html = client.request("POST", path, fields)
            if status == 302 and "sent" in location:
                return "registered"
            with lock:
                refusals[form_errors(html)] += 1
            return status
        finally:
            client.close()

    result = _run("registrations", list(range(count)), work, clients=clients)
    result.refusals = refusals
    return result


def booking_requests(servers: list[tuple[str, int]], *, requests: list[dict], clients: int) -> BurstResult:
    """Each crew asks for its own set and week; request i goes to server i % len(servers)."""
    path = "/bookings/new/"
    lock, refusals, blank = threading.Lock(), Counter(), BlankForm(path)

    def work(job):
        i, spec = job
        client = Client(*servers[i % len(servers)], cookie=spec["cookie"])
        try:
            status, _location, html = client.request("GET", path)
            if status != 200:
                return status
            fields = blank.fill(html)
            part = next((k[: -len("studio_set")] for k in fields if k.endswith("studio_set")), "parts-0-")
            fields[f"{part}studio_set"] = str(spec["set"])
            fields[f"{part}start_date"] = spec["start"]
            fields[f"{part}end_date"] = spec["end"]
            status, _location, html = client.request("POST", path, fields)
            if status == 302:
                return "requested"
            with lock:
                refusals[form_errors(html)] += 1
            return status
        finally:
            client.close()

    result = _run("booking requests", list(enumerate(requests)), work, clients=clients)
    result.refusals = refusals
    return result
