"""Deployment checks (``manage.py check --deploy``) for what Django's own checks cannot see."""

from email.utils import parseaddr

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

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


@register(Tags.security, deploy=True)
def check_desk_addresses(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Replies and consulates' questions must reach the desks, and letters say how to verify them."""
    if settings.DEBUG:
        return []
    messages: list[CheckMessage] = []
    for name in ("BOOKING_DESK_EMAIL", "WORKSHOP_DESK_EMAIL", "INVITATION_LETTER_EMAIL"):
        value = getattr(settings, name)
        _local, at, domain = value.rpartition("@")
        if not at or not _routable(domain):
            messages.append(
                Error(
                    f"{name} is {value!r}, which no one outside can write to.",
                    hint=f"Set {name} to the desk's address at the studio's real domain.",
                    id="hengdian.E004",
                )
            )
    if not settings.INVITATION_LETTER_PHONE:
        messages.append(
            Warning(
                "INVITATION_LETTER_PHONE is empty: invitation letters give consulates only an email to verify them.",
                hint="Set INVITATION_LETTER_PHONE to the International Business Department's telephone.",
                id="hengdian.W005",
            )
        )
    return messages


_SCRIPT_AND_STYLE = (
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
)
_UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'")


@register(Tags.security, deploy=True)
def check_content_security_policy(app_configs=None, **kwargs) -> list[CheckMessage]:
    """In production the policy is enforced, and allows no inline or eval'd code.

    A report-only policy protects nobody: it is for trying a change out in
    development, never for serving.
    """
    if settings.DEBUG:
        return []
    errors = []
    if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None):
        errors.append(
            Error(
                "A report-only Content-Security-Policy is configured in production.",
                hint="Enforce the policy with CONTENT_SECURITY_POLICY and remove CONTENT_SECURITY_POLICY_REPORT_ONLY.",
                id="hengdian.E002",
            )
        )
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES") or {}
    if not directives:
        errors.append(
            Error(
                "No Content-Security-Policy is enforced.",
                hint="Set CONTENT_SECURITY_POLICY, as hengdian/settings.py does.",
                id="hengdian.E003",
            )
        )
    for directive in _SCRIPT_AND_STYLE:
        unsafe = [source for source in directives.get(directive) or () if source in _UNSAFE]
        if unsafe:
            errors.append(
                Error(
                    f"The Content-Security-Policy's {directive} allows {' '.join(unsafe)}.",
                    hint="Move inline scripts and styles to static files instead.",
                    id="hengdian.E003",
                )
            )
    return errors
