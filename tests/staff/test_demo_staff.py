"""The demo's staff logins: the desk roles, a visa officer, and (in development only) a known authenticator."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings.models import User
from hengdian.management.commands.seed_demo import DEMO_PASSWORD, STAFF_EMAIL, VISA_EMAIL
from hengdian.roles import BOOKING_DESK, VISA_OFFICER, WORKSHOP_DESK

pytestmark = pytest.mark.django_db


def roles_of(email: str) -> set[str]:
    return set(User.objects.get(email=email).groups.values_list("name", flat=True))


def test_the_demo_staff_are_the_two_desks_and_a_visa_officer_not_superusers(settings):
    settings.DEBUG = True
    output = StringIO()
    call_command("seed_demo", force=True, stdout=output)

    assert roles_of(STAFF_EMAIL) == {BOOKING_DESK, WORKSHOP_DESK}
    assert roles_of(VISA_EMAIL) == {VISA_OFFICER}
    assert not User.objects.filter(email__in=[STAFF_EMAIL, VISA_EMAIL], is_superuser=True).exists()
    assert "demo_totp_code" in output.getvalue()


def test_in_development_the_printed_code_completes_the_demo_staff_log_in(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", force=True, stdout=StringIO())
    client.post(reverse("login"), {"username": STAFF_EMAIL, "password": DEMO_PASSWORD})
    assert client.get(reverse("admin:index")).status_code == 302

    code = StringIO()
    call_command("demo_totp_code", stdout=code)
    response = client.post(reverse("two_factor"), {"code": code.getvalue().strip()})

    assert response.status_code == 302
    assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 200


def test_outside_development_there_is_no_known_authenticator(settings):
    settings.DEBUG = False
    call_command("seed_demo", force=True, stdout=StringIO())

    assert not TOTPDevice.objects.exists()
    with pytest.raises(CommandError):
        call_command("demo_totp_code", stdout=StringIO())


def test_the_code_command_never_prints_a_real_persons_code(settings):
    settings.DEBUG = True
    call_command("seed_demo", force=True, stdout=StringIO())
    device = TOTPDevice.objects.get(user__email=STAFF_EMAIL)
    device.key = "00" * 20  # the person set up their own phone
    device.save()

    with pytest.raises(CommandError):
        call_command("demo_totp_code", STAFF_EMAIL, stdout=StringIO())
