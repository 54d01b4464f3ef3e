"""Operations on crews and bookings. Views, the admin and tasks all call these."""

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import emails
from .models import (
    Booking,
    BookingItem,
    Crew,
    DayRange,
    Equipment,
    Notification,
    ShootPlan,
    StudioSet,
    User,
    new_calendar_token,
)
from .selectors import (
    bookings_due_notice,
    bookings_for_notice,
    equipment_days,
    quote_lines,
    set_blackouts_overlapping,
)

NOTICE = Notification.Kind


class AccountError(Exception):
    """A sign-up or membership change that cannot be made; the message is for the user."""


def _registered(email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first()


def _account_notify_unless_recent(*, account: User, kind: str, now: datetime, **context) -> None:
    """Queue an account email for a form anyone can submit: silently skipped if it went out just now.

    The same email is then already on its way, and the page says the same either way.
    """
    with contextlib.suppress(emails.AccountEmailThrottled):
        emails.account_notify(account=account, kind=kind, now=now, **context)


def _pending_link_kind(account: User) -> str:
    """The email that gives an account that never chose a password its link again."""
    if account.is_crew_owner:
        return NOTICE.ACCOUNT_SIGNUP
    if account.crew_id is not None:
        return NOTICE.ACCOUNT_INVITATION
    return NOTICE.PASSWORD_RESET


@transaction.atomic
def crew_signup(
    *,
    email: str,
    full_name: str,
    company_name: str,
    contact_phone: str,
    country: str,
    language: str = "en",
    now: datetime | None = None,
) -> None:
    """Start a crew and its owner for a new address, or tell the address's owner that someone tried.

    Returns nothing, on purpose: the page must say the same whether or not
    the address has an account, so only the email, to that address, tells.
    A new owner has no password until they choose one from the emailed
    link, so nobody can take an address they do not read and set a password
    on it in advance. An address that has an account gets an email saying
    how to log in, or its set-password link again if it never chose a
    password; nothing else is written.
    """
    now = now or timezone.now()
    email = email.strip().lower()
    existing = _registered(email)
    if existing is None:
        try:
            # A savepoint, so a sign-up that loses a race for the address leaves no crew behind.
            with transaction.atomic():
                crew = Crew.objects.create(name=company_name, contact_phone=contact_phone, country=country)
                owner = User.objects.create_user(
                    email=email,
                    password=None,
                    first_name=full_name,
                    crew=crew,
                    crew_role=User.CrewRole.OWNER,
                    language=language,
                )
        except IntegrityError:
            existing = _registered(email)
            if existing is None:
                raise  # not the unique address: a bug, not a race
        else:
            emails.account_notify(account=owner, kind=NOTICE.ACCOUNT_SIGNUP, now=now)
            return
    if not existing.is_active:
        return  # deactivated by the studio: told nothing, as by the password reset
    if existing.has_usable_password():
        _account_notify_unless_recent(account=existing, kind=NOTICE.ACCOUNT_SIGNUP_EXISTING, now=now)
    else:
        _account_notify_unless_recent(account=existing, kind=_pending_link_kind(existing), now=now)


@transaction.atomic
def account_password_reset_request(*, email: str, now: datetime | None = None) -> None:
    """Email the active account with ``email``, if there is one, a link to choose a new password.

    Accounts that never chose a password (a member whose invitation expired)
    are included: this is how they get a fresh link. Returns nothing, on
    purpose: the page says the same for any address. The email goes through
    the outbox, so a mail server or broker outage delays it but cannot break
    the form, and it is sent to the stored address, never the typed one.
    """
    account = _registered(email.strip())
    if account is not None and account.is_active:
        _account_notify_unless_recent(account=account, kind=NOTICE.PASSWORD_RESET, now=now or timezone.now())


@transaction.atomic
def crew_member_add(*, crew: Crew, email: str, full_name: str, by: User, now: datetime | None = None) -> None:
    """Add a new address to ``crew`` as a member, who chooses a password from an emailed link.

    The member and their invitation are written in one transaction, and the
    invitation is an outbox row, so a broker outage delays the email but can
    never leave a member without one.

    Returns nothing, on purpose: the owner is told the same whether or not
    the address has an account; the address itself is told by email. One
    that already has an account stays as it is (an address belongs to one
    account) and is told that this crew tried to add it — or, if it is a
    member of this crew who never chose a password, gets its invitation again.
    """
    now = now or timezone.now()
    if not (by.crew_id == crew.pk and by.is_crew_owner):
        raise AccountError(_("Only the crew's owner can add members."))
    email = email.strip().lower()
    existing = _registered(email)
    if existing is None:
        try:
            with transaction.atomic():
                member = User.objects.create_user(
                    email=email,
                    password=None,
                    first_name=full_name,
                    crew=crew,
                    crew_role=User.CrewRole.MEMBER,
                    language=by.language,
                )
        except IntegrityError:
            existing = _registered(email)
            if existing is None:
                raise  # not the unique address: a bug, not a race
        else:
            emails.account_notify(account=member, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
            return
    if not existing.is_active:
        return  # deactivated by the studio: told nothing
    if existing.crew_id == crew.pk and not existing.has_usable_password():
        _account_notify_unless_recent(account=existing, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
    else:
        _account_notify_unless_recent(
            account=existing, kind=NOTICE.ACCOUNT_ADD_EXISTING, by=by, crew=crew, now=now
        )


@transaction.atomic
def crew_member_invitation_resend(*, member: User, by: User, now: datetime | None = None) -> Notification:
    """Send ``member`` their invitation again, with a fresh link, if they have not chosen a password.

    At most once per ``emails.ACCOUNT_EMAIL_INTERVAL`` per member.
    """
    now = now or timezone.now()
    if not (by.is_crew_owner and member.crew_id == by.crew_id):
        raise AccountError(_("Only the crew's owner can send invitations."))
    if not member.is_active:
        raise AccountError(_("%(email)s is no longer active in your crew.") % {"email": member.email})
    if member.has_usable_password():
        raise AccountError(
            _("%(email)s has already chosen a password and can log in.") % {"email": member.email}
        )
    try:
        return emails.account_notify(account=member, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
    except emails.AccountEmailThrottled as exc:
        raise AccountError(
            _(
                "An invitation went to %(email)s less than %(minutes)d minutes ago; from %(time)s you "
                "can send it again."
            )
            % {
                "email": member.email,
                "minutes": emails.ACCOUNT_EMAIL_INTERVAL.total_seconds() // 60,
                "time": date_format(timezone.localtime(exc.next_allowed_at), "TIME_FORMAT"),
            }
        ) from exc


# --- People's own details and the crew's -------------------------------------------


def _log_change(*, by: User, obj, message) -> None:
    """A line in the object's admin history: who changed it, and what.

    ``message`` is either text or Django admin's structured form
    (``[{"changed": {"fields": [...]}}]``), which the admin shows in the reader's language.
    """
    LogEntry.objects.log_actions(user_id=by.pk, queryset=[obj], action_flag=CHANGE, change_message=message)


def _changed_fields(obj, values: dict) -> list[str]:
    """Set ``values`` on ``obj``; the names of the fields whose value changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _field_labels(model, names: list[str]) -> list[str]:
    # Stored in the default language, as the admin's own change messages are.
    with translation.override(None):
        return [str(model._meta.get_field(name).verbose_name).capitalize() for name in names]


@transaction.atomic
def account_update(
    *, user: User, first_name: str, last_name: str, phone: str, language: str, by: User | None = None
) -> list[str]:
    """Change a person's own name, phone and email language; returns the fields that changed."""
    by = by or user
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = _changed_fields(
        user, {"first_name": first_name, "last_name": last_name, "phone": phone, "language": language}
    )
    if changed:
        user.save(update_fields=changed)
        _log_change(by=by, obj=user, message=[{"changed": {"fields": _field_labels(User, changed)}}])
    return changed


def _lock_crew_for_owner(*, crew: Crew, by: User, refusal: str) -> tuple[Crew, User]:
    """Lock ``crew`` and re-read ``by`` under the lock: ownership may have just moved."""
    crew = Crew.objects.select_for_update().get(pk=crew.pk)
    owner = User.objects.get(pk=by.pk)
    if not (owner.crew_id == crew.pk and owner.is_crew_owner):
        raise AccountError(refusal)
    return crew, owner


@transaction.atomic
def crew_update(*, crew: Crew, by: User, name: str, contact_phone: str, country: str) -> list[str]:
    """The owner changes the company details; returns the fields that changed."""
    crew, by = _lock_crew_for_owner(
        crew=crew, by=by, refusal=_("Only the crew's owner can change the company details.")
    )
    changed = _changed_fields(crew, {"name": name, "contact_phone": contact_phone, "country": country})
    if changed:
        crew.save(update_fields=changed)
        _log_change(by=by, obj=crew, message=[{"changed": {"fields": _field_labels(Crew, changed)}}])
    return changed


@transaction.atomic
def crew_member_remove(*, crew: Crew, member: User, by: User) -> User:
    """Detach ``member`` from ``crew``: they no longer see its bookings, which stay with the crew.

    The account itself stays (nothing is deleted by a user action); it simply
    belongs to no crew. The owner cannot remove themself: a crew always has one.
    """
    crew, by = _lock_crew_for_owner(crew=crew, by=by, refusal=_("Only the crew's owner can remove members."))
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.crew_id != crew.pk:
        raise AccountError(_("%(email)s is not a member of your crew.") % {"email": member.email})
    if member.pk == by.pk or member.is_crew_owner:
        raise AccountError(_("The crew's owner cannot be removed. Make another member the owner first."))
    member.crew = None
    member.crew_role = ""
    member.save(update_fields=["crew", "crew_role"])
    _log_change(by=by, obj=member, message=f"Removed from the crew {crew.name} (#{crew.pk}) by its owner")
    _log_change(by=by, obj=crew, message=f"Removed the member {member.email} (#{member.pk})")
    return member


@transaction.atomic
def crew_owner_transfer(*, crew: Crew, member: User, by: User) -> User:
    """Make ``member`` the crew's owner; the owner until now becomes a member.

    A crew has exactly one owner (a database constraint); the crew row is
    locked, so two transfers at once cannot both succeed.
    """
    crew, by = _lock_crew_for_owner(
        crew=crew, by=by, refusal=_("Only the crew's owner can hand the crew over.")
    )
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.crew_id != crew.pk or member.pk == by.pk:
        raise AccountError(_("%(email)s is not a member of your crew.") % {"email": member.email})
    if not member.is_active or not member.has_usable_password():
        raise AccountError(
            _("%(email)s has not chosen a password yet; they can become the owner once they can log in.")
            % {"email": member.email}
        )
    # The old owner steps down first, so the one-owner constraint holds after each statement.
    by.crew_role = User.CrewRole.MEMBER
    by.save(update_fields=["crew_role"])
    member.crew_role = User.CrewRole.OWNER
    member.save(update_fields=["crew_role"])
    _log_change(by=by, obj=crew, message=f"Ownership handed over from {by.email} to {member.email}")
    _log_change(by=by, obj=member, message="Made the crew's owner")
    _log_change(by=by, obj=by, message="Handed the crew over; now a member")
    return member


# --- Bookings -----------------------------------------------------------------


class BookingError(Exception):
    """A booking operation that cannot be done; ``str(e)`` is for the user, ``field`` says where."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ItemRequest:
    equipment: Equipment
    quantity: int


@dataclass(frozen=True)
class SetRequest:
    studio_set: StudioSet
    days: DayRange
    items: Sequence[ItemRequest] = ()


def booking_validate_days(*, days: DayRange, today: date) -> None:
    """The calendar rules every booking follows, wherever it is made."""
    if days.end < days.start:
        raise BookingError(_("The last shoot day cannot be before the first."), field="end_date")
    if days.start < today:
        raise BookingError(_("The first shoot day cannot be in the past."), field="start_date")
    if days.days > settings.BOOKING_MAX_DAYS:
        raise BookingError(
            _("A booking covers at most %(max)d shoot days.") % {"max": settings.BOOKING_MAX_DAYS},
            field="end_date",
        )
    latest = today + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD)
    if days.end > latest:
        raise BookingError(
            _("Bookings can be made up to %(date)s.") % {"date": date_format(latest)}, field="end_date"
        )


def _lock(model, pks: set[int]) -> dict:
    # Always in primary-key order, sets before equipment: two transactions that
    # want the same rows queue up instead of deadlocking.
    return {obj.pk: obj for obj in model.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


def shoot_plan_request(
    *, crew: Crew, parts: Sequence[SetRequest], by: User, notes: str = "", now: datetime | None = None
) -> ShootPlan:
    """Request one or more set bookings with their equipment, all or nothing.

    Locks the sets and equipment involved, re-checks availability against every
    active booking and blackout (and against the other parts of this plan),
    stores the quote at today's rates and holds everything for
    ``BOOKING_HOLD_HOURS``.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not parts:
        raise BookingError(_("Choose at least one set."))
    if by.crew_id != crew.pk and not by.has_perm("bookings.add_booking"):
        raise BookingError(_("You can only book for your own crew."))
    for part in parts:
        booking_validate_days(days=part.days, today=today)
        seen = set()
        for item in part.items:
            if item.quantity < 1:
                raise BookingError(_("Quantities must be at least 1."), field="items")
            if item.equipment.pk in seen:
                raise BookingError(
                    _("%(item)s is listed twice; put the total on one line.") % {"item": item.equipment},
                    field="items",
                )
            seen.add(item.equipment.pk)

    try:
        with transaction.atomic():
            sets = _lock(StudioSet, {p.studio_set.pk for p in parts})
            equipment = _lock(Equipment, {i.equipment.pk for p in parts for i in p.items})
            _check_sets_free(parts, sets)
            _check_equipment_free(parts, equipment)

            # Anyone booking for a crew they are not in is the booking desk (checked above).
            by_desk = by.crew_id != crew.pk
            plan = ShootPlan.objects.create(crew=crew, created_by=by, by_desk=by_desk)
            hold_until = now + timedelta(hours=settings.BOOKING_HOLD_HOURS)
            for part in parts:
                studio_set = sets[part.studio_set.pk]
                items = [(equipment[i.equipment.pk], i.quantity) for i in part.items]
                lines = quote_lines(studio_set, part.days, items)
                booking = Booking.objects.create(
                    plan=plan,
                    crew=crew,
                    studio_set=studio_set,
                    start_date=part.days.start,
                    end_date=part.days.end,
                    blocked_until=part.days.end + timedelta(days=studio_set.changeover_days),
                    hold_expires_at=hold_until,
                    quote_total=sum((line.amount for line in lines), Decimal(0)),
                    quote_lines=[line.as_json() for line in lines],
                    notes=notes,
                    created_by=by,
                    by_desk=by_desk,
                )
                BookingItem.objects.bulk_create(
                    BookingItem(booking=booking, equipment=e, quantity=q, daily_rate=e.daily_rate)
                    for e, q in items
                )
                emails.booking_notify(booking=booking, kind=NOTICE.BOOKING_REQUESTED, by=by)
    except IntegrityError as exc:
        # The exclusion constraint caught what the checks above should have: say so plainly.
        raise BookingError(_("Those days were just taken for this set. Please choose other dates.")) from exc
    return plan


@dataclass(frozen=True)
class NewCrew:
    """A crew the booking desk opens while booking for it, with the person who becomes its owner."""

    name: str
    contact_phone: str
    country: str
    owner_name: str
    owner_email: str
    owner_language: str = "en"


DESK_PERMISSION = "bookings.add_booking"


def crew_create_for_desk(*, new_crew: NewCrew, by: User, now: datetime | None = None) -> Crew:
    """Open a crew with its owner for a crew that phoned or walked in; the owner gets the invitation.

    As on sign-up, the owner has no password until they choose one from the
    emailed link. Unlike sign-up, the desk is told plainly when the address
    already has an account: staff may know that, and the crew is then booked
    for as it is. Call inside the transaction of the booking it is opened for.
    """
    now = now or timezone.now()
    if not by.has_perm(DESK_PERMISSION):
        raise BookingError(_("Only the booking desk can open a crew for someone."))
    email = new_crew.owner_email.strip().lower()
    taken = BookingError(
        _("%(email)s already has an account; choose that person's crew instead.") % {"email": email},
        field="owner_email",
    )
    if _registered(email) is not None:
        raise taken
    try:
        # A savepoint: the address taken a moment ago by someone else leaves no crew behind.
        with transaction.atomic():
            crew = Crew.objects.create(
                name=new_crew.name, contact_phone=new_crew.contact_phone, country=new_crew.country
            )
            owner = User.objects.create_user(
                email=email,
                password=None,
                first_name=new_crew.owner_name,
                crew=crew,
                crew_role=User.CrewRole.OWNER,
                language=new_crew.owner_language,
            )
    except IntegrityError as exc:
        if _registered(email) is None:
            raise  # not the unique address: a bug, not a race
        raise taken from exc
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[crew],
        action_flag=ADDITION,
        change_message=f"Opened by the booking desk, with its owner {email} (#{owner.pk})",
    )
    emails.account_notify(account=owner, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
    return crew


@transaction.atomic
def desk_shoot_plan_request(
    *,
    parts: Sequence[SetRequest],
    by: User,
    crew: Crew | None = None,
    new_crew: NewCrew | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> ShootPlan:
    """The booking desk books for ``crew``, or for ``new_crew`` opened here: all or nothing.

    The same request as a crew's own (checks, quote, hold and emails), made
    in one transaction with the new crew, so a refused booking leaves no crew,
    owner or invitation behind.
    """
    if (crew is None) == (new_crew is None):
        raise ValueError("Give either crew or new_crew.")
    if not by.has_perm(DESK_PERMISSION):
        raise BookingError(_("Only the booking desk can book for a crew."))
    if new_crew is not None:
        crew = crew_create_for_desk(new_crew=new_crew, by=by, now=now)
    return shoot_plan_request(crew=crew, parts=parts, by=by, notes=notes, now=now)


def booking_request(
    *,
    crew: Crew,
    studio_set: StudioSet,
    days: DayRange,
    items: Sequence[ItemRequest] = (),
    by: User,
    notes: str = "",
    now: datetime | None = None,
) -> Booking:
    plan = shoot_plan_request(
        crew=crew, parts=[SetRequest(studio_set, days, items)], by=by, notes=notes, now=now
    )
    return plan.bookings.get()


def _check_sets_free(parts: Sequence[SetRequest], sets: dict[int, StudioSet]) -> None:
    for part in parts:
        studio_set = sets[part.studio_set.pk]
        if not studio_set.is_active:
            raise BookingError(
                _("%(set)s is not open for booking.") % {"set": studio_set}, field="studio_set"
            )
    for index, part in enumerate(parts):
        studio_set = sets[part.studio_set.pk]
        widened = DayRange(part.days.start, part.days.end + timedelta(days=studio_set.changeover_days))
        existing = Booking.objects.active().filter(
            studio_set=studio_set, start_date__lte=widened.end, blocked_until__gte=widened.start
        )
        clashes = [DayRange(b.start_date, b.blocked_until) for b in existing]
        # Parts of this same plan on the same set must respect the changeover too.
        for other in parts[:index]:
            if other.studio_set.pk == studio_set.pk:
                clashes.append(
                    DayRange(other.days.start, other.days.end + timedelta(days=studio_set.changeover_days))
                )
        clashes = [c for c in clashes if widened.overlaps(c.start, c.end)]
        if clashes:
            raise BookingError(
                _("%(set)s is already taken (changeover included) on %(dates)s.")
                % {"set": studio_set, "dates": ", ".join(str(c) for c in clashes)},
                field="start_date",
            )
        blackouts = set_blackouts_overlapping([studio_set.pk], part.days)
        if blackouts:
            raise BookingError(
                _("%(set)s is closed on %(dates)s (%(reason)s).")
                % {
                    "set": studio_set,
                    "dates": ", ".join(str(DayRange(b.start_date, b.end_date)) for b in blackouts),
                    "reason": ", ".join(b.get_reason_display() for b in blackouts),
                },
                field="start_date",
            )


def _check_equipment_free(parts: Sequence[SetRequest], equipment: dict[int, Equipment]) -> None:
    wanted = [(p.days, i) for p in parts for i in p.items]
    if not wanted:
        return
    for _days, item in wanted:
        if not equipment[item.equipment.pk].is_active:
            raise BookingError(
                _("%(item)s cannot be booked at the moment.") % {"item": item.equipment}, field="items"
            )
    whole = DayRange(min(d.start for d, _i in wanted), max(d.end for d, _i in wanted))
    usage = equipment_days(equipment.values(), whole)
    requested: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for days, item in wanted:
        for day in days.dates():
            requested[item.equipment.pk][day] += item.quantity
    problems = []
    for pk, per_day in requested.items():
        short = {
            day: qty - usage[pk].free_on(day) for day, qty in per_day.items() if qty > usage[pk].free_on(day)
        }
        if short:
            days_text = ", ".join(
                _("%(date)s: %(units)d short") % {"date": f"{d:%Y-%m-%d}", "units": n}
                for d, n in sorted(short.items())
            )
            problems.append(
                _("Not enough %(item)s (%(stock)d owned) — %(days)s.")
                % {"item": equipment[pk], "stock": equipment[pk].stock, "days": days_text}
            )
    if problems:
        raise BookingError(" ".join(problems), field="items")


def _locked_booking(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().get(pk=booking.pk)


@transaction.atomic
def booking_confirm(*, booking: Booking, by: User, now: datetime | None = None) -> Booking:
    now = now or timezone.now()
    booking = _locked_booking(booking)
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(
            _("%(ref)s is %(status)s, so it cannot be confirmed.")
            % {"ref": booking.reference, "status": booking.get_status_display().lower()}
        )
    if booking.hold_expires_at and booking.hold_expires_at <= now:
        raise BookingError(
            _("The hold on %(ref)s has expired; the crew must request it again.") % {"ref": booking.reference}
        )
    return _decide(booking, Booking.Status.CONFIRMED, by)


def _decide(booking: Booking, status: str, by: User) -> Booking:
    booking.status = status
    booking.decided_by = by
    booking.hold_expires_at = None
    booking.save(update_fields=["status", "decided_by", "hold_expires_at", "updated_at"])
    kind = NOTICE.BOOKING_CONFIRMED if status == Booking.Status.CONFIRMED else NOTICE.BOOKING_REJECTED
    emails.booking_notify(booking=booking, kind=kind, by=by)
    return booking


@transaction.atomic
def booking_reject(*, booking: Booking, by: User) -> Booking:
    booking = _locked_booking(booking)
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(
            _("%(ref)s is %(status)s, so it cannot be rejected.")
            % {"ref": booking.reference, "status": booking.get_status_display().lower()}
        )
    return _decide(booking, Booking.Status.REJECTED, by)


@transaction.atomic
def booking_cancel(*, booking: Booking, by: User, now: datetime | None = None) -> Booking:
    """Cancel before the first shoot day; the record stays and the days free up at once."""
    today = timezone.localdate(now or timezone.now())
    booking = _locked_booking(booking)
    if not booking.can_be_cancelled_by(by, today):
        if not booking.is_active:
            raise BookingError(
                _("%(ref)s is %(status)s, so it cannot be cancelled.")
                % {"ref": booking.reference, "status": booking.get_status_display().lower()}
            )
        if today >= booking.start_date:
            raise BookingError(
                _("%(ref)s started on %(date)s; call the booking desk to change it.")
                % {"ref": booking.reference, "date": date_format(booking.start_date)}
            )
        raise BookingError(_("You cannot cancel this booking."))
    booking.status = Booking.Status.CANCELLED
    booking.hold_expires_at = None
    booking.cancelled_by = by
    booking.save(update_fields=["status", "hold_expires_at", "cancelled_by", "updated_at"])
    emails.booking_notify(booking=booking, kind=NOTICE.BOOKING_CANCELLED, by=by)
    return booking


def booking_expire_stale_holds(*, now: datetime | None = None) -> list[int]:
    """Requested bookings whose hold has run out become ``expired``; returns their ids.

    The crew is told in the same transaction, so an expiry is never silent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Booking.objects.filter(status=Booking.Status.REQUESTED, hold_expires_at__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        # Conditional on the status, so a booking confirmed meanwhile is left alone.
        Booking.objects.filter(pk__in=ids, status=Booking.Status.REQUESTED).update(
            status=Booking.Status.EXPIRED, updated_at=now
        )
        if ids:
            for booking in bookings_for_notice().filter(pk__in=ids):
                emails.booking_notify(booking=booking, kind=NOTICE.BOOKING_HOLD_EXPIRED)
    return ids


def booking_reminders_queue_due(*, now: datetime | None = None) -> int:
    """Queue the booking reminders that are due; run by the periodic sweep.

    Each booking is handled in its own transaction, and the outbox's dedupe
    key lets at most one message per booking, kind and recipient through,
    however often (or however many sweeps at once) this runs.
    """
    now = now or timezone.now()
    queued = 0
    for kind in (NOTICE.BOOKING_HOLD_EXPIRING, NOTICE.BOOKING_REMINDER_START, NOTICE.BOOKING_REMINDER_END):
        for booking in bookings_due_notice(kind=kind, now=now):
            with transaction.atomic():
                queued += emails.booking_notify(booking=booking, kind=kind)
    return queued


def booking_complete_finished(*, now: datetime | None = None) -> int:
    """Confirmed bookings whose last shoot day has passed become ``completed``."""
    today = timezone.localdate(now or timezone.now())
    return Booking.objects.filter(status=Booking.Status.CONFIRMED, end_date__lt=today).update(
        status=Booking.Status.COMPLETED, updated_at=timezone.now()
    )


def crew_calendar_reset(*, crew: Crew, by: User) -> Crew:
    """A new secret for the crew's calendar feed; the old link stops working.

    Only the owner may: a reset cuts off every member's subscription at once.
    """
    if not (by.crew_id == crew.pk and by.is_crew_owner):
        raise AccountError(_("Only the crew's owner can reset the calendar link."))
    crew.calendar_token = new_calendar_token()
    crew.save(update_fields=["calendar_token"])
    return crew


# --- Staff log-in: the second factor ----------------------------------------------

BACKUP_CODE_COUNT = 10


def staff_authenticator_pending(*, user: User) -> TOTPDevice:
    """The authenticator ``user`` is setting up: one unconfirmed device, reused until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def staff_authenticator_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm ``device`` with a code it shows; it replaces any earlier authenticator.

    Returns a fresh set of backup codes, shown to the person once.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(code):
        raise AccountError(
            _("That code is not right. Check the time on your phone and enter the newest code.")
        )
    # A new phone replaces the old one: the old secret must stop working.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return staff_backup_codes_replace(user=user)


@transaction.atomic
def staff_backup_codes_replace(*, user: User) -> list[str]:
    """New one-time backup codes for ``user``; the previous ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def staff_backup_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- The catalogue ---------------------------------------------------------------


def equipment_check_stock(*, equipment: Equipment, stock: int, now: datetime | None = None) -> Equipment:
    """Refuse a stock lower than the units crews hold on some day from today on.

    Locks the kind's row, as a request for its units does, so a request cannot take units between
    this check and the new stock being saved in the same transaction. Returns the locked row.
    """
    locked = Equipment.objects.select_for_update().get(pk=equipment.pk)
    today = timezone.localdate(now or timezone.now())
    held: dict[date, int] = defaultdict(int)
    holders: dict[date, list[str]] = defaultdict(list)
    lines = BookingItem.objects.filter(
        equipment=locked, booking__status__in=Booking.ACTIVE_STATUSES, booking__end_date__gte=today
    ).values_list("quantity", "booking__start_date", "booking__end_date", "booking__reference")
    for quantity, start, end, reference in lines:
        for day in DayRange(max(start, today), end).dates():
            held[day] += quantity
            holders[day].append(reference)
    short = sorted(day for day, units in held.items() if units > stock)
    if short:
        references = sorted({ref for day in short for ref in holders[day]})
        raise BookingError(
            _(
                "Crews hold up to %(units)d units on %(days)s (%(refs)s). Keep at least that many, "
                "or change those bookings first."
            )
            % {
                "units": max(held[day] for day in short),
                "days": ", ".join(date_format(day) for day in short[:3]) + (" …" if len(short) > 3 else ""),
                "refs": ", ".join(references[:5]) + (" …" if len(references) > 5 else ""),
            },
            field="stock",
        )
    return locked


def equipment_set_stock(*, equipment: Equipment, stock: int, now: datetime | None = None) -> Equipment:
    """Change how many units the studio owns; never below what crews already hold."""
    with transaction.atomic():
        locked = equipment_check_stock(equipment=equipment, stock=stock, now=now)
        locked.stock = stock
        locked.save(update_fields=["stock"])
    return locked
