"""Sign-up: a new crew chooses its password from an emailed link, and the page never says
whether an address already has an account — the email to that address does."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import notifications
from bookings.models import Crew, Notification, User

from ..factories import CrewMemberFactory, CrewOwnerFactory, StaffFactory
from .test_crew_members import assert_holds_no_credential, choose_password

URL = reverse("signup")
SENT = reverse("signup_sent")
Kind = Notification.Kind
CSRF_TOKEN = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]+|(?<="X-CSRFToken": ")[^"]+')


def _data(**overrides):
    data = {
        "full_name": "Line producer",
        "email": "producer@example.com",
        "company_name": "Jade River Studio",
        "contact_phone": "+86 571 8765 4321",
        "country": "CN",
    }
    data.update(overrides)
    return data


def sign_up(client: Client, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, _data(**overrides), follow=True)


def answer(response) -> tuple:
    """Everything a visitor can tell from the answer: where it led, the status and the text."""
    text = CSRF_TOKEN.sub("", response.content.decode())  # different for every visitor
    return response.redirect_chain, response.status_code, text


@pytest.mark.django_db
def test_signup_creates_a_crew_whose_owner_chooses_a_password_from_the_email(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    response = sign_up(client, django_capture_on_commit_callbacks, email="Producer@Example.com")

    assert response.redirect_chain == [(SENT, 302)]
    assert "Check your inbox" in response.content.decode()
    assert "_auth_user_id" not in client.session
    owner = User.objects.get()
    assert owner.email == "producer@example.com"
    assert not owner.has_usable_password()
    assert owner.crew.name == "Jade River Studio"
    assert owner.crew.country.code == "CN"
    assert owner.is_crew_owner
    row = Notification.objects.get()
    assert (row.kind, row.account, row.recipient) == (Kind.ACCOUNT_SIGNUP, owner, owner.email)
    assert_holds_no_credential(row, owner)

    (mail,) = mailoutbox
    assert mail.to == ["producer@example.com"]
    assert mail.subject == "Choose your password to finish creating your account"
    assert "Jade River Studio" in mail.body
    done = choose_password(client, mail, owner, "tall-bamboo-in-rain-42")

    assert done["Location"] == reverse("bookings:list")
    page = client.get(reverse("bookings:crew"))
    assert page.status_code == 200
    assert "Jade River Studio" in page.content.decode()
    assert int(client.session["_auth_user_id"]) == owner.pk


@pytest.mark.django_db
def test_the_same_answer_for_a_registered_address_which_is_told_by_email_and_nothing_is_written(
    mailoutbox, django_capture_on_commit_callbacks
):
    new = sign_up(Client(), django_capture_on_commit_callbacks, email="new@example.com")
    existing = CrewOwnerFactory(email="producer@example.com", language="es", crew__name="Old Crew")
    mailoutbox.clear()
    users, crews = User.objects.count(), Crew.objects.count()

    registered = sign_up(Client(), django_capture_on_commit_callbacks, email="PRODUCER@example.com")

    assert answer(registered) == answer(new)
    assert (User.objects.count(), Crew.objects.count()) == (users, crews)
    existing.refresh_from_db()
    assert existing.crew.name == "Old Crew"
    row = Notification.objects.get(account=existing)
    assert (row.kind, row.language) == (Kind.ACCOUNT_SIGNUP_EXISTING, "es")
    (mail,) = mailoutbox
    assert mail.to == ["producer@example.com"]
    assert f"{settings.SITE_URL}/accounts/login/" in mail.body
    assert f"{settings.SITE_URL}/accounts/password/reset/." in mail.body  # where to choose a new password
    assert notifications.SEND_TIME_LINK not in row.body_text  # it has a password: no link to choose one


@pytest.mark.django_db
def test_an_owner_who_never_chose_a_password_gets_the_link_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    owner = User.objects.get()
    mailoutbox.clear()

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        again = sign_up(Client(), django_capture_on_commit_callbacks, company_name="Another Name")

    assert again.redirect_chain == [(SENT, 302)]
    assert Crew.objects.get().name == "Jade River Studio"
    assert list(Notification.objects.values_list("kind", flat=True)) == [Kind.ACCOUNT_SIGNUP] * 2
    (mail,) = mailoutbox
    choose_password(Client(), mail, owner, "tall-bamboo-in-rain-42")


@pytest.mark.django_db
def test_an_invited_member_who_never_chose_a_password_gets_the_invitation_again(
    mailoutbox, django_capture_on_commit_callbacks
):
    member = CrewMemberFactory(email="gaffer@example.com", password=None)
    member.set_unusable_password()
    member.save()

    sign_up(Client(), django_capture_on_commit_callbacks, email="gaffer@example.com")

    assert Notification.objects.get().kind == Kind.ACCOUNT_INVITATION
    assert member.crew.name in mailoutbox[0].subject
    choose_password(Client(), mailoutbox[0], member, "bright-set-lights-77")


@pytest.mark.django_db
def test_signing_up_again_and_again_with_an_address_sends_one_email_per_ten_minutes(
    mailoutbox, django_capture_on_commit_callbacks
):
    existing = StaffFactory(email="producer@example.com")
    start = timezone.now()
    for minutes in (0, 1, 9):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            response = sign_up(Client(), django_capture_on_commit_callbacks)
            assert response.redirect_chain == [(SENT, 302)]
    assert len(mailoutbox) == 1

    with time_machine.travel(start + timedelta(minutes=10, seconds=1)):
        sign_up(Client(), django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2
    assert Notification.objects.filter(account=existing).count() == 2


@pytest.mark.django_db
def test_a_deactivated_account_is_told_nothing_but_the_answer_is_the_same(
    mailoutbox, django_capture_on_commit_callbacks
):
    new = sign_up(Client(), django_capture_on_commit_callbacks, email="new@example.com")
    CrewOwnerFactory(email="producer@example.com", is_active=False)
    mailoutbox.clear()

    response = sign_up(Client(), django_capture_on_commit_callbacks)

    assert answer(response) == answer(new)
    assert mailoutbox == []


@pytest.mark.django_db
def test_signup_remembers_the_language_it_was_made_in(client, django_capture_on_commit_callbacks):
    client.cookies["django_language"] = "es"
    sign_up(client, django_capture_on_commit_callbacks)
    assert User.objects.get().language == "es"
    assert Notification.objects.get().language == "es"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"company_name": ""}, "company_name", "This field is required"),
        ({"company_name": "   "}, "company_name", "This field is required"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": ""}, "email", "This field is required"),
        ({"full_name": ""}, "full_name", "This field is required"),
        ({"contact_phone": "call me"}, "contact_phone", "phone number"),
        ({"country": "XX"}, "country", "valid choice"),
        ({"company_name": "x" * 201}, "company_name", "at most 200"),
    ],
)
def test_bad_signup_input_is_refused_next_to_the_field(client, mailoutbox, overrides, field, message):
    response = client.post(URL, _data(**overrides))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not User.objects.exists()
    assert not Crew.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_form_asks_for_no_password(client):
    form = client.get(URL).context["form"]
    assert set(form.fields) == {"full_name", "email", "company_name", "contact_phone", "country"}


@pytest.mark.django_db
def test_signup_page_renders_for_a_visitor_and_redirects_a_member(client, crew_owner):
    assert client.get(URL).status_code == 200
    client.force_login(crew_owner)
    assert client.get(URL)["Location"] == reverse("bookings:crew")


@pytest.mark.django_db
def test_signup_requires_csrf_token():
    response = Client(enforce_csrf_checks=True).post(URL, _data())
    assert response.status_code == 403
    assert not User.objects.exists()
