"""Requesting, deciding and cancelling bookings and shoot plans, and the sweeps that expire, remind and complete them."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import emails, history
from ..fees import booking_cancellation_fee
from ..models import (
    REASON_MAX_LENGTH,
    Booking,
    BookingItem,
    Crew,
    DayRange,
    Equipment,
    Invoice,
    KitComponent,
    Notification,
    PlanItem,
    ShootPlan,
    StudioSet,
    User,
    new_plan_reference,
    new_reference,
)
from ..money import format_cny
from ..references import save_with_fresh_reference
from ..selectors import (
    EquipmentDays,
    bookings_due_notice,
    bookings_for_notice,
    equipment_days,
    equipment_rates,
    plan_days,
    plan_quote_lines,
    quote_lines,
    set_blackouts_overlapping,
    with_plan_shape,
)
from .invoices import (
    PART_CANCELLED,
    _in_every_language,
    invoice_cancellation_fee,
    invoice_correct_for_plan,
    invoice_issue_for_plan,
    invoices_with_paid,
)

NOTICE = Notification.Kind


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


def _lock_equipment(pks: set[int]) -> dict[int, Equipment]:
    """The kinds asked for and the components of every kit among them, locked in one go.

    A kit owns no units: its components' rows own the capacity it takes, so they are the rows
    that a request for a component alone, or a lower stock, queues behind.
    """
    components = set(KitComponent.objects.filter(kit_id__in=pks).values_list("component_id", flat=True))
    return _lock(Equipment, set(pks) | components)


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
            equipment = _lock_equipment(
                {i.equipment.pk for p in parts for i in p.items} | {i.equipment.pk for i in items}
            )
            _check_sets_free(parts, sets)
            _check_equipment_free(parts, equipment, plan_items=items)

            rates = equipment_rates(equipment.values())
            plan_lines = plan_quote_lines(
                [p.days for p in parts], [(equipment[i.equipment.pk], i.quantity) for i in items], rates=rates
            )
            # Every part is priced first, so the plan is written once, with its one total.
            part_quotes = [
                quote_lines(
                    sets[p.studio_set.pk],
                    p.days,
                    [(equipment[i.equipment.pk], i.quantity) for i in p.items],
                    rates=rates,
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
            save_with_fresh_reference(plan, new_reference=new_plan_reference)
            # One save per line (a plan or booking has a few), so each line's history says who added it.
            for e, q in ((equipment[i.equipment.pk], i.quantity) for i in items):
                plan_item = PlanItem(plan=plan, equipment=e, quantity=q, daily_rate=rates[e.pk])
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
                save_with_fresh_reference(booking, new_reference=new_reference)
                for i in part.items:
                    e = equipment[i.equipment.pk]
                    item = BookingItem(
                        booking=booking, equipment=e, quantity=i.quantity, daily_rate=rates[e.pk]
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

    ``equipment`` is the locked rows: the kinds asked for and every kit's components
    (:func:`_lock_equipment`). A kit takes its components' units, so each component is
    checked with everything else in the request that takes it, and the refusal names it.
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
    kinds: dict[int, EquipmentDays] = {}
    requested: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    # Component id → the kits in this request that take it, by id (in the order asked).
    kits_taking: dict[int, dict[int, Equipment]] = defaultdict(dict)
    for dates, item in wanted:
        state = usage[item.equipment.pk]
        takes = [(part, per_kit * item.quantity) for part, per_kit in state.components] or [
            (state, item.quantity)
        ]
        for part, units in takes:
            if state.is_kit:
                if not part.equipment.is_active:
                    raise BookingError(
                        _("%(kit)s cannot be booked at the moment: %(item)s is not available.")
                        % {"kit": state.equipment, "item": part.equipment},
                        field="items",
                    )
                kits_taking[part.equipment.pk][state.equipment.pk] = state.equipment
            kinds[part.equipment.pk] = part
            for day in dates:
                requested[part.equipment.pk][day] += units
    problems = []
    for pk, per_day in requested.items():
        kind = kinds[pk]
        short = {day: qty - kind.free_on(day) for day, qty in per_day.items() if qty > kind.free_on(day)}
        if short:
            days_text = ", ".join(
                _("%(date)s: %(units)d short") % {"date": f"{d:%Y-%m-%d}", "units": n}
                for d, n in sorted(short.items())
            )
            values = {"item": kind.equipment, "stock": kind.equipment.stock, "days": days_text}
            if kits_taking[pk]:
                problems.append(
                    _("Not enough %(item)s for %(kits)s (%(stock)d owned) — %(days)s.")
                    % {**values, "kits": ", ".join(str(kit) for kit in kits_taking[pk].values())}
                )
            else:
                problems.append(_("Not enough %(item)s (%(stock)d owned) — %(days)s.") % values)
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
    invoice_issue_for_plan(plan=booking.plan, by=by, now=now)
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
    # The other parts may all be confirmed already: the plan is confirmed as a whole now.
    invoice_issue_for_plan(plan=booking.plan, by=by)
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
    invoice_issue_for_plan(plan=plan, by=by, now=now)
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
    invoice_issue_for_plan(plan=plan, by=by)  # parts confirmed before stand: they are invoiced
    return decided


@transaction.atomic
def booking_cancel(
    *,
    booking: Booking,
    by: User | None,
    reason: str = "",
    waive_fee: bool = False,
    waiver_reason: str = "",
    agreed_fee_percent: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Cancel before the first shoot day; the record stays and the days free up at once.

    The fee (bookings/fees.py) is worked out under the lock and stored with the cancellation.
    When the studio cancels, it must say why; its booking desk may waive the fee, with a reason.
    ``by`` None is the system, applying ``UNPAID_DEPOSIT_CANCELS``.
    ``agreed_fee_percent`` is the percentage the person was shown: if it no longer applies (the
    day turned meanwhile), nothing is cancelled and they are told.
    """
    today = timezone.localdate(now or timezone.now())
    booking = _locked_booking(booking)
    # ``by`` None is the studio's own rule (an unpaid deposit), which may cancel any booking not yet begun.
    if not (
        booking.is_active and today < booking.start_date
        if by is None
        else booking.can_be_cancelled_by(by, today)
    ):
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
    by_studio = by is None or by.crew_id != booking.crew_id  # the desk: can_be_cancelled_by said so
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
    # Money: the rest of a plan decided now is invoiced; an invoiced part is credited, its fee invoiced.
    if not invoice_issue_for_plan(plan=booking.plan, by=by, now=now):
        invoice_correct_for_plan(plan=booking.plan, by=by, booking=booking, message=PART_CANCELLED, now=now)
        invoice_cancellation_fee(booking=booking, by=by, now=now)
    emails.booking_notify(booking=booking, kind=NOTICE.BOOKING_CANCELLED, by=by)
    return booking


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
            expired = list(with_plan_shape(bookings_for_notice().filter(pk__in=ids)).select_related("plan"))
            for booking in expired:
                _notify_booking_or_plan(booking=booking, kind=NOTICE.BOOKING_HOLD_EXPIRED)
            # A plan whose other parts were confirmed is confirmed as a whole once the rest lapse.
            for plan in {booking.plan_id: booking.plan for booking in expired}.values():
                invoice_issue_for_plan(plan=plan, by=None, now=now)
    return ids


# Stored as the cancellation's reason, which the crew reads: in Chinese and English, as invoices are.
DEPOSIT_UNPAID = gettext_noop("The deposit of invoice %(number)s was not paid by %(date)s.")


def plan_cancel_unpaid_deposits(*, now: datetime | None = None) -> list[Booking]:
    """With ``UNPAID_DEPOSIT_CANCELS`` on, cancel the parts not yet begun of every plan whose deposit
    is still unpaid the day after it fell due, on the usual cancellation terms (the fee is invoiced as
    if the crew had cancelled that day); off (the default), do nothing: the desk
    sees the plan as "deposit overdue" and decides. Run by the sweep; each part is cancelled in its
    own transaction under its lock, so two sweeps at once cancel it once."""
    if not settings.UNPAID_DEPOSIT_CANCELS:
        return []
    now = now or timezone.now()
    today = timezone.localdate(now)
    overdue = invoices_with_paid(
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, deposit_due_on__lt=today, deposit__gt=0)
    ).filter(paid__lt=F("deposit"))
    parts = Booking.objects.filter(
        plan__in=overdue.values("plan"), status=Booking.Status.CONFIRMED, start_date__gt=today
    ).order_by("pk")
    invoices = {invoice.plan_id: invoice for invoice in overdue}
    cancelled = []
    for booking in parts:
        invoice = invoices[booking.plan_id]
        label = _in_every_language(
            DEPOSIT_UNPAID, {"number": invoice.number, "date": invoice.deposit_due_on.isoformat()}
        )
        reason = f"{label['zh-hans']} / {label['en']}"
        try:
            with transaction.atomic():
                cancelled.append(booking_cancel(booking=booking, by=None, reason=reason, now=now))
        except BookingError:  # cancelled, or begun, a moment ago
            continue
    return cancelled


def _notify_booking_or_plan(*, booking: Booking, kind: str) -> int:
    """A sweep's email about ``booking``: one about its whole plan when the plan has several parts
    (whose dedupe key lets only the first of them through), else the booking's own."""
    of_parts = getattr(booking, "plan_of_parts", None)
    if of_parts if of_parts is not None else emails.is_plan_of_parts(booking.plan):
        # A reminder about the plan is about this part's day: the plan's first or last (the sweep says so).
        return emails.plan_notify(
            plan=booking.plan, kind=emails.PLAN_KIND_FOR[kind], about_date=emails.reminder_day(booking, kind)
        )
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
