"""Project-wide middleware."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# A staff session's expiry moves forward at most this often, so a busy desk
# does not write its session on every click.
STAFF_SEEN_PRECISION = 300  # seconds


class StaffSessionMiddleware:
    """Staff sessions end after ``STAFF_SESSION_IDLE`` without a request; crews keep the default age.

    Staff screens are shared at the desk and hold passport data, so a session
    left open overnight must not survive; a crew coordinator on their own
    phone keeps the longer session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            idle = int(settings.STAFF_SESSION_IDLE.total_seconds())
            now = int(time.time())
            session = request.session
            if session.get_expiry_age() != idle or now - session.get("staff_seen", 0) >= STAFF_SEEN_PRECISION:
                session.set_expiry(idle)
                session["staff_seen"] = now
        return self.get_response(request)
