import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.html import escape
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from bookings import notifications, services
from bookings.models import Notification, User

from ..auth import login_staff
from ..factories import CrewOwnerFactory
from ..workers import RedisServer, publishing_to

# Nothing listens here (a port of this suite's private range that no test starts).
UNREACHABLE_BROKER = "redis://127.0.0.1:6395/0"
SET_PASSWORD_LINK = re.compile(r"http://[^/\s]+(/accounts/password/reset/[\w-]+/[\w-]+/)")

CREW = reverse("bookings:crew")
ADD = reverse("bookings:crew_member_add")


@pytest.mark.django_db
def test_crew_page_lists_own_members_only(client, crew_member, other_crew_member):
    client.force_login(crew_member)
    body = client.get(CREW).content.decode()
    assert crew_member.email in body
    assert crew_member.crew.members.get(crew_role="owner").email in body
    assert other_crew_member.email not in body
    assert other_crew_member.crew.name not in body


@pytest.mark.django_db
def test_crew_page_needs_login_and_a_crew(client, staff_admin):
    response = client.get(CREW)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    login_staff(client, staff_admin)
    assert client.get(CREW).status_code == 404


@pytest.mark.django_db
def test_owner_adds_a_member_who_gets_a_set_password_email(
    owner_client, crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(ADD, {"full_name": "Gaffer", "email": "Gaffer@Example.com"})

    assert response.status_code == 302
    member = User.objects.get(email="gaffer@example.com")
    assert member.crew == crew_owner.crew
    assert member.crew_role == User.CrewRole.MEMBER
    assert not member.has_usable_password()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["gaffer@example.com"]
    assert crew_owner.crew.name in mail.subject

    choose_password(Client(), mail, member, "bright-set-lights-77")


def choose_password(client: Client, mail, user: User, password: str):
    """Follow the email's set-password link as its recipient would, and choose ``password``."""
    (path,) = set(SET_PASSWORD_LINK.findall(mail.body))
    assert path in mail.alternatives[0][0]
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    user.refresh_from_db()
    assert user.check_password(password)
    return done


def assert_holds_no_credential(notification: Notification, user: User) -> None:
    stored = notification.subject + notification.body_text + notification.body_html
    assert notifications.SEND_TIME_LINK in notification.body_text
    assert notifications.SEND_TIME_LINK in notification.body_html
    assert default_token_generator.make_token(user) not in stored
    assert urlsafe_base64_encode(force_bytes(user.pk)) + "/" not in stored
    assert "/accounts/password/reset/" not in stored


@pytest.mark.django_db
def test_the_invitation_is_an_outbox_row_that_holds_no_credential(
    owner_client, crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(ADD, {"full_name": "Gaffer", "email": "gaffer@example.com"})

    member = User.objects.get(email="gaffer@example.com")
    invitation = Notification.objects.get()
    assert (invitation.kind, invitation.recipient, invitation.account) == (
        Notification.Kind.ACCOUNT_INVITATION,
        member.email,
        member,
    )
    assert invitation.status == Notification.Status.SENT
    assert_holds_no_credential(invitation, member)
    # What was sent had the link in its place.
    assert SET_PASSWORD_LINK.search(mailoutbox[0].body)
    assert notifications.SEND_TIME_LINK not in mailoutbox[0].body + mailoutbox[0].alternatives[0][0]


@pytest.mark.django_db(transaction=True)
def test_adding_a_member_while_the_broker_is_down_keeps_the_invitation_until_it_is_back(mailoutbox):
    owner = CrewOwnerFactory()
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    assert not RedisServer(port=6395, directory=None).answers()

    with publishing_to(UNREACHABLE_BROKER):
        response = client.post(ADD, {"full_name": "Gaffer", "email": "gaffer@example.com"})

        assert response.status_code == 302
        assert response["Location"] == CREW
        member = User.objects.get(email="gaffer@example.com")
        assert (member.crew, member.has_usable_password()) == (owner.crew, False)
        invitation = Notification.objects.get(account=member, kind=Notification.Kind.ACCOUNT_INVITATION)
        assert invitation.status == Notification.Status.PENDING
        assert_holds_no_credential(invitation, member)
        assert mailoutbox == []

    # The broker is back: the sweep finds the pending invitation and it goes out.
    assert notifications.notification_requeue_due() == 1
    invitation.refresh_from_db()
    assert invitation.status == Notification.Status.SENT
    (mail,) = mailoutbox
    assert mail.to == ["gaffer@example.com"]
    newcomer = Client()
    done = choose_password(newcomer, mail, member, "bright-set-lights-77")
    assert done.status_code == 302
    assert int(newcomer.session["_auth_user_id"]) == member.pk


@pytest.mark.django_db
def test_the_outbox_preview_shows_a_placeholder_where_the_link_goes(
    staff_client, crew_owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.crew_member_add(
            crew=crew_owner.crew, email="gaffer@example.com", full_name="G", by=crew_owner
        )
    invitation = Notification.objects.get()

    page = staff_client.get(reverse("admin:bookings_notification_change", args=[invitation.pk]))

    body = page.content.decode()
    assert "[link made when the email is sent]" in body
    assert notifications.SEND_TIME_LINK not in body
    assert "/accounts/password/reset/" not in body


@pytest.mark.django_db
def test_member_email_is_written_in_the_owners_language(
    owner_client, crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    crew_owner.language = "zh-hans"
    crew_owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(ADD, {"full_name": "Script supervisor", "email": "wf@example.com"})
    invitation = Notification.objects.get()
    assert invitation.language == "zh-hans"
    with translation.override("zh-hans"):
        greeting = gettext("Hello %(name)s,") % {"name": "Script supervisor"}
        signature = gettext("Hengdian World Studios — Booking desk")
    assert greeting != "Hello Script supervisor,"
    assert greeting in mailoutbox[0].body
    assert signature in mailoutbox[0].body


@pytest.mark.django_db
def test_the_invitation_subject_and_text_are_plain_text(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    owner = CrewOwnerFactory(first_name="Ana & <Bo>", crew__name="Tom & Jerry <Shorts>")
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, {"full_name": "Li & <Wei>", "email": "li@example.com"})

    (mail,) = mailoutbox
    assert mail.subject == "You were added to Tom & Jerry <Shorts> on Hengdian Studio Booking"
    assert "Hello Li & <Wei>," in mail.body
    assert "Ana & <Bo> added you to the crew Tom & Jerry <Shorts>" in mail.body
    assert "Tom &amp; Jerry &lt;Shorts&gt;" in mail.alternatives[0][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"full_name": "A", "email": "nope"}, "email", "valid email"),
        ({"full_name": "", "email": "a@example.com"}, "full_name", "required"),
    ],
)
def test_bad_member_input_is_refused(owner_client, mailoutbox, data, field, message):
    response = owner_client.post(ADD, data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert User.objects.count() == 1
    assert mailoutbox == []


def add(client: Client, capture, email: str, full_name: str = "Gaffer"):
    """What the owner is told: the status, where it leads, and the messages shown there."""
    with capture(execute=True):
        response = client.post(ADD, {"full_name": full_name, "email": email}, follow=True)
    ((location, status),) = response.redirect_chain
    return status, location, [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
def test_an_address_with_an_account_gets_the_same_answer_and_is_told_by_email(
    owner_client, crew_owner, other_crew_member, mailoutbox, django_capture_on_commit_callbacks
):
    other_crew_member.language = "es"
    other_crew_member.save()

    new = add(owner_client, django_capture_on_commit_callbacks, "someone@example.com")
    registered = add(owner_client, django_capture_on_commit_callbacks, other_crew_member.email.upper())

    assert new[:2] == registered[:2] == (302, CREW)
    assert new[2] == [m.replace(other_crew_member.email, "someone@example.com") for m in registered[2]]
    other_crew_member.refresh_from_db()
    assert (other_crew_member.crew_role, other_crew_member.crew) != (User.CrewRole.MEMBER, crew_owner.crew)
    assert other_crew_member.is_crew_owner
    row = Notification.objects.get(account=other_crew_member)
    assert (row.kind, row.language) == (Notification.Kind.ACCOUNT_ADD_EXISTING, "es")
    assert notifications.SEND_TIME_LINK not in row.body_text
    mail = next(m for m in mailoutbox if m.to == [other_crew_member.email])
    assert crew_owner.crew.name in mail.subject
    # In the address owner's language, not the crew owner's.
    assert "una dirección de correo electrónico pertenece a una sola cuenta" in mail.body


@pytest.mark.django_db
def test_adding_a_member_of_this_crew_who_never_chose_a_password_sends_the_invitation_again(
    owner_client, invited, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with time_machine.travel(INVITED_AT + timedelta(minutes=10, seconds=1), tick=False):
        status, location, _ = add(owner_client, django_capture_on_commit_callbacks, "Gaffer@example.com")
        (mail,) = mailoutbox
        choose_password(Client(), mail, invited, "bright-set-lights-77")

    assert (status, location) == (302, CREW)
    kinds = Notification.objects.filter(account=invited).values_list("kind", flat=True)
    assert list(kinds) == [Notification.Kind.ACCOUNT_INVITATION] * 2


@pytest.mark.django_db
def test_adding_someone_already_in_the_crew_tells_them_so(
    owner_client, crew_member, mailoutbox, django_capture_on_commit_callbacks
):
    assert add(owner_client, django_capture_on_commit_callbacks, crew_member.email)[:2] == (302, CREW)

    (mail,) = mailoutbox
    assert "You are already a member of" in mail.body
    assert User.objects.filter(crew=crew_member.crew).count() == 2


@pytest.mark.django_db
def test_adding_a_deactivated_account_tells_nobody_but_answers_the_same(
    owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    gone = CrewOwnerFactory(is_active=False)

    assert add(owner_client, django_capture_on_commit_callbacks, gone.email)[:2] == (302, CREW)

    assert mailoutbox == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_adding_the_same_registered_address_again_and_again_sends_one_email_per_ten_minutes(
    owner_client, other_crew_member, mailoutbox, django_capture_on_commit_callbacks
):
    for _ in range(3):
        assert add(owner_client, django_capture_on_commit_callbacks, other_crew_member.email)[0] == 302

    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_plain_member_cannot_add_members(client, crew_member, mailoutbox):
    client.force_login(crew_member)
    assert "Add a member" not in client.get(CREW).content.decode()

    response = client.post(ADD, {"full_name": "Sneaky", "email": "sneaky@example.com"})

    assert response.status_code == 400
    assert escape("Only the crew's owner can add members.") in response.content.decode()
    assert not User.objects.filter(email="sneaky@example.com").exists()


@pytest.mark.django_db
def test_adding_a_member_needs_login_and_post(client, crew_owner):
    response = client.post(ADD, {"full_name": "A", "email": "a@example.com"})
    assert response.status_code == 302
    assert not User.objects.filter(email="a@example.com").exists()
    client.force_login(crew_owner)
    assert client.get(ADD).status_code == 405


# --- Sending the invitation again ----------------------------------------------------


def invite_again_url(member: User) -> str:
    return reverse("bookings:crew_member_invite_again", args=[member.pk])


@pytest.fixture
def invited(crew_owner, django_capture_on_commit_callbacks):
    """A member the owner invited at 10:00 studio time, who has not chosen a password."""
    with time_machine.travel(INVITED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.crew_member_add(
            crew=crew_owner.crew, email="gaffer@example.com", full_name="Gaffer", by=crew_owner
        )
    return User.objects.get(email="gaffer@example.com")


INVITED_AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


@pytest.mark.django_db
def test_the_crew_page_shows_who_has_not_chosen_a_password_and_when_they_were_invited(
    owner_client, crew_owner, crew_member, invited
):
    page = owner_client.get(CREW).content.decode()

    assert page.count("pending-invitation") == 1
    assert "Invited March 2, 2026, 10 a.m.; has not chosen a password yet." in page
    assert page.count("Send the invitation again") == 1
    assert invite_again_url(invited) in page
    assert invite_again_url(crew_member) not in page  # has a password


@pytest.mark.django_db
def test_a_plain_member_sees_who_is_invited_but_cannot_send_it_again(client, crew_member, invited):
    client.force_login(crew_member)
    page = client.get(CREW).content.decode()
    assert "has not chosen a password yet" in page
    assert "Send the invitation again" not in page

    response = client.post(invite_again_url(invited))

    assert response.status_code == 404
    assert Notification.objects.filter(account=invited).count() == 1


@pytest.mark.django_db
def test_the_owner_sends_the_invitation_again_with_a_new_working_link(
    owner_client, invited, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with (
        time_machine.travel(INVITED_AT + timedelta(minutes=10, seconds=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = owner_client.post(invite_again_url(invited), follow=True)

    assert response.redirect_chain == [(CREW, 302)]
    assert "The invitation was sent to gaffer@example.com again" in response.content.decode()
    rows = Notification.objects.filter(account=invited, kind=Notification.Kind.ACCOUNT_INVITATION)
    assert rows.count() == 2
    assert all(notifications.SEND_TIME_LINK in row.body_text for row in rows)
    (mail,) = mailoutbox
    assert mail.to == ["gaffer@example.com"]
    with time_machine.travel(INVITED_AT + timedelta(hours=1)):  # the link is valid for three days
        choose_password(Client(), mail, invited, "bright-set-lights-77")
    assert "Send the invitation again" not in owner_client.get(CREW).content.decode()


@pytest.mark.django_db
def test_sending_it_again_is_refused_with_a_clear_message_within_ten_minutes(
    owner_client, invited, mailoutbox
):
    mailoutbox.clear()
    with time_machine.travel(INVITED_AT + timedelta(minutes=9), tick=False):
        response = owner_client.post(invite_again_url(invited), follow=True)

    assert response.redirect_chain == [(CREW, 302)]
    assert (
        "An invitation went to gaffer@example.com less than 10 minutes ago; "
        "from 10:10 a.m. you can send it again."
    ) in response.content.decode()
    assert Notification.objects.filter(account=invited).count() == 1
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_invitation_is_not_sent_again_to_someone_who_has_a_password(owner_client, crew_member):
    response = owner_client.post(invite_again_url(crew_member), follow=True)

    assert "has already chosen a password" in response.content.decode()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_other_crews_cannot_send_someone_elses_invitation(client, other_crew_member, invited):
    client.force_login(other_crew_member)
    assert client.post(invite_again_url(invited)).status_code == 404
    assert Notification.objects.filter(account=invited).count() == 1


@pytest.mark.django_db
def test_sending_it_again_needs_a_login_and_a_post(client, crew_owner, invited):
    response = client.post(invite_again_url(invited))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(crew_owner)
    assert client.get(invite_again_url(invited)).status_code == 405
    assert Notification.objects.filter(account=invited).count() == 1
