"""Requests refused before any view sees them."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

NUL = "\x00"


def error_page(request: HttpRequest, template: str, status: int, **context) -> HttpResponse:
    """An error page in the visitor's language; these run before LocaleMiddleware has chosen it."""
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
