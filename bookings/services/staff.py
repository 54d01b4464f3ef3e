"""Staff log-in: the authenticator app and one-time backup codes."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..models import (
    User,
)
from .accounts import AccountError

BACKUP_CODE_COUNT = 10


def staff_authenticator_pending(*, user: User) -> TOTPDevice:
    """The authenticator ``user`` is setting up: one unconfirmed device, reused until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def staff_authenticator_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm ``device`` with a code it shows; it replaces any earlier authenticator.

    Returns a fresh set of backup codes, shown to the person once.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(code):
        raise AccountError(
            _("That code is not right. Check the time on your phone and enter the newest code.")
        )
    # A new phone replaces the old one: the old secret must stop working.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return staff_backup_codes_replace(user=user)


@transaction.atomic
def staff_backup_codes_replace(*, user: User) -> list[str]:
    """New one-time backup codes for ``user``; the previous ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def staff_backup_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
