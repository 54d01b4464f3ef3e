"""The log-in lock-out holds however the email is typed, on the site and in the admin."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from ..factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_PAGES = [
    pytest.param(reverse("login"), "crew_owner", id="site"),
    pytest.param(reverse("admin:login"), "staff_admin", id="admin"),
]


def _variants(email: str) -> list[str]:
    local, _at, domain = email.partition("@")
    return [
        email,
        email.upper(),
        f"  {email}  ",
        f"{local.capitalize()}@{domain.upper()}",
        f"\t{email.title()}",
    ]


@pytest.mark.parametrize(("url", "person"), LOGIN_PAGES)
def test_case_and_space_variants_of_an_email_share_one_lockout(client, settings, request, url, person):
    settings.AXES_FAILURE_LIMIT = 3
    user = request.getfixturevalue(person)
    variants = _variants(user.email)

    codes = [client.post(url, {"username": v, "password": "wrong"}).status_code for v in variants[:4]]
    right_password_new_variant = client.post(url, {"username": variants[4], "password": PASSWORD})

    assert codes == [200, 200, 429, 429]
    assert right_password_new_variant.status_code == 429
    assert "_auth_user_id" not in client.session
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [user.email]


@pytest.mark.parametrize(("url", "person"), LOGIN_PAGES)
def test_an_overlong_username_is_a_failed_log_in_not_a_server_error(client, url, person, request):
    request.getfixturevalue(person)
    response = client.post(url, {"username": "a" * 300 + "@example.org", "password": "wrong"})

    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("url", "person"), LOGIN_PAGES)
def test_overlong_usernames_still_count_towards_a_lockout(client, settings, url, person, request):
    settings.AXES_FAILURE_LIMIT = 2
    request.getfixturevalue(person)
    long_name = "b" * 400 + "@example.org"

    codes = [client.post(url, {"username": long_name, "password": "wrong"}).status_code for _ in range(3)]

    assert codes == [200, 429, 429]
