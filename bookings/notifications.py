"""The email outbox: notifications are written with the event that causes them
and delivered by Celery workers, each at most once.

A row is the source of truth, not the Celery message. The send task is only a
nudge: it may be lost (the broker was down at commit), run twice (``acks_late``
redelivery, a sweep re-queueing a row that was already queued) or die half-way
(a killed worker). The conditional update in :func:`notification_send` makes
all three harmless, and :func:`notification_requeue_due`, run by the periodic
sweep, picks up whatever a lost or dead task left behind.

Log lines name the notification by primary key and kind only: bodies and
addresses may carry personal data.
"""

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from .models import Booking, Notification, ShootPlan, User
from .validators import one_line

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
LAST_ERROR_LENGTH = 1000
SUBJECT_LENGTH = Notification._meta.get_field("subject").max_length

# Stands in an outbox row for the account's set-password link, which is made
# only when the email is sent: the outbox is readable by staff and must never
# hold a credential. Plain ASCII that HTML escaping leaves as it is.
SEND_TIME_LINK = "[[set-password-link]]"


# After a failed nudge this process leaves the broker alone for a while. With
# Redis down, or worse hung, every attempt waits for a timeout, and a page
# that queues several emails would wait for each of them, and the next page
# again. The emails are safe in the outbox; the sweep sends them later.
BROKER_PAUSE_SECONDS = 30.0
_broker_paused_until = 0.0  # time.monotonic() of this process


def _nudge(notification_id: int) -> None:
    """Ask a worker to send the row now; if the broker does not answer, leave it to the sweep."""
    global _broker_paused_until
    from .tasks import send_notification  # tasks imports this module

    if time.monotonic() < _broker_paused_until:
        logger.info("The broker failed recently; notification %s waits for the sweep.", notification_id)
        return
    try:
        send_notification.delay(notification_id)
    except OperationalError as exc:  # kombu's name for any broker connection error
        _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning(
            "Could not queue notification %s (%s); the sweep will send it. Not trying the broker "
            "again for %s s.",
            notification_id,
            exc,
            BROKER_PAUSE_SECONDS,
        )


def _enqueue_send_on_commit(notification_id: int) -> None:
    # robust: the row is already committed, so nothing that goes wrong here may
    # fail the caller's request or stop its other callbacks.
    transaction.on_commit(lambda: _nudge(notification_id), robust=True)


def plain_subject(text: str) -> str:
    """``text`` as one line that fits the outbox's subject column.

    A subject is a mail header, and a line break in a header makes Django
    refuse the whole message (BadHeaderError); names saved before they were
    validated may hold one. The characters a name may not hold become
    spaces, runs of spaces become one, and an overlong subject (long set and
    crew names together) is shortened rather than refused by the database.
    """
    subject = " ".join(one_line(text).split())
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1].rstrip() + "…"
    return subject


def notification_queue(
    *,
    kind: str,
    recipient: str,
    language: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    dedupe_key: str,
    booking: Booking | None = None,
    enrolment: models.Model | None = None,  # a workshops.Enrolment: bookings never imports workshops
    account: User | None = None,
    plan: ShootPlan | None = None,
    about_date: date | None = None,
) -> Notification | None:
    """Put a rendered message in the outbox; it is sent after the caller's transaction commits.

    Call it inside the transaction that records the event, so the message
    exists if and only if the event does. Returns ``None`` when a message with
    ``dedupe_key`` is already queued (or sent): there is at most one per key.
    """
    try:
        # A savepoint, so a duplicate key leaves the caller's transaction usable.
        with transaction.atomic():
            notification = Notification.objects.create(
                kind=kind,
                recipient=recipient,
                language=language,
                subject=plain_subject(subject),
                body_text=body_text,
                body_html=body_html,
                dedupe_key=dedupe_key,
                booking=booking,
                enrolment=enrolment,
                account=account,
                plan=plan,
                about_date=about_date,
            )
    except IntegrityError:
        if not Notification.objects.filter(dedupe_key=dedupe_key).exists():
            raise  # some other constraint: a bug, not a duplicate
        logger.info("A %s notification with this dedupe key is already queued.", kind)
        return None
    _enqueue_send_on_commit(notification.pk)
    return notification


@dataclass(frozen=True)
class Message:
    """What one email says, before it is rendered as plain text and as HTML.

    Built inside ``translation.override(recipient's language)``, so every
    string in it is already translated.
    """

    subject: str
    greeting: str
    paragraphs: Sequence[str]
    facts: Sequence[tuple[str, str]] = ()
    checklist_title: str = ""
    checklist: Sequence[str] = ()
    link_label: str = ""
    link_url: str = ""
    footnote: str = ""
    signature: str = ""
    # A picture for the HTML version (e.g. a QR code to show at a door); the text version has its facts.
    image_url: str = ""
    image_alt: str = ""


def studio_time(value: datetime) -> str:
    """A moment as people at the studio read it, naming the zone for readers abroad."""
    local = timezone.localtime(value, timezone.get_default_timezone())
    return _("%(datetime)s (China Standard Time, Asia/Shanghai)") % {
        "datetime": date_format(local, "DATETIME_FORMAT")
    }


def studio_span(start: datetime, end: datetime) -> str:
    """When something runs, in the studio's time zone; a single day is written once:
    "12 de diciembre de 2026, 09:00–17:00", not the date twice."""
    zone = timezone.get_default_timezone()
    start, end = timezone.localtime(start, zone), timezone.localtime(end, zone)
    if start.date() == end.date():
        return _("%(date)s, %(start)s–%(end)s") % {
            "date": date_format(start, "DATE_FORMAT"),
            "start": date_format(start, "TIME_FORMAT"),
            "end": date_format(end, "TIME_FORMAT"),
        }
    return f"{date_format(start, 'DATETIME_FORMAT')} – {date_format(end, 'DATETIME_FORMAT')}"


def studio_period(start: datetime, end: datetime) -> str:
    """:func:`studio_span`, naming the zone for readers abroad."""
    return _("%(datetime)s (China Standard Time, Asia/Shanghai)") % {"datetime": studio_span(start, end)}


def studio_date(value: date) -> str:
    return date_format(value, "DATE_FORMAT")


def studio_bank_facts() -> list[tuple[str, str]]:
    """The studio's account for a transfer, as lines of an email; details not configured are left out."""
    facts = [
        (_("Account name"), settings.STUDIO_BANK_ACCOUNT_NAME),
        (_("Bank"), settings.STUDIO_BANK_NAME),
        (_("Account number"), settings.STUDIO_BANK_ACCOUNT),
        (_("SWIFT code"), settings.STUDIO_BANK_SWIFT),
    ]
    return [(label, value) for label, value in facts if value]


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def notification_queue_message(
    *,
    kind: str,
    recipient: str,
    language: str,
    dedupe_key: str,
    build: Callable[[], Message],
    booking: Booking | None = None,
    enrolment: models.Model | None = None,  # a workshops.Enrolment: bookings never imports workshops
    account: User | None = None,
    plan: ShootPlan | None = None,
    template: str = "emails/notification",
    about_date: date | None = None,
    first_of_its_key: bool = False,
) -> Notification | None:
    """Render ``build()`` in ``language`` as text and HTML and put it in the outbox.

    Rendering happens now, not at sending time, so the message says what was
    true when the event happened, and the admin preview shows exactly what goes out.
    ``first_of_its_key`` skips the look for an earlier message when the key names a row
    this transaction has just created (the unique key still stands guard).
    """
    if not first_of_its_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None  # the common case for a sweep; the unique key still settles races
    with translation.override(language):
        message = build()
        context = {"message": message, "language": language}
        body_text = render_to_string(f"{template}.txt", context)
        body_html = render_to_string(f"{template}.html", context)
    return notification_queue(
        kind=kind,
        recipient=recipient,
        language=language,
        subject=message.subject,
        body_text=body_text,
        body_html=body_html,
        dedupe_key=dedupe_key,
        booking=booking,
        enrolment=enrolment,
        account=account,
        plan=plan,
        about_date=about_date,
    )


def _claimable(*, now: datetime) -> Q:
    """Rows a worker may take: pending and due, or left in sending by a worker that died."""
    stale_before = now - settings.NOTIFICATION_SENDING_TIMEOUT
    return Q(status=Notification.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=stale_before
    )


def _backoff(attempts: int) -> timedelta:
    # The exponent is capped first so a large attempt count cannot overflow timedelta.
    return min(settings.NOTIFICATION_RETRY_BASE * 2 ** min(max(attempts - 1, 0), 20), MAX_BACKOFF)


def notification_send(*, notification_id: int, now: datetime | None = None) -> bool:
    """Claim one notification and send it; True only if this call delivered it.

    The claim is one conditional UPDATE, so of any number of workers running
    this for the same row at once exactly one gets it; the others return
    False. It runs in autocommit (not inside a transaction) so that other
    workers see the claim before the mail server is contacted.
    """
    now = now or timezone.now()
    claimed = Notification.objects.filter(_claimable(now=now), pk=notification_id).update(
        status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        logger.debug(
            "Notification %s not claimed: not due, taken by another worker or done.", notification_id
        )
        return False

    notification = Notification.objects.select_related("account").get(pk=notification_id)
    # Our claim, not just the row: if this worker was somehow slower than the
    # timeout and another claimed the row again, the other one's result stands.
    ours = Notification.objects.filter(pk=notification_id, status=Notification.Status.SENDING, claimed_at=now)
    try:
        message = _email_message(notification)
    except LinkUnavailable as exc:
        # Retrying cannot help: the account would have to change back.
        ours.update(status=Notification.Status.FAILED, last_error=str(exc))
        logger.warning("Notification %s (%s) not sent: %s", notification.pk, notification.kind, exc)
        return False
    # The connection is opened and closed here, not by send(), so that the row
    # is marked sent as soon as the server has accepted the message, before
    # QUIT: a worker that dies while saying goodbye, or a goodbye that fails,
    # must not make the message look unsent and be sent again.
    connection = get_connection()
    try:
        connection.open()
        if not connection.send_messages([message]):
            raise RuntimeError("The mail backend accepted no message.")
    except Exception as exc:  # SMTPException, OSError, a soft time limit …: the message was not sent
        _close_quietly(connection, notification)
        error = f"{type(exc).__name__}: {exc}"[:LAST_ERROR_LENGTH]
        if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            ours.update(status=Notification.Status.FAILED, last_error=error)
            logger.error(
                "Notification %s (%s) failed for good after %s attempts: %s",
                notification.pk,
                notification.kind,
                notification.attempts,
                type(exc).__name__,
            )
        else:
            retry_at = now + _backoff(notification.attempts)
            ours.update(status=Notification.Status.PENDING, next_attempt_at=retry_at, last_error=error)
            logger.warning(
                "Notification %s (%s) attempt %s failed (%s); retrying at %s.",
                notification.pk,
                notification.kind,
                notification.attempts,
                type(exc).__name__,
                retry_at.isoformat(),
            )
        return False

    marked = ours.update(status=Notification.Status.SENT, sent_at=now, last_error="")
    _close_quietly(connection, notification)
    if not marked:
        logger.warning(
            "Notification %s (%s) was sent after its claim had expired.", notification.pk, notification.kind
        )
    else:
        logger.info(
            "Notification %s (%s) sent on attempt %s.",
            notification.pk,
            notification.kind,
            notification.attempts,
        )
    return True


def message_id(notification: Notification) -> str:
    """The Message-ID of every copy of ``notification``'s email.

    SMTP cannot promise exactly once: a worker that dies after the server
    accepted a message, before the row says so, sends it again later. Both
    copies carry this same id, and mail clients show one message per id.
    The key's hash keeps ids from two databases (e.g. staging and
    production) sending from one domain apart.
    """
    digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:12]
    return f"<notification-{notification.pk}.{digest}@{_message_id_domain()}>"


def _message_id_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domain = address.rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"


class LinkUnavailable(Exception):
    """A set-password link cannot be made for this email any more; the message says why."""


def set_password_url(user: User) -> str:
    """A fresh link with which ``user`` chooses a password; valid for PASSWORD_RESET_TIMEOUT.

    The token is Django's password-reset token: it stops working once the
    password is set, so the link works once.
    """
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return absolute_url(path)


def _send_time_link(notification: Notification) -> str:
    account = notification.account
    if account is None or not account.is_active:
        raise LinkUnavailable("The account was deleted or deactivated, so no set-password link was made.")
    # The link is only ever sent to the account's own address: had the address
    # changed since, it would hand the account to the old address's owner.
    if account.email.lower() != notification.recipient.lower():
        raise LinkUnavailable(
            "The account's email address changed after this email was queued, so no link was made."
        )
    return set_password_url(account)


def reply_to(kind: str) -> str:
    """Where a reply goes: the workshop desk for participants, the booking desk for crews and accounts."""
    if kind.startswith("enrolment-"):
        return settings.WORKSHOP_DESK_EMAIL
    return settings.BOOKING_DESK_EMAIL


def _email_message(notification: Notification) -> EmailMultiAlternatives:
    body_text, body_html = notification.body_text, notification.body_html
    if SEND_TIME_LINK in body_text or SEND_TIME_LINK in body_html:
        url = _send_time_link(notification)
        body_text = body_text.replace(SEND_TIME_LINK, url)
        body_html = body_html.replace(SEND_TIME_LINK, escape(url))
    message = EmailMultiAlternatives(
        plain_subject(notification.subject),  # again, for rows queued before subjects were cleaned
        body_text,
        to=[notification.recipient],
        reply_to=[reply_to(notification.kind)],
        headers={
            "Message-ID": message_id(notification),
            # RFC 3834: sent by the system, not a person, so out-of-office and other
            # automatic replies are not sent back, and filters can tell it apart.
            "Auto-Submitted": "auto-generated",
        },
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    return message


def _close_quietly(connection: BaseEmailBackend, notification: Notification) -> None:
    # After a send, the outcome is already recorded; a failing goodbye changes nothing.
    try:
        connection.close()
    except Exception as exc:
        logger.warning(
            "Closing the mail connection after notification %s failed: %s",
            notification.pk,
            type(exc).__name__,
        )


def notification_retry(*, notification: Notification) -> bool:
    """Staff action: give a failed notification a fresh set of attempts, starting now.

    Returns False (and changes nothing) unless the notification had failed.
    """
    now = timezone.now()
    retried = Notification.objects.filter(pk=notification.pk, status=Notification.Status.FAILED).update(
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=now
    )
    if not retried:
        return False
    notification.status, notification.attempts, notification.next_attempt_at = (
        Notification.Status.PENDING,
        0,
        now,
    )
    _enqueue_send_on_commit(notification.pk)
    return True


def notifications_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of the notifications a worker should try now, oldest due first.

    One query, served by the (status, next_attempt_at) and (status,
    claimed_at) indexes, so its cost follows the due rows, not the whole outbox.
    """
    now = now or timezone.now()
    return list(
        Notification.objects.filter(_claimable(now=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def notification_requeue_due(*, now: datetime | None = None) -> int:
    """Queue a send for every due notification; run by the periodic sweep.

    A row that is queued twice is still sent once: the claim decides.
    """
    from .tasks import send_notification  # tasks imports this module

    due = notifications_due(now=now)
    for notification_id in due:
        send_notification.delay(notification_id)
    if due:
        logger.info("Re-queued %s due notification(s).", len(due))
    return len(due)
