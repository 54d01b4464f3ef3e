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
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import emails, history
from .fees import booking_cancellation_fee
from .models import (
    REASON_MAX_LENGTH,
    Booking,
    BookingItem,
    Crew,
    DayRange,
    Equipment,
    Notification,
    PlanItem,
    ShootPlan,
    StudioSet,
    User,
    new_calendar_token,
)
from .money import format_cny
from .selectors import (
    bookings_due_notice,
    bookings_for_notice,
    equipment_days,
    equipment_held_lines,
    plan_days,
    plan_quote_lines,
    quote_lines,
    set_blackouts_overlapping,
    with_plan_shape,
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


def _validate_lines(items: Sequence[ItemRequest]) -> None:
    seen = set()
    for item in items:
        if item.quantity < 1:
            raise BookingError(_("Quantities must be at least 1."), field="items")
        if item.equipment.pk in seen:
            raise BookingError(
                _("%(item)s is listed twice; put the total on one line.") % {"item": item.equipment},
                field="items",
            )
        seen.add(item.equipment.pk)


def shoot_plan_request(
    *,
    crew: Crew,
    parts: Sequence[SetRequest],
    by: User,
    items: Sequence[ItemRequest] = (),
    notes: str = "",
    now: datetime | None = None,
) -> ShootPlan:
    """Request one or more set bookings with their equipment, all or nothing.

    Each part's ``items`` are held on that part's shoot days; the plan's own ``items``
    (equipment that travels with the crew) once per day over the union of the parts'
    days. Locks the sets and equipment involved, re-checks availability against every
    active booking and blackout (and against the other parts of this plan), stores the
    quote at today's rates on each part and the whole on the plan, and holds everything
    for ``BOOKING_HOLD_HOURS``.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not parts:
        raise BookingError(_("Choose at least one set."))
    if by.crew_id != crew.pk and not by.has_perm("bookings.add_booking"):
        raise BookingError(_("You can only book for your own crew."))
    if len(parts) == 1 and items:
        # One set: the whole plan is that set's days, so its lines are simply the set's.
        parts = [SetRequest(parts[0].studio_set, parts[0].days, [*parts[0].items, *items])]
        items = ()
    for part in parts:
        booking_validate_days(days=part.days, today=today)
        _validate_lines(part.items)
    _validate_lines(items)

    try:
        with transaction.atomic():
            sets = _lock(StudioSet, {p.studio_set.pk for p in parts})
            equipment = _lock(
                Equipment, {i.equipment.pk for p in parts for i in p.items} | {i.equipment.pk for i in items}
            )
            _check_sets_free(parts, sets)
            _check_equipment_free(parts, equipment, plan_items=items)

            plan_lines = plan_quote_lines(
                [p.days for p in parts], [(equipment[i.equipment.pk], i.quantity) for i in items]
            )
            # Every part is priced first, so the plan is written once, with its one total.
            part_quotes = [
                quote_lines(
                    sets[p.studio_set.pk], p.days, [(equipment[i.equipment.pk], i.quantity) for i in p.items]
                )
                for p in parts
            ]
            # Anyone booking for a crew they are not in is the booking desk (checked above).
            by_desk = by.crew_id != crew.pk
            plan = ShootPlan(
                crew=crew,
                created_by=by,
                by_desk=by_desk,
                quote_lines=[line.as_json() for line in plan_lines],
                quote_total=sum(
                    (line.amount for lines in [plan_lines, *part_quotes] for line in lines), Decimal(0)
                ),
            )
            history.note(plan, by=by, when=now)
            plan.save()
            # One save per line (a plan or booking has a few), so each line's history says who added it.
            for e, q in ((equipment[i.equipment.pk], i.quantity) for i in items):
                plan_item = PlanItem(plan=plan, equipment=e, quantity=q, daily_rate=e.daily_rate)
                history.note(plan_item, by=by, when=now)
                plan_item.save(force_insert=True)
            hold_until = now + timedelta(hours=settings.BOOKING_HOLD_HOURS)
            bookings = []
            for part, lines in zip(parts, part_quotes, strict=True):
                studio_set = sets[part.studio_set.pk]
                booking = Booking(
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
                history.note(booking, by=by, when=now)
                booking.save(force_insert=True)
                for i in part.items:
                    e = equipment[i.equipment.pk]
                    item = BookingItem(
                        booking=booking, equipment=e, quantity=i.quantity, daily_rate=e.daily_rate
                    )
                    history.note(item, by=by, when=now)
                    item.save(force_insert=True)
                bookings.append(booking)
            if emails.is_plan_of_parts(plan):
                emails.plan_notify(plan=plan, kind=NOTICE.PLAN_REQUESTED, by=by)
            else:
                emails.booking_notify(booking=bookings[0], kind=NOTICE.BOOKING_REQUESTED, by=by)
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
    items: Sequence[ItemRequest] = (),
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
    return shoot_plan_request(crew=crew, parts=parts, items=items, by=by, notes=notes, now=now)


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


def _check_sets_free(
    parts: Sequence[SetRequest], sets: dict[int, StudioSet], *, ignoring: Sequence[int] = ()
) -> None:
    for part in parts:
        studio_set = sets[part.studio_set.pk]
        if not studio_set.is_active:
            raise BookingError(
                _("%(set)s is not open for booking.") % {"set": studio_set}, field="studio_set"
            )
    for index, part in enumerate(parts):
        studio_set = sets[part.studio_set.pk]
        widened = DayRange(part.days.start, part.days.end + timedelta(days=studio_set.changeover_days))
        existing = (
            Booking.objects.holding()
            .filter(studio_set=studio_set, start_date__lte=widened.end, blocked_until__gte=widened.start)
            .exclude(pk__in=ignoring)
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


def _check_equipment_free(
    parts: Sequence[SetRequest],
    equipment: dict[int, Equipment],
    *,
    plan_items: Sequence[ItemRequest] = (),
    ignoring: Sequence[int] = (),
    ignoring_plans: Sequence[int] = (),
) -> None:
    """Refuse what would hold more units than are free on some day.

    ``ignoring`` (bookings) and ``ignoring_plans`` (whole-plan lines) count as free: a
    booking that is changed competes with everyone but itself.
    """
    union = plan_days([p.days for p in parts])
    wanted = [(p.days.dates(), i) for p in parts for i in p.items] + [(union, i) for i in plan_items]
    if not wanted:
        return
    for _days, item in wanted:
        if not equipment[item.equipment.pk].is_active:
            raise BookingError(
                _("%(item)s cannot be booked at the moment.") % {"item": item.equipment}, field="items"
            )
    whole = DayRange(min(union), max(union))
    usage = equipment_days(equipment.values(), whole, ignoring=ignoring, ignoring_plans=ignoring_plans)
    requested: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for dates, item in wanted:
        for day in dates:
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


def _clean_reason(reason: str, *, required: bool, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise BookingError(_("Please give a reason; the crew is told it."), field=field)
    if len(reason) > REASON_MAX_LENGTH:
        raise BookingError(
            _("Keep the reason under %(max)d characters.") % {"max": REASON_MAX_LENGTH}, field=field
        )
    return reason


def _check_can_confirm(booking: Booking, now: datetime) -> None:
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(
            _("%(ref)s is %(status)s, so it cannot be confirmed.")
            % {"ref": booking.reference, "status": booking.get_status_display().lower()}
        )
    if booking.hold_expires_at and booking.hold_expires_at <= now:
        raise BookingError(
            _("The hold on %(ref)s has expired; the crew must request it again.") % {"ref": booking.reference}
        )


def _check_can_reject(booking: Booking) -> None:
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(
            _("%(ref)s is %(status)s, so it cannot be rejected.")
            % {"ref": booking.reference, "status": booking.get_status_display().lower()}
        )


@transaction.atomic
def booking_confirm(*, booking: Booking, by: User, reason: str = "", now: datetime | None = None) -> Booking:
    now = now or timezone.now()
    reason = _clean_reason(reason, required=False)
    booking = _locked_booking(booking)
    _check_can_confirm(booking, now)
    _decide(booking, Booking.Status.CONFIRMED, by, reason)
    _decision_notify(bookings=[booking], by=by)
    return booking


def _decide(booking: Booking, status: str, by: User, reason: str) -> Booking:
    booking.status = status
    booking.decided_by = by
    booking.decision_reason = reason
    booking.hold_expires_at = None
    history.note(booking, by=by, reason=reason)
    booking.save(update_fields=["status", "decided_by", "decision_reason", "hold_expires_at", "updated_at"])
    return booking


def _decision_notify(*, bookings: Sequence[Booking], by: User, plan: ShootPlan | None = None) -> None:
    """Tell the crew of decisions made together; the one place a plan's decision email is sent from.

    A plan decided as a whole (``plan`` given) whose events are told per plan gets one email;
    otherwise each booking gets its own.
    """
    if plan is not None and bookings and emails.is_plan_of_parts(plan):
        confirmed = bookings[0].status == Booking.Status.CONFIRMED
        emails.plan_notify(
            plan=plan,
            kind=NOTICE.PLAN_CONFIRMED if confirmed else NOTICE.PLAN_REJECTED,
            by=by,
            reason=bookings[0].decision_reason,
        )
        return
    for booking in bookings:
        kind = (
            NOTICE.BOOKING_CONFIRMED
            if booking.status == Booking.Status.CONFIRMED
            else NOTICE.BOOKING_REJECTED
        )
        emails.booking_notify(booking=booking, kind=kind, by=by)


@transaction.atomic
def booking_reject(*, booking: Booking, by: User, reason: str = "") -> Booking:
    """Refuse a request; the reason is required, and the crew reads it in the email and on the page."""
    reason = _clean_reason(reason, required=True)
    booking = _locked_booking(booking)
    _check_can_reject(booking)
    _decide(booking, Booking.Status.REJECTED, by, reason)
    _decision_notify(bookings=[booking], by=by)
    return booking


def _plan_requested_parts(plan: ShootPlan) -> list[Booking]:
    # Every part locked, in primary-key order like every other booking lock, before any is read.
    parts = list(Booking.objects.select_for_update().filter(plan=plan, change_of__isnull=True).order_by("pk"))
    requested = [b for b in parts if b.status == Booking.Status.REQUESTED]
    if not requested:
        raise BookingError(_("No booking of this plan is waiting for a decision."))
    return parts


@transaction.atomic
def shoot_plan_confirm(
    *, plan: ShootPlan, by: User, reason: str = "", now: datetime | None = None
) -> list[Booking]:
    """Confirm every still-requested part of ``plan`` at once, or none.

    A part whose hold has run out (still requested, or already marked expired) fails the whole
    confirmation: the plan was requested as a whole. Parts the desk already decided one by one stay
    as they are. Returns the bookings confirmed.
    """
    now = now or timezone.now()
    reason = _clean_reason(reason, required=False)
    parts = _plan_requested_parts(plan)
    lapsed = [
        b.reference
        for b in parts
        if b.status == Booking.Status.EXPIRED
        or (b.status == Booking.Status.REQUESTED and b.hold_expires_at and b.hold_expires_at <= now)
    ]
    if lapsed:
        raise BookingError(
            _(
                "The hold on %(refs)s has expired, so the plan cannot be confirmed; the crew must request it again."
            )
            % {"refs": ", ".join(lapsed)}
        )
    decided = [
        _decide(b, Booking.Status.CONFIRMED, by, reason)
        for b in parts
        if b.status == Booking.Status.REQUESTED
    ]
    _decision_notify(bookings=decided, by=by, plan=plan)
    return decided


@transaction.atomic
def shoot_plan_reject(*, plan: ShootPlan, by: User, reason: str = "") -> list[Booking]:
    """Reject every still-requested part of ``plan`` at once, with one reason; returns them."""
    reason = _clean_reason(reason, required=True)
    parts = _plan_requested_parts(plan)
    decided = [
        _decide(b, Booking.Status.REJECTED, by, reason) for b in parts if b.status == Booking.Status.REQUESTED
    ]
    _decision_notify(bookings=decided, by=by, plan=plan)
    return decided


@transaction.atomic
def booking_cancel(
    *,
    booking: Booking,
    by: User,
    reason: str = "",
    waive_fee: bool = False,
    waiver_reason: str = "",
    agreed_fee_percent: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Cancel before the first shoot day; the record stays and the days free up at once.

    The fee (bookings/fees.py) is worked out under the lock and stored with the cancellation.
    When the studio cancels, it must say why; its booking desk may waive the fee, with a reason.
    ``agreed_fee_percent`` is the percentage the person was shown: if it no longer applies (the
    day turned meanwhile), nothing is cancelled and they are told.
    """
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
    by_studio = by.crew_id != booking.crew_id  # and so the booking desk: can_be_cancelled_by said so
    reason = _clean_reason(reason, required=by_studio)
    if waive_fee:
        if not by_studio:
            raise BookingError(_("Only the booking desk can waive a cancellation fee."), field="waive_fee")
        waiver_reason = _clean_reason(waiver_reason, required=True, field="waiver_reason")
    fee = booking_cancellation_fee(booking, today=today)
    if agreed_fee_percent is not None and agreed_fee_percent != fee.percent:
        raise BookingError(
            _(
                "The cancellation fee is now %(percent)d%% of the quoted total (%(amount)s); please check it again."
            )
            % {"percent": fee.percent, "amount": format_cny(fee.amount)}
        )
    booking.status = Booking.Status.CANCELLED
    booking.hold_expires_at = None
    booking.cancelled_by = by
    booking.cancellation_reason = reason
    booking.cancellation_fee_percent = fee.percent
    booking.cancellation_fee = fee.amount
    if waive_fee:
        booking.cancellation_fee = Decimal("0.00")
        booking.cancellation_fee_waived = True
        booking.cancellation_fee_waived_by = by
        booking.cancellation_fee_waiver_reason = waiver_reason
    history.note(booking, by=by, reason=reason)
    booking.save(
        update_fields=[
            "status",
            "hold_expires_at",
            "cancelled_by",
            "cancellation_reason",
            "cancellation_fee_percent",
            "cancellation_fee",
            "cancellation_fee_waived",
            "cancellation_fee_waived_by",
            "cancellation_fee_waiver_reason",
            "updated_at",
        ]
    )
    # A change still waiting for the desk goes with the booking; its days are free again too.
    for change in Booking.objects.select_for_update().filter(change_of=booking, status=Booking.Status.CHANGE):
        change.status = Booking.Status.CHANGE_WITHDRAWN
        history.note(change, by=by, reason=reason)
        change.save(update_fields=["status", "updated_at"])
    emails.booking_notify(booking=booking, kind=NOTICE.BOOKING_CANCELLED, by=by)
    return booking


# --- Changing a booking ----------------------------------------------------------


@dataclass(frozen=True)
class BookingChange:
    """What a crew asks a booking to become: the whole new state, not a difference."""

    studio_set: StudioSet
    days: DayRange
    items: Sequence[ItemRequest] = ()
    notes: str = ""


def _items_of(booking: Booking) -> dict[int, int]:
    return dict(booking.items.values_list("equipment_id", "quantity"))


def _check_change_allowed(booking: Booking, change: BookingChange, *, by: User, today: date) -> None:
    if booking.change_of_id is not None or not booking.is_active:
        raise BookingError(
            _("%(ref)s is %(status)s, so it cannot be changed.")
            % {"ref": booking.reference, "status": booking.get_status_display().lower()}
        )
    if not booking.can_be_changed_by(by, today):
        if today > booking.end_date:
            raise BookingError(_("%(ref)s has ended; book again instead.") % {"ref": booking.reference})
        raise BookingError(_("You cannot change this booking."))
    wanted_items = {i.equipment.pk: i.quantity for i in change.items}
    if (
        change.studio_set.pk == booking.studio_set_id
        and change.days == booking.days
        and wanted_items == _items_of(booking)
        and change.notes == booking.notes
    ):
        raise BookingError(_("That is what the booking already holds; change something first."))
    if booking.has_started(today):
        # Once the crew is shooting, the set and the days behind them stay: only more days.
        if change.studio_set.pk != booking.studio_set_id or change.days.start != booking.start_date:
            raise BookingError(
                _(
                    "The shoot started on %(date)s, so the set and the first day stay as they are; "
                    "you can add days at the end."
                )
                % {"date": date_format(booking.start_date)},
                field="start_date",
            )
        if change.days.end < booking.end_date:
            raise BookingError(
                _("The shoot has started; the last day can only move later."), field="end_date"
            )
        if wanted_items != _items_of(booking):
            raise BookingError(
                _("The shoot has started; call the equipment store to change the equipment."), field="items"
            )
        if change.days.days > settings.BOOKING_MAX_DAYS:
            raise BookingError(
                _("A booking covers at most %(max)d shoot days.") % {"max": settings.BOOKING_MAX_DAYS},
                field="end_date",
            )
    else:
        booking_validate_days(days=change.days, today=today)


def booking_change(
    *, booking: Booking, change: BookingChange, by: User, now: datetime | None = None
) -> Booking:
    """Change a live booking's set, days, equipment or notes; returns the row that now holds them.

    Checked under the same locks and rules as a new request, with the booking's own days and
    units (and any change it is already waiting on) counted as free for itself. Re-quoted at
    today's rates; the quote before the change is kept beside the new one.

    A requested booking is changed in place and keeps its hold deadline. A confirmed booking
    keeps everything it holds: the change is a second row (status ``change``) holding the new
    days and units beside it until the booking desk approves it (and it is swapped in) or
    refuses it (and its hold is released). A newer change replaces one still waiting.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    seen = set()
    for item in change.items:
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
            booking = _locked_booking(booking)
            waiting = list(
                Booking.objects.select_for_update().filter(change_of=booking, status=Booking.Status.CHANGE)
            )
            _check_change_allowed(booking, change, by=by, today=today)
            old_kinds = set(_items_of(booking))
            plan_items = list(PlanItem.objects.filter(plan_id=booking.plan_id).select_related("equipment"))
            sets = _lock(StudioSet, {change.studio_set.pk})
            equipment = _lock(
                Equipment,
                {i.equipment.pk for i in change.items} | old_kinds | {i.equipment_id for i in plan_items},
            )
            part = SetRequest(change.studio_set, change.days, change.items)
            ignoring = [booking.pk, *(w.pk for w in waiting)]
            _check_sets_free([part], sets, ignoring=ignoring)
            # Equipment for the whole plan is held over the union of its parts' days: with the change,
            # the other parts and, while a confirmed booking waits for the desk, its own current days.
            others = [
                SetRequest(b.studio_set, b.days)
                for b in Booking.objects.holding()
                .filter(plan_id=booking.plan_id, change_of__isnull=True)
                .exclude(pk=booking.pk)
                .select_related("studio_set")
            ]
            if booking.status == Booking.Status.CONFIRMED:
                others.append(SetRequest(booking.studio_set, booking.days))
            _check_equipment_free(
                [part, *others],
                equipment,
                plan_items=[ItemRequest(equipment[i.equipment_id], i.quantity) for i in plan_items],
                ignoring=ignoring,
                ignoring_plans=[booking.plan_id] if plan_items else [],
            )

            studio_set = sets[change.studio_set.pk]
            items = [(equipment[i.equipment.pk], i.quantity) for i in change.items]
            lines = quote_lines(studio_set, change.days, items)
            new_state = {
                "studio_set": studio_set,
                "start_date": change.days.start,
                "end_date": change.days.end,
                "blocked_until": change.days.end + timedelta(days=studio_set.changeover_days),
                "quote_total": sum((line.amount for line in lines), Decimal(0)),
                "quote_lines": [line.as_json() for line in lines],
                "previous_quote_total": booking.quote_total,
                "previous_quote_lines": booking.quote_lines,
                "notes": change.notes,
            }
            if booking.status == Booking.Status.REQUESTED:
                for name, value in new_state.items():
                    setattr(booking, name, value)
                history.note(booking, by=by)
                booking.save()
                _replace_items(booking, items, by=by)
                _plan_requote(booking.plan_id, by=by)
                emails.booking_notify(booking=booking, kind=NOTICE.BOOKING_CHANGED, by=by)
                return booking
            for old in waiting:
                old.status = Booking.Status.CHANGE_WITHDRAWN
                history.note(old, by=by, reason=history.CHANGE_REPLACED)
                old.save(update_fields=["status", "updated_at"])
            proposed = Booking(
                plan_id=booking.plan_id,
                crew_id=booking.crew_id,
                change_of=booking,
                status=Booking.Status.CHANGE,
                created_by=by,
                **new_state,
            )
            history.note(proposed, by=by)
            proposed.save()
            _replace_items(proposed, items, by=by)
            emails.booking_notify(booking=proposed, kind=NOTICE.BOOKING_CHANGE_REQUESTED, by=by)
            return proposed
    except IntegrityError as exc:
        raise BookingError(_("Those days were just taken for this set. Please choose other dates.")) from exc


def _plan_requote(plan_id: int, *, by: User | None, when: datetime | None = None) -> None:
    """The plan's stored total after a part changed: its parts' quotes plus its whole-plan lines,
    which are billed over the union of the parts' days, re-quoted at today's rates as the part was."""
    plan = ShootPlan.objects.select_for_update().get(pk=plan_id)
    parts = list(Booking.objects.holding().filter(plan_id=plan_id, change_of__isnull=True))
    lines = plan_quote_lines(
        [b.days for b in parts],
        [(i.equipment, i.quantity) for i in plan.items.select_related("equipment").order_by("pk")],
    )
    plan.quote_lines = [line.as_json() for line in lines]
    plan.quote_total = sum((line.amount for line in lines), Decimal(0)) + sum(
        (b.quote_total for b in parts), Decimal(0)
    )
    history.note(plan, by=by, when=when)
    plan.save(update_fields=["quote_lines", "quote_total"])


def _replace_items(
    booking: Booking, items: Sequence[tuple], *, by: User | None, when: datetime | None = None
) -> None:
    """Make ``booking``'s equipment lines exactly ``items``: (kind, units) at today's rate, or
    (kind, units, rate). Line by line, so the history shows each line removed, changed or added.
    """
    current = {line.equipment_id: line for line in booking.items.all()}
    for equipment, quantity, *rate in items:
        daily_rate = rate[0] if rate else equipment.daily_rate
        line = current.pop(equipment.pk, None) or BookingItem(booking=booking, equipment=equipment)
        if line.pk and (line.quantity, line.daily_rate) == (quantity, daily_rate):
            continue
        line.quantity, line.daily_rate = quantity, daily_rate
        history.note(line, by=by, when=when)
        line.save()
    for line in current.values():
        history.note(line, by=by, when=when)
        line.delete()


def _locked_change(change: Booking) -> tuple[Booking, Booking]:
    """The booking and its proposed change, locked in primary-key order."""
    rows = {
        b.pk: b
        for b in Booking.objects.select_for_update()
        .filter(pk__in=[change.pk, change.change_of_id])
        .order_by("pk")
    }
    return rows[change.change_of_id], rows[change.pk]


def _check_can_decide(by: User) -> None:
    if not by.has_perm("bookings.change_booking"):
        raise BookingError(_("Only the booking desk can decide on changes."))


@transaction.atomic
def booking_change_approve(*, change: Booking, by: User, reason: str = "") -> Booking:
    """Swap a proposed change into its booking; returns the booking, now holding the new days.

    The change's own hold ends in the same transaction as the booking takes over its days and
    units, so at no moment do both, or neither, hold them.
    """
    _check_can_decide(by)
    if change.change_of_id is None:
        raise BookingError(_("%(ref)s is not a proposed change.") % {"ref": change.reference})
    booking, change = _locked_change(change)
    if change.status != Booking.Status.CHANGE or booking.status != Booking.Status.CONFIRMED:
        raise BookingError(
            _("The change to %(ref)s was already decided or withdrawn.") % {"ref": booking.reference}
        )
    change.status = Booking.Status.CHANGE_APPROVED
    change.decided_by = by
    change.change_reason = reason.strip()
    # One moment for every row the swap writes, so the history reads it as one change.
    when = timezone.now()
    history.note(change, by=by, reason=change.change_reason, when=when)
    change.save(update_fields=["status", "decided_by", "change_reason", "updated_at"])
    for name in (
        "studio_set",
        "start_date",
        "end_date",
        "blocked_until",
        "quote_total",
        "quote_lines",
        "notes",
    ):
        setattr(booking, name, getattr(change, name))
    booking.previous_quote_total = change.previous_quote_total
    booking.previous_quote_lines = change.previous_quote_lines
    history.note(booking, by=by, reason=change.change_reason, when=when)
    booking.save()
    _replace_items(
        booking,
        [(i.equipment, i.quantity, i.daily_rate) for i in change.items.select_related("equipment")],
        by=by,
        when=when,
    )
    _plan_requote(booking.plan_id, by=by, when=when)
    emails.booking_notify(booking=change, kind=NOTICE.BOOKING_CHANGE_APPROVED, by=by)
    return booking


@transaction.atomic
def booking_change_refuse(*, change: Booking, by: User, reason: str) -> Booking:
    """Refuse a proposed change: its hold ends, and the booking stays exactly as it was."""
    _check_can_decide(by)
    if not reason.strip():
        raise BookingError(_("Say why the change is refused; the crew reads it."), field="reason")
    if change.change_of_id is None:
        raise BookingError(_("%(ref)s is not a proposed change.") % {"ref": change.reference})
    booking, change = _locked_change(change)
    if change.status != Booking.Status.CHANGE:
        raise BookingError(
            _("The change to %(ref)s was already decided or withdrawn.") % {"ref": booking.reference}
        )
    change.status = Booking.Status.CHANGE_REFUSED
    change.decided_by = by
    change.change_reason = reason.strip()
    history.note(change, by=by, reason=change.change_reason)
    change.save(update_fields=["status", "decided_by", "change_reason", "updated_at"])
    emails.booking_notify(booking=change, kind=NOTICE.BOOKING_CHANGE_REFUSED, by=by)
    return booking


@transaction.atomic
def booking_change_withdraw(*, booking: Booking, by: User) -> Booking | None:
    """The crew takes back the change it asked for; the booking stays as it is."""
    booking = _locked_booking(booking)
    if not (by.crew_id is not None and by.crew_id == booking.crew_id):
        raise BookingError(_("You cannot change this booking."))
    change = (
        Booking.objects.select_for_update().filter(change_of=booking, status=Booking.Status.CHANGE).first()
    )
    if change is None:
        raise BookingError(_("No change is waiting for %(ref)s.") % {"ref": booking.reference})
    change.status = Booking.Status.CHANGE_WITHDRAWN
    history.note(change, by=by)
    change.save(update_fields=["status", "updated_at"])
    return change


def booking_expire_stale_holds(*, now: datetime | None = None) -> list[int]:
    """Requested bookings whose hold has run out become ``expired``; returns their ids.

    The crew is told in the same transaction, so an expiry is never silent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The rows are locked before they change, so a booking confirmed meanwhile is left alone.
        ids = history.update_recorded(
            Booking.objects.filter(status=Booking.Status.REQUESTED, hold_expires_at__lte=now),
            by=None,
            reason=history.HOLD_EXPIRED,
            status=Booking.Status.EXPIRED,
            updated_at=now,
        )
        if ids:
            for booking in with_plan_shape(bookings_for_notice().filter(pk__in=ids)).select_related("plan"):
                _notify_booking_or_plan(booking=booking, kind=NOTICE.BOOKING_HOLD_EXPIRED)
    return ids


def _notify_booking_or_plan(*, booking: Booking, kind: str) -> int:
    """A sweep's email about ``booking``: one about its whole plan when the plan has several parts
    (whose dedupe key lets only the first of them through), else the booking's own."""
    of_parts = getattr(booking, "plan_of_parts", None)
    if of_parts if of_parts is not None else emails.is_plan_of_parts(booking.plan):
        return emails.plan_notify(plan=booking.plan, kind=emails.PLAN_KIND_FOR[kind])
    return emails.booking_notify(booking=booking, kind=kind)


def booking_reminders_queue_due(*, now: datetime | None = None) -> int:
    """Queue the booking reminders that are due; run by the periodic sweep.

    Each booking is handled in its own transaction, and the outbox's dedupe
    key lets at most one message per booking, kind and recipient through,
    however often (or however many sweeps at once) this runs.
    """
    now = now or timezone.now()
    queued = 0
    for kind in (NOTICE.BOOKING_HOLD_EXPIRING, NOTICE.BOOKING_REMINDER_START, NOTICE.BOOKING_REMINDER_END):
        for booking in bookings_due_notice(kind=kind, now=now).select_related("plan"):
            with transaction.atomic():
                queued += _notify_booking_or_plan(booking=booking, kind=kind)
    return queued


def booking_complete_finished(*, now: datetime | None = None) -> int:
    """Confirmed bookings whose last shoot day has passed become ``completed``."""
    today = timezone.localdate(now or timezone.now())
    # One waiting for the desk to decide an extension stays confirmed until it is decided.
    waiting = Booking.objects.filter(change_of=OuterRef("pk"), status=Booking.Status.CHANGE)
    completed = history.update_recorded(
        Booking.objects.filter(status=Booking.Status.CONFIRMED, end_date__lt=today).exclude(Exists(waiting)),
        by=None,
        reason=history.SHOOT_FINISHED,
        status=Booking.Status.COMPLETED,
        updated_at=timezone.now(),
    )
    return len(completed)


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
    # Whole-plan lines count once per day of their plan's shoot days, as in every stock check.
    for line in equipment_held_lines([locked.pk], DayRange(today, date.max)):
        for day in line.dates:
            held[day] += line.quantity
            holders[day].append(line.reference)
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
