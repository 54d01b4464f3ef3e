"""Emails to crews, account holders and the booking desk, rendered in each recipient's language.

Every message goes through the outbox (:mod:`bookings.notifications`): call
:func:`booking_notify` or :func:`account_notify` inside the transaction that
records the event. Account emails that carry a set-password link hold
``SEND_TIME_LINK`` in its place; the link is made when the email is sent and
is never stored, because staff can read the outbox.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.formats import time_format
from django.utils.http import urlencode
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from .models import SHOOT_DAY_STARTS, Booking, Crew, Notification, ShootPlan, User
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
# A crew's change (of a request, or asked for a confirmed booking) needs the desk's eyes too.
STAFF_KINDS = {
    Kind.BOOKING_REQUESTED,
    Kind.BOOKING_HOLD_EXPIRING,
    Kind.BOOKING_CANCELLED,
    Kind.BOOKING_CHANGED,
    Kind.BOOKING_CHANGE_REQUESTED,
}
# Kinds about a proposed change: ``booking`` is the change's own row, one per change.
CHANGE_KINDS = {
    Kind.BOOKING_CHANGE_REQUESTED,
    Kind.BOOKING_CHANGE_APPROVED,
    Kind.BOOKING_CHANGE_REFUSED,
    Kind.BOOKING_CHANGE_LAPSED,
}

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


def reminder_day(subject: Booking | ShootPlan, kind: str) -> date | None:
    """The shoot day a reminder about ``subject`` (a booking or a whole plan) is about, else None."""
    if kind in (Kind.BOOKING_REMINDER_START, Kind.PLAN_REMINDER_START):
        return subject.start_date
    if kind in (Kind.BOOKING_REMINDER_END, Kind.PLAN_REMINDER_END):
        return subject.end_date
    return None


def _crew_recipients(booking: Booking) -> list[User]:
    members = getattr(booking.crew, "active_members", None)  # prefetched by the sweep
    if members is None:
        members = list(booking.crew.members.filter(is_active=True).order_by("pk"))
    return members


def _recipients(setting: list[str]) -> list[tuple[str, str]]:
    """(address, language) for a setting's staff addresses; a staff user's own language where known."""
    addresses = [a.strip().lower() for a in setting if a.strip()]
    if not addresses:
        return []
    languages = dict(User.objects.filter(email__in=addresses).values_list("email", "language"))
    return [(a, languages.get(a, settings.LANGUAGE_CODE)) for a in addresses]


def _staff_recipients() -> list[tuple[str, str]]:
    """The booking desk's addresses (``STAFF_NOTIFICATION_EMAILS``)."""
    return _recipients(settings.STAFF_NOTIFICATION_EMAILS)


def _short(kind: str) -> str:
    return kind.removeprefix("booking-")


def booking_notify(*, booking: Booking, kind: str, by: User | None = None) -> int:
    """Queue ``kind`` for every active member of the booking's crew (and the desk, for some kinds).

    Call inside the transaction that records the event. Each recipient gets
    at most one message per booking and kind, however often this runs.
    Returns how many messages were queued.
    """
    queued = 0
    event = f"booking:{booking.pk}:{_short(kind)}"
    if kind == Kind.BOOKING_CHANGED:  # a request can be changed again and again: one email each time
        event += f":{booking.updated_at:%Y%m%dT%H%M%S.%f}"
    about = reminder_day(booking, kind)
    if about is not None:  # once per shoot day it is about: a shoot moved or extended is told again
        event += f":{about:%Y%m%d}"
    queued += _crew_event_notify(
        booking=booking,
        kind=kind,
        event=event,
        build=lambda member: _crew_message(booking, kind, member=member, by=by),
        about_date=about,
    )
    if kind in STAFF_KINDS and not (kind == Kind.BOOKING_CANCELLED and (by is None or by.is_staff)):
        for address, language in _staff_recipients():
            digest = hashlib.sha256(address.encode()).hexdigest()[:16]
            queued += bool(
                notification_queue_message(
                    kind=Kind.BOOKING_REQUEST_RECEIVED if kind == Kind.BOOKING_REQUESTED else kind,
                    recipient=address,
                    language=language,
                    dedupe_key=f"{event}:staff:{digest}",
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


def cancellation_fee_text(booking: Booking) -> str:
    """The stored cancellation fee as the crew reads it: amount and share, free, or waived."""
    if booking.cancellation_fee_waived:
        return _("Waived by the booking desk: %(reason)s") % {
            "reason": booking.cancellation_fee_waiver_reason
        }
    if not booking.cancellation_fee:
        return _("No fee")
    return _("%(amount)s (%(percent)s %% of the quoted total)") % {
        "amount": format_cny(booking.cancellation_fee),
        "percent": booking.cancellation_fee_percent or 0,
    }


def _cancellation_facts(booking: Booking) -> list[tuple[str, str]]:
    facts = []
    if booking.cancellation_reason:
        facts.append((_("Reason"), booking.cancellation_reason))
    if booking.cancellation_fee is not None:
        facts.append((_("Cancellation fee"), cancellation_fee_text(booking)))
    return facts


def _where_to_go(booking: Booking) -> str:
    if booking.studio_set.location:
        return _("Go to: %(place)s.") % {"place": booking.studio_set.location}
    return _("Report to the booking desk at the studio's service centre; staff will take you to the set.")


def _change_facts(change: Booking, items: list) -> list[tuple[str, str]]:
    """A proposed change (or a changed request): what it asks for, and what it was before."""
    booking = change.change_of or change
    facts = [
        (_("Reference"), booking.reference),
        (_("Set"), change.studio_set.name),
        (_("Shoot days"), _days_text(change)),
        (_("Equipment"), _equipment_text(items) if items else _("none")),
        (_("Quoted total"), format_cny(change.quote_total)),
    ]
    if change.previous_quote_total is not None:
        facts.append((_("Quoted total before the change"), format_cny(change.previous_quote_total)))
    if change.change_of_id is not None and change.status == Booking.Status.CHANGE:
        facts.append((_("Held until the desk decides"), _("yes, beside your booking")))
    return facts


def _change_message(change: Booking, kind: str, *, member: User, by: User | None) -> Message:
    booking = change.change_of
    names = {"ref": booking.reference, "set": change.studio_set.name}
    facts = _change_facts(change, list(change.items.all()))
    if kind == Kind.BOOKING_CHANGE_REQUESTED:
        subject = _("Change received: %(ref)s") % names
        paragraphs = [
            _(
                "We have received the change to booking %(ref)s. Your booking stays exactly as it is, and "
                "the days and equipment below are held beside it until the booking desk decides; we will "
                "email you as soon as it does."
            )
            % names
        ]
    elif kind == Kind.BOOKING_CHANGE_APPROVED:
        subject = _("Change approved: %(set)s (%(ref)s)") % names
        paragraphs = [
            _("The booking desk approved the change to %(ref)s. Your booking now holds what is below.")
            % names
        ]
    elif kind == Kind.BOOKING_CHANGE_LAPSED:
        subject = _("Change not decided in time: %(ref)s") % names
        paragraphs = [
            _(
                "The booking desk did not decide on the change to %(ref)s before the day it was for. Your "
                "booking stays as it was, and the days asked for are free again; please call the booking "
                "desk if you still need them."
            )
            % names
        ]
    else:
        subject = _("Change not approved: %(ref)s") % names
        paragraphs = [
            _(
                "The booking desk could not approve the change to %(ref)s. Your booking stays as it was, "
                "and the days asked for are free again."
            )
            % names
        ]
    if change.change_reason:
        facts.append((_("Reason"), change.change_reason))
    return Message(
        subject=subject,
        greeting=_("Hello %(name)s,") % {"name": member.first_name or member.email},
        paragraphs=paragraphs,
        facts=facts,
        link_label=_("See the booking"),
        link_url=absolute_url(booking.get_absolute_url()),
        signature=_("Hengdian World Studios — Booking desk"),
    )


def _crew_message(booking: Booking, kind: str, *, member: User, by: User | None) -> Message:
    if kind in CHANGE_KINDS:
        return _change_message(booking, kind, member=member, by=by)
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
    elif kind == Kind.BOOKING_CHANGED:
        subject = _("Request changed: %(set)s (%(ref)s)") % names
        who = (by.get_full_name() or by.email) if by else _("Someone in your crew")
        paragraphs = [
            _(
                "%(name)s changed your request %(ref)s. It is still held for you until the time below "
                "while the booking desk reviews it."
            )
            % {**names, "name": who}
        ]
        facts = _change_facts(booking, items)
        if booking.hold_expires_at:
            facts.append((_("Held until"), studio_time(booking.hold_expires_at)))
    elif kind == Kind.BOOKING_CONFIRMED:
        subject = _("Booking confirmed: %(set)s (%(ref)s)") % names
        paragraphs = [
            _("Good news: booking %(ref)s is confirmed, and %(set)s is yours on these days.") % names
        ]
        if booking.decision_reason:
            facts.append((_("Note from the booking desk"), booking.decision_reason))
    elif kind == Kind.BOOKING_REJECTED:
        subject = _("Request not accepted: %(set)s (%(ref)s)") % names
        paragraphs = [
            _(
                "The booking desk could not accept your request %(ref)s for %(set)s. The days and the "
                "equipment are free again; you are welcome to request other dates or another set."
            )
            % names
        ]
        if booking.decision_reason:
            facts.insert(0, (_("Reason"), booking.decision_reason))
    elif kind == Kind.BOOKING_CANCELLED:
        subject = _("Booking cancelled: %(set)s (%(ref)s)") % names
        if by is None or by.crew_id != booking.crew_id:
            text = _("The studio has cancelled booking %(ref)s for %(set)s. Please call the booking desk.")
        else:
            text = _(
                "%(name)s cancelled booking %(ref)s for %(set)s. The days are free again, and the "
                "booking stays in your list as cancelled."
            )
        who = (by.get_full_name() or by.email) if by else _("Someone in your crew")
        paragraphs = [text % {**names, "name": who}]
        facts = [*_cancellation_facts(booking), *facts]
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
    if kind in (Kind.BOOKING_CHANGED, Kind.BOOKING_CHANGE_REQUESTED):
        return _staff_change_message(booking, kind, by=by)
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
        facts += _cancellation_facts(booking)
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


def _staff_change_message(change: Booking, kind: str, *, by: User | None) -> Message:
    booking = change.change_of or change
    names = {"ref": booking.reference, "crew": booking.crew.name}
    facts = [(_("Crew"), booking.crew.name)]
    if by is not None:
        facts.append((_("Asked by"), by.get_full_name() or by.email))
    facts += _change_facts(change, list(change.items.all()))
    if kind == Kind.BOOKING_CHANGE_REQUESTED:
        subject = _("Change asked for: %(ref)s for %(crew)s") % names
        paragraph = _(
            "%(crew)s asks to change the confirmed booking %(ref)s. The booking keeps its days until you "
            "decide, and the change holds the days and equipment below; please approve or refuse it."
        )
        facts.insert(1, (_("Booked now"), f"{booking.studio_set.name}, {_days_text(booking)}"))
    else:
        subject = _("Request changed: %(ref)s for %(crew)s") % names
        paragraph = _("%(crew)s changed its request %(ref)s; it now asks for what is below.")
        if change.hold_expires_at:
            facts.append((_("Held until"), studio_time(change.hold_expires_at)))
    return Message(
        subject=subject,
        greeting=_("Hello,"),
        paragraphs=[paragraph % names],
        facts=facts,
        link_label=_("Open the booking in the admin"),
        link_url=absolute_url(reverse("admin:bookings_booking_change", args=[booking.pk])),
        signature=_("Hengdian Studio Booking"),
    )


# --- Shoot plan notifications: one email per plan and event -------------------------

# What the booking desk is told about a plan as well as the crew.
PLAN_STAFF_KINDS = {Kind.PLAN_REQUESTED, Kind.PLAN_HOLD_EXPIRING}
PLAN_KINDS = {
    Kind.PLAN_REQUESTED,
    Kind.PLAN_CONFIRMED,
    Kind.PLAN_REJECTED,
    Kind.PLAN_HOLD_EXPIRING,
    Kind.PLAN_HOLD_EXPIRED,
    Kind.PLAN_REMINDER_START,
    Kind.PLAN_REMINDER_END,
}
# The per-booking kind a plan-wide event replaces, for a plan of several parts.
PLAN_KIND_FOR = {
    Kind.BOOKING_REQUESTED: Kind.PLAN_REQUESTED,
    Kind.BOOKING_CONFIRMED: Kind.PLAN_CONFIRMED,
    Kind.BOOKING_REJECTED: Kind.PLAN_REJECTED,
    Kind.BOOKING_HOLD_EXPIRING: Kind.PLAN_HOLD_EXPIRING,
    Kind.BOOKING_HOLD_EXPIRED: Kind.PLAN_HOLD_EXPIRED,
    Kind.BOOKING_REMINDER_START: Kind.PLAN_REMINDER_START,
    Kind.BOOKING_REMINDER_END: Kind.PLAN_REMINDER_END,
}


@dataclass(frozen=True)
class PlanPart:
    """One part of a plan as its emails list it."""

    title: str
    lines: Sequence[str]


@dataclass(frozen=True)
class PlanMessage(Message):
    parts_title: str = ""
    parts: Sequence[PlanPart] = ()


def is_plan_of_parts(plan: ShootPlan) -> bool:
    """A plan whose events are told per plan: several sets, or equipment for the whole plan.

    A plan of one set and its own equipment reads as that booking, and keeps its emails.
    """
    parts, lines = (
        ShootPlan.objects.filter(pk=plan.pk)
        .annotate(
            # A change waiting beside a booking is not a part of the plan.
            parts=Count("bookings", filter=Q(bookings__change_of__isnull=True), distinct=True),
            lines=Count("items", distinct=True),
        )
        .values_list("parts", "lines")
        .get()
    )
    return parts > 1 or lines > 0


def _plan_for_notice(plan: ShootPlan) -> ShootPlan:
    from .selectors import plans_for_notice

    return plans_for_notice().get(pk=plan.pk)


def plan_notify(
    *, plan: ShootPlan, kind: str, by: User | None = None, reason: str = "", about_date: date | None = None
) -> int:
    """Queue ``kind`` about the whole ``plan`` for every active member of its crew (and the desk,
    for a new request and a hold running out): one email per plan, event and recipient.

    Call inside the transaction that records the event, after the parts' statuses are
    saved (the email lists them as they are then). ``reason`` is the desk's word on a
    confirmation or rejection, shown to the crew. Returns how many messages were queued.
    """
    if kind not in PLAN_KINDS:
        raise ValueError(f"Not a shoot plan notification: {kind}")
    plan = _plan_for_notice(plan)
    short = kind.removeprefix("plan-")
    about = about_date or reminder_day(plan, kind)
    if about is not None:  # once per shoot day it is about, as for a booking
        short += f":{about:%Y%m%d}"
    queued = 0
    for member in plan.crew.active_members:
        queued += bool(
            notification_queue_message(
                kind=kind,
                recipient=member.email,
                language=member.language,
                dedupe_key=f"plan:{plan.pk}:{short}:user:{member.pk}",
                build=lambda member=member: _plan_crew_message(plan, kind, member=member, reason=reason),
                plan=plan,
                template="emails/plan",
                about_date=about,
            )
        )
    if kind in PLAN_STAFF_KINDS:
        for address, language in _staff_recipients():
            digest = hashlib.sha256(address.encode()).hexdigest()[:16]
            queued += bool(
                notification_queue_message(
                    kind=Kind.PLAN_REQUEST_RECEIVED if kind == Kind.PLAN_REQUESTED else kind,
                    recipient=address,
                    language=language,
                    dedupe_key=f"plan:{plan.pk}:{short}:staff:{digest}",
                    build=lambda: _plan_staff_message(plan, kind),
                    plan=plan,
                    template="emails/plan",
                )
            )
    return queued


def _plan_parts(plan: ShootPlan) -> list[PlanPart]:
    parts = []
    for booking in plan.parts:
        lines = [
            _("%(ref)s · %(status)s · %(total)s")
            % {
                "ref": booking.reference,
                "status": booking.get_status_display(),
                "total": format_cny(booking.quote_total),
            }
        ]
        items = list(booking.items.all())
        if items:
            lines.append(_("Equipment for this set: %(items)s") % {"items": _equipment_text(items)})
        parts.append(PlanPart(title=f"{booking.studio_set.name} — {_days_text(booking)}", lines=lines))
    plan_items = list(plan.items.all())
    if plan_items:
        days = len({day for b in plan.parts for day in b.days.dates()})
        parts.append(
            PlanPart(
                title=_("Equipment for the whole plan"),
                lines=[
                    ngettext(
                        "%(items)s, held once on each of %(count)d shoot day",
                        "%(items)s, held once on each of %(count)d shoot days",
                        days,
                    )
                    % {"items": _equipment_text(plan_items), "count": days}
                ],
            )
        )
    return parts


def _plan_facts(plan: ShootPlan, *, hold: bool = False) -> list[tuple[str, str]]:
    facts = [
        (_("Reference"), plan.reference),
        (_("Shoot days"), f"{studio_date(plan.start_date)} – {studio_date(plan.end_date)}"),
        (_("Status"), plan.get_status_display()),
        (_("Quoted total"), format_cny(plan.quote_total)),
    ]
    holds = [b.hold_expires_at for b in plan.parts if b.hold_expires_at]
    if hold and holds:
        facts.append((_("Held until"), studio_time(min(holds))))
    return facts


def _plan_crew_message(plan: ShootPlan, kind: str, *, member: User, reason: str) -> PlanMessage:
    names = {"ref": plan.reference, "count": len(plan.parts)}
    facts = _plan_facts(plan)
    checklist_title, checklist = "", []
    if kind == Kind.PLAN_REQUESTED:
        subject = _("Request received: shoot plan %(ref)s") % names
        paragraphs = [
            _(
                "We have received your shoot plan %(ref)s. Its sets and equipment are held for you while "
                "the booking desk reviews it, and we will email you as soon as it is decided."
            )
            % names
        ]
        facts = _plan_facts(plan, hold=True)
    elif kind == Kind.PLAN_CONFIRMED:
        subject = _("Shoot plan confirmed: %(ref)s") % names
        paragraphs = [
            _("Good news: your shoot plan %(ref)s is confirmed, every set on the days below.") % names
        ]
    elif kind == Kind.PLAN_REJECTED:
        subject = _("Shoot plan not accepted: %(ref)s") % names
        paragraphs = [
            _(
                "The booking desk could not accept your shoot plan %(ref)s. Its days and equipment are free "
                "again; you are welcome to request other dates or other sets."
            )
            % names
        ]
    elif kind == Kind.PLAN_HOLD_EXPIRING:
        subject = _("Your hold ends soon: shoot plan %(ref)s") % names
        paragraphs = [
            _(
                "Your shoot plan %(ref)s has not been confirmed yet, and its hold ends at the time below. "
                "The booking desk usually decides before then; if the shoot is urgent, please call them."
            )
            % names
        ]
        facts = _plan_facts(plan, hold=True)
    elif kind == Kind.PLAN_HOLD_EXPIRED:
        subject = _("Hold expired: shoot plan %(ref)s") % names
        paragraphs = [
            _(
                "Your shoot plan %(ref)s was not confirmed before its hold ended, so its sets and equipment "
                "are free again. Use Book again on the plan's page if you still need them."
            )
            % names
        ]
    elif kind == Kind.PLAN_REMINDER_START:
        subject = _("Your shoot starts on %(date)s: shoot plan %(ref)s") % {
            **names,
            "date": studio_date(plan.start_date),
        }
        paragraphs = [
            _("Your shoot plan %(ref)s starts on %(date)s. Its sets and days are below.")
            % {**names, "date": studio_date(plan.start_date)}
        ]
        checklist_title = _("Before you arrive")
        checklist = [
            _(
                "Equipment pick-up: the equipment store, from %(time)s on each set's first day. Quote the "
                "booking reference and bring an ID for the person collecting."
            )
            % {"time": time_format(SHOOT_DAY_STARTS, "TIME_FORMAT")}
        ]
    elif kind == Kind.PLAN_REMINDER_END:
        subject = _("Last shoot day today: shoot plan %(ref)s") % names
        paragraphs = [
            _("Today, %(date)s, is the last shoot day of %(ref)s.")
            % {**names, "date": studio_date(plan.end_date)}
        ]
        checklist_title = _("Before you leave")
        checklist = [
            _(
                "Return all equipment to the equipment store by the end of today. Report anything damaged or missing there."
            ),
            _("Clear your props and rubbish from the sets; the studio resets them after you."),
        ]
    else:
        raise ValueError(f"Not a crew shoot plan notification: {kind}")
    if reason and kind in (Kind.PLAN_CONFIRMED, Kind.PLAN_REJECTED):
        paragraphs.append(_("The booking desk says: %(reason)s") % {"reason": reason})
    return PlanMessage(
        subject=subject,
        greeting=_("Hello %(name)s,") % {"name": member.first_name or member.email},
        paragraphs=paragraphs,
        facts=facts,
        checklist_title=checklist_title,
        checklist=checklist,
        parts_title=_("Sets and equipment"),
        parts=_plan_parts(plan),
        link_label=_("See the shoot plan"),
        link_url=absolute_url(plan.get_absolute_url()),
        signature=_("Hengdian World Studios — Booking desk"),
    )


def _plan_staff_message(plan: ShootPlan, kind: str) -> PlanMessage:
    names = {"ref": plan.reference, "crew": plan.crew.name}
    if kind == Kind.PLAN_REQUESTED:
        subject = _("New shoot plan %(ref)s for %(crew)s") % names
        paragraph = _(
            "%(crew)s asks for the shoot plan %(ref)s below. Its sets and equipment are held until the time "
            "below; please decide before then."
        )
    else:
        subject = _("Decide soon: shoot plan %(ref)s for %(crew)s") % names
        paragraph = _(
            "The shoot plan %(ref)s from %(crew)s is still waiting for a decision. Its hold ends at the time "
            "below, and then the days go back on sale."
        )
    return PlanMessage(
        subject=subject,
        greeting=_("Hello,"),
        paragraphs=[paragraph % names],
        facts=[(_("Crew"), plan.crew.name), *_plan_facts(plan, hold=True)],
        parts_title=_("Sets and equipment"),
        parts=_plan_parts(plan),
        link_label=_("Open the requests in the admin"),
        link_url=absolute_url(
            reverse("admin:bookings_booking_changelist") + "?" + urlencode({"q": plan.reference})
        ),
        signature=_("Hengdian Studio Booking"),
    )


# --- The equipment store ---------------------------------------------------------


def _store_recipients() -> list[tuple[str, str]]:
    """The equipment store's addresses (``EQUIPMENT_STORE_EMAILS``), else the booking desk's."""
    return _recipients(settings.EQUIPMENT_STORE_EMAILS) or _staff_recipients()


def _queue_for_staff(recipients: Sequence[tuple[str, str]], *, kind: str, event: str, build, **about) -> int:
    """One message about ``event`` to each staff address, in its language; once per address."""
    queued = 0
    for address, language in recipients:
        digest = hashlib.sha256(address.encode()).hexdigest()[:16]
        queued += bool(
            notification_queue_message(
                kind=kind,
                recipient=address,
                language=language,
                dedupe_key=f"{event}:staff:{digest}",
                build=build,
                **about,
            )
        )
    return queued


def _units_text(handovers: Sequence) -> str:
    return ", ".join(f"{h.unit.asset_tag} ({h.unit.equipment.name})" for h in handovers)


def store_overdue_notify(*, line, handovers: Sequence, last_day: date) -> int:
    """Tell the crew and the store that units of ``line`` (a booking's or a whole plan's equipment
    line) are still out after ``last_day``: once per line and recipient, however often this runs."""
    booking = getattr(line, "booking", None)
    plan = line.plan if booking is None else booking.plan
    crew = booking.crew if booking is not None else plan.crew
    reference = booking.reference if booking is not None else plan.reference
    event = f"store-overdue:{'item' if booking is not None else 'planitem'}:{line.pk}"
    link = booking.get_absolute_url() if booking is not None else plan.get_absolute_url()

    def facts() -> list[tuple[str, str]]:
        return [
            (_("Reference"), reference),
            (_("Crew"), crew.name),
            (_("Last shoot day"), studio_date(last_day)),
            (_("Still out"), _units_text(handovers)),
        ]

    def crew_message() -> Message:
        return Message(
            subject=_("Equipment not returned: %(ref)s") % {"ref": reference},
            greeting=_("Hello,"),
            paragraphs=[
                _(
                    "The last shoot day of %(ref)s was %(date)s, and the units below have not come back to "
                    "the equipment store. Please bring them back today, or call the store if something "
                    "has happened to them."
                )
                % {"ref": reference, "date": studio_date(last_day)}
            ],
            facts=facts(),
            link_label=_("Open the booking"),
            link_url=absolute_url(link),
            signature=_("Hengdian Studio Booking"),
        )

    def store_message() -> Message:
        return Message(
            subject=_("Overdue: %(ref)s for %(crew)s") % {"ref": reference, "crew": crew.name},
            greeting=_("Hello,"),
            paragraphs=[
                _("%(crew)s has not returned these units; the crew has been emailed too.")
                % {"crew": crew.name}
            ],
            facts=facts(),
            link_label=_("Open the equipment store"),
            link_url=absolute_url(reverse("admin:bookings_handover_store")),
            signature=_("Hengdian Studio Booking"),
        )

    queued = 0
    for member in crew.members.filter(is_active=True).order_by("pk"):
        queued += bool(
            notification_queue_message(
                kind=Kind.EQUIPMENT_OVERDUE,
                recipient=member.email,
                language=member.language,
                dedupe_key=f"{event}:user:{member.pk}",
                build=crew_message,
                booking=booking,
                plan=plan if booking is None else None,
                about_date=last_day,
            )
        )
    queued += _queue_for_staff(
        _store_recipients(),
        kind=Kind.EQUIPMENT_OVERDUE_STORE,
        event=event,
        build=store_message,
        booking=booking,
        plan=plan if booking is None else None,
        about_date=last_day,
    )
    return queued


def store_shortage_notify(*, handover, bookings: Sequence[Booking]) -> int:
    """Tell the booking desk which bookings a unit gone to repair (after ``handover``) leaves short."""
    unit = handover.unit

    def message() -> Message:
        return Message(
            subject=_("%(kind)s short after a damaged return: %(refs)s")
            % {"kind": unit.equipment.name, "refs": ", ".join(b.reference for b in bookings[:5])},
            greeting=_("Hello,"),
            paragraphs=[
                ngettext(
                    "%(tag)s (%(kind)s) came back damaged and is in repair. This booking now holds more "
                    "units than are left: find a replacement, or change the booking with the crew.",
                    "%(tag)s (%(kind)s) came back damaged and is in repair. These bookings now hold more "
                    "units than are left: find replacements, or change the bookings with the crews.",
                    len(bookings),
                )
                % {"tag": unit.asset_tag, "kind": unit.equipment.name}
            ],
            facts=[
                (
                    b.reference,
                    _("%(crew)s, short on %(days)s")
                    % {"crew": b.crew.name, "days": ", ".join(studio_date(d) for d in b.short_days)},
                )
                for b in bookings
            ],
            link_label=_("Open the equipment occupancy"),
            link_url=absolute_url(reverse("admin:bookings_booking_equipment_occupancy")),
            signature=_("Hengdian Studio Booking"),
        )

    return _queue_for_staff(
        _staff_recipients(), kind=Kind.EQUIPMENT_SHORT, event=f"store-short:{handover.pk}", build=message
    )


# --- Invoices -----------------------------------------------------------------------


def invoice_notify(*, invoice, kind: str, paid) -> int:
    """A payment reminder about ``invoice`` to every active member of its crew, and for an overdue
    one the booking desk too: once per invoice, kind and recipient."""
    event = f"invoice:{invoice.pk}:{kind.removeprefix('invoice-')}"
    deposit_kinds = (Kind.INVOICE_DEPOSIT_DUE, Kind.INVOICE_DEPOSIT_OVERDUE)
    due_on = invoice.deposit_due_on if kind in deposit_kinds else invoice.due_on
    owed = (invoice.deposit if kind in deposit_kinds else invoice.total) - paid
    names = {"number": invoice.number, "ref": invoice.plan.reference}

    def facts() -> list[tuple[str, str]]:
        return [
            (_("Invoice"), invoice.number),
            (_("Shoot plan"), invoice.plan.reference),
            (_("Total"), format_cny(invoice.total)),
            (_("Paid so far"), format_cny(paid)),
            (_("Still to pay"), format_cny(owed)),
            (_("Due by"), studio_date(due_on)),
        ]

    def crew_message() -> Message:
        subject, paragraph = {
            Kind.INVOICE_DEPOSIT_DUE: (
                _("Deposit due tomorrow: %(number)s"),
                _(
                    "The deposit for your shoot plan %(ref)s is due by the date below. Please transfer it quoting the invoice number %(number)s."
                ),
            ),
            Kind.INVOICE_DEPOSIT_OVERDUE: (
                _("Deposit overdue: %(number)s"),
                _(
                    "We have not yet received the deposit for your shoot plan %(ref)s. Please transfer it quoting the invoice number %(number)s, or call the booking desk."
                ),
            ),
            Kind.INVOICE_BALANCE_DUE: (
                _("Payment due tomorrow: %(number)s"),
                _(
                    "The balance for your shoot plan %(ref)s is due by the date below, before your first shoot day. Please transfer it quoting the invoice number %(number)s."
                ),
            ),
            Kind.INVOICE_OVERDUE: (
                _("Payment overdue: %(number)s"),
                _(
                    "We have not yet received the full payment for your shoot plan %(ref)s. Please transfer the rest quoting the invoice number %(number)s, or call the booking desk."
                ),
            ),
        }[kind]
        return Message(
            subject=subject % names,
            greeting=_("Hello,"),
            paragraphs=[paragraph % names],
            facts=facts(),
            link_label=_("Open the shoot plan"),
            link_url=absolute_url(invoice.plan.get_absolute_url()),
            signature=_("Hengdian Studio Booking"),
        )

    def desk_message() -> Message:
        return Message(
            subject=_("Unpaid: %(number)s for %(crew)s") % {**names, "crew": invoice.billing_name},
            greeting=_("Hello,"),
            paragraphs=[
                _("%(crew)s has not paid what was due for %(ref)s; the crew has been emailed too.")
                % {**names, "crew": invoice.billing_name}
            ],
            facts=facts(),
            link_label=_("Open the invoice in the admin"),
            link_url=absolute_url(reverse("admin:bookings_invoice_change", args=[invoice.pk])),
            signature=_("Hengdian Studio Booking"),
        )

    queued = 0
    for member in invoice.crew.members.filter(is_active=True).order_by("pk"):
        queued += bool(
            notification_queue_message(
                kind=kind,
                recipient=member.email,
                language=member.language,
                dedupe_key=f"{event}:user:{member.pk}",
                build=crew_message,
                plan=invoice.plan,
                about_date=due_on,
            )
        )
    if kind in (Kind.INVOICE_DEPOSIT_OVERDUE, Kind.INVOICE_OVERDUE):
        queued += _queue_for_staff(
            _staff_recipients(),
            kind=kind,
            event=event,
            build=desk_message,
            plan=invoice.plan,
            about_date=due_on,
        )
    return queued


def fapiao_requested_notify(*, request) -> int:
    """Tell the booking desk (who pass it to the finance department) that a crew asks for a fapiao."""
    invoice = request.invoice

    def message() -> Message:
        facts = [
            (_("Invoice"), invoice.number),
            (_("Billed to"), invoice.billing_name),
            (_("Tax ID"), invoice.billing_tax_id or "—"),
            (_("Total"), format_cny(invoice.total)),
            (_("Kind of fapiao"), request.get_kind_display()),
            (_("Send it to"), request.email),
        ]
        if request.note:
            facts.append((_("Note"), request.note))
        return Message(
            subject=_("Fapiao asked for: %(number)s for %(crew)s")
            % {"number": invoice.number, "crew": invoice.billing_name},
            greeting=_("Hello,"),
            paragraphs=[
                _(
                    "The crew asks for the official fapiao of this invoice. Mark it issued in the admin once finance has sent it."
                )
            ],
            facts=facts,
            link_label=_("Open the fapiao requests"),
            link_url=absolute_url(reverse("admin:bookings_fapiaorequest_changelist")),
            signature=_("Hengdian Studio Booking"),
        )

    return _queue_for_staff(
        _staff_recipients(),
        kind=Kind.FAPIAO_REQUESTED,
        event=f"fapiao:{request.pk}",
        build=message,
        plan=invoice.plan,
    )


def _crew_event_notify(
    *,
    booking: Booking,
    kind: str,
    event: str,
    build: Callable[[User], Message],
    about_date: date | None = None,
) -> int:
    """Queue one message per active crew member of ``booking``, at most once per ``event``."""
    queued = 0
    for member in _crew_recipients(booking):
        queued += bool(
            notification_queue_message(
                kind=kind,
                recipient=member.email,
                language=member.language,
                dedupe_key=f"{event}:user:{member.pk}",
                build=lambda member=member: build(member),
                booking=booking,
                about_date=about_date,
            )
        )
    return queued


def booking_closed_over_notify(*, booking: Booking, blackout) -> int:
    """Tell a crew the studio has closed, over days their booking holds, the set or equipment it booked."""
    event = (
        f"booking:{booking.pk}:closed-over:{blackout.pk}:{blackout.start_date:%Y%m%d}:"
        f"{blackout.end_date:%Y%m%d}:{blackout.units}"
    )

    def build(member: User) -> Message:
        if blackout.studio_set_id:
            what = blackout.studio_set.name
        else:
            what = ngettext("%(count)d unit of %(kind)s", "%(count)d units of %(kind)s", blackout.units) % {
                "count": blackout.units,
                "kind": blackout.equipment.name,
            }
        names = {
            "ref": booking.reference,
            "what": what,
            "first": studio_date(blackout.start_date),
            "last": studio_date(blackout.end_date),
        }
        return Message(
            subject=_("Closed during your booking %(ref)s: %(what)s") % names,
            greeting=_("Hello %(name)s,") % {"name": member.get_short_name() or member.email},
            paragraphs=[
                _(
                    "The studio has had to close %(what)s from %(first)s to %(last)s, on days your booking "
                    "%(ref)s holds. The booking desk will call you to find another set, other equipment or "
                    "other days; you can also reply to this email."
                )
                % names
            ],
            facts=[(_("Reason"), blackout.get_reason_display()), *_facts(booking, list(booking.items.all()))],
            link_label=_("Open the booking"),
            link_url=absolute_url(booking.get_absolute_url()),
            signature=_("Hengdian Studio Booking"),
        )

    return _crew_event_notify(booking=booking, kind=Kind.BOOKING_CLOSED_OVER, event=event, build=build)


def booking_location_notify(*, booking: Booking, before: dict[str, str]) -> int:
    """Tell a crew that "where to go" changed for the set of their coming booking; ``before`` holds
    the old text by language (``en``, ``zh_hans``, ``es``)."""
    studio_set = booking.studio_set
    now_text = " / ".join(
        getattr(studio_set, f"location_{code}", "") or "" for code in ("en", "zh_hans", "es")
    )
    event = f"booking:{booking.pk}:location:{hashlib.sha256(now_text.encode()).hexdigest()[:16]}"

    def build(member: User) -> Message:
        old = before.get((get_language() or "en").replace("-", "_")) or before.get("en", "")
        return Message(
            subject=_("Where to go has changed: %(set)s (%(ref)s)")
            % {"set": studio_set.name, "ref": booking.reference},
            greeting=_("Hello %(name)s,") % {"name": member.get_short_name() or member.email},
            paragraphs=[
                _(
                    "The studio has changed where crews report for %(set)s. On the first shoot day of "
                    "%(ref)s, go to the new place below."
                )
                % {"set": studio_set.name, "ref": booking.reference}
            ],
            facts=[
                (_("Where to go, before"), old or _("not given")),
                (_("Where to go, now"), studio_set.location or _("not given")),
                *_facts(booking, list(booking.items.all())),
            ],
            link_label=_("Open the booking"),
            link_url=absolute_url(booking.get_absolute_url()),
            signature=_("Hengdian Studio Booking"),
        )

    return _crew_event_notify(booking=booking, kind=Kind.BOOKING_LOCATION_CHANGED, event=event, build=build)
