"""Staff log in with a password and a code from their authenticator; the admin refuses anything less."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..auth import current_code, login_staff, staff_device
from ..factories import PASSWORD, CrewOwnerFactory, StaffFactory, UserFactory

ADMIN = "/admin/"


def password_login(client, user, next_url: str = ADMIN):
    response = client.post(
        f"{reverse('login')}?next={next_url}", {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def follow_to_admin(client):
    """Where a freshly logged-in staff member is sent when they open the admin."""
    return client.get(ADMIN, follow=True)


def set_up_authenticator(client) -> list[str]:
    """Do what a person does on the set-up page: scan, type the code; returns the backup codes."""
    page = client.get(reverse("two_factor_setup"), {"next": ADMIN})
    assert page.status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.content.decode()).group(1)
    # The key on the page is the device's own, in the base32 form authenticator apps take.
    assert secret.replace(" ", "") in device.config_url
    done = client.post(reverse("two_factor_setup"), {"code": current_code(device), "next": ADMIN})
    assert done.status_code == 200
    return re.findall(r"<li>([a-z2-7]{8,})</li>", done.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("superuser", [True, False])
def test_a_password_alone_never_opens_the_admin(client, superuser):
    staff = StaffFactory(is_superuser=superuser)
    password_login(client, staff)

    response = follow_to_admin(client)

    # Without a device the admin sends them to set one up, not in.
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_setup"))
    assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 302
    assert client.get(reverse("admin:workshops_enrolment_changelist")).status_code == 302


@pytest.mark.django_db
def test_staff_set_up_an_authenticator_get_backup_codes_and_then_reach_the_admin(client):
    staff = StaffFactory()
    password_login(client, staff)
    assert follow_to_admin(client).redirect_chain[-1][0].startswith(reverse("two_factor_setup"))

    codes = set_up_authenticator(client)

    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert set(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True)) == set(codes)
    assert client.get(ADMIN).status_code == 200


@pytest.mark.django_db
def test_a_wrong_code_is_refused_next_to_the_field_and_confirms_nothing(client):
    staff = StaffFactory()
    password_login(client, staff)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=staff)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("two_factor_setup"), {"code": wrong})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get(ADMIN).status_code == 302


@pytest.mark.django_db
def test_next_log_in_asks_for_a_code_and_a_backup_code_works_once(client):
    staff = StaffFactory()
    password_login(client, staff)
    codes = set_up_authenticator(client)
    client.logout()

    password_login(client, staff)
    response = follow_to_admin(client)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor"))
    # Having a device, they cannot set up another one before giving a code.
    assert client.get(reverse("two_factor_setup")).status_code == 302

    response = client.post(reverse("two_factor"), {"code": codes[0], "next": ADMIN})
    assert response.status_code == 302
    assert response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200

    client.logout()
    password_login(client, staff)
    reused = client.post(reverse("two_factor"), {"code": codes[0], "next": ADMIN})
    assert reused.status_code == 400
    assert client.get(ADMIN).status_code == 302


@pytest.mark.django_db
def test_the_authenticator_code_opens_the_admin_and_cannot_be_replayed(client):
    staff = StaffFactory()
    device = staff_device(staff)
    with time_machine.travel(timezone.now(), tick=False):
        password_login(client, staff)
        code = current_code(device)
        assert client.post(reverse("two_factor"), {"code": code}).status_code == 302
        assert client.get(ADMIN).status_code == 200

        client.logout()
        password_login(client, staff)
        # The same code a second time, even within its 30 seconds, is refused.
        assert client.post(reverse("two_factor"), {"code": code}).status_code == 400
        assert client.get(ADMIN).status_code == 302


@pytest.mark.django_db
def test_the_next_address_after_the_code_stays_on_this_site(client):
    staff = StaffFactory()
    device = staff_device(staff)
    password_login(client, staff)

    response = client.post(
        reverse("two_factor"), {"code": current_code(device), "next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("admin:index")


@pytest.mark.django_db
def test_staff_logging_in_on_the_site_go_on_to_the_admin(client):
    staff = StaffFactory()
    response = client.post(reverse("login"), {"username": staff.email, "password": PASSWORD})
    assert response["Location"] == reverse("admin:index")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "crew member"])
def test_two_factor_pages_are_not_there_for_non_staff(client, who):
    if who == "crew member":
        client.force_login(CrewOwnerFactory())
    for name in ("two_factor", "two_factor_setup"):
        response = client.get(reverse(name))
        assert response.status_code == (404 if who == "crew member" else 302)
    assert client.post(reverse("two_factor_backup_codes")).status_code == (
        404 if who == "crew member" else 302
    )
    assert not TOTPDevice.objects.exists()


@pytest.mark.django_db
def test_new_backup_codes_need_a_verified_session_and_replace_the_old_ones(client):
    staff = StaffFactory()
    password_login(client, staff)
    old = set_up_authenticator(client)

    response = client.post(reverse("two_factor_backup_codes"))

    new = re.findall(r"<li>([a-z2-7]{8,})</li>", response.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)

    client.logout()
    password_login(client, staff)
    assert client.post(reverse("two_factor_backup_codes")).status_code == 302
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)


@pytest.mark.django_db
def test_accounts_made_with_createsuperuser_follow_the_same_rule(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", "--email", "root@hengdian.example", verbosity=0)
    root = get_user_model().objects.get(email="root@hengdian.example")
    password_login(client, root)

    assert follow_to_admin(client).redirect_chain[-1][0].startswith(reverse("two_factor_setup"))


@pytest.mark.django_db
def test_pages_with_secrets_are_never_cached(client):
    staff = StaffFactory()
    password_login(client, staff)
    response = client.get(reverse("two_factor_setup"))
    assert "no-store" in response["Cache-Control"]


# --- Sessions ------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_sessions_end_after_a_working_day_without_activity(client, settings):
    settings.STAFF_SESSION_IDLE = timedelta(hours=9)
    staff = StaffFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        login_staff(client, staff)
        assert client.get(ADMIN).status_code == 200
        # Busy all day: each request moves the end forward.
        for _hour in range(12):
            clock.shift(timedelta(hours=1))
            assert client.get(ADMIN).status_code == 200
        clock.shift(timedelta(hours=9, minutes=6))
        response = client.get(ADMIN)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_crew_members_keep_the_longer_session(client, settings):
    settings.STAFF_SESSION_IDLE = timedelta(hours=9)
    owner = CrewOwnerFactory()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
        clock.shift(timedelta(days=3))
        assert client.get(reverse("bookings:crew")).status_code == 200


@pytest.mark.django_db
def test_staff_without_permissions_get_no_further_than_the_index(client):
    staff = UserFactory(is_staff=True)
    login_staff(client, staff)
    assert client.get(ADMIN).status_code == 200
    assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 403


@pytest.mark.django_db
def test_the_admin_index_offers_a_new_phone_and_new_backup_codes(staff_client):
    html = staff_client.get(ADMIN).content.decode()
    assert reverse("two_factor_setup") in html
    assert f'action="{reverse("two_factor_backup_codes")}"' in html


@pytest.mark.django_db
def test_a_new_phone_replaces_the_old_authenticator(client):
    staff = StaffFactory()
    old = staff_device(staff)
    login_staff(client, staff)

    codes = set_up_authenticator(client)

    assert len(codes) == 10
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert client.get(ADMIN).status_code == 200
