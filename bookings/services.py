"""Operations on crews and bookings. Views, the admin and tasks all call these."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

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


def _email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


@transaction.atomic
def crew_signup(
    *,
    email: str,
    password: str,
    full_name: str,
    company_name: str,
    contact_phone: str,
    country: str,
    language: str = "en",
) -> User:
    """Create a crew and its first member, who owns it."""
    if _email_taken(email):
        raise AccountError(_("An account with this email address already exists."))
    crew = Crew.objects.create(name=company_name, contact_phone=contact_phone, country=country)
    try:
        # A savepoint, so a lost race on the unique email leaves nothing behind.
        with transaction.atomic():
            return User.objects.create_user(
                email=email,
                password=password,
                first_name=full_name,
                crew=crew,
                crew_role=User.CrewRole.OWNER,
                language=language,
            )
    except IntegrityError as exc:
        raise AccountError(_("An account with this email address already exists.")) from exc


@transaction.atomic
def crew_member_add(*, crew: Crew, email: str, full_name: str, by: User) -> User:
    """Add a member to ``crew``; they receive an email to choose a password."""
    from .tasks import send_member_invitation

    if not (by.crew_id == crew.pk and by.is_crew_owner):
        raise AccountError(_("Only the crew's owner can add members."))
    if _email_taken(email):
        raise AccountError(_("This email address already has an account."))
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
    except IntegrityError as exc:
        raise AccountError(_("This email address already has an account.")) from exc
    transaction.on_commit(lambda: send_member_invitation.delay(member.pk, by.pk))
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
    if by.crew_id != crew.pk and not by.is_staff:
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

            plan = ShootPlan.objects.create(crew=crew, created_by=by)
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
    booking.save(update_fields=["status", "hold_expires_at", "updated_at"])
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
