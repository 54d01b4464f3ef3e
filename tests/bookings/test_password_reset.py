"""The password reset: an email with a link made when it is sent, for every active account,
through the outbox — and the same answer for any address."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import notifications
from bookings.models import Notification, User

from ..factories import CrewMemberFactory, CrewOwnerFactory
from ..workers import publishing_to
from .helpers import FlakyBackend
from .test_crew_members import UNREACHABLE_BROKER, assert_holds_no_credential, choose_password

URL = reverse("password_reset")
DONE = reverse("password_reset_done")
CSRF_TOKEN = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]+|(?<="X-CSRFToken": ")[^"]+')


def ask(email: str, capture, client: Client | None = None) -> tuple:
    """Ask for a reset as a visitor would; return everything the visitor can tell from the answer."""
    with capture(execute=True):
        response = (client or Client()).post(URL, {"email": email}, follow=True)
    return response.redirect_chain, response.status_code, CSRF_TOKEN.sub("", response.content.decode())


@pytest.mark.django_db
def test_the_reset_email_is_an_outbox_row_whose_link_is_made_when_it_is_sent(
    crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    answer = ask(crew_owner.email.upper(), django_capture_on_commit_callbacks)

    assert answer[0] == [(DONE, 302)]
    row = Notification.objects.get()
    assert (row.kind, row.account, row.recipient) == (
        Notification.Kind.PASSWORD_RESET,
        crew_owner,
        crew_owner.email,
    )
    assert row.status == Notification.Status.SENT
    assert_holds_no_credential(row, crew_owner)
    (mail,) = mailoutbox
    assert mail.to == [crew_owner.email]
    client = Client()
    done = choose_password(client, mail, crew_owner, "new-lantern-festival-9")
    assert done["Location"] == reverse("bookings:list")
    assert int(client.session["_auth_user_id"]) == crew_owner.pk


@pytest.mark.django_db
def test_an_invited_member_who_never_chose_a_password_can_ask_for_the_link(
    mailoutbox, django_capture_on_commit_callbacks
):
    member = CrewMemberFactory(password=None)
    assert not member.has_usable_password()

    ask(member.email, django_capture_on_commit_callbacks)

    (mail,) = mailoutbox
    assert mail.to == [member.email]
    choose_password(Client(), mail, member, "bright-set-lights-77")


@pytest.mark.django_db
def test_unknown_and_deactivated_addresses_get_the_same_answer_and_no_email(
    crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    gone = CrewOwnerFactory(is_active=False)

    known = ask(crew_owner.email, django_capture_on_commit_callbacks)
    unknown = ask("nobody@example.com", django_capture_on_commit_callbacks)
    deactivated = ask(gone.email, django_capture_on_commit_callbacks)

    assert known == unknown == deactivated
    assert [m.to for m in mailoutbox] == [[crew_owner.email]]
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_a_failing_mail_server_does_not_break_the_form_and_the_email_is_retried(
    crew_owner, settings, mailoutbox, django_capture_on_commit_callbacks
):
    FlakyBackend.failures, FlakyBackend.calls = 1, 0
    settings.EMAIL_BACKEND = f"{FlakyBackend.__module__}.{FlakyBackend.__qualname__}"
    settings.NOTIFICATION_RETRY_BASE = timedelta(seconds=60)

    answer = ask(crew_owner.email, django_capture_on_commit_callbacks)

    assert answer[:2] == ([(DONE, 302)], 200)
    row = Notification.objects.get()
    assert (row.status, row.attempts) == (Notification.Status.PENDING, 1)
    assert mailoutbox == []
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert notifications.notification_requeue_due() == 1
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_the_form_answers_normally_while_the_broker_is_down(mailoutbox):
    owner = CrewOwnerFactory()
    client = Client(raise_request_exception=False)

    with publishing_to(UNREACHABLE_BROKER):
        response = client.post(URL, {"email": owner.email})

    assert (response.status_code, response["Location"]) == (302, DONE)
    assert Notification.objects.get(account=owner).status == Notification.Status.PENDING


@pytest.mark.django_db
def test_asking_again_and_again_sends_one_email_per_ten_minutes(
    crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    start = timezone.now()
    for minutes in (0, 3, 9):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert ask(crew_owner.email, django_capture_on_commit_callbacks)[0] == [(DONE, 302)]
    assert len(mailoutbox) == 1
    with time_machine.travel(start + timedelta(minutes=11)):
        ask(crew_owner.email, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2
    assert User.objects.count() == 1
