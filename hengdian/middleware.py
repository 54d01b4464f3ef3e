"""Project-wide middleware: requests refused before any view sees them (bytes no page
accepts, bodies larger than any form), and the staff session's shorter life."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _

NUL = "\x00"


def error_page(request: HttpRequest, template: str, status: int, **context) -> HttpResponse:
    """An error page in the visitor's language; these run before LocaleMiddleware has chosen it
    (so the messages passed in are lazy, translated here)."""
    with translation.override(translation.get_language_from_request(request)):
        return render(request, template, context, status=status)


class RejectNulBytesMiddleware:
    """No URL, header or cookie of ours contains a NUL character, and PostgreSQL cannot
    even compare text with one (psycopg refuses the query), so a NUL that reached a view
    would be a 500. A path with one is a page that does not exist (404); a query string or
    header with one is a malformed request (400). A cookie with one is ignored, as if it
    were absent: a visitor cannot easily remove a bad cookie, and a sibling domain could
    set one to lock them out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path:
            return error_page(request, "404.html", 404)
        if any(NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists()):
            return error_page(
                request,
                "400.html",
                400,
                reason=_("The address contains a NUL character, which no page accepts."),
            )
        for name, value in request.META.items():
            if name.startswith("HTTP_") and name != "HTTP_COOKIE" and NUL in str(value):
                return error_page(
                    request,
                    "400.html",
                    400,
                    reason=_("A request header contains a NUL character, which is not allowed."),
                )
        for name in [name for name, value in request.COOKIES.items() if NUL in name or NUL in value]:
            del request.COOKIES[name]
        return self.get_response(request)


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than any of our forms can be (413) before reading it.

    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count uploaded files, and the upload
    handler (``hengdian.uploads``) stops keeping a file past the image limit but still
    has to read past it to reach the other fields; this caps what is read at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body without a valid length
        if length > settings.UPLOAD_MAX_REQUEST_BYTES:
            return error_page(
                request,
                "413.html",
                413,
                max_request_mb=f"{settings.UPLOAD_MAX_REQUEST_BYTES / 2**20:g}",
                max_image_mb=f"{settings.IMAGE_UPLOAD_MAX_BYTES / 2**20:g}",
            )
        return self.get_response(request)


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
