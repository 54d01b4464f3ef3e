"""The equipment store: tagged units, handing them to crews and taking them back, repairs, overdue.

A kind that tracks units owns its units that are not retired: ``Equipment.stock`` is kept equal
to that count here, under the kind's row lock, so every availability check works unchanged. A
unit that comes back damaged is held off every day from then on by a blackout tied to it (reason
"repair") until staff mark it repaired; the desk is told about bookings that are left short.

A handover ties one unit to one equipment line (a booking's own, or its whole plan's). The
database keeps a unit out on at most one line (``handover_unit_out_once``); the services lock
the units in primary-key order first, so two counters handing out the same unit queue up, and a
race that still reaches the constraint becomes a clear message.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import emails, history
from ..models import (
    REPAIR_OPEN_END,
    Blackout,
    Booking,
    BookingItem,
    DayRange,
    Equipment,
    EquipmentUnit,
    Handover,
    KitComponent,
    PlanItem,
    ShootPlan,
    User,
    normalize_asset_tag,
    shoot_day_starts_at,
)
from ..selectors import bookings_under_blackout
from .bookings import BookingError
from .catalogue import equipment_check_stock

Unit = EquipmentUnit.Status

Line = BookingItem | PlanItem


# --- Units -------------------------------------------------------------------------
# Locks name ``of=("self",)`` wherever rows are read with their related rows: PostgreSQL would
# otherwise lock the joined rows too (the kind's, the booking's), in an order nobody chose.


def _lock_kind(equipment: Equipment) -> Equipment:
    return Equipment.objects.select_for_update().get(pk=equipment.pk)


def _owned_count(equipment: Equipment) -> int:
    return EquipmentUnit.objects.filter(equipment=equipment).owned().count()


def unit_add(
    *, equipment: Equipment, asset_tag: str, serial_number: str = "", notes: str = "", by: User | None = None
) -> EquipmentUnit:
    """Register a tagged unit of ``equipment``; a kind that tracks units owns one more."""
    tag = normalize_asset_tag(asset_tag)
    with transaction.atomic():
        kind = _lock_kind(equipment)
        if KitComponent.objects.filter(kit=kind).exists():
            raise BookingError(
                _("A kit has no units of its own: add the units to its components."), field="equipment"
            )
        unit = EquipmentUnit(equipment=kind, asset_tag=tag, serial_number=serial_number.strip(), notes=notes)
        try:
            unit.full_clean()
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            raise BookingError(messages[0], field=field) from exc
        try:
            with transaction.atomic():
                unit.save()
        except IntegrityError as exc:
            raise BookingError(
                _("Another unit already has the tag %(tag)s.") % {"tag": tag}, field="asset_tag"
            ) from exc
        history.note(unit, by=by)
        if kind.tracks_units:
            kind.stock += 1
            kind.save(update_fields=["stock"])
    return unit


def equipment_track_units(*, equipment: Equipment, tracks: bool, now: datetime | None = None) -> Equipment:
    """Start (or stop) tracking a kind by its units; tracking makes the stock the units owned.

    Refused when crews hold more units on some day than the kind has units (add the units first).
    """
    with transaction.atomic():
        kind = _lock_kind(equipment)
        if tracks and KitComponent.objects.filter(kit=kind).exists():
            raise BookingError(_("A kit has no units of its own."), field="tracks_units")
        if tracks and not kind.tracks_units:
            owned = _owned_count(kind)
            equipment_check_stock(equipment=kind, stock=owned, now=now)
            kind.stock = owned
        if not tracks and Handover.objects.out().filter(unit__equipment=kind).exists():
            raise BookingError(
                _("Units of this kind are out with crews: take them back before tracking stops."),
                field="tracks_units",
            )
        kind.tracks_units = tracks
        kind.save(update_fields=["tracks_units", "stock"])
    return kind


def _close_repair(unit: EquipmentUnit, today: date) -> None:
    for repair in Blackout.objects.select_for_update().filter(unit=unit, end_date__gte=today):
        if repair.start_date < today:
            repair.end_date = today - timedelta(days=1)
            repair.save(update_fields=["end_date"])
        else:  # damaged and repaired the same day: it never kept a day from anyone
            repair.delete()


def _locked_unit(unit: EquipmentUnit) -> EquipmentUnit:
    return EquipmentUnit.objects.select_for_update(of=("self",)).select_related("equipment").get(pk=unit.pk)


def unit_mark_repaired(*, unit: EquipmentUnit, by: User, now: datetime | None = None) -> EquipmentUnit:
    """A unit back from repair counts as available again from today."""
    today = timezone.localdate(now or timezone.now())
    with transaction.atomic():
        unit = _locked_unit(unit)
        if unit.status != Unit.IN_REPAIR:
            raise BookingError(
                _("%(tag)s is not in repair (%(status)s).")
                % {"tag": unit, "status": unit.get_status_display()}
            )
        _close_repair(unit, today)
        unit.status = Unit.AVAILABLE
        history.note(unit, by=by, reason=_("Repaired"))
        unit.save(update_fields=["status"])
    return unit


def unit_retire(
    *, unit: EquipmentUnit, by: User, reason: str = "", now: datetime | None = None
) -> EquipmentUnit:
    """Take a unit out of the pool for good; never one that is out, nor below what crews hold."""
    today = timezone.localdate(now or timezone.now())
    with transaction.atomic():
        _lock_kind(unit.equipment)
        unit = _locked_unit(unit)
        if unit.status == Unit.OUT:
            raise BookingError(_("%(tag)s is out with a crew: take it back first.") % {"tag": unit})
        if unit.status == Unit.RETIRED:
            raise BookingError(_("%(tag)s is retired already.") % {"tag": unit})
        kind = unit.equipment
        if kind.tracks_units:
            if unit.status == Unit.AVAILABLE:
                equipment_check_stock(equipment=kind, stock=kind.stock - 1, now=now)
            kind.stock -= 1
            kind.save(update_fields=["stock"])
        # A unit in repair was already held off every day; retiring it keeps it off for good.
        _close_repair(unit, today)
        unit.status = Unit.RETIRED
        history.note(unit, by=by, reason=reason)
        unit.save(update_fields=["status"])
    return unit


# --- Lines: what each needs, its days, its state --------------------------------------


def kit_components(kinds: Sequence[int]) -> dict[int, list[KitComponent]]:
    """The components of each kit among ``kinds``, by kit id: one query."""
    found: dict[int, list[KitComponent]] = defaultdict(list)
    for component in KitComponent.objects.filter(kit_id__in=list(kinds)).select_related("component"):
        found[component.kit_id].append(component)
    return found


def line_needs(line: Line, components: dict[int, list[KitComponent]]) -> dict[Equipment, int]:
    """The tagged units a line is handed out as: its own kind, or a kit's components that track units."""
    parts = components.get(line.equipment_id)
    if parts:
        return {c.component: c.quantity * line.quantity for c in parts if c.component.tracks_units}
    return {line.equipment: line.quantity} if line.equipment.tracks_units else {}


def line_days(line: Line) -> DayRange | None:
    """The days a line is with the crew: its booking's, or its plan's confirmed (or completed) parts'."""
    live = (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
    if isinstance(line, BookingItem):
        booking = line.booking
        return booking.days if booking.status in live else None
    parts = [b for b in line.plan.bookings.all() if b.change_of_id is None and b.status in live]
    if not parts:
        return None
    return DayRange(min(b.start_date for b in parts), max(b.end_date for b in parts))


@dataclass(frozen=True)
class LineState:
    """Where a line's units are: still in the store, with the crew, back, or overdue."""

    RESERVED = "reserved"
    PARTLY_OUT = "partly-out"
    OUT = "out"
    PARTLY_RETURNED = "partly-returned"
    RETURNED = "returned"
    OVERDUE = "overdue"

    state: str
    needed: int
    out: int
    returned: int
    collected_at: datetime | None
    returned_at: datetime | None

    @property
    def label(self) -> str:
        return {
            self.RESERVED: _("Reserved"),
            self.PARTLY_OUT: _("Partly collected"),
            self.OUT: _("Collected"),
            self.PARTLY_RETURNED: _("Partly returned"),
            self.RETURNED: _("Returned"),
            self.OVERDUE: _("Overdue"),
        }[self.state]


def line_state(
    *, needed: int, handovers: Sequence[Handover], last_day: date | None, today: date
) -> LineState:
    out = [h for h in handovers if h.returned_at is None]
    back = [h for h in handovers if h.returned_at is not None]
    collected_at = min((h.handed_out_at for h in handovers), default=None)
    returned_at = max((h.returned_at for h in back), default=None)
    if out and last_day is not None and today > last_day:
        state = LineState.OVERDUE
    elif out and back:
        state = LineState.PARTLY_RETURNED
    elif out:
        state = LineState.OUT if len(out) >= needed else LineState.PARTLY_OUT
    elif back:
        state = LineState.RETURNED
    else:
        state = LineState.RESERVED
    return LineState(state, needed, len(out), len(back), collected_at, returned_at)


# --- Handing out and taking back ------------------------------------------------------


def _locked_line(line: Line) -> Line:
    # The line's row is the queue for its own count: two counters serving one line do not both
    # hand out its last unit.
    if isinstance(line, BookingItem):
        return (
            BookingItem.objects.select_for_update(of=("self",))
            .select_related("booking", "equipment")
            .get(pk=line.pk)
        )
    return (
        PlanItem.objects.select_for_update(of=("self",)).select_related("plan", "equipment").get(pk=line.pk)
    )


def handover_check_out(
    *,
    line: Line,
    asset_tags: Sequence[str],
    collected_by: User | None = None,
    collected_by_name: str = "",
    by: User,
    now: datetime | None = None,
) -> list[Handover]:
    """Hand the units with ``asset_tags`` to the crew for ``line``, all or none.

    Refused: a tag nobody has, a unit that is not available (out, in repair, retired), a unit of
    a kind the line does not have, more units of a kind than the line booked (counting those
    still out), a line whose booking is not confirmed or whose days are not under way, and a
    collector who is neither a member of the crew nor named.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    tags = [normalize_asset_tag(t) for t in asset_tags if normalize_asset_tag(t)]
    if not tags:
        raise BookingError(_("Type or scan at least one asset tag."), field="asset_tags")
    if len(set(tags)) != len(tags):
        repeated = sorted({t for t in tags if tags.count(t) > 1})
        raise BookingError(_("%(tags)s is listed twice.") % {"tags": ", ".join(repeated)}, field="asset_tags")
    collected_by_name = " ".join(collected_by_name.split())
    with transaction.atomic():
        line = _locked_line(line)
        crew_id = line.booking.crew_id if isinstance(line, BookingItem) else line.plan.crew_id
        if collected_by is not None and collected_by.crew_id != crew_id:
            raise BookingError(
                _("Choose a member of this crew, or type the person's name."), field="collected_by"
            )
        if collected_by is None and not collected_by_name:
            raise BookingError(
                _("Say who collects: a member of the crew, or a name."), field="collected_by_name"
            )
        if not collected_by_name:
            collected_by_name = collected_by.get_full_name() or collected_by.email
        days = line_days(line)
        if days is None or (
            isinstance(line, BookingItem) and line.booking.status != Booking.Status.CONFIRMED
        ):
            raise BookingError(_("Only a confirmed booking's equipment can be handed out."), field="line")
        if not days.start <= today <= days.end:
            raise BookingError(
                _("This equipment is handed out from %(start)s to %(end)s.")
                % {"start": f"{days.start:%Y-%m-%d}", "end": f"{days.end:%Y-%m-%d}"},
                field="line",
            )
        needs = line_needs(line, kit_components([line.equipment_id]))
        units = list(
            EquipmentUnit.objects.select_for_update(of=("self",))
            .filter(asset_tag__in=tags)
            .select_related("equipment")
            .order_by("pk")
        )
        by_tag = {u.asset_tag: u for u in units}
        unknown = [t for t in tags if t not in by_tag]
        if unknown:
            raise BookingError(
                ngettext("No unit has the tag %(tags)s.", "No units have the tags %(tags)s.", len(unknown))
                % {"tags": ", ".join(unknown)},
                field="asset_tags",
            )
        kinds = {kind.pk: kind for kind in needs}
        problems = []
        for tag in tags:
            unit = by_tag[tag]
            if unit.equipment_id not in kinds:
                problems.append(
                    _("%(tag)s is a %(kind)s, which this line does not have.")
                    % {"tag": tag, "kind": unit.equipment}
                )
            elif unit.status != Unit.AVAILABLE:
                problems.append(
                    _("%(tag)s cannot be handed out: %(status)s.")
                    % {"tag": tag, "status": unit.get_status_display().lower()}
                )
        if problems:
            raise BookingError(" ".join(problems), field="asset_tags")
        out_now = defaultdict(int)
        for kind_id in (
            Handover.objects.out().filter(**_line_filter(line)).values_list("unit__equipment_id", flat=True)
        ):
            out_now[kind_id] += 1
        for tag in tags:
            out_now[by_tag[tag].equipment_id] += 1
        over = [
            _("%(kind)s: %(booked)d booked, %(out)d would be out.")
            % {"kind": kind, "booked": booked, "out": out_now[kind.pk]}
            for kind, booked in needs.items()
            if out_now[kind.pk] > booked
        ]
        if over:
            raise BookingError(
                _("More units than the line booked.") + " " + " ".join(over), field="asset_tags"
            )
        made = []
        try:
            with transaction.atomic():
                for tag in tags:
                    unit = by_tag[tag]
                    made.append(
                        Handover.objects.create(
                            unit=unit,
                            handed_out_at=now,
                            handed_out_by=by,
                            collected_by=collected_by,
                            collected_by_name=collected_by_name,
                            **_line_filter(line),
                        )
                    )
                    unit.status = Unit.OUT
                    unit.save(update_fields=["status"])
        except IntegrityError as exc:
            raise BookingError(
                _("One of these units was handed out at another counter a moment ago; scan the tags again."),
                field="asset_tags",
            ) from exc
    return made


def _line_filter(line: Line) -> dict:
    return {"booking_item": line} if isinstance(line, BookingItem) else {"plan_item": line}


def handover_return(
    *,
    asset_tag: str,
    condition: str,
    note: str = "",
    photo=None,
    by: User,
    now: datetime | None = None,
) -> Handover:
    """Take back the unit with ``asset_tag``. A damaged unit goes to repair from today, and the
    desk is told about the bookings that are left short by it (also in ``short_bookings``)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    tag = normalize_asset_tag(asset_tag)
    if condition not in Handover.Condition.values:
        raise BookingError(_("Say whether the unit came back OK or damaged."), field="condition")
    if condition == Handover.Condition.DAMAGED and not note.strip():
        raise BookingError(_("Say what is damaged."), field="return_note")
    with transaction.atomic():
        # The kind's row first, then the unit's, in the order retiring a unit takes them.
        kind_id = EquipmentUnit.objects.filter(asset_tag=tag).values_list("equipment_id", flat=True).first()
        if kind_id is not None and condition == Handover.Condition.DAMAGED:
            Equipment.objects.select_for_update().get(pk=kind_id)
        unit = (
            EquipmentUnit.objects.select_for_update(of=("self",))
            .select_related("equipment")
            .filter(asset_tag=tag)
            .first()
        )
        if unit is None:
            raise BookingError(
                ngettext("No unit has the tag %(tags)s.", "No units have the tags %(tags)s.", 1)
                % {"tags": tag},
                field="asset_tag",
            )
        handover = Handover.objects.select_for_update().out().filter(unit=unit).first()
        if handover is None:
            raise BookingError(
                _("%(tag)s is not out with a crew (%(status)s).")
                % {"tag": tag, "status": unit.get_status_display().lower()},
                field="asset_tag",
            )
        handover.returned_at = now
        handover.returned_by = by
        handover.condition = condition
        handover.return_note = note.strip()
        if photo:
            handover.return_photo = photo
        handover.save()
        if condition == Handover.Condition.DAMAGED:
            short = bookings_short_after_losing(equipment=unit.equipment, units=1, today=today)
            Blackout.objects.create(
                equipment=unit.equipment,
                units=1,
                unit=unit,
                start_date=today,
                end_date=REPAIR_OPEN_END,
                reason=Blackout.Reason.REPAIR,
                note=note.strip()[:200],
            )
            unit.status = Unit.IN_REPAIR
            history.note(unit, by=by, reason=note.strip())
            unit.save(update_fields=["status"])
            if short:
                emails.store_shortage_notify(handover=handover, bookings=short)
            handover.short_bookings = short
        else:
            unit.status = Unit.AVAILABLE
            unit.save(update_fields=["status"])
            handover.short_bookings = []
    return handover


def bookings_short_after_losing(*, equipment: Equipment, units: int, today: date) -> list[Booking]:
    """Bookings from ``today`` on that would hold more of ``equipment`` than is left without ``units``."""
    horizon = DayRange(
        today, today + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD + settings.BOOKING_MAX_DAYS)
    )
    # Kits that contain the kind count too (selectors follow kits to their components).
    return [
        b
        for b in bookings_under_blackout(days=horizon, equipment=equipment, units=units)
        if b.end_date >= today
    ]


# --- Overdue ---------------------------------------------------------------------------


def store_overdue_lines(*, now: datetime) -> list[tuple[Line, list[Handover], date]]:
    """Lines with units still out after their last day, once that day's next morning has come.

    The store opens at SHOOT_DAY_STARTS: a line is overdue from then on the day after its last.
    """
    today = timezone.localdate(now)
    newest_last_day = today - timedelta(days=1 if now >= shoot_day_starts_at(today) else 2)
    out = list(
        Handover.objects.out()
        .select_related("unit__equipment", "booking_item__booking__crew", "booking_item__equipment")
        .select_related("plan_item__plan__crew", "plan_item__equipment")
        .prefetch_related("plan_item__plan__bookings")
        .order_by("pk")
    )
    lines: dict[tuple[str, int], tuple[Line, list[Handover]]] = {}
    for handover in out:
        line = handover.booking_item or handover.plan_item
        key = (type(line).__name__, line.pk)
        lines.setdefault(key, (line, []))[1].append(handover)
    due = []
    for line, handovers in lines.values():
        days = line_days(line)
        if days is not None and days.end <= newest_last_day:
            due.append((line, handovers, days.end))
    return due


def store_overdue_queue_due(*, now: datetime | None = None) -> int:
    """Tell the crew and the store about overdue equipment, once per line; run by the sweep."""
    now = now or timezone.now()
    queued = 0
    for line, handovers, last_day in store_overdue_lines(now=now):
        with transaction.atomic():
            queued += emails.store_overdue_notify(line=line, handovers=handovers, last_day=last_day)
    return queued


# --- What the store and the crew see ---------------------------------------------------


@dataclass
class StoreLine:
    """One equipment line at the counter: what it needs handed out, and what is out or back."""

    line: Line
    part: Booking | None  # None: the whole plan's line
    days: DayRange | None
    needs: dict[Equipment, int]
    handovers: list[Handover]
    state: LineState
    can_hand_out: bool
    # A kit's components that carry no tags (cables, a lavalier set): handed over with it, uncounted.
    untagged: list[tuple[Equipment, int]]

    @property
    def key(self) -> str:
        return f"{'item' if self.part is not None else 'planitem'}-{self.line.pk}"

    @property
    def out(self) -> list[Handover]:
        return [h for h in self.handovers if h.returned_at is None]


@dataclass
class StoreCard:
    """A crew's shoot plan at the counter today."""

    plan: ShootPlan
    parts: list[Booking]
    lines: list[StoreLine]
    untracked: list[Line]
    members: list[User]
    today: date

    @property
    def overdue(self) -> bool:
        return any(line.state.state == LineState.OVERDUE for line in self.lines)

    @property
    def due_back_today(self) -> bool:
        return any(line.out and line.days and line.days.end == self.today for line in self.lines)


def _store_lines(
    plan, *, components: dict[int, list[KitComponent]], today: date
) -> tuple[list[StoreLine], list[Line]]:
    """A plan's lines with tagged units (each part's and the whole plan's), and the others."""
    tracked, untracked = [], []
    parts = [b for b in plan.bookings.all() if b.change_of_id is None]
    candidates = [(item, part) for part in parts for item in part.items.all()]
    candidates += [(item, None) for item in plan.items.all()]
    for item, part in candidates:
        needs = line_needs(item, components)
        if not needs:
            shooting = [p for p in ([part] if part else parts) if p.status == Booking.Status.CONFIRMED]
            if any(p.start_date <= today <= p.end_date for p in shooting):
                untracked.append(item)
            continue
        if part is not None:
            item.booking = part  # the prefetched row: no query for line_days
        days = line_days(item)
        handovers = sorted(item.handovers.all(), key=lambda h: (h.handed_out_at, h.pk))
        if days is None and not handovers:
            continue
        state = line_state(
            needed=sum(needs.values()), handovers=handovers, last_day=days.end if days else None, today=today
        )
        live = part.status == Booking.Status.CONFIRMED if part is not None else True
        can = bool(days) and live and days.start <= today <= days.end and state.out < state.needed
        untagged = [
            (c.component, c.quantity * item.quantity)
            for c in components.get(item.equipment_id, ())
            if not c.component.tracks_units
        ]
        tracked.append(StoreLine(item, part, days, needs, handovers, state, can, untagged))
    return tracked, untracked


def store_day(*, today: date) -> list[StoreCard]:
    """The plans at the counter today: a confirmed part under way, or units still out (overdue
    first). A fixed number of queries, however many plans and lines there are."""
    under_way = Booking.objects.filter(
        status=Booking.Status.CONFIRMED, change_of__isnull=True, start_date__lte=today, end_date__gte=today
    ).values("plan_id")
    out = Handover.objects.out()
    plan_ids = set(under_way.values_list("plan_id", flat=True))
    for booking_plan, plan in out.values_list("booking_item__booking__plan_id", "plan_item__plan_id"):
        plan_ids.add(booking_plan or plan)
    handovers = Handover.objects.select_related("unit__equipment").order_by("handed_out_at", "pk")
    plans = list(
        ShootPlan.objects.filter(pk__in=plan_ids)
        .select_related("crew")
        .prefetch_related(
            Prefetch(
                "bookings",
                queryset=Booking.objects.filter(change_of__isnull=True)
                .select_related("studio_set")
                .order_by("start_date", "reference"),
            ),
            Prefetch(
                "bookings__items", queryset=BookingItem.objects.select_related("equipment").order_by("pk")
            ),
            Prefetch("bookings__items__handovers", queryset=handovers),
            Prefetch("items", queryset=PlanItem.objects.select_related("equipment").order_by("pk")),
            Prefetch("items__handovers", queryset=handovers),
            Prefetch(
                "crew__members", queryset=User.objects.filter(is_active=True).order_by("first_name", "pk")
            ),
        )
        .order_by("reference")
    )
    kinds = {i.equipment_id for p in plans for b in p.bookings.all() for i in b.items.all()}
    kinds |= {i.equipment_id for p in plans for i in p.items.all()}
    components = kit_components(sorted(kinds))
    cards = []
    for plan in plans:
        lines, untracked = _store_lines(plan, components=components, today=today)
        if not lines:
            continue
        parts = [
            b for b in plan.bookings.all() if b.status in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
        ]
        cards.append(StoreCard(plan, parts, lines, untracked, list(plan.crew.members.all()), today))
    cards.sort(key=lambda c: (not c.overdue, not c.due_back_today, c.plan.reference))
    return cards


def _lines_with_states(
    *,
    bookings: Sequence[Booking],
    plan: ShootPlan | None,
    today: date,
    items: Sequence[BookingItem] | None = None,
    plan_items: Sequence[PlanItem] | None = None,
) -> tuple[list[BookingItem], list[PlanItem], dict[str, LineState]]:
    # Lines the caller has loaded already (a page's prefetch) are not read again.
    if items is None:
        items = (
            BookingItem.objects.filter(booking__in=list(bookings)).select_related("equipment").order_by("pk")
        )
    if plan_items is None:
        plan_items = (
            PlanItem.objects.filter(plan=plan).select_related("equipment").order_by("pk") if plan else []
        )
    items, plan_items = list(items), list(plan_items)
    components = kit_components({i.equipment_id for i in [*items, *plan_items]})
    by_line: dict[str, list[Handover]] = defaultdict(list)
    for handover in Handover.objects.filter(Q(booking_item__in=items) | Q(plan_item__in=plan_items)).order_by(
        "handed_out_at", "pk"
    ):
        key = (
            f"item-{handover.booking_item_id}"
            if handover.booking_item_id
            else f"planitem-{handover.plan_item_id}"
        )
        by_line[key].append(handover)
    live = (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
    by_booking = {b.pk: b for b in bookings}
    states = {}
    for item in items:
        needs = line_needs(item, components)
        if needs:
            booking = by_booking[item.booking_id]
            last = booking.end_date if booking.status in live else None
            states[f"item-{item.pk}"] = line_state(
                needed=sum(needs.values()), handovers=by_line[f"item-{item.pk}"], last_day=last, today=today
            )
    last = max((b.end_date for b in bookings if b.status in live), default=None)
    for item in plan_items:
        needs = line_needs(item, components)
        if needs:
            states[f"planitem-{item.pk}"] = line_state(
                needed=sum(needs.values()),
                handovers=by_line[f"planitem-{item.pk}"],
                last_day=last,
                today=today,
            )
    return items, plan_items, states


def line_states_for(
    *,
    bookings: Sequence[Booking],
    plan: ShootPlan | None = None,
    today: date,
    items: Sequence[BookingItem] | None = None,
    plan_items: Sequence[PlanItem] | None = None,
) -> dict[str, LineState]:
    """Each tagged equipment line's state on a crew's page, by ``StoreLine.key``: at most four
    queries (the lines and the plan's lines unless given, kits, handovers), however many lines
    and handovers there are."""
    return _lines_with_states(bookings=bookings, plan=plan, today=today, items=items, plan_items=plan_items)[
        2
    ]


def equipment_lines_with_states(
    *, bookings: Sequence[Booking], plan: ShootPlan | None = None, today: date
) -> list[tuple[Line, LineState | None]]:
    """A crew page's equipment lines (the bookings' own, then the plan's) with each tagged line's
    state; a line of untagged kinds has none. Queries as :func:`line_states_for`."""
    items, plan_items, states = _lines_with_states(bookings=bookings, plan=plan, today=today)
    return [(i, states.get(f"item-{i.pk}")) for i in items] + [
        (i, states.get(f"planitem-{i.pk}")) for i in plan_items
    ]


def units_in_repair() -> list[EquipmentUnit]:
    """Units in repair, each with the day it went (``since``) and what was damaged (``damage``): one query."""
    repair = Blackout.objects.filter(unit=OuterRef("pk"), end_date=REPAIR_OPEN_END)
    return list(
        EquipmentUnit.objects.filter(status=Unit.IN_REPAIR)
        .select_related("equipment")
        .annotate(since=Subquery(repair.values("start_date")[:1]), damage=Subquery(repair.values("note")[:1]))
        .order_by("equipment__name", "asset_tag")
    )
