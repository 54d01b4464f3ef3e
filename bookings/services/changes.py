"""Changing a live booking: in place while requested, held beside it until the desk decides while confirmed."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .. import emails, history
from ..models import (
    Booking,
    BookingItem,
    DayRange,
    Notification,
    PlanItem,
    ShootPlan,
    StudioSet,
    User,
    new_reference,
)
from ..references import save_with_fresh_reference
from ..selectors import (
    equipment_rates,
    plan_quote_lines,
    quote_lines,
)
from .bookings import (
    BookingError,
    ItemRequest,
    SetRequest,
    _check_equipment_free,
    _check_sets_free,
    _lock,
    _lock_equipment,
    _locked_booking,
    _validate_lines,
    booking_validate_days,
)
from .invoices import CHANGE_APPROVED, invoice_correct_for_plan

NOTICE = Notification.Kind


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
    _validate_lines(change.items)
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
            equipment = _lock_equipment(
                {i.equipment.pk for i in change.items} | old_kinds | {i.equipment_id for i in plan_items}
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
            rates = equipment_rates(equipment[i.equipment.pk] for i in change.items)
            items = [(equipment[i.equipment.pk], i.quantity, rates[i.equipment.pk]) for i in change.items]
            lines = quote_lines(studio_set, change.days, [(e, q) for e, q, _rate in items], rates=rates)
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
            save_with_fresh_reference(proposed, new_reference=new_reference)
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
    # An invoiced plan whose price moved gets a correcting invoice or a credit note for the difference.
    invoice_correct_for_plan(plan=booking.plan, by=by, booking=booking, message=CHANGE_APPROVED, now=when)
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


def _lapses(change: Booking, booking: Booking, today: date) -> bool:
    """Whether a change still waiting is too late for a decision.

    An extension (asked for once the shoot had started) waits until the booking's last day is
    over; any other change until the first day of the booking or of the change, whichever is
    sooner: the shoot then goes ahead as booked.
    """
    asked_on = timezone.localdate(change.created_at)
    if asked_on >= booking.start_date:
        return today > booking.end_date
    return today >= min(change.start_date, booking.start_date)


def booking_changes_lapse_undecided(*, now: datetime | None = None) -> list[int]:
    """Changes the desk did not decide in time end: their hold is released and the crew is told.

    Run by the periodic sweep. Without it an undecided change would hold its days for ever, and
    an undecided extension would keep its booking from being completed.
    """
    today = timezone.localdate(now or timezone.now())
    due = Q(status=Booking.Status.CHANGE) & (Q(start_date__lte=today) | Q(change_of__start_date__lte=today))
    # One indexed read when nothing is due, which is nearly every minute; the lock only then.
    if not Booking.objects.filter(due).exists():
        return []
    lapsed = []
    with transaction.atomic():
        candidates = (
            Booking.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(due)
            .select_related("change_of")
            .order_by("pk")
        )
        for change in candidates:
            if not _lapses(change, change.change_of, today):
                continue
            change.status = Booking.Status.CHANGE_WITHDRAWN
            history.note(change, by=None, reason=history.CHANGE_LAPSED)
            change.save(update_fields=["status", "updated_at"])
            emails.booking_notify(booking=change, kind=NOTICE.BOOKING_CHANGE_LAPSED)
            lapsed.append(change.pk)
    return lapsed
