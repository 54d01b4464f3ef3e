"""The benchmark's own pieces (the full run is `make bench`; CI runs `make bench-smoke`)."""

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import Resolver404, resolve

from bookings.models import Booking, ShootPlan, StudioSet
from hengdian.bench import bursts, data, probe
from workshops.models import Enrolment


def test_the_floor_is_not_served_by_the_app(client):
    with pytest.raises(Resolver404):
        resolve("/bench/floor/")
    assert client.get("/bench/floor/").status_code == 404


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="hengdian.bench.urls")
def test_the_bench_urlconf_adds_the_floor_to_the_app(client):
    assert client.get("/bench/floor/").content == b"floor"
    assert client.get("/sets/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_smoke_data_set_is_consistent():
    call_command("seed_demo", force=True, verbosity=0)
    before, plans = Booking.objects.count(), ShootPlan.objects.count()
    counts = data.build("smoke", log=lambda _m: None)
    scale = data.SCALES["smoke"]
    assert counts["sets"] == scale.sets
    assert counts["crews"] == scale.crews
    assert counts["bookings"] == scale.bookings  # sizes are totals, the demo's rows included
    assert data.check() == []
    assert probe.invariants(session_pk=None)["problems"] == []
    references = list(Booking.objects.values_list("reference", flat=True))
    assert len(references) == len(set(references))
    assert ShootPlan.objects.count() == plans + scale.bookings - before  # one plan per added booking
    # Every added booking's quote is its stored lines' sum, and its block covers the changeover.
    changeover = dict(StudioSet.objects.values_list("pk", "changeover_days"))
    for booking in Booking.objects.filter(created_by__email__endswith="@bench.example")[:50]:
        assert booking.quote_total == sum(float(line["amount"]) for line in booking.quote_lines)
        assert (booking.blocked_until - booking.end_date).days == changeover[booking.studio_set_id]
    statuses = set(Booking.objects.values_list("status", flat=True))
    assert {"completed", "confirmed"} <= statuses
    waiting = Enrolment.objects.filter(status="waitlisted", email__endswith="@bench.example")
    assert waiting.exists()


def test_the_form_reader_fills_what_a_browser_would_send():
    html = """
    <form method="get" action="/search/"><input name="q" value="x"></form>
    <form method="post" action="/go/">
      <input type="hidden" name="csrfmiddlewaretoken" value="t0k">
      <input name="name" value="A &amp; B"><input type="checkbox" name="ok"><input type="checkbox" name="on" checked>
      <select name="lang"><option value="en">English</option><option value="es" selected>Español</option></select>
      <textarea name="notes">hi</textarea><button type="submit" name="go">Go</button>
    </form>"""
    assert bursts.form_fields(html, "/go/") == {
        "csrfmiddlewaretoken": "t0k",
        "name": "A & B",
        "on": "on",
        "lang": "es",
        "notes": "hi",
    }


def test_the_scaleout_proof_counts_each_email_the_file_backend_wrote(tmp_path):
    from django.core.mail import EmailMessage
    from django.core.mail.backends.filebased import EmailBackend

    from hengdian.bench.scaleout import MESSAGE_ID

    backend = EmailBackend(file_path=str(tmp_path))
    for pk in (7, 8, 7):
        message = EmailMessage(
            "Hi",
            "Body",
            "a@b.example",
            ["c@d.example"],
            headers={"Message-ID": f"<notification-{pk}.ab12@b.example>"},
        )
        backend.send_messages([message])
    found = [int(pk) for f in tmp_path.iterdir() for pk in MESSAGE_ID.findall(f.read_text())]
    assert sorted(found) == [7, 7, 8]


def test_a_refusal_is_reported_in_the_apps_own_words():
    html = '<div class="alert alert-danger" role="alert">Those days were <b>just</b> taken.</div><p>x</p>'
    assert bursts.form_errors(html) == "Those days were just taken."
    assert bursts.form_errors("<p>fine</p>") == "no message"


def test_the_burst_client_reads_a_blank_form_once_and_then_only_each_token():
    page = """<form method="post" action="/go/">
      <input type="hidden" name="csrfmiddlewaretoken" value="{token}">
      <input name="name" value="{name}"><select name="lang"><option value="es" selected>es</option></select>
    </form>"""
    blank = bursts.BlankForm("/go/")
    first = blank.fill(page.format(token="one", name="A"))
    assert first == {"csrfmiddlewaretoken": "one", "name": "A", "lang": "es"}
    # Later visitors: the same fields as first shown, each with their own token.
    assert blank.fill(page.format(token="two&amp;x", name="A")) == {**first, "csrfmiddlewaretoken": "two&x"}
    # A page that is not that form is read in full.
    other = blank.fill(
        '<form method="post"><input name="csrfmiddlewaretoken" value="t"><input name="q"></form>'
    )
    assert other == {"csrfmiddlewaretoken": "t", "q": ""}
