"""Print the current second-factor code of a demo staff login (development only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from .seed_demo import DEMO_TOTP_KEY, STAFF_EMAIL


class Command(BaseCommand):
    help = "Print the code the demo authenticator shows now, for logging in as demo staff."

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", default=STAFF_EMAIL)

    def handle(self, *args, email: str, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Only in development (DJANGO_DEBUG=1): production staff use their own authenticator."
            )
        # Only the demo key, which is public anyway: never a real person's code.
        device = TOTPDevice.objects.filter(
            user__email__iexact=email, key=DEMO_TOTP_KEY, confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{email} has no demo authenticator; run `manage.py seed_demo` first.")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
