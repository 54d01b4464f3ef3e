from django.http import HttpRequest
from django.utils import translation

# The session key that carries the offer to the next page.
EMAIL_LANGUAGE_OFFER = "email_language_offer"


def email_language_offer(request: HttpRequest) -> dict:
    """The offer to write to a person in the site language they just switched to.

    Shown once, on the first full page after the switch (bookings.views.set_language),
    and only while the email language still differs from the page's.
    """
    session = getattr(request, "session", None)
    if session is None or EMAIL_LANGUAGE_OFFER not in session or getattr(request, "htmx", False):
        return {}
    language = session.pop(EMAIL_LANGUAGE_OFFER)
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated) or language == user.language:
        return {}
    if language != translation.get_language():
        return {}
    return {"email_language_offer": translation.get_language_info(language)}
