"""The client's address, read the one way the deployment says (``TRUSTED_PROXIES``).

Used by the log-in lockout (django-axes) and the registration rate limit, so
both count the same client. Each proxy in front of the app appends the address
it received the request from to X-Forwarded-For; everything to the left of
what the trusted proxies wrote is whatever the client chose to send.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, as seen by the outermost trusted proxy.

    With ``TRUSTED_PROXIES = 0`` the header is never read: any client can send
    one. With ``n`` proxies, the n-th address from the right is the client; a
    header too short to have been written by them, or not holding an address
    there, means the request did not come through them as configured, so the
    address of the connection itself is used rather than anything guessed.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote
