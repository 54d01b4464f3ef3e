"""Logging people in for tests, the way the site would."""

import time

from django.conf import settings
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def staff_device(user) -> TOTPDevice:
    """The staff member's confirmed authenticator, as after they set it up."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """What the authenticator app shows right now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login_staff(client: Client, user) -> Client:
    """Log a staff account into the admin: password and second factor both done."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = staff_device(user).persistent_id
    # As the staff session middleware leaves it, so a test's first request is like any other.
    session.set_expiry(int(settings.STAFF_SESSION_IDLE.total_seconds()))
    session["staff_seen"] = int(time.time())
    session.save()
    return client
