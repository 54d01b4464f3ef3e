"""Places in sessions and invitation letters.

Every change to a session's places starts by locking that session's row, so
registrations, cancellations, promotions and capacity changes for one session
happen one after another, and confirmed places never exceed its capacity.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bookings import history
from bookings.models import Notification, User
from bookings.notifications import studio_time

from .. import fees
from ..emails import enrolment_notify, session_change_notify
from ..models import HOLDING, PASSPORT_FIELDS, Enrolment, InvitationLetter, Session
from ..selectors import enrolments_due_reminder

NOTICE = Notification.Kind


class EnrolmentError(Exception):
    """A registration or change that cannot be made; the message is for the user."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Registration:
    enrolment: Enrolment
    # False when the address was already enrolled: nothing was written, and
    # the caller must not show anything about the existing enrolment.
    created: bool


def _notify(enrolment: Enrolment, kind: str, **extra) -> Notification | None:
    # In the caller's transaction: the message exists if and only if the change does.
    return enrolment_notify(enrolment=enrolment, kind=kind, **extra)


def _lock_session(session: Session) -> Session:
    # Only the session's row: FOR UPDATE would otherwise lock the joined workshop too, so that
    # sessions of one workshop queued on each other and a place's lock could deadlock with it.
    return Session.objects.select_for_update(of=("self",)).select_related("workshop").get(pk=session.pk)


def session_confirmed_count_locked(*, session: Session) -> int:
    """Lock ``session`` for the rest of the caller's transaction and count the places taken
    (confirmed, or offered and not yet answered)."""
    _lock_session(session)
    return session.enrolments.filter(status__in=HOLDING).count()


def visa_too_late(enrolment: Enrolment, session: Session, now: datetime) -> bool:
    """Whether a place given now would leave ``enrolment`` too little time to get a visa with our letter."""
    return enrolment.needs_visa_letter and session.starts_at - now < timedelta(days=session.visa_lead_days)


def _promote_waiting(session: Session, *, now: datetime, by: User | None = None) -> list[Enrolment]:
    """Offer free places to the waiting list in arrival order. The caller holds the session lock.

    Within the session's visa lead time, people who need a visa letter are passed over (told once,
    and kept on the list) for the next who need none. ``by`` is whoever freed or added the places;
    None (the system) when a place frees up by itself.
    """
    if session.status == Session.Status.CANCELLED or session.starts_at <= now:
        return []
    free = session.capacity - session.enrolments.filter(status__in=HOLDING).count()
    if free <= 0:
        return []
    waiting = session.enrolments.filter(status=Enrolment.Status.WAITLISTED).order_by("waitlist_order")
    too_close = session.starts_at - now < timedelta(days=session.visa_lead_days)
    offered = list((waiting.filter(needs_visa_letter=False) if too_close else waiting)[:free])
    if too_close:
        # Everyone needing a visa who stood before the last person offered a place was passed over.
        passed_over = waiting.filter(needs_visa_letter=True)
        if len(offered) == free:
            passed_over = passed_over.filter(waitlist_order__lt=offered[-1].waitlist_order)
        for enrolment in passed_over:
            _notify(enrolment, NOTICE.ENROLMENT_VISA_SKIPPED, now=now)
    for enrolment in offered:
        _offer(enrolment, session=session, now=now, by=by)
    return offered


def _offer(enrolment: Enrolment, *, session: Session, now: datetime, by: User | None) -> None:
    # waitlist_order is kept: it records where the person stood.
    enrolment.status = Enrolment.Status.OFFERED
    enrolment.offer_expires_at = min(now + timedelta(hours=settings.WORKSHOP_OFFER_HOURS), session.starts_at)
    history.note(enrolment, by=by, reason=history.OFFERED)
    enrolment.save(update_fields=["status", "offer_expires_at", "updated_at"])
    _notify(enrolment, NOTICE.ENROLMENT_OFFERED, now=now)


def _confirm_from_waiting_list(
    enrolment: Enrolment, *, session: Session, now: datetime, by: User | None
) -> None:
    # waitlist_order is kept: it records where the person stood.
    enrolment.status = Enrolment.Status.CONFIRMED
    enrolment.confirmed_at = now
    # A fresh deadline to pay, counted from now.
    charged = fees.charge_fee(enrolment, session=session, now=now)
    history.note(enrolment, by=by, reason=history.PROMOTED)
    enrolment.save(update_fields=["status", "confirmed_at", *charged, "updated_at"])
    _notify(enrolment, NOTICE.ENROLMENT_PROMOTED, now=now)


@transaction.atomic
def enrolment_register(
    *,
    session: Session,
    full_name: str,
    email: str,
    country_of_residence: str,
    nationality: str,
    role: str,
    experience: str = "",
    language: str = "en",
    needs_visa_letter: bool = False,
    passport_number: str = "",
    passport_expiry: date | None = None,
    date_of_birth: date | None = None,
    needs: str = "",
    by: User | None = None,
    now: datetime | None = None,
) -> Registration:
    """Confirm a place if one is free, otherwise join the waiting list.

    ``by`` is the staff member enrolling the participant by hand. They are told
    plainly when the address is already enrolled; the public form is not (it
    re-sends the private link to the address instead).
    """
    now = now or timezone.now()
    email = email.strip().lower()
    # Looked up before the lock: everything between the lock and the commit makes every
    # other registration for this session wait.
    link_account = participant_link_account()
    session = _lock_session(session)
    if not session.registration_is_open(now):
        raise EnrolmentError(_("Registration for this session is closed."))

    existing = session.enrolments.exclude(status=Enrolment.Status.CANCELLED).filter(email=email).first()
    if existing is not None:
        if by is not None:
            raise EnrolmentError(
                _("%(email)s is already enrolled in this session (%(status)s).")
                % {"email": email, "status": existing.get_status_display().lower()},
                field="email",
            )
        _notify(existing, NOTICE.ENROLMENT_LINK, now=now)
        return Registration(enrolment=existing, created=False)

    # One query for the places and the waiting list (a burst of registrations queues on the lock).
    places = session.enrolments.aggregate(
        confirmed=Count("pk", filter=Q(status__in=HOLDING)),
        waiting=Count("pk", filter=Q(status=Enrolment.Status.WAITLISTED)),
        last=Max("waitlist_order"),
    )
    confirmed = places["confirmed"]
    if places["waiting"] and confirmed < session.capacity:
        # Anyone already waiting goes first, should a place have been left free.
        confirmed += len(_promote_waiting(session, now=now))
    enrolment = Enrolment(
        session=session,
        full_name=full_name.strip(),
        email=email,
        country_of_residence=country_of_residence,
        nationality=nationality,
        role=role,
        experience=experience,
        language=language,
        needs_visa_letter=needs_visa_letter,
        # Passport data is kept only for a letter: it is sensitive and not needed otherwise.
        passport_number=passport_number if needs_visa_letter else "",
        passport_expiry=passport_expiry if needs_visa_letter else None,
        date_of_birth=date_of_birth if needs_visa_letter else None,
        needs=needs,
        consented_at=now,
        created_by=by,
    )
    if confirmed < session.capacity:
        enrolment.status = Enrolment.Status.CONFIRMED
        enrolment.confirmed_at = now
        fees.charge_fee(enrolment, session=session, now=now)
    else:
        enrolment.status = Enrolment.Status.WAITLISTED
        enrolment.waitlist_order = (places["last"] or 0) + 1
    # The participant has no account: their own changes are recorded under the private-link one.
    history.note(enrolment, by=link_account)
    try:
        with transaction.atomic():
            enrolment.save()
    except IntegrityError as exc:
        raise EnrolmentError(_("This registration could not be saved. Please check the form.")) from exc
    confirmed = enrolment.status == Enrolment.Status.CONFIRMED
    _notify(
        enrolment,
        NOTICE.ENROLMENT_CONFIRMED if confirmed else NOTICE.ENROLMENT_WAITLISTED,
        now=now,
        new_enrolment=True,
    )
    return Registration(enrolment=enrolment, created=True)


@transaction.atomic
def enrolment_cancel(
    *, enrolment: Enrolment, by: User | None = None, reason: str = "", now: datetime | None = None
) -> Enrolment:
    """Cancel a place or leave the waiting list; a freed place goes to the next person waiting.

    ``by`` is the staff member who cancels, or None when the participant does with their private link.
    """
    now = now or timezone.now()
    session = _lock_session(enrolment.session)
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.CANCELLED:
        raise EnrolmentError(_("This enrolment is already cancelled."))
    if session.ends_at <= now:
        raise EnrolmentError(_("This session has already taken place."))
    was_confirmed = enrolment.holds_a_place
    enrolment.status = Enrolment.Status.CANCELLED
    enrolment.cancelled_at = now
    if enrolment.fee:
        # What comes back of anything paid, by the refund policy on the day of cancelling.
        enrolment.refund_percent = fees.refund_percent(session=session, today=timezone.localdate(now))
    if by is None:
        history.note(enrolment, by=participant_link_account(), reason=reason or history.PRIVATE_LINK)
    else:
        history.note(enrolment, by=by, reason=reason)
    enrolment.save(update_fields=["status", "cancelled_at", "refund_percent", "updated_at"])
    _notify(enrolment, NOTICE.ENROLMENT_CANCELLED, now=now)
    if was_confirmed:
        # The next person waiting gets the place because it freed up: the system's doing.
        _promote_waiting(session, now=now)
    return enrolment


# Admin history needs a user for every entry; a participant has no account, so their own
# changes (made with the private link) are recorded under this inactive one, which can never log in.
PARTICIPANT_LINK_ACCOUNT = "participant-link@accounts.invalid"


def participant_link_account() -> User:
    account = User.objects.filter(email=PARTICIPANT_LINK_ACCOUNT).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=PARTICIPANT_LINK_ACCOUNT,
                password=None,
                first_name="Participant",
                last_name="(private link)",
                is_active=False,
            )
    except IntegrityError:  # created by a concurrent edit a moment ago
        return User.objects.get(email=PARTICIPANT_LINK_ACCOUNT)


@transaction.atomic
def enrolment_update(
    *,
    enrolment: Enrolment,
    full_name: str,
    language: str,
    needs: str,
    needs_visa_letter: bool,
    passport: dict | None = None,
    now: datetime | None = None,
) -> list[str]:
    """The participant changes their own enrolment; returns the names of the fields that changed.

    ``passport`` holds new passport details (number, expiry, date of birth), or is
    None to keep those on file. New details after a letter was issued ask the visa
    officer for a new letter. The change is written to the enrolment's admin
    history, naming the fields but never a passport value.
    """
    now = now or timezone.now()
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",)).select_related("session").get(pk=enrolment.pk)
    )
    if enrolment.status == Enrolment.Status.CANCELLED:
        raise EnrolmentError(_("This enrolment is cancelled and can no longer be changed."))
    if enrolment.session.ends_at <= now:
        raise EnrolmentError(_("This session has already taken place."))
    letter_issued = enrolment.letters.exists()
    values = {"full_name": full_name, "language": language, "needs": needs}
    values["needs_visa_letter"] = needs_visa_letter or letter_issued
    if not values["needs_visa_letter"]:
        # No letter asked for: passport data is neither needed nor kept.
        values.update(passport_number="", passport_expiry=None, date_of_birth=None)
    elif passport is not None:
        values.update({name: passport[name] for name in PASSPORT_FIELDS})
    changed = []
    for name, value in values.items():
        if getattr(enrolment, name) != value:
            setattr(enrolment, name, value)
            changed.append(name)
    if not changed:
        return []
    passport_changed = bool(set(PASSPORT_FIELDS) & set(changed))
    if letter_issued and passport_changed:
        enrolment.letter_reissue_requested_at = now
        changed.append("letter_reissue_requested_at")
    participant = participant_link_account()
    history.note(enrolment, by=participant, reason=history.PRIVATE_LINK)
    try:
        with transaction.atomic():
            enrolment.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise EnrolmentError(_("Your changes could not be saved. Please check the form.")) from exc
    with translation.override(None):
        labels = [str(Enrolment._meta.get_field(name).verbose_name).capitalize() for name in changed]
    LogEntry.objects.log_actions(
        user_id=participant.pk,
        queryset=[enrolment],
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": labels}}],
    )
    return changed


@transaction.atomic
def enrolment_promote(
    *, enrolment: Enrolment, by: User | None = None, now: datetime | None = None
) -> Enrolment:
    """Staff confirm a particular person from the waiting list, if a place is free."""
    now = now or timezone.now()
    session = _lock_session(enrolment.session)
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status != Enrolment.Status.WAITLISTED:
        raise EnrolmentError(_("%(name)s is not on the waiting list.") % {"name": enrolment.full_name})
    confirmed = session.enrolments.filter(status__in=HOLDING).count()
    if confirmed >= session.capacity:
        raise EnrolmentError(
            _("%(session)s is full: raise its capacity to promote %(name)s.")
            % {"session": session, "name": enrolment.full_name}
        )
    _confirm_from_waiting_list(enrolment, session=session, now=now, by=by)
    return enrolment


@transaction.atomic
def enrolment_offer_accept(*, enrolment: Enrolment, now: datetime | None = None) -> Enrolment:
    """The participant takes the place offered to them, with their private link, before it lapses."""
    now = now or timezone.now()
    session = _lock_session(enrolment.session)
    enrolment = Enrolment.objects.select_for_update(of=("self",)).get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.CONFIRMED:
        raise EnrolmentError(_("You have already accepted this place."))
    if enrolment.status != Enrolment.Status.OFFERED:
        raise EnrolmentError(_("No place is offered to you at the moment."))
    if enrolment.offer_expires_at <= now:
        raise EnrolmentError(
            _("This offer ended at %(when)s, and the place has gone to the next person waiting.")
            % {"when": studio_time(enrolment.offer_expires_at)}
        )
    enrolment.status = Enrolment.Status.CONFIRMED
    enrolment.confirmed_at = now
    enrolment.offer_expires_at = None
    # The deadline to pay is counted from now, the moment the place is theirs.
    charged = fees.charge_fee(enrolment, session=session, now=now)
    history.note(enrolment, by=participant_link_account(), reason=history.OFFER_ACCEPTED)
    enrolment.save(update_fields=["status", "confirmed_at", "offer_expires_at", *charged, "updated_at"])
    _notify(enrolment, NOTICE.ENROLMENT_PROMOTED, now=now)
    return enrolment


def enrolment_offers_lapse_due(*, now: datetime | None = None) -> list[Enrolment]:
    """Offers not accepted in time leave the list, and their places go to the next people waiting.

    Run by the sweep; each in its own transaction under its session's lock, looked at again there.
    """
    now = now or timezone.now()
    due = list(
        Enrolment.objects.filter(status=Enrolment.Status.OFFERED, offer_expires_at__lte=now)
        .order_by("offer_expires_at", "pk")
        .values_list("pk", "session_id")
    )
    lapsed = []
    for pk, session_id in due:
        with transaction.atomic():
            session = _lock_session(Session(pk=session_id))
            enrolment = (
                Enrolment.objects.select_for_update(of=("self",))
                .filter(pk=pk, status=Enrolment.Status.OFFERED, offer_expires_at__lte=now)
                .first()
            )
            if enrolment is None:  # accepted or declined a moment ago
                continue
            enrolment.status = Enrolment.Status.CANCELLED
            enrolment.cancelled_at = now
            history.note(enrolment, by=None, reason=history.OFFER_LAPSED)
            enrolment.save(update_fields=["status", "cancelled_at", "updated_at"])
            _notify(enrolment, NOTICE.ENROLMENT_OFFER_LAPSED, now=now)
            _promote_waiting(session, now=now)
            lapsed.append(enrolment)
    return lapsed


@transaction.atomic
def session_cancel(
    *, session: Session, by: User | None = None, now: datetime | None = None
) -> list[Enrolment]:
    """The studio calls a session off: every place and waiting-list entry is cancelled, and each person told.

    Safe to run again: people already cancelled are neither changed nor emailed twice.
    """
    now = now or timezone.now()
    session = _lock_session(session)
    if session.status != Session.Status.CANCELLED:
        session.status = Session.Status.CANCELLED
        history.note(session, by=by)
        session.save(update_fields=["status", "updated_at"])
    affected = list(session.enrolments.exclude(status=Enrolment.Status.CANCELLED).order_by("pk"))
    for enrolment in affected:
        enrolment.status = Enrolment.Status.CANCELLED
        enrolment.cancelled_at = now
        if enrolment.fee:
            enrolment.refund_percent = 100  # the studio's doing: everything paid comes back
        history.note(enrolment, by=by, reason=history.SESSION_CALLED_OFF)
        enrolment.save(update_fields=["status", "cancelled_at", "refund_percent", "updated_at"])
        _notify(enrolment, NOTICE.ENROLMENT_SESSION_CANCELLED, now=now)
    return affected


@transaction.atomic
def session_changes_announce(
    *, session: Session, before: dict, by: User | None = None, now: datetime | None = None
) -> list[Enrolment]:
    """After staff moved a session or changed its venue: one email to everyone still on it.

    ``before`` holds ``starts_at``, ``ends_at`` and ``venue`` (by language) as they were. People
    holding a letter that names the old dates are flagged for the visa officer ("new letter
    requested"). The calendar files follow by themselves (their SEQUENCE is the session's last
    change), and the reminders are keyed by the start day, so a moved session is reminded again.
    """
    now = now or timezone.now()
    session = _lock_session(session)
    if session.status == Session.Status.CANCELLED:
        return []
    dates_moved = (before["starts_at"], before["ends_at"]) != (session.starts_at, session.ends_at)
    people = list(
        session.enrolments.exclude(status=Enrolment.Status.CANCELLED)
        .annotate(has_letter=Exists(InvitationLetter.objects.filter(enrolment=OuterRef("pk"))))
        .order_by("pk")
    )
    for enrolment in people:
        enrolment.session = session
        if dates_moved and enrolment.has_letter and enrolment.status == Enrolment.Status.CONFIRMED:
            enrolment.letter_reissue_requested_at = now
            history.note(enrolment, by=by, reason=history.SESSION_DATES_CHANGED)
            enrolment.save(update_fields=["letter_reissue_requested_at", "updated_at"])
        session_change_notify(enrolment=enrolment, before=before, now=now)
    return people


@transaction.atomic
def session_fill_from_waiting_list(
    *, session: Session, by: User | None = None, now: datetime | None = None
) -> list[Enrolment]:
    """After staff raise a capacity: promote as many people as there are new places."""
    return _promote_waiting(_lock_session(session), now=now or timezone.now(), by=by)


def _letter_number(enrolment: Enrolment, issued_at: datetime) -> str:
    # Readable on the phone to a consulate; the sequence makes reissues distinct.
    sequence = enrolment.letters.count() + 1
    return f"HDW-{timezone.localtime(issued_at):%Y}-{enrolment.pk:05d}-{sequence}"


@transaction.atomic
def invitation_letter_issue(*, enrolment: Enrolment, by, now: datetime | None = None) -> InvitationLetter:
    """Render and store a visa invitation letter; the participant is told it is ready."""
    from ..letters import invitation_letter_pdf

    now = now or timezone.now()
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("session__workshop")
        .get(pk=enrolment.pk)
    )
    if not enrolment.needs_visa_letter:
        raise EnrolmentError(
            _("%(name)s did not ask for an invitation letter.") % {"name": enrolment.full_name}
        )
    if enrolment.status != Enrolment.Status.CONFIRMED:
        raise EnrolmentError(
            _("%(name)s has no confirmed place: letters are issued only for confirmed places.")
            % {"name": enrolment.full_name}
        )
    if settings.WORKSHOP_LETTER_NEEDS_PAYMENT and enrolment.fee and enrolment.paid_at is None:
        raise EnrolmentError(
            _("%(name)s has not paid the fee yet: letters are issued only for paid places.")
            % {"name": enrolment.full_name}
        )
    if not enrolment.passport_valid_on(timezone.localtime(enrolment.session.ends_at).date()):
        raise EnrolmentError(
            _("The passport of %(name)s expires before the session ends.") % {"name": enrolment.full_name}
        )
    letter = InvitationLetter(
        enrolment=enrolment, number=_letter_number(enrolment, now), issued_at=now, issued_by=by
    )
    letter.pdf.save(f"{letter.number}.pdf", ContentFile(invitation_letter_pdf(letter=letter)), save=False)
    try:
        with transaction.atomic():
            letter.save()
    except IntegrityError as exc:
        letter.pdf.delete(save=False)
        raise EnrolmentError(_("Another letter was issued at the same moment; try again.")) from exc
    if enrolment.letter_reissue_requested_at is not None:
        enrolment.letter_reissue_requested_at = None
        history.note(enrolment, by=by, reason=history.LETTER_ISSUED)
        enrolment.save(update_fields=["letter_reissue_requested_at", "updated_at"])
    _notify(enrolment, NOTICE.ENROLMENT_LETTER, letter=letter, now=now)
    return letter


def enrolment_reminders_queue_due(*, now: datetime | None = None) -> int:
    """Queue the workshop reminders that are due; run by the periodic sweep.

    The outbox's dedupe key lets at most one reminder per enrolment and kind
    through, however often (or however many sweeps at once) this runs.
    """
    now = now or timezone.now()
    queued = 0
    for kind in (NOTICE.ENROLMENT_REMINDER_WEEK, NOTICE.ENROLMENT_REMINDER_DAY):
        for enrolment in enrolments_due_reminder(kind=kind, now=now):
            with transaction.atomic():
                queued += _notify(enrolment, kind, now=now) is not None
    return queued
