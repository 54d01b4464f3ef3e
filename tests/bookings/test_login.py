import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from ..factories import PASSWORD

URL = reverse("login")


@pytest.mark.django_db
def test_member_logs_in_by_email_in_any_case(client, crew_owner):
    response = client.post(URL, {"username": crew_owner.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:list")


@pytest.mark.django_db
def test_wrong_password_shows_an_error(client, crew_owner):
    response = client.post(URL, {"username": crew_owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_are_locked_out_even_with_the_right_password(client, crew_owner):
    for _ in range(2):
        assert client.post(URL, {"username": crew_owner.email, "password": "wrong"}).status_code == 200

    locked = client.post(URL, {"username": crew_owner.email, "password": "wrong"})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()

    still_locked = client.post(URL, {"username": crew_owner.email, "password": PASSWORD})
    assert still_locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_lockout_of_one_account_does_not_block_another(client, crew_owner, other_crew_member):
    for _ in range(3):
        client.post(URL, {"username": crew_owner.email, "password": "wrong"})

    response = client.post(URL, {"username": other_crew_member.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(owner_client):
    assert owner_client.get(reverse("logout")).status_code == 405
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("bookings:crew")).status_code == 302


@pytest.mark.django_db
def test_password_reset_sends_a_working_link(
    client, crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": crew_owner.email})

    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split(settings.SITE_URL, 1)[1]  # emails link to the site's public address
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "new-lantern-festival-9", "new_password2": "new-lantern-festival-9"},
    )
    assert done.status_code == 302
    crew_owner.refresh_from_db()
    assert crew_owner.check_password("new-lantern-festival-9")
