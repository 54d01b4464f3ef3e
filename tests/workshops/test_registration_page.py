import re
from datetime import timedelta

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from tests.factories import EnrolmentFactory, SessionFactory
from workshops.models import Enrolment, Session

pytestmark = pytest.mark.django_db


def _form(**overrides) -> dict:
    data = {
        "full_name": "Amara Okafor",
        "email": "amara@example.org",
        "nationality": "NG",
        "country_of_residence": "NG",
        "role": "director",
        "experience": "Two web series.",
        "language": "en",
        "needs": "",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _visa(**overrides) -> dict:
    today = timezone.localdate()
    passport = {
        "needs_visa_letter": "on",
        "passport_number": "A12345678",
        "passport_expiry": (today + timedelta(days=900)).isoformat(),
        "date_of_birth": "1992-04-03",
    }
    return _form(**{**passport, **overrides})


def _url(session) -> str:
    return reverse("workshops:register", args=[session.pk])


def _sent(session) -> str:
    return reverse("workshops:registration_sent", args=[session.pk])


def _manage_path(message) -> str:
    """The private link in an email, as a path on this site."""
    return re.search(r"https?://[^/\s]+(/enrolments/[\w-]+/)", message.body).group(1)


def test_a_free_place_is_confirmed_and_the_emailed_link_opens_a_manage_page_that_says_so(
    client, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(session), _form(), follow=True)

    enrolment = Enrolment.objects.get()
    assert response.redirect_chain == [(_sent(session), 302)]
    page = response.content.decode()
    assert "Check your inbox" in page
    assert enrolment.manage_token not in page
    assert enrolment.status == Enrolment.Status.CONFIRMED
    assert [m.to for m in mail.outbox] == [["amara@example.org"]]
    assert _manage_path(mail.outbox[0]) == enrolment.get_absolute_url()
    assert "your place is confirmed" in client.get(_manage_path(mail.outbox[0])).content.decode()


def test_a_full_session_says_so_before_submitting_and_gives_the_waiting_list_position(
    client, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=1)
    EnrolmentFactory(session=session)

    page = client.get(_url(session)).content.decode()
    assert "This session is full." in page
    assert "you would be number 1" in page
    assert "Join the waiting list" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(session), _form(), follow=True)

    assert response.redirect_chain == [(_sent(session), 302)]
    enrolment = Enrolment.objects.get(email="amara@example.org")
    assert enrolment.status == Enrolment.Status.WAITLISTED
    (message,) = mail.outbox
    assert "waiting list, at position 1" in message.body
    manage = client.get(_manage_path(message)).content.decode()
    assert "You are number 1 on the waiting list" in manage


def test_a_visa_request_keeps_the_passport_data(client):
    session = SessionFactory()

    client.post(_url(session), _visa(passport_number="a 1234 5678"))

    enrolment = Enrolment.objects.get()
    assert enrolment.needs_visa_letter
    assert enrolment.passport_number == "A12345678"
    assert str(enrolment.date_of_birth) == "1992-04-03"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (_form(email="not-an-email"), "email", "Enter a valid email address."),
        (_form(nationality="XX"), "nationality", "Select a valid choice."),
        (_form(country_of_residence="Narnia"), "country_of_residence", "Select a valid choice."),
        (_visa(passport_number=""), "passport_number", "Needed for your invitation letter."),
        (_visa(date_of_birth=""), "date_of_birth", "Needed for your invitation letter."),
        (_visa(passport_expiry="2020-01-01"), "passport_expiry", "This passport has expired."),
        (_form(full_name="N" * 1000), "full_name", "at most 200 characters"),
        (_form(consent=None), "consent", "Please agree to the processing of your data"),
        (_visa(passport_number="12<script>"), "passport_number", "5 to 20 letters and digits"),
    ],
    ids=[
        "invalid-email",
        "unknown-nationality",
        "unknown-country",
        "missing-passport-number",
        "missing-birth-date",
        "expired-passport",
        "name-1000-chars",
        "no-consent",
        "bad-passport-number",
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(client, data, field, message):
    session = SessionFactory()

    response = client.post(_url(session), data)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert not Enrolment.objects.exists()
    assert mail.outbox == []


def test_passport_expiring_before_the_session_ends_is_refused(client):
    session = SessionFactory()
    expiry = (session.ends_at - timedelta(days=1)).date().isoformat()

    response = client.post(_url(session), _visa(passport_expiry=expiry))

    assert "at least six months after your arrival" in " ".join(
        response.context["form"].errors["passport_expiry"]
    )
    assert not Enrolment.objects.exists()


def test_a_passport_valid_for_less_than_six_months_after_arrival_is_refused_next_to_the_field(client):
    # The form's own hint says China requires six months; arrival is the session's first day.
    session = SessionFactory()
    arrival = timezone.localtime(session.starts_at).date()
    needed = arrival + relativedelta(months=6)

    response = client.post(_url(session), _visa(passport_expiry=(needed - timedelta(days=1)).isoformat()))

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["passport_expiry"])
    assert "China requires a passport valid for at least six months after your arrival" in errors
    assert date_format(needed, "DATE_FORMAT") in errors
    assert 'id="error_1_id_passport_expiry"' in response.content.decode()
    assert not Enrolment.objects.exists()

    response = client.post(_url(session), _visa(passport_expiry=needed.isoformat()))

    assert response.status_code == 302
    assert Enrolment.objects.get().passport_expiry == needed


@pytest.mark.parametrize(
    "name",
    ["王小明", "Анна Петрова", "José Núñez Álvarez", "Zoë 🎬 Lefèvre"],
    ids=["cjk", "cyrillic", "accents", "emoji"],
)
def test_names_in_any_script_are_stored_and_shown(client, name):
    session = SessionFactory()

    client.post(_url(session), _form(full_name=name))

    enrolment = Enrolment.objects.get()
    assert enrolment.full_name == name
    assert name in client.get(enrolment.get_absolute_url()).content.decode()


CSRF_TOKEN = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]+|(?<="X-CSRFToken": ")[^"]+')


def _answer(response) -> tuple:
    """Everything the visitor can tell from the answer: where it led, the status and the text."""
    return response.redirect_chain, response.status_code, CSRF_TOKEN.sub("", response.content.decode())


@pytest.mark.parametrize("status", [Enrolment.Status.CONFIRMED, Enrolment.Status.WAITLISTED])
def test_registering_again_with_an_enrolled_address_answers_exactly_like_a_new_registration(
    django_capture_on_commit_callbacks, status
):
    waiting = status == Enrolment.Status.WAITLISTED
    session = SessionFactory(capacity=1 if waiting else 5)
    if waiting:
        EnrolmentFactory(session=session)  # the one place is taken
    existing = EnrolmentFactory(
        session=session,
        email="amara@example.org",
        full_name="Amara Okafor",
        status=status,
        waitlist_order=1 if waiting else None,
    )

    with django_capture_on_commit_callbacks(execute=True):
        new = Client().post(_url(session), _form(email="new@example.org"), follow=True)
        repeat = Client().post(
            _url(session), _form(email="Amara@Example.org", full_name="Mallory"), follow=True
        )

    assert _answer(repeat) == _answer(new)
    page = repeat.content.decode()
    assert existing.manage_token not in page
    assert existing.full_name not in page
    assert Enrolment.objects.filter(email__in=["amara@example.org", "new@example.org"]).count() == 2
    existing.refresh_from_db()
    assert (existing.full_name, existing.status) == ("Amara Okafor", status)
    link_again = next(m for m in mail.outbox if m.to == ["amara@example.org"])
    assert _manage_path(link_again) == existing.get_absolute_url()
    assert "You are already enrolled" in link_again.body


def test_the_check_your_inbox_page_is_only_for_published_sessions(client):
    assert client.get(_sent(SessionFactory())).status_code == 200
    assert client.get(_sent(SessionFactory(workshop__is_published=False))).status_code == 404


@pytest.mark.parametrize(
    "session_kwargs",
    [
        {"status": Session.Status.CLOSED},
        {"status": Session.Status.CANCELLED},
        {"registration_closes_at": timezone.now() - timedelta(hours=1)},
    ],
    ids=["closed", "cancelled", "deadline-passed"],
)
def test_closed_sessions_show_no_form_and_refuse_posts(client, session_kwargs):
    session = SessionFactory(**session_kwargs)

    page = client.get(_url(session))
    response = client.post(_url(session), _form())

    assert "Registration for this session is closed." in page.content.decode()
    assert "consent" not in page.content.decode()
    assert response.status_code == 409
    assert not Enrolment.objects.exists()


def test_unpublished_workshops_and_unknown_sessions_are_not_found(client):
    hidden = SessionFactory(workshop__is_published=False)

    assert client.get(_url(hidden)).status_code == 404
    assert client.post(reverse("workshops:register", args=[hidden.pk + 100]), _form()).status_code == 404


def test_the_honeypot_refuses_bots_with_a_short_message(client):
    response = client.post(_url(SessionFactory()), _form(website="http://spam.example"))

    assert response.status_code == 400
    assert "could not be accepted" in response.content.decode()
    assert not Enrolment.objects.exists()


@time_machine.travel(timezone.now(), tick=False)  # one fixed window: a minute boundary would reset the count
def test_registrations_are_rate_limited_per_address(client, settings):
    settings.REGISTRATION_RATE_LIMIT = (3, 60)
    session = SessionFactory(capacity=10)

    codes = [
        client.post(_url(session), _form(email=f"p{i}@example.org"), REMOTE_ADDR="203.0.113.7").status_code
        for i in range(4)
    ]
    other = client.post(_url(session), _form(email="p9@example.org"), REMOTE_ADDR="198.51.100.2")

    assert codes == [302, 302, 302, 429]
    assert other.status_code == 302
    assert Enrolment.objects.count() == 4
    assert not Enrolment.objects.filter(email="p3@example.org").exists()


@time_machine.travel(timezone.now(), tick=False)
def test_the_rate_limit_refusal_is_short_and_translated(client, settings):
    settings.REGISTRATION_RATE_LIMIT = (1, 60)
    session = SessionFactory()
    client.post(_url(session), _form(email="one@example.org"), REMOTE_ADDR="203.0.113.8")

    response = client.post(
        _url(session), _form(email="two@example.org"), REMOTE_ADDR="203.0.113.8", HTTP_ACCEPT_LANGUAGE="es"
    )

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "Demasiadas inscripciones" in response.content.decode()


def test_the_form_is_in_spanish_and_chinese(client):
    session = SessionFactory()

    spanish = client.get(_url(session), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    chinese = client.get(_url(session), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "Necesito una carta de invitación para el visado" in spanish
    assert "hora estándar de China, Asia/Shanghai" in spanish
    assert "我需要签证邀请函" in chinese
