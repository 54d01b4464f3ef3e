"""Emails to crews, account holders and the booking desk, rendered in each recipient's language.

Every message goes through the outbox (:mod:`bookings.notifications`): call
:func:`booking_notify` or :func:`account_notify` inside the transaction that
records the event. Account emails that carry a set-password link hold
``SEND_TIME_LINK`` in its place; the link is made when the email is sent and
is never stored, because staff can read the outbox.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import SHOOT_DAY_STARTS, Booking, Crew, Notification, User
from .money import format_cny
from .notifications import (
    SEND_TIME_LINK,
    Message,
    absolute_url,
    notification_queue_message,
    studio_date,
    studio_time,
)

Kind = Notification.Kind

# Kinds the booking desk receives as well as the crew.
# What the booking desk is told too: a new request, a hold about to run out, and a crew's own
# cancellation (the days are free again; a cancellation by staff needs no telling).
STAFF_KINDS = {Kind.BOOKING_REQUESTED, Kind.BOOKING_HOLD_EXPIRING, Kind.BOOKING_CANCELLED}

# Kinds about an account, each sent at most once per account in this interval:
# the forms that cause them are open to anyone, and must not become a way to
# flood someone's inbox.
ACCOUNT_KINDS = {
    Kind.ACCOUNT_SIGNUP,
    Kind.ACCOUNT_SIGNUP_EXISTING,
    Kind.ACCOUNT_INVITATION,
    Kind.ACCOUNT_ADD_EXISTING,
    Kind.PASSWORD_RESET,
}
ACCOUNT_EMAIL_INTERVAL = timedelta(minutes=10)


# --- Account emails -------------------------------------------------------------


class AccountEmailThrottled(Exception):
    """The same account email went out less than ACCOUNT_EMAIL_INTERVAL ago."""

    def __init__(self, *, next_allowed_at: datetime):
        super().__init__(f"Not again before {next_allowed_at.isoformat()}.")
        self.next_allowed_at = next_allowed_at


def account_email_last_queued(*, account: User, kind: str) -> datetime | None:
    return (
        Notification.objects.filter(account=account, kind=kind)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def account_notify(
    *,
    account: User,
    kind: str,
    now: datetime,
    by: User | None = None,
    crew: Crew | None = None,
) -> Notification:
    """Queue ``kind`` for ``account``, in its language, to its address.

    ``by`` is who caused it (the owner adding a member), ``crew`` the crew
    that tried to add an address that already has an account. Call inside the
    transaction of the event. Raises :class:`AccountEmailThrottled` if the
    same kind went to this account less than ACCOUNT_EMAIL_INTERVAL ago.
    """
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"Not an account notification: {kind}")
    # Locking the account serialises requests about it, so two at once cannot both pass the check.
    list(User.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))
    last = account_email_last_queued(account=account, kind=kind)
    if last is not None and last > now - ACCOUNT_EMAIL_INTERVAL:
        raise AccountEmailThrottled(next_allowed_at=last + ACCOUNT_EMAIL_INTERVAL)
    notification = notification_queue_message(
        kind=kind,
        recipient=account.email,
        language=account.language,
        dedupe_key=f"account:{account.pk}:{kind.removeprefix('account-')}:{now:%Y%m%dT%H%M%S.%f}",
        build=lambda: _account_message(account, kind, by=by, crew=crew),
        account=account,
    )
    if notification is None:  # the same account, kind and microsecond: the lock makes this a bug
        raise RuntimeError("An account email with this key was already queued.")
    return notification


def _valid_days_text() -> str:
    days = max(settings.PASSWORD_RESET_TIMEOUT // 86400, 1)
    return ngettext(
        "The link works once, for %(days)d day.", "The link works once, for %(days)d days.", days
    ) % {"days": days}


def _account_message(account: User, kind: str, *, by: User | None, crew: Crew | None) -> Message:
    site = _("Hengdian Studio Booking")
    login_url = absolute_url(reverse("login"))
    reset_url = absolute_url(reverse("password_reset"))
    link_label, link_url, footnote = _("Choose your password"), SEND_TIME_LINK, _valid_days_text()
    own_crew = account.crew.name if account.crew_id else ""
    if kind == Kind.ACCOUNT_SIGNUP:
        subject = _("Choose your password to finish creating your account")
        paragraphs = [
            _(
                "Thank you for creating an account for %(crew)s on %(site)s, where crews book sets and "
                "equipment at Hengdian World Studios."
            )
            % {"crew": own_crew, "site": site},
            _("To finish, choose your password with the link below; you are then logged in."),
            _("If you did not sign up, ignore this email: without a password nobody can use the account."),
        ]
    elif kind == Kind.ACCOUNT_INVITATION:
        names = {"crew": own_crew, "site": site, "name": (by.get_full_name() or by.email) if by else ""}
        subject = _("You were added to %(crew)s on %(site)s") % names
        paragraphs = [
            (
                _(
                    "The booking desk of Hengdian World Studios opened an account for %(crew)s on %(site)s, "
                    "where your crew books sets and equipment, and made you its owner."
                )
                if by is not None and by.crew_id != account.crew_id
                else _(
                    "%(name)s added you to the crew %(crew)s on %(site)s, where your crew books sets and "
                    "equipment at Hengdian World Studios."
                )
                if by
                else _(
                    "You were added to the crew %(crew)s on %(site)s, where your crew books sets and "
                    "equipment at Hengdian World Studios."
                )
            )
            % names,
            _("Choose your password with the link below; you are then logged in with this email address."),
        ]
    elif kind == Kind.PASSWORD_RESET:
        subject = _("Choose a new password for %(site)s") % {"site": site}
        paragraphs = [
            _("Someone asked to reset the password for %(email)s on %(site)s.")
            % {"email": account.email, "site": site},
            _("Choose a new password with the link below."),
            _("If it was not you, ignore this email; your password stays as it is."),
        ]
        link_label = _("Choose a new password")
    elif kind == Kind.ACCOUNT_SIGNUP_EXISTING:
        subject = _("Someone tried to sign up with your email address")
        paragraphs = [
            _(
                "Someone, probably you, tried to create a new crew account on %(site)s with this email "
                "address. It already has an account, so nothing was created or changed."
            )
            % {"site": site},
            _("Log in with this address. If you have forgotten your password, choose a new one at %(url)s.")
            % {"url": reset_url},
            _("An email address belongs to one account; to sign up another company, use another address."),
        ]
        link_label, link_url, footnote = _("Log in"), login_url, ""
    elif kind == Kind.ACCOUNT_ADD_EXISTING:
        names = {
            "crew": crew.name if crew else "",
            "site": site,
            "name": (by.get_full_name() or by.email) if by else "",
        }
        subject = _("%(crew)s tried to add you on %(site)s") % names
        if crew is not None and account.crew_id == crew.pk:
            situation = _("You are already a member of %(crew)s, so nothing was changed.") % names
        else:
            situation = (
                _(
                    "This address already has an account, and an email address belongs to one account only, "
                    "so nothing was changed. To join %(crew)s, ask them to add another address of yours."
                )
                % names
            )
        paragraphs = [
            _("%(name)s tried to add this email address to the crew %(crew)s on %(site)s.") % names,
            situation,
            _("If you have forgotten your password, choose a new one at %(url)s.") % {"url": reset_url},
        ]
        link_label, link_url, footnote = _("Log in"), login_url, ""
    else:
        raise ValueError(f"Not an account notification: {kind}")
    return Message(
        subject=subject,
        greeting=_("Hello %(name)s,") % {"name": account.first_name or account.email},
        paragraphs=paragraphs,
        link_label=link_label,
        link_url=link_url,
        footnote=footnote,
        signature=_("Hengdian World Studios — Booking desk"),
    )


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
    if kind in STAFF_KINDS and not (kind == Kind.BOOKING_CANCELLED and (by is None or by.is_staff)):
        for address, language in _staff_recipients():
            digest = hashlib.sha256(address.encode()).hexdigest()[:16]
            queued += bool(
                notification_queue_message(
                    kind=Kind.BOOKING_REQUEST_RECEIVED if kind == Kind.BOOKING_REQUESTED else kind,
                    recipient=address,
                    language=language,
                    dedupe_key=f"booking:{booking.pk}:{_short(kind)}:staff:{digest}",
                    build=lambda: _staff_message(booking, kind, by=by),
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
        (_("Quoted total"), format_cny(booking.quote_total)),
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
    if kind == Kind.BOOKING_REQUESTED and booking.by_desk:
        subject = _("Booked for you by the booking desk: %(set)s (%(ref)s)") % names
        paragraphs = [
            _(
                "The booking desk has requested %(set)s for you (%(ref)s). The set and equipment are held "
                "for you until the request is confirmed, and we will email you as soon as it is confirmed "
                "or rejected. If anything below is not what you agreed, please call the booking desk."
            )
            % names
        ]
        facts = _facts(booking, items, hold=True)
    elif kind == Kind.BOOKING_REQUESTED:
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


def _staff_message(booking: Booking, kind: str, *, by: User | None = None) -> Message:
    names = {"ref": booking.reference, "set": booking.studio_set.name, "crew": booking.crew.name}
    facts = [(_("Crew"), booking.crew.name)]
    if kind == Kind.BOOKING_CANCELLED:
        subject = _("Cancelled by the crew: %(ref)s for %(crew)s") % names
        paragraph = _(
            "%(crew)s has cancelled %(ref)s for %(set)s. Its days and equipment are free again for other "
            "crews; nothing needs doing unless you want to follow up."
        )
        if by is not None:
            facts.append((_("Cancelled by"), by.get_full_name() or by.email))
        facts += _facts(booking, list(booking.items.all()))
    elif kind == Kind.BOOKING_REQUESTED:
        subject = _("New request %(ref)s: %(set)s for %(crew)s") % names
        paragraph = _(
            "%(crew)s asks for %(set)s (%(ref)s). The set and equipment are held until the time below; "
            "please confirm or reject the request before then."
        )
        if booking.by_desk:
            paragraph = _(
                "%(name)s of the booking desk requested %(set)s (%(ref)s) for %(crew)s. The set and "
                "equipment are held until the time below; please confirm or reject the request before then."
            )
            names["name"] = (by.get_full_name() or by.email) if by else _("Someone")
    else:
        subject = _("Decide soon: %(ref)s for %(crew)s") % names
        paragraph = _(
            "The request %(ref)s from %(crew)s for %(set)s is still waiting for a decision. Its hold "
            "ends at the time below, and then the days go back on sale."
        )
    if kind != Kind.BOOKING_CANCELLED:
        facts += _facts(booking, list(booking.items.all()), hold=True)
    return Message(
        subject=subject,
        greeting=_("Hello,"),
        paragraphs=[paragraph % names],
        facts=facts,
        link_label=_("Open the booking in the admin")
        if kind == Kind.BOOKING_CANCELLED
        else _("Open the request in the admin"),
        link_url=absolute_url(reverse("admin:bookings_booking_change", args=[booking.pk])),
        signature=_("Hengdian Studio Booking"),
    )
