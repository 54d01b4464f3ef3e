"""Deployment checks (``manage.py check --deploy``) for what Django's own checks cannot see."""

from email.utils import parseaddr

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Domains that never receive mail from the internet (RFC 2606 and RFC 6761 names,
# mDNS, common internal suffixes): a sender there bounces or lands in spam.
_RESERVED_SUFFIXES = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".lan",
    ".test",
    ".invalid",
    ".example",
)


def _routable(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    if "." not in domain or domain.startswith(("[", "example.")):
        return False
    return not domain.endswith(_RESERVED_SUFFIXES)


@register(Tags.security, deploy=True)
def check_sender_addresses(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Emails from booking@localhost (the development default) are refused or lost."""
    if settings.DEBUG:
        return []
    errors = []
    for name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
        value = getattr(settings, name)
        _display, address = parseaddr(value)
        _local, at, domain = address.rpartition("@")
        if not at or not _routable(domain):
            errors.append(
                Error(
                    f"{name} is {value!r}, which no mail server will deliver from.",
                    hint="Set DEFAULT_FROM_EMAIL to an address at the studio's real domain, "
                    "e.g. DEFAULT_FROM_EMAIL='Hengdian Studio Booking <booking@your-domain>'.",
                    id="hengdian.E001",
                )
            )
    return errors
