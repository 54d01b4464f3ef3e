"""Emails to workshop participants, in the language they chose. Never any passport data."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Enrolment
from .selectors import waitlist_position

KINDS = ("confirmed", "waitlisted", "promoted", "cancelled", "link", "letter")


def _subject(kind: str, title: str) -> str:
    subjects = {
        "confirmed": _("Your place is confirmed: %(title)s"),
        "waitlisted": _("You are on the waiting list: %(title)s"),
        "promoted": _("A place is yours: %(title)s"),
        "cancelled": _("Your enrolment is cancelled: %(title)s"),
        "link": _("Your enrolment link: %(title)s"),
        "letter": _("Your visa invitation letter is ready: %(title)s"),
    }
    return subjects[kind] % {"title": title}


def enrolment_email_send(*, enrolment_id: int, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"Unknown enrolment email kind: {kind}")
    enrolment = Enrolment.objects.select_related("session__workshop").get(pk=enrolment_id)
    session = enrolment.session
    context = {
        "kind": kind,
        "enrolment": enrolment,
        "session": session,
        "workshop": session.workshop,
        "position": waitlist_position(enrolment),
        "manage_url": f"{settings.SITE_URL}{enrolment.get_absolute_url()}",
    }
    with translation.override(enrolment.language):
        subject = _subject(kind, session.workshop.title)
        body = render_to_string("emails/enrolment.txt", context)
    send_mail(subject, body, None, [enrolment.email])
