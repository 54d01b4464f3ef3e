"""Emails to workshop participants, in the language they chose. Never any passport data.

Every message goes through the outbox (:mod:`bookings.notifications`): call
:func:`enrolment_notify` inside the transaction that records the event.
"""

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bookings.models import Notification
from bookings.money import format_cny
from bookings.notifications import (
    Message,
    absolute_url,
    notification_queue_message,
    studio_bank_facts,
    studio_date,
    studio_period,
    studio_time,
)

from .models import Enrolment, InvitationLetter
from .selectors import enrolments_with_payments, waitlist_position

Kind = Notification.Kind
# The emails that carry the check-in QR code: a place given, and the day before.
DOOR_KINDS = (Kind.ENROLMENT_CONFIRMED, Kind.ENROLMENT_PROMOTED, Kind.ENROLMENT_REMINDER_DAY)


def _dedupe_key(enrolment: Enrolment, kind: str, *, letter: InvitationLetter | None, now: datetime) -> str:
    key = f"enrolment:{enrolment.pk}:{kind.removeprefix('enrolment-')}"
    if kind == Kind.ENROLMENT_LETTER:
        return f"{key}:{letter.number}"  # a reissued letter is news again
    if kind == Kind.ENROLMENT_LINK:
        # Registering the same address again re-sends the link, at most once
        # per clock hour, so the form cannot be used to flood someone's inbox.
        return f"{key}:{timezone.localtime(now):%Y%m%d%H}"
    if kind in REMINDER_KINDS:
        # Once per start day: a session moved to another day is reminded of again.
        return f"{key}:{reminder_day(enrolment):%Y%m%d}"
    return key


REMINDER_KINDS = (Kind.ENROLMENT_REMINDER_WEEK, Kind.ENROLMENT_REMINDER_DAY)


def reminder_day(enrolment: Enrolment):
    """The studio day a reminder is about: the session's first day, as it is now."""
    return timezone.localdate(enrolment.session.starts_at)


def enrolment_notify(
    *,
    enrolment: Enrolment,
    kind: str,
    letter: InvitationLetter | None = None,
    now: datetime | None = None,
    new_enrolment: bool = False,
) -> Notification | None:
    """Queue ``kind`` for the participant; at most one per enrolment and kind (and letter).

    ``new_enrolment``: the enrolment was created in this transaction, so it has no messages yet.
    """
    if kind == Kind.ENROLMENT_LETTER and letter is None:
        raise ValueError("A letter notification needs the letter.")
    return notification_queue_message(
        kind=kind,
        recipient=enrolment.email,
        language=enrolment.language,
        dedupe_key=_dedupe_key(enrolment, kind, letter=letter, now=now or timezone.now()),
        build=lambda: enrolment_message(enrolment, kind),
        enrolment=enrolment,
        about_date=reminder_day(enrolment) if kind in REMINDER_KINDS else None,
        first_of_its_key=new_enrolment,
    )


def _facts(enrolment: Enrolment, *, position: int | None) -> list[tuple[str, str]]:
    session = enrolment.session
    language = session.get_language_display()
    if session.interpretation_labels:
        language = _("%(language)s, interpreted into %(others)s") % {
            "language": language,
            "others": ", ".join(session.interpretation_labels),
        }
    facts = [
        (_("Workshop"), session.workshop.title),
        (_("When"), studio_period(session.starts_at, session.ends_at)),
        (_("Venue"), f"{session.venue}, {_('Hengdian World Studios, Dongyang, Zhejiang')}"),
        (_("Language"), language),
        (_("Status"), enrolment.get_status_display()),
    ]
    if position is not None:
        facts.append((_("Position on the waiting list"), str(position)))
    return facts


def _week_checklist(enrolment: Enrolment) -> list[str]:
    items = [
        _("Check that your passport is valid for at least six months after your arrival in China."),
        _(
            "Check whether you need a visa for China and, if you do, apply now: consulates can take "
            "several working days."
        ),
    ]
    if enrolment.needs_visa_letter:
        if enrolment.letters.exists():
            items.append(
                _("Your invitation letter is on your enrolment page, if your visa application needs it.")
            )
        else:
            items.append(
                _(
                    "Your invitation letter has not been issued yet; we will email you when it is. "
                    "If your visa appointment is very soon, reply to this email."
                )
            )
    items += [
        _(
            "Book your travel: Yiwu is the nearest airport, about an hour by road from Hengdian; "
            "high-speed trains stop at Yiwu and Dongyang."
        ),
        _("Plan to arrive the day before, and take out travel and health insurance that covers China."),
        _("Install a payment app that works in China, or bring a card accepted there: cash is rarely used."),
    ]
    return items


def _day_checklist(enrolment: Enrolment) -> list[str]:
    session = enrolment.session
    return [
        _("Your passport: you need it at the studio gate."),
        _("Be at %(venue)s 30 minutes before the start to collect your badge.") % {"venue": session.venue},
        _("A phone that records vertical video, with a charged power bank."),
        _("Comfortable shoes and a light jacket: some sets are outdoors, and sound stages are cool."),
        _("A notebook; the course materials are handed out on the day."),
    ]


def _fee_facts(enrolment: Enrolment) -> list[tuple[str, str]]:
    """What to pay, by when, quoting what, and where to: for a place awaiting payment."""
    return [
        (_("Fee"), format_cny(enrolment.fee)),
        (_("Pay by"), studio_date(enrolment.payment_due_on)),
        (_("Payment reference"), enrolment.payment_reference),
        *studio_bank_facts(),
    ]


def _how_to_pay(enrolment: Enrolment) -> list[str]:
    paragraphs = [
        _(
            "Please pay the fee of %(fee)s by %(due)s, by bank transfer to the account below, and write "
            "the payment reference %(reference)s in the transfer's message so that we can match it to "
            "your place. A place still unpaid after that day is released to the next person on the "
            "waiting list."
        )
        % {
            "fee": format_cny(enrolment.fee),
            "due": studio_date(enrolment.payment_due_on),
            "reference": enrolment.payment_reference,
        }
    ]
    if not studio_bank_facts():
        paragraphs.append(_("Reply to this email for the studio's bank account details."))
    if enrolment.needs_visa_letter and settings.WORKSHOP_LETTER_NEEDS_PAYMENT:
        paragraphs.append(_("Your visa invitation letter is issued once the fee is paid."))
    return paragraphs


def _refund_paragraph(enrolment: Enrolment) -> list[str]:
    """What comes back of what was paid for a place that ended; nothing when nothing was paid."""
    if not enrolment.fee:
        return []
    totals = (
        enrolments_with_payments(Enrolment.objects.filter(pk=enrolment.pk)).values("paid", "refunded").get()
    )
    if not totals["paid"]:
        return []
    owed = enrolment.refund_owed(paid=totals["paid"], refunded=totals["refunded"])
    if owed:
        return [
            _(
                "You paid %(paid)s. Under the refund policy, %(refund)s is paid back to you; the "
                "International Business Department will contact you about the transfer."
            )
            % {"paid": format_cny(totals["paid"]), "refund": format_cny(owed)}
        ]
    return [
        _("You paid %(paid)s. Under the refund policy, cancelling this close to the session is not refunded.")
        % {"paid": format_cny(totals["paid"])}
    ]


def enrolment_message(enrolment: Enrolment, kind: str) -> Message:
    title = enrolment.session.workshop.title
    names = {"title": title}
    checklist_title, checklist = "", []
    more: list[str] = []  # paragraphs after the first
    link_label = ""
    extra_facts: list[tuple[str, str]] = []
    awaiting_payment = (
        enrolment.status == Enrolment.Status.CONFIRMED and enrolment.fee > 0 and enrolment.paid_at is None
    )
    # Counted once: the message is rendered while the session is locked.
    position = waitlist_position(enrolment)
    image_url = image_alt = ""
    door: list[str] = []
    if kind in DOOR_KINDS and enrolment.status == Enrolment.Status.CONFIRMED and enrolment.checkin_code:
        door = [
            _("At the door, show the QR code of your enrolment page, or give your check-in code: %(code)s.")
            % {"code": enrolment.checkin_code}
        ]
        image_url = absolute_url(reverse("workshops:checkin_qr", args=[enrolment.checkin_code]))
        image_alt = _("Check-in QR code %(code)s") % {"code": enrolment.checkin_code}
    if kind in (Kind.ENROLMENT_CONFIRMED, Kind.ENROLMENT_PROMOTED) and awaiting_payment:
        more = _how_to_pay(enrolment)
        extra_facts = _fee_facts(enrolment)
    if kind == Kind.ENROLMENT_CONFIRMED:
        subject = _("Your place is confirmed: %(title)s") % names
        paragraph = _(
            'Your place in the workshop "%(title)s" is confirmed. We look forward to welcoming you to Hengdian.'
        )
    elif kind == Kind.ENROLMENT_WAITLISTED:
        subject = _("You are on the waiting list: %(title)s") % names
        names["position"] = position
        paragraph = _(
            'The workshop "%(title)s" is full, so you are on its waiting list, at position %(position)s. '
            "If a place becomes free, it goes to the first person on the list and we email you at once."
        )
        more = [
            _("To leave the waiting list: %(url)s")
            % {"url": absolute_url(reverse("workshops:cancel", args=[enrolment.manage_token]))}
        ]
    elif kind == Kind.ENROLMENT_PROMOTED:
        subject = _("A place is yours: %(title)s") % names
        paragraph = _(
            'Good news: a place became free in the workshop "%(title)s" and it is now yours. '
            "Your place is confirmed."
        )
    elif kind == Kind.ENROLMENT_OFFERED:
        subject = _("A place is free for you: %(title)s") % names
        link_label = _("Accept or decline the place")
        names["until"] = studio_time(enrolment.offer_expires_at)
        paragraph = _(
            'A place became free in the workshop "%(title)s", and it is offered to you first. Accept it '
            "on your enrolment page by %(until)s; after that it goes to the next person waiting. If you no "
            "longer want it, decline it there, so that someone else can come."
        )
        if enrolment.session.workshop.fee:
            more = [
                _("Once you accept, the fee of %(fee)s is due within %(days)s days.")
                % {"fee": format_cny(enrolment.session.workshop.fee), "days": settings.WORKSHOP_PAYMENT_DAYS}
            ]
    elif kind == Kind.ENROLMENT_OFFER_LAPSED:
        subject = _("The place offered has gone: %(title)s") % names
        paragraph = _(
            'The place offered to you in the workshop "%(title)s" was not accepted in time, so it has gone '
            "to the next person waiting, and you are no longer on the waiting list. If you still want to "
            "come, register again while registration is open."
        )
    elif kind == Kind.ENROLMENT_VISA_SKIPPED:
        subject = _("A place came free, too late for a visa: %(title)s") % names
        names["days"] = enrolment.session.visa_lead_days
        paragraph = _(
            'A place came free in the workshop "%(title)s", but the session starts in less than %(days)s '
            "days: too soon to get a visa with our invitation letter. So it was offered to the next person "
            "who needs no visa. You keep your place on the waiting list. If you can travel without our "
            "letter, reply to this email and the workshop desk can give you a place by hand."
        )
    elif kind == Kind.ENROLMENT_CANCELLED:
        subject = _("Your enrolment is cancelled: %(title)s") % names
        paragraph = _(
            'Your enrolment in the workshop "%(title)s" is cancelled. If this is a mistake, register '
            "again while registration is open."
        )
        more = _refund_paragraph(enrolment)
    elif kind == Kind.ENROLMENT_SESSION_CANCELLED:
        subject = _("Session cancelled: %(title)s") % names
        names["when"] = studio_time(enrolment.session.starts_at)
        paragraph = _(
            'We are sorry: the studio has had to cancel the session of "%(title)s" that was to start on '
            "%(when)s, so your enrolment is cancelled. If you paid a fee or made travel plans, reply to "
            "this email and the International Business Department will help you."
        )
        more = _refund_paragraph(enrolment)
    elif kind == Kind.ENROLMENT_LINK:
        subject = _("Your enrolment link: %(title)s") % names
        paragraph = _(
            "Someone, probably you, tried to register this email address again for the workshop "
            '"%(title)s". You are already enrolled, so nothing has changed. Use the link below to see '
            "or change your enrolment."
        )
    elif kind == Kind.ENROLMENT_LETTER:
        subject = _("Your visa invitation letter is ready: %(title)s") % names
        paragraph = _(
            'Your visa invitation letter for the workshop "%(title)s" is ready. Download it from your '
            "enrolment page, print it and take it to your visa application."
        )
    elif kind == Kind.ENROLMENT_PAYMENT_DUE:
        subject = _("Your fee is due tomorrow: %(title)s") % names
        names.update(fee=format_cny(enrolment.fee), due=studio_date(enrolment.payment_due_on))
        paragraph = _(
            'We have not yet received the fee of %(fee)s for your place in the workshop "%(title)s". '
            "It is due by %(due)s; if it is on its way, thank you, and there is nothing more to do."
        )
        more = _how_to_pay(enrolment)
        extra_facts = _fee_facts(enrolment)
    elif kind == Kind.ENROLMENT_PAID:
        subject = _("Payment received: %(title)s") % names
        names["fee"] = format_cny(enrolment.fee)
        paragraph = _('Thank you: we have received the fee of %(fee)s. Your place in "%(title)s" is paid.')
        if enrolment.needs_visa_letter and not enrolment.letters.exists():
            more = [_("The visa officer is preparing your invitation letter; we email you when it is ready.")]
    elif kind == Kind.ENROLMENT_RELEASED:
        subject = _("Your place was released: %(title)s") % names
        names["due"] = studio_date(enrolment.payment_due_on)
        paragraph = _(
            'The fee for your place in the workshop "%(title)s" was due by %(due)s and we have not '
            "received it, so the place has gone to the next person on the waiting list. If you still "
            "want to come, register again while registration is open; if you have paid in the "
            "meantime, reply to this email."
        )
        more = _refund_paragraph(enrolment)
    elif kind == Kind.ENROLMENT_CERTIFICATE:
        certificate = enrolment.certificate
        subject = _("Your certificate of attendance: %(title)s") % names
        names.update(number=certificate.number, url=absolute_url(certificate.get_absolute_url()))
        paragraph = _(
            'Thank you for taking part in "%(title)s". Your certificate of attendance, number '
            "%(number)s, is ready: download it from your enrolment page. Anyone can check that it is "
            "genuine at %(url)s."
        )
    elif kind == Kind.ENROLMENT_REMINDER_WEEK:
        subject = _("One week to go: %(title)s") % names
        names["when"] = studio_time(enrolment.session.starts_at)
        paragraph = _(
            'The workshop "%(title)s" starts in a week, on %(when)s. Here is a checklist for your trip.'
        )
        checklist_title = _("Travel and visa checklist")
        checklist = _week_checklist(enrolment)
    elif kind == Kind.ENROLMENT_REMINDER_DAY:
        subject = _("See you tomorrow: %(title)s") % names
        names["when"] = studio_time(enrolment.session.starts_at)
        paragraph = _('The workshop "%(title)s" starts tomorrow, %(when)s.')
        checklist_title = _("What to bring")
        checklist = _day_checklist(enrolment)
    else:
        raise ValueError(f"Not an enrolment notification: {kind}")
    return Message(
        subject=subject,
        greeting=_("Hello %(name)s,") % {"name": enrolment.full_name},
        paragraphs=[paragraph % names, *more, *door],
        facts=[*_facts(enrolment, position=position), *extra_facts],
        checklist_title=checklist_title,
        checklist=checklist,
        link_label=link_label or _("See or change your enrolment"),
        link_url=absolute_url(enrolment.get_absolute_url()),
        footnote=_("Keep this link private: anyone with it can change your enrolment."),
        signature=_("Hengdian World Studios — International Business Department"),
        image_url=image_url,
        image_alt=image_alt,
    )


def session_change_notify(*, enrolment: Enrolment, before: dict, now: datetime) -> Notification | None:
    """Tell a participant the studio moved their session or changed its venue, old and new side by side.

    ``before`` holds the session's ``starts_at``, ``ends_at`` and ``venue`` (by language) before the
    change. One email per participant and change.
    """
    session = enrolment.session
    key = f"enrolment:{enrolment.pk}:session-changed:{session.updated_at:%Y%m%dT%H%M%S.%f}"

    def build() -> Message:
        title = session.workshop.title
        old_when = studio_period(before["starts_at"], before["ends_at"])
        new_when = studio_period(session.starts_at, session.ends_at)
        language = (translation.get_language() or "en").replace("-", "_")
        old_venue = before["venue"].get(language) or before["venue"].get("en", "")
        facts = []
        if old_when != new_when:
            facts += [(_("When, before"), old_when), (_("When, now"), new_when)]
        if old_venue != session.venue:
            facts += [(_("Venue, before"), old_venue), (_("Venue, now"), session.venue)]
        paragraphs = [
            _(
                'The studio has changed the session of the workshop "%(title)s" that you are enrolled in. '
                "What changed is below; everything else stays as it was. The calendar file on your "
                "enrolment page has the new details."
            )
            % {"title": title}
        ]
        if enrolment.letter_reissue_requested_at and old_when != new_when:
            paragraphs.append(
                _(
                    "Your visa invitation letter names the old dates: the visa officer will issue a new one, "
                    "and we email you when it is ready."
                )
            )
        return Message(
            subject=_("Session changed: %(title)s") % {"title": title},
            greeting=_("Hello %(name)s,") % {"name": enrolment.full_name},
            paragraphs=paragraphs,
            facts=facts,
            link_label=_("See your enrolment"),
            link_url=absolute_url(enrolment.get_absolute_url()),
            footnote=_("Keep this link private: anyone with it can change your enrolment."),
            signature=_("Hengdian World Studios — International Business Department"),
        )

    return notification_queue_message(
        kind=Kind.ENROLMENT_SESSION_CHANGED,
        recipient=enrolment.email,
        language=enrolment.language,
        dedupe_key=key,
        build=build,
        enrolment=enrolment,
    )
