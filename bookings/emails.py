"""Emails to crews and the booking desk, rendered in each recipient's language.

Booking messages go through the outbox (:mod:`bookings.notifications`): call
:func:`booking_notify` inside the transaction that changes the booking. The
member invitation is sent directly: its set-password link is a credential and
must not be stored in the outbox, where staff can read it.
"""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.formats import number_format, time_format
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import SHOOT_DAY_STARTS, Booking, Notification, User
from .notifications import Message, absolute_url, notification_queue_message, studio_date, studio_time

Kind = Notification.Kind

# Kinds the booking desk receives as well as the crew.
STAFF_KINDS = {Kind.BOOKING_REQUESTED, Kind.BOOKING_HOLD_EXPIRING}


def member_invitation_send(*, user_id: int, invited_by_id: int) -> None:
    member = User.objects.select_related("crew").get(pk=user_id)
    if member.has_usable_password():
        return  # they have already chosen a password: the link is not needed
    invited_by = User.objects.get(pk=invited_by_id)
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(member.pk)),
            "token": default_token_generator.make_token(member),
        },
    )
    context = {
        "member": member,
        "invited_by": invited_by,
        "crew": member.crew,
        "set_password_url": f"{settings.SITE_URL}{path}",
        "valid_days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    with translation.override(member.language):
        subject = render_to_string("emails/member_invitation_subject.txt", context).strip()
        body = render_to_string("emails/member_invitation.txt", context)
    send_mail(subject, body, None, [member.email])


# --- Booking notifications ----------------------------------------------------


def _crew_recipients(booking: Booking) -> list[User]:
    members = getattr(booking.crew, "active_members", None)  # prefetched by the sweep
    if members is None:
        members = list(booking.crew.members.filter(is_active=True).order_by("pk"))
    return members


def _staff_recipients() -> list[tuple[str, str]]:
    """(address, language) for the booking desk; a staff user's own language where known."""
    addresses = [a.strip().lower() for a in settings.STAFF_NOTIFICATION_EMAILS if a.strip()]
    if not addresses:
        return []
    languages = dict(User.objects.filter(email__in=addresses).values_list("email", "language"))
    return [(a, languages.get(a, settings.LANGUAGE_CODE)) for a in addresses]


def _short(kind: str) -> str:
    return kind.removeprefix("booking-")


def booking_notify(*, booking: Booking, kind: str, by: User | None = None) -> int:
    """Queue ``kind`` for every active member of the booking's crew (and the desk, for some kinds).

    Call inside the transaction that records the event. Each recipient gets
    at most one message per booking and kind, however often this runs.
    Returns how many messages were queued.
    """
    queued = 0
    for member in _crew_recipients(booking):
        queued += bool(
            notification_queue_message(
                kind=kind,
                recipient=member.email,
                language=member.language,
                dedupe_key=f"booking:{booking.pk}:{_short(kind)}:user:{member.pk}",
                build=lambda member=member: _crew_message(booking, kind, member=member, by=by),
                booking=booking,
            )
        )
    if kind in STAFF_KINDS:
        for address, language in _staff_recipients():
            digest = hashlib.sha256(address.encode()).hexdigest()[:16]
            queued += bool(
                notification_queue_message(
                    kind=Kind.BOOKING_REQUEST_RECEIVED if kind == Kind.BOOKING_REQUESTED else kind,
                    recipient=address,
                    language=language,
                    dedupe_key=f"booking:{booking.pk}:{_short(kind)}:staff:{digest}",
                    build=lambda: _staff_message(booking, kind),
                    booking=booking,
                )
            )
    return queued


def _days_text(booking: Booking) -> str:
    days = booking.days.days
    return ngettext(
        "%(start)s – %(end)s (%(count)d shoot day)",
        "%(start)s – %(end)s (%(count)d shoot days)",
        days,
    ) % {"start": studio_date(booking.start_date), "end": studio_date(booking.end_date), "count": days}


def _equipment_text(items: Iterable) -> str:
    return ", ".join(f"{item.quantity} × {item.equipment.name}" for item in items)


def _facts(booking: Booking, items: list, *, hold: bool = False) -> list[tuple[str, str]]:
    facts = [
        (_("Reference"), booking.reference),
        (_("Set"), booking.studio_set.name),
        (_("Shoot days"), _days_text(booking)),
        (_("Equipment"), _equipment_text(items) if items else _("none")),
        (
            _("Quoted total"),
            _("%(amount)s CNY") % {"amount": number_format(booking.quote_total, 2, force_grouping=True)},
        ),
    ]
    if hold and booking.hold_expires_at:
        facts.append((_("Held until"), studio_time(booking.hold_expires_at)))
    return facts


def _where_to_go(booking: Booking) -> str:
    if booking.studio_set.location:
        return _("Go to: %(place)s.") % {"place": booking.studio_set.location}
    return _("Report to the booking desk at the studio's service centre; staff will take you to the set.")


def _crew_message(booking: Booking, kind: str, *, member: User, by: User | None) -> Message:
    ref, set_name = booking.reference, booking.studio_set.name
    names = {"ref": ref, "set": set_name}
    checklist_title, checklist = "", []
    items = list(booking.items.all())  # prefetched by the sweep; one query otherwise
    facts = _facts(booking, items)
    if kind == Kind.BOOKING_REQUESTED:
        subject = _("Request received: %(set)s (%(ref)s)") % names
        paragraphs = [
            _(
                "We have received your request %(ref)s for %(set)s. The set and equipment are held for "
                "you while the booking desk reviews it, and we will email you as soon as it is "
                "confirmed or rejected."
            )
            % names
        ]
        facts = _facts(booking, items, hold=True)
    elif kind == Kind.BOOKING_CONFIRMED:
        subject = _("Booking confirmed: %(set)s (%(ref)s)") % names
        paragraphs = [
            _("Good news: booking %(ref)s is confirmed, and %(set)s is yours on these days.") % names
        ]
    elif kind == Kind.BOOKING_REJECTED:
        subject = _("Request not accepted: %(set)s (%(ref)s)") % names
        paragraphs = [
            _(
                "The booking desk could not accept your request %(ref)s for %(set)s. The days and the "
                "equipment are free again; you are welcome to request other dates or another set."
            )
            % names
        ]
    elif kind == Kind.BOOKING_CANCELLED:
        subject = _("Booking cancelled: %(set)s (%(ref)s)") % names
        if by is not None and by.crew_id != booking.crew_id:
            text = _("The studio has cancelled booking %(ref)s for %(set)s. Please call the booking desk.")
        else:
            text = _(
                "%(name)s cancelled booking %(ref)s for %(set)s. The days are free again, and the "
                "booking stays in your list as cancelled."
            )
        who = (by.get_full_name() or by.email) if by else _("Someone in your crew")
        paragraphs = [text % {**names, "name": who}]
    elif kind == Kind.BOOKING_HOLD_EXPIRING:
        subject = _("Your hold ends soon: %(set)s (%(ref)s)") % names
        paragraphs = [
            _(
                "Your request %(ref)s for %(set)s has not been confirmed yet, and its hold ends at "
                "%(until)s. The booking desk usually decides before then; if the shoot is urgent, "
                "please call them."
            )
            % {**names, "until": studio_time(booking.hold_expires_at)}
        ]
        facts = _facts(booking, items, hold=True)
    elif kind == Kind.BOOKING_HOLD_EXPIRED:
        subject = _("Hold expired: %(set)s (%(ref)s)") % names
        paragraphs = [
            _(
                "Your request %(ref)s for %(set)s was not confirmed before its hold ended, so the set "
                "and the equipment are free again. Request them again if you still need them."
            )
            % names
        ]
    elif kind == Kind.BOOKING_REMINDER_START:
        subject = _("Your shoot starts on %(date)s: %(set)s (%(ref)s)") % {
            **names,
            "date": studio_date(booking.start_date),
        }
        paragraphs = [
            _("Your shoot on %(set)s starts on %(date)s. Here is what you need for the first day.")
            % {**names, "date": studio_date(booking.start_date)}
        ]
        checklist_title = _("Before you arrive")
        checklist = [
            _where_to_go(booking),
            _("The set is yours from %(when)s.") % {"when": studio_time(booking.starts_at)},
        ]
        if items:
            checklist.append(
                _(
                    "Equipment pick-up: the equipment store, from %(time)s on %(date)s. Quote %(ref)s "
                    "and bring an ID for the person collecting: %(items)s."
                )
                % {
                    **names,
                    "time": time_format(SHOOT_DAY_STARTS, "TIME_FORMAT"),
                    "date": studio_date(booking.start_date),
                    "items": _equipment_text(items),
                }
            )
        checklist.append(
            _("Keep the booking reference %(ref)s at hand for the gate and the set staff.") % names
        )
    elif kind == Kind.BOOKING_REMINDER_END:
        subject = _("Last shoot day today: %(set)s (%(ref)s)") % names
        paragraphs = [
            _("Today, %(date)s, is the last shoot day of %(ref)s on %(set)s.")
            % {**names, "date": studio_date(booking.end_date)}
        ]
        checklist_title = _("Before you leave")
        if items:
            checklist.append(
                _(
                    "Return all equipment to the equipment store by the end of today, quoting %(ref)s: "
                    "%(items)s. Report anything damaged or missing there."
                )
                % {**names, "items": _equipment_text(items)}
            )
        checklist.append(_("Clear your props and rubbish from the set; the studio resets it after you."))
    else:
        raise ValueError(f"Not a crew booking notification: {kind}")
    return Message(
        subject=subject,
        greeting=_("Hello %(name)s,") % {"name": member.first_name or member.email},
        paragraphs=paragraphs,
        facts=facts,
        checklist_title=checklist_title,
        checklist=checklist,
        link_label=_("See the booking"),
        link_url=absolute_url(booking.get_absolute_url()),
        signature=_("Hengdian World Studios — Booking desk"),
    )


def _staff_message(booking: Booking, kind: str) -> Message:
    names = {"ref": booking.reference, "set": booking.studio_set.name, "crew": booking.crew.name}
    if kind == Kind.BOOKING_REQUESTED:
        subject = _("New request %(ref)s: %(set)s for %(crew)s") % names
        paragraph = _(
            "%(crew)s asks for %(set)s (%(ref)s). The set and equipment are held until the time below; "
            "please confirm or reject the request before then."
        )
    else:
        subject = _("Decide soon: %(ref)s for %(crew)s") % names
        paragraph = _(
            "The request %(ref)s from %(crew)s for %(set)s is still waiting for a decision. Its hold "
            "ends at the time below, and then the days go back on sale."
        )
    return Message(
        subject=subject,
        greeting=_("Hello,"),
        paragraphs=[paragraph % names],
        facts=[(_("Crew"), booking.crew.name), *_facts(booking, list(booking.items.all()), hold=True)],
        link_label=_("Open the request in the admin"),
        link_url=absolute_url(reverse("admin:bookings_booking_change", args=[booking.pk])),
        signature=_("Hengdian Studio Booking"),
    )
