"""Reads shared by several pages. Each runs a fixed number of queries, however much data there is."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from modeltranslation.utils import build_localized_fieldname, get_language

from .models import (
    MAX_CHANGEOVER_DAYS,
    SHOOT_DAY_STARTS,
    Blackout,
    Booking,
    BookingItem,
    DayRange,
    Equipment,
    Handover,
    Invoice,
    KitComponent,
    Notification,
    Payment,
    PlanItem,
    ShootPlan,
    StudioSet,
)


def catalogue_search(queryset: QuerySet, query: str, fields: Iterable[str]) -> QuerySet:
    """Rows whose catalogue text contains every word of ``query``.

    The text is looked for in the active language and in English, the text a
    visitor sees where a translation is missing; so 秦王宫 finds the Qin palace
    in Chinese, and its English name still finds it in every language.
    """
    languages = dict.fromkeys([get_language(), "en"])
    for word in query.split():
        match = Q()
        for name in fields:
            for language in languages:
                match |= Q(**{f"{build_localized_fieldname(name, language)}__icontains": word})
        queryset = queryset.filter(match)
    return queryset


def _active_bookings_near(set_ids: Iterable[int] | None, days: DayRange) -> QuerySet[Booking]:
    """Active bookings whose blocked days could touch ``days`` widened by any changeover."""
    qs = Booking.objects.holding().filter(
        start_date__lte=days.end + timedelta(days=MAX_CHANGEOVER_DAYS), blocked_until__gte=days.start
    )
    return qs if set_ids is None else qs.filter(studio_set_id__in=set_ids)


def set_clashes(studio_set: StudioSet, days: DayRange, bookings: Iterable[Booking]) -> list[Booking]:
    """Bookings that overlap ``days`` once both sides are widened by their changeover."""
    widened_end = days.end + timedelta(days=studio_set.changeover_days)
    return [
        b
        for b in bookings
        if b.studio_set_id == studio_set.pk and b.start_date <= widened_end and days.start <= b.blocked_until
    ]


def set_blackouts_overlapping(studio_set_ids: Iterable[int], days: DayRange) -> QuerySet[Blackout]:
    return Blackout.objects.filter(
        studio_set_id__in=studio_set_ids, start_date__lte=days.end, end_date__gte=days.start
    )


def busy_set_ids(days: DayRange, set_ids: Iterable[int] | None = None) -> set[int]:
    """Sets that cannot take a booking for ``days``: two queries in all."""
    changeover = dict(
        StudioSet.objects.filter(**({"pk__in": set_ids} if set_ids is not None else {})).values_list(
            "pk", "changeover_days"
        )
    )
    busy: set[int] = set()
    for b in _active_bookings_near(set_ids, days).only("studio_set_id", "start_date", "blocked_until"):
        widened_end = days.end + timedelta(days=changeover.get(b.studio_set_id, 0))
        if b.start_date <= widened_end and days.start <= b.blocked_until:
            busy.add(b.studio_set_id)
    blackouts = Blackout.objects.filter(
        studio_set__isnull=False, start_date__lte=days.end, end_date__gte=days.start
    )
    if set_ids is not None:
        blackouts = blackouts.filter(studio_set_id__in=set_ids)
    busy.update(blackouts.values_list("studio_set_id", flat=True))
    return busy


@dataclass
class EquipmentDays:
    """Per-day units of one equipment kind over a range.

    ``blacked_out`` counts the units kept off by blackouts, ``in_repair`` those of a kind that
    tracks units that are away in repair (blackouts tied to one unit); both keep units from
    being lent. For a kit, ``held`` counts the kits booked, and what it can still lend follows
    from its ``components``: each one's days and how many of it go in one kit.
    """

    equipment: Equipment
    held: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    blacked_out: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    in_repair: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    components: list[tuple["EquipmentDays", int]] = field(default_factory=list)

    @property
    def is_kit(self) -> bool:
        return bool(self.components)

    def free_on(self, day: date) -> int:
        if self.components:
            whole_kits = min(part.free_on(day) // per_kit for part, per_kit in self.components)
            return max(whole_kits - self.blacked_out[day] - self.in_repair[day], 0)
        return max(self.equipment.stock - self.held[day] - self.blacked_out[day] - self.in_repair[day], 0)

    def tightest(self, days: DayRange) -> int:
        return min(self.free_on(d) for d in days.dates())


@dataclass(frozen=True)
class HeldLine:
    """Units of one kind held by one booking or one whole plan, on the days listed.

    ``kit_id`` is the kit the line books when the units are held as one of its components.
    """

    equipment_id: int
    quantity: int
    reference: str
    dates: frozenset[date]
    kit_id: int | None = None


def _kit_parts(equipment_ids: Iterable[int]) -> list[KitComponent]:
    """The kit rows around these kinds, with each component: the components of every kit among
    them, and every kit that holds one of them or one of those components. One query.

    A kit is never a component itself (the admin refuses it), so one step each way is all there is.
    """
    ids = list(equipment_ids)
    components_of_kits = KitComponent.objects.filter(kit_id__in=ids).values("component_id")
    return list(
        KitComponent.objects.filter(
            Q(kit_id__in=ids) | Q(component_id__in=ids) | Q(component_id__in=components_of_kits)
        ).select_related("component")
    )


def equipment_held_lines(
    equipment_ids: Iterable[int],
    days: DayRange,
    *,
    ignoring: Iterable[int] = (),
    ignoring_plans: Iterable[int] = (),
) -> list[HeldLine]:
    """Every hold on these kinds with a day in ``days``: three queries.

    Live bookings hold, and so does a change waiting for the desk beside its booking
    (as a part of the plan too, so whole-plan lines are held over its days while it waits).
    ``ignoring`` (bookings) and ``ignoring_plans`` (whole-plan lines) are left out: a
    booking being changed competes with everyone but itself.

    A part's own line is held on the part's shoot days; a whole-plan line once on each
    day of the union of its plan's active parts' days, so a crew's units are never
    counted twice for one day on which two of its parts overlap.

    A line of a kit holds each component among these kinds too: the kits booked × the
    component's units in one kit (``kit_id`` says which kit). A kit asked about itself has
    its own lines, counted in kits.
    """
    equipment_ids = list(equipment_ids)
    return _held_lines(
        equipment_ids, days, _kit_parts(equipment_ids), ignoring=ignoring, ignoring_plans=ignoring_plans
    )


def _held_lines(
    equipment_ids: Iterable[int],
    days: DayRange,
    kit_parts: Iterable[KitComponent],
    *,
    ignoring: Iterable[int],
    ignoring_plans: Iterable[int],
) -> list[HeldLine]:
    """:func:`equipment_held_lines` with the kit rows already read: two queries."""
    asked = set(equipment_ids)
    # Kit id → (component asked about, units in one kit).
    through_kits: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for part in kit_parts:
        if part.component_id in asked:
            through_kits[part.kit_id].append((part.component_id, part.quantity))
    line_kinds = list(asked | set(through_kits))

    def within(dates: Iterable[date]) -> frozenset[date]:
        return frozenset(d for d in dates if days.start <= d <= days.end)

    def holds(equipment_id: int, quantity: int, reference: str, dates: frozenset[date]) -> list[HeldLine]:
        found = [HeldLine(equipment_id, quantity, reference, dates)] if equipment_id in asked else []
        found += [
            HeldLine(component_id, quantity * per_kit, reference, dates, kit_id=equipment_id)
            for component_id, per_kit in through_kits.get(equipment_id, ())
        ]
        return found

    held = [
        line
        for equipment_id, quantity, reference, start, end in BookingItem.objects.filter(
            equipment_id__in=line_kinds,
            booking__status__in=Booking.HOLDING_STATUSES,
            booking__start_date__lte=days.end,
            booking__end_date__gte=days.start,
        )
        .exclude(booking_id__in=list(ignoring))
        .values_list(
            "equipment_id", "quantity", "booking__reference", "booking__start_date", "booking__end_date"
        )
        for line in holds(equipment_id, quantity, reference, within(DayRange(start, end).dates()))
    ]
    plan_lines: dict[int, tuple[int, int, str]] = {}
    plan_dates: dict[int, set[date]] = defaultdict(set)
    # One row per (plan line, active part in the window): the filter and the values share the join.
    plan_rows = (
        PlanItem.objects.filter(
            equipment_id__in=line_kinds,
            plan__bookings__status__in=Booking.HOLDING_STATUSES,
            plan__bookings__start_date__lte=days.end,
            plan__bookings__end_date__gte=days.start,
        )
        .exclude(plan_id__in=list(ignoring_plans))
        .values_list(
            "pk",
            "equipment_id",
            "quantity",
            "plan__reference",
            "plan__bookings__start_date",
            "plan__bookings__end_date",
        )
    )
    for pk, equipment_id, quantity, reference, start, end in plan_rows:
        plan_lines[pk] = (equipment_id, quantity, reference)
        plan_dates[pk].update(DayRange(start, end).dates())
    held += [
        line
        for pk, (equipment_id, quantity, reference) in plan_lines.items()
        for line in holds(equipment_id, quantity, reference, within(plan_dates[pk]))
    ]
    return held


def equipment_days(
    equipment: Iterable[Equipment],
    days: DayRange,
    *,
    ignoring: Iterable[int] = (),
    ignoring_plans: Iterable[int] = (),
) -> dict[int, EquipmentDays]:
    """Units held, blacked out and in repair on each day of ``days``, per equipment kind: four queries.

    A kit's days come with its components' (read even when not asked for), and every kind's
    holds include the lines of kits that contain it. ``ignoring`` and ``ignoring_plans`` as in
    :func:`equipment_held_lines`.
    """
    asked = {e.pk: e for e in equipment}
    if not asked:
        return {}
    kit_parts = _kit_parts(asked)
    kinds = {pk: EquipmentDays(e) for pk, e in asked.items()}
    for part in kit_parts:
        if part.kit_id in asked:
            if part.component_id not in kinds:
                kinds[part.component_id] = EquipmentDays(part.component)
            kinds[part.kit_id].components.append((kinds[part.component_id], part.quantity))
    for line in _held_lines(kinds, days, kit_parts, ignoring=ignoring, ignoring_plans=ignoring_plans):
        for day in line.dates:
            kinds[line.equipment_id].held[day] += line.quantity
    blackouts = Blackout.objects.filter(
        equipment_id__in=kinds, start_date__lte=days.end, end_date__gte=days.start
    ).values_list("equipment_id", "units", "unit_id", "start_date", "end_date")
    for equipment_id, units, unit_id, start, end in blackouts:
        # A blackout tied to a unit is that unit in repair: the occupancy grid shows it apart.
        per_day = kinds[equipment_id].in_repair if unit_id is not None else kinds[equipment_id].blacked_out
        for day in days.dates():
            if start <= day <= end:
                per_day[day] += units
    return {pk: kinds[pk] for pk in asked}


def with_kit_parts(equipment: QuerySet[Equipment]) -> QuerySet[Equipment]:
    """Kinds with what each kit is made of (``Equipment.kit_parts``): one more query for them all."""
    return equipment.prefetch_related(
        Prefetch("components", queryset=KitComponent.objects.select_related("component").order_by("pk"))
    )


def equipment_rates(equipment: Iterable[Equipment]) -> dict[int, Decimal]:
    """Each kind's daily rate today, by id: its own, or for a kit priced at the sum of its
    components, each component's rate × its units in one kit. One query when such a kit is
    among them, none otherwise."""
    equipment = list(equipment)
    rates = {e.pk: e.daily_rate for e in equipment}
    summed = [e.pk for e in equipment if e.kit_pricing == Equipment.KitPricing.SUM]
    if summed:
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for kit_id, rate, quantity in KitComponent.objects.filter(kit_id__in=summed).values_list(
            "kit_id", "component__daily_rate", "quantity"
        ):
            totals[kit_id] += rate * quantity
        # A kind without components is no kit, whatever its pricing says: its own rate stays.
        rates.update(totals)
    return rates


@dataclass(frozen=True)
class QuoteLine:
    label: str
    rate: Decimal
    quantity: int
    days: int
    # The label in every language of the site, so a stored quote reads right for each reader.
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def amount(self) -> Decimal:
        return self.rate * self.quantity * self.days

    def as_json(self) -> dict:
        return {
            "label": self.label,
            "labels": self.labels,
            "rate": str(self.rate),
            "quantity": self.quantity,
            "days": self.days,
            "amount": str(self.amount),
        }


def quote_lines(
    studio_set: StudioSet,
    days: DayRange,
    items: Iterable[tuple[Equipment, int]],
    *,
    rates: dict[int, Decimal] | None = None,
) -> list[QuoteLine]:
    """Set rate × days + equipment rate × quantity × days, at today's rates.

    A kit is one line at its rate (:func:`equipment_rates`; pass ``rates`` when already known).
    """
    items = list(items)
    rates = rates if rates is not None else equipment_rates(e for e, _q in items)
    lines = [QuoteLine(studio_set.name, studio_set.daily_rate, 1, days.days, _names(studio_set))]
    lines += [QuoteLine(e.name, rates[e.pk], q, days.days, _names(e)) for e, q in items]
    return lines


def plan_days(parts: Iterable[DayRange]) -> list[date]:
    """The union of the parts' shoot days, in order: the days a whole-plan line is held and billed."""
    return sorted({day for days in parts for day in days.dates()})


def plan_quote_lines(
    parts: Iterable[DayRange],
    items: Iterable[tuple[Equipment, int]],
    *,
    rates: dict[int, Decimal] | None = None,
) -> list[QuoteLine]:
    """One line per whole-plan equipment kind: rate × quantity × the union of the parts' days.

    Rates as in :func:`quote_lines`.
    """
    items = list(items)
    rates = rates if rates is not None else equipment_rates(e for e, _q in items)
    count = len(plan_days(parts))
    return [QuoteLine(e.name, rates[e.pk], q, count, _names(e)) for e, q in items]


def _names(obj: StudioSet | Equipment) -> dict[str, str]:
    """The catalogue name in each language, English where a translation is missing."""
    names = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names[code] = obj.name
    return names


def localized_quote_lines(lines: list) -> list[dict]:
    """A stored quote's lines with ``label`` in the active language, when the quote kept one."""
    language = translation.get_language()
    result = []
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, dict):
            labels = line.get("labels")
            label = labels.get(language) if isinstance(labels, dict) else None
            result.append({**line, "label": label or line.get("label", "")})
    return result


@dataclass
class CalendarDay:
    day: date
    state: str  # free, booked, changeover, blackout, past
    in_month: bool = True
    choosable: bool = False  # a day a crew may pick as the first or last of a booking
    selected: bool = False


def month_grid(first: date) -> DayRange:
    """The whole weeks (Monday first) that show the month starting ``first``."""
    next_month = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = next_month - timedelta(days=1)
    return DayRange(first - timedelta(days=first.weekday()), last + timedelta(days=6 - last.weekday()))


def set_day_states(studio_set: StudioSet, days: DayRange, today: date) -> dict[date, str]:
    """Each day of ``days`` marked free, booked, changeover, blackout or past: two queries.

    A changeover is the set's reset after a booking, and also the days just before a
    booking that a new booking would need for its own reset: neither can be booked."""
    before = timedelta(days=studio_set.changeover_days)
    bookings = list(
        Booking.objects.holding()
        .filter(studio_set=studio_set, start_date__lte=days.end + before, blocked_until__gte=days.start)
        .only("start_date", "end_date", "blocked_until")
    )
    blackouts = list(
        Blackout.objects.filter(
            studio_set=studio_set, start_date__lte=days.end, end_date__gte=days.start
        ).only("start_date", "end_date")
    )
    states = {}
    for day in days.dates():
        state = "free"
        if any(b.start_date <= day <= b.end_date for b in blackouts):
            state = "blackout"
        elif any(b.start_date <= day <= b.end_date for b in bookings):
            state = "booked"
        elif any(b.end_date < day <= b.blocked_until or day < b.start_date <= day + before for b in bookings):
            state = "changeover"
        elif day < today:
            state = "past"
        states[day] = state
    return states


def set_month_calendar(
    studio_set: StudioSet, first: date, today: date, states: dict[date, str] | None = None
) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of the month starting ``first``, each day marked: two queries,
    none when ``states`` (from :func:`set_day_states`) already covers the grid."""
    grid = month_grid(first)
    if states is None:
        states = set_day_states(studio_set, grid, today)
    latest = today + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD)
    days = [
        CalendarDay(
            day,
            states[day],
            in_month=day.month == first.month,
            choosable=day.month == first.month and states[day] == "free" and day <= latest,
        )
        for day in grid.dates()
    ]
    return [days[i : i + 7] for i in range(0, len(days), 7)]


def bookings_for_list(user) -> QuerySet[Booking]:
    return (
        Booking.objects.for_user(user)
        .bookings()
        .annotate(
            change_waiting=Exists(
                Booking.objects.filter(change_of=OuterRef("pk"), status=Booking.Status.CHANGE)
            )
        )
        .select_related("studio_set", "crew", "plan")
        .prefetch_related(
            Prefetch("items", queryset=BookingItem.objects.select_related("equipment")),
            # Each plan's parts and whole-plan lines: what its line in "My bookings" shows.
            Prefetch(
                "plan__bookings",
                queryset=Booking.objects.bookings().only(
                    "pk", "plan_id", "change_of_id", "status", "start_date", "end_date", "reference"
                ),
            ),
            Prefetch("plan__items", queryset=PlanItem.objects.select_related("equipment").order_by("pk")),
        )
    )


# --- Staff: occupancy overview and export ---------------------------------------


@dataclass(frozen=True)
class OccupancyCell:
    """One set on one day. ``booking`` shoots that day; ``changeover_of`` is resetting after it."""

    day: date
    booking: Booking | None = None
    changeover_of: Booking | None = None
    blackout: Blackout | None = None

    @property
    def state(self) -> str:
        if self.blackout is not None:
            return "blackout"
        if self.booking is not None:
            return self.booking.status  # requested, confirmed, or a change awaiting the desk
        if self.changeover_of is not None:
            return "changeover"
        return "free"


@dataclass(frozen=True)
class OccupancyRow:
    studio_set: StudioSet
    cells: list[OccupancyCell]


@dataclass(frozen=True)
class OccupancyGrid:
    days: DayRange
    rows: list[OccupancyRow]

    @property
    def dates(self) -> list[date]:
        return self.days.dates()


def occupancy_grid(*, start: date, days: int) -> OccupancyGrid:
    """Active sets × ``days`` days from ``start``, each cell marked: three queries in all."""
    window = DayRange(start, start + timedelta(days=days - 1))
    sets = list(StudioSet.objects.filter(is_active=True).order_by("name", "pk"))
    bookings_by_set: dict[int, list[Booking]] = defaultdict(list)
    for b in (
        Booking.objects.holding()
        .filter(studio_set__is_active=True, start_date__lte=window.end, blocked_until__gte=window.start)
        .select_related("crew")
        # A live booking before a change proposed for it, so a day both hold shows the booking.
        .order_by(F("change_of").asc(nulls_first=True), "start_date")
    ):
        bookings_by_set[b.studio_set_id].append(b)
    blackouts_by_set: dict[int, list[Blackout]] = defaultdict(list)
    for bo in Blackout.objects.filter(
        studio_set__is_active=True, start_date__lte=window.end, end_date__gte=window.start
    ).order_by("start_date"):
        blackouts_by_set[bo.studio_set_id].append(bo)

    dates = window.dates()
    rows = []
    for studio_set in sets:
        bookings = bookings_by_set.get(studio_set.pk, [])
        blackouts = blackouts_by_set.get(studio_set.pk, [])
        cells = []
        for day in dates:
            cells.append(
                OccupancyCell(
                    day=day,
                    booking=next((b for b in bookings if b.start_date <= day <= b.end_date), None),
                    changeover_of=next((b for b in bookings if b.end_date < day <= b.blocked_until), None),
                    blackout=next((bo for bo in blackouts if bo.start_date <= day <= bo.end_date), None),
                )
            )
        rows.append(OccupancyRow(studio_set, cells))
    return OccupancyGrid(window, rows)


@dataclass(frozen=True)
class EquipmentCell:
    """One equipment kind on one day: units promised to bookings, blacked out, in repair, and left free."""

    day: date
    stock: int
    promised: int
    blacked_out: int
    in_repair: int = 0
    # Of the promised units, those already handed to crews (and overdue ones not yet back).
    out: int = 0

    @property
    def free(self) -> int:
        return max(self.stock - self.promised - self.blacked_out - self.in_repair, 0)

    @property
    def state(self) -> str:
        if not self.free:
            return "none-free"
        return "some-promised" if self.promised or self.blacked_out or self.in_repair else "free"


@dataclass(frozen=True)
class EquipmentRow:
    equipment: Equipment
    cells: list[EquipmentCell]


@dataclass(frozen=True)
class EquipmentGrid:
    days: DayRange
    rows: list[EquipmentRow]

    @property
    def dates(self) -> list[date]:
        return self.days.dates()


def equipment_occupancy_grid(*, start: date, days: int) -> EquipmentGrid:
    """Active equipment kinds × ``days`` days from ``start``: six queries in all.

    A cell counts units as the booking service does (:func:`equipment_days`), and the units
    out with crews (:func:`units_out_by_day`): each
    booking's own lines on its shoot days, each whole-plan line once on every day of its
    plan's parts, a change awaiting the desk beside its booking, blackouts and units in
    repair. A kit owns no units, so it has no row: the kits booked are promised units in
    its components' rows.
    """
    window = DayRange(start, start + timedelta(days=days - 1))
    kinds = list(
        Equipment.objects.filter(is_active=True)
        .exclude(Exists(KitComponent.objects.filter(kit=OuterRef("pk"))))
        .order_by("name", "pk")
    )
    usage = equipment_days(kinds, window)
    out = units_out_by_day(window, today=timezone.localdate())
    dates = window.dates()
    rows = [
        EquipmentRow(
            kind,
            [
                EquipmentCell(
                    day,
                    kind.stock,
                    usage[kind.pk].held[day],
                    usage[kind.pk].blacked_out[day],
                    usage[kind.pk].in_repair[day],
                    out[kind.pk][day],
                )
                for day in dates
            ],
        )
        for kind in kinds
    ]
    return EquipmentGrid(window, rows)


def units_out_by_day(window: DayRange, *, today: date) -> dict[int, dict[date, int]]:
    """Units with crews, per kind and day of ``window``: one query.

    A unit handed out is out from the day it was collected until its line's last shoot day,
    and, while it is not back, on every day up to today (an overdue unit is out, not in the store).
    """
    plan_last_day = (
        Booking.objects.filter(
            plan_id=OuterRef("plan_item__plan_id"),
            change_of__isnull=True,
            status__in=(Booking.Status.CONFIRMED, Booking.Status.COMPLETED),
        )
        .order_by("-end_date")
        .values("end_date")[:1]
    )
    rows = (
        Handover.objects.out()
        .annotate(plan_last_day=Subquery(plan_last_day))
        .values_list(
            "unit__equipment_id", "handed_out_at", "booking_item__booking__end_date", "plan_last_day"
        )
    )
    out: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for kind_id, handed_out_at, booking_end, plan_end in rows:
        first = timezone.localdate(handed_out_at)
        last = max(booking_end or plan_end or today, today)
        for day in window.dates():
            if first <= day <= last:
                out[kind_id][day] += 1
    return out


def bookings_for_export(*, days: DayRange) -> QuerySet[Booking]:
    """Bookings of any status with a shoot day in ``days``, with crew, set and equipment: two queries.

    Changes asked for a booking are not bookings: an approved one is already in its booking's row.
    """
    return (
        Booking.objects.bookings()
        .filter(start_date__lte=days.end, end_date__gte=days.start)
        .select_related("crew", "studio_set")
        .prefetch_related(
            Prefetch(
                "items", queryset=BookingItem.objects.select_related("equipment").order_by("equipment__name")
            )
        )
        .order_by("start_date", "studio_set__name", "reference")
    )


# --- Notifications ------------------------------------------------------------

# How long before a hold ends its crew is warned, and a shoot's first day is announced.
HOLD_WARNING = timedelta(hours=12)
START_REMINDER = timedelta(hours=48)


def bookings_for_notice() -> QuerySet[Booking]:
    """Bookings with what their emails show, and who receives them, in a fixed number of queries."""
    from .models import User

    return Booking.objects.select_related("crew", "studio_set").prefetch_related(
        Prefetch("items", queryset=BookingItem.objects.select_related("equipment").order_by("pk")),
        Prefetch(
            "crew__members",
            queryset=User.objects.filter(is_active=True).order_by("pk"),
            to_attr="active_members",
        ),
    )


def _last_shoot_day_begun(moment: datetime) -> date:
    """The latest date whose shoot day has begun by ``moment`` (studio time)."""
    local = timezone.localtime(moment, timezone.get_default_timezone())
    begins = timedelta(hours=SHOOT_DAY_STARTS.hour, minutes=SHOOT_DAY_STARTS.minute)
    return (local - begins).date()


def bookings_due_notice(*, kind: str, now: datetime) -> QuerySet[Booking]:
    """Bookings whose ``kind`` reminder is due at ``now`` and not yet queued.

    Each window is bounded on both sides and served by an index on (status,
    date), so the cost follows the bookings that are due, not all bookings.
    """
    Kind = Notification.Kind
    if kind == Kind.BOOKING_HOLD_EXPIRING:
        due = Q(
            status=Booking.Status.REQUESTED,
            hold_expires_at__gt=now,
            hold_expires_at__lte=now + HOLD_WARNING,
            # A hold no longer than the warning was announced with the request itself.
            created_at__lt=F("hold_expires_at") - HOLD_WARNING,
        )
    elif kind == Kind.BOOKING_REMINDER_START:
        # Due 48 hours before the first shoot day begins, until it begins.
        due = Q(
            status=Booking.Status.CONFIRMED,
            start_date__gt=_last_shoot_day_begun(now),
            start_date__lte=_last_shoot_day_begun(now + START_REMINDER),
        )
    elif kind == Kind.BOOKING_REMINDER_END:
        # Due from the start of the last shoot day until the day is over.
        today = timezone.localdate(now, timezone.get_default_timezone())
        if _last_shoot_day_begun(now) < today:
            return Booking.objects.none()
        due = Q(status=Booking.Status.CONFIRMED, end_date=today)
    else:
        raise ValueError(f"Not a booking reminder: {kind}")
    if kind == Kind.BOOKING_HOLD_EXPIRING:
        already = Notification.objects.filter(booking=OuterRef("pk"), kind=kind)
        plan_already = Notification.objects.filter(
            plan=OuterRef("plan_id"), kind=kind.replace("booking-", "plan-", 1)
        )
        bookings = bookings_for_notice().filter(due)
    else:
        # A reminder is about a shoot day: one whose days moved is due again for the new day.
        day = "start_date" if kind == Kind.BOOKING_REMINDER_START else "end_date"
        already = Notification.objects.filter(booking=OuterRef("pk"), kind=kind, about_date=OuterRef(day))
        plan_already = Notification.objects.filter(
            plan=OuterRef("plan_id"), kind=kind.replace("booking-", "plan-", 1), about_date=OuterRef(day)
        )
        # A plan told as a whole starts on its first confirmed part's first day and ends on its last
        # one's last day; the parts in between are not the shoot's start or end.
        confirmed_parts = Booking.objects.filter(
            plan_id=OuterRef("plan_id"), change_of__isnull=True, status=Booking.Status.CONFIRMED
        ).order_by()
        edge = (
            confirmed_parts.values("plan_id").annotate(edge=Min("start_date")).values("edge")
            if day == "start_date"
            else confirmed_parts.values("plan_id").annotate(edge=Max("end_date")).values("edge")
        )
        bookings = with_plan_shape(bookings_for_notice().filter(due)).filter(
            Q(plan_of_parts=False) | Q(**{day: Subquery(edge)})
        )
    return with_plan_shape(bookings.exclude(Exists(already)).exclude(Exists(plan_already)).order_by("pk"))


def with_plan_shape(bookings: QuerySet[Booking]) -> QuerySet[Booking]:
    """Annotate ``plan_of_parts``: whether the booking's plan is told as a whole (several parts,
    or equipment for the whole plan), so a sweep decides without a query per booking."""
    others = Booking.objects.filter(plan_id=OuterRef("plan_id"), change_of__isnull=True).exclude(
        pk=OuterRef("pk")
    )
    lines = PlanItem.objects.filter(plan_id=OuterRef("plan_id"))
    return bookings.annotate(plan_of_parts=Exists(others) | Exists(lines))


def bookings_under_blackout(
    *,
    days: DayRange,
    studio_set: StudioSet | None = None,
    equipment: Equipment | None = None,
    units: int = 0,
    exclude: Blackout | None = None,
) -> list[Booking]:
    """Active bookings that a new (or changed) blackout would cut into, by reference; for equipment,
    each with the days it would be short on (``short_days``).

    For a set: every active booking with a shoot day in the blackout. For equipment: the bookings
    holding the kind (on their own lines or through a kit) on a day where what they hold, other
    blackouts, units in repair and ``units`` exceed the stock.
    """
    if studio_set is not None:
        return list(
            Booking.objects.holding()
            .filter(studio_set=studio_set, start_date__lte=days.end, end_date__gte=days.start)
            .select_related("crew")
            .order_by("start_date", "reference")
        )
    if equipment is None or not units:
        return []
    state = equipment_days([equipment], days)[equipment.pk]
    if state.is_kit:
        return []  # a kit owns no units: its components' blackouts are what count
    if exclude is not None and exclude.pk and exclude.equipment_id == equipment.pk:
        kept_off = state.in_repair if exclude.unit_id is not None else state.blacked_out
        for day in days.dates():
            if exclude.start_date <= day <= exclude.end_date:
                kept_off[day] -= exclude.units or 0
    short = [
        d
        for d in days.dates()
        if state.held[d]
        and state.held[d] + state.blacked_out[d] + state.in_repair[d] + units > equipment.stock
    ]
    if not short:
        return []
    # Held on its own lines, or through a kit that contains it.
    holding = (
        Q(items__equipment=equipment)
        | Q(plan__items__equipment=equipment)
        | Q(items__equipment__components__component=equipment)
        | Q(plan__items__equipment__components__component=equipment)
    )
    candidates = (
        Booking.objects.holding()
        .filter(holding)
        .filter(start_date__lte=max(short), end_date__gte=min(short))
        .distinct()
        .select_related("crew")
        .order_by("start_date", "reference")
    )
    hit = []
    for booking in candidates:
        # The days it is short on, for whoever must tell the crew.
        booking.short_days = [day for day in short if booking.start_date <= day <= booking.end_date]
        if booking.short_days:
            hit.append(booking)
    return hit


# --- A booking's timeline, as its crew sees it -----------------------------------


@dataclass(frozen=True)
class TimelineEvent:
    when: datetime
    what: str
    # The crew member's name, "Booking desk" for any staff member, or "System".
    who: str
    reason: str = ""


def _timeline_status_labels() -> dict[str, str]:
    S = Booking.Status
    return {
        S.REQUESTED: gettext("Requested"),
        S.CONFIRMED: gettext("Confirmed"),
        S.REJECTED: gettext("Rejected"),
        S.CANCELLED: gettext("Cancelled"),
        S.EXPIRED: gettext("Hold expired"),
        S.COMPLETED: gettext("Completed"),
    }


# What the crew is told changed, by the fields behind it (the equipment lines are the third part).
_TIMELINE_PARTS = (("start_date", "end_date", "blocked_until"), ("studio_set_id",))


def _timeline_who(user, booking: Booking) -> str:
    if user is None:
        return gettext("System")
    # The crew never learns which staff member acted: the desk answers as one.
    if user.is_staff or user.crew_id is None:
        return gettext("Booking desk")
    return str(user)


def booking_timeline(booking: Booking) -> list[TimelineEvent]:
    """What happened to ``booking``, oldest first, from its history and its equipment lines'; two queries."""
    from .history import reason_display

    rows = list(booking.history.select_related("history_user").order_by("history_date", "history_id"))
    item_rows = list(
        BookingItem.history.filter(booking_id=booking.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    if not rows:
        # Made before the history was kept: its request is all that is known.
        return [
            TimelineEvent(
                booking.created_at, gettext("Requested"), _timeline_who(booking.created_by, booking)
            )
        ]
    statuses = _timeline_status_labels()
    # Changes asked for a confirmed booking are rows of their own, held beside it: their
    # history tells when each was asked for and how the desk decided. One more query.
    change_labels = {
        Booking.Status.CHANGE: gettext("Change asked for"),
        Booking.Status.CHANGE_APPROVED: gettext("Change approved"),
        Booking.Status.CHANGE_REFUSED: gettext("Change refused"),
        Booking.Status.CHANGE_WITHDRAWN: gettext("Change withdrawn"),
    }
    change_events: list[TimelineEvent] = []
    approved_at: set[datetime] = set()
    last_status: dict[int, str] = {}
    for row in (
        Booking.history.filter(change_of_id=booking.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    ):
        if last_status.get(row.id) != row.status and row.status in change_labels:
            what = change_labels[row.status]
            if row.status == Booking.Status.CHANGE:
                what = gettext("Change asked for: %(start)s – %(end)s") % {
                    "start": date_format(row.start_date),
                    "end": date_format(row.end_date),
                }
            change_events.append(
                TimelineEvent(
                    row.history_date,
                    what,
                    _timeline_who(row.history_user, booking),
                    reason_display(row.history_change_reason),
                )
            )
            if row.status == Booking.Status.CHANGE_APPROVED:
                approved_at.add(row.history_date)
        last_status[row.id] = row.status
    part_labels = (gettext("dates"), gettext("set"), gettext("equipment"))
    created_at = rows[0].history_date
    # Equipment lines changed after the request, grouped by the moment (one change saves them together).
    equipment_changes: dict[datetime, object] = {}
    for item in item_rows:
        if item.history_date != created_at:
            equipment_changes.setdefault(item.history_date, item)

    events: list[TimelineEvent] = []
    previous = None
    for row in rows:
        who = _timeline_who(row.history_user, booking)
        reason = reason_display(row.history_change_reason)
        if previous is None:
            events.append(TimelineEvent(row.history_date, statuses[Booking.Status.REQUESTED], who, reason))
        elif row.status != previous.status:
            events.append(TimelineEvent(row.history_date, statuses.get(row.status, row.status), who, reason))
        else:
            parts = [
                label
                for label, fields in zip(part_labels, _TIMELINE_PARTS, strict=False)
                if any(getattr(row, f) != getattr(previous, f) for f in fields)
            ]
            if equipment_changes.pop(row.history_date, None) is not None:
                parts.append(part_labels[2])
            if parts and row.history_date not in approved_at:  # told as "Change approved"
                what = gettext("Changed: %(parts)s") % {"parts": ", ".join(parts)}
                events.append(TimelineEvent(row.history_date, what, who, reason))
        previous = row
    for when, item in equipment_changes.items():
        if when in approved_at:
            continue
        what = gettext("Changed: %(parts)s") % {"parts": part_labels[2]}
        events.append(
            TimelineEvent(
                when,
                what,
                _timeline_who(item.history_user, booking),
                reason_display(item.history_change_reason),
            )
        )
    events += change_events
    events.sort(key=lambda e: e.when)
    return events


# --- Shoot plans ----------------------------------------------------------------


def _plan_prefetches() -> list[Prefetch]:
    return [
        Prefetch(
            "bookings",
            queryset=Booking.objects.bookings()
            .select_related("studio_set")
            .prefetch_related(
                Prefetch("items", queryset=BookingItem.objects.select_related("equipment").order_by("pk"))
            ),
        ),
        Prefetch("items", queryset=PlanItem.objects.select_related("equipment").order_by("pk")),
    ]


def plans_for_user(user) -> QuerySet[ShootPlan]:
    """A crew's plans with their parts, equipment and sets: five queries however many."""
    return ShootPlan.objects.for_user(user).select_related("crew").prefetch_related(*_plan_prefetches())


def plans_for_notice() -> QuerySet[ShootPlan]:
    """Plans with what their emails show, and who receives them, in a fixed number of queries."""
    from .models import User

    return ShootPlan.objects.select_related("crew").prefetch_related(
        *_plan_prefetches(),
        Prefetch(
            "crew__members",
            queryset=User.objects.filter(is_active=True).order_by("pk"),
            to_attr="active_members",
        ),
    )


@dataclass(frozen=True)
class PlanGroup:
    """A line of "My bookings": one plan and its bookings in that list (one booking alone for a
    plan of one set without equipment of its own)."""

    plan: ShootPlan
    bookings: list[Booking]

    @property
    def single(self) -> bool:
        return len(self.plan.bookings.all()) == 1 and not self.plan.items.all()


def group_by_plan(bookings: Iterable[Booking]) -> list[PlanGroup]:
    """``bookings`` (from :func:`bookings_for_list`) grouped by plan, in the order of each plan's first."""
    groups: dict[int, PlanGroup] = {}
    for booking in bookings:
        group = groups.get(booking.plan_id)
        if group is None:
            group = groups[booking.plan_id] = PlanGroup(booking.plan, [])
        group.bookings.append(booking)
    return list(groups.values())


# Plans on a page of the past in "My bookings": ten years of a crew's shoots stay one click away
# without the page growing with them.
PAST_PLANS_PER_PAGE = 20


def past_plans_page(user, *, today: date, number: str | int | None) -> tuple[Page, list[PlanGroup]]:
    """Page ``number`` of ``user``'s crew's past bookings, grouped by plan, latest plan first, and
    the page (a number past the end gives the last). A plan is never cut between two pages."""
    past = bookings_for_list(user).filter(end_date__lt=today)
    plans = (
        past.order_by()
        .values("plan_id")
        .annotate(last_start=Max("start_date"))
        .order_by("-last_start", "-plan_id")
    )
    page = Paginator(plans, PAST_PLANS_PER_PAGE).get_page(number)
    plan_ids = [row["plan_id"] for row in page.object_list]
    groups = group_by_plan(past.filter(plan_id__in=plan_ids).order_by("-start_date", "reference"))
    position = {plan_id: i for i, plan_id in enumerate(plan_ids)}
    groups.sort(key=lambda group: position[group.plan.pk])
    return page, groups


# --- Money -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueMonth:
    month: date
    invoiced: Decimal
    received: Decimal
    # Still owed today on the invoices issued that month.
    outstanding: Decimal


def revenue_by_month(*, year: int) -> list[RevenueMonth]:
    """Each month of ``year``: invoiced (issued that month), received (paid that month, less
    refunds) and outstanding on that month's invoices. Three queries, whatever the year holds."""
    money = DecimalField(max_digits=14, decimal_places=2)
    signed = Payment.signed()
    paid_per_invoice = (
        Payment.objects.filter(invoice=OuterRef("pk"))
        .values("invoice")
        .annotate(total=Sum(signed))
        .values("total")
    )
    invoiced = {
        row["month"]: row
        for row in Invoice.objects.filter(year=year)
        .annotate(
            month=TruncMonth("issued_on"),
            paid=Coalesce(
                Subquery(paid_per_invoice, output_field=money), Value(Decimal(0)), output_field=money
            ),
        )
        .values("month")
        .annotate(invoiced=Sum("total"), paid=Sum("paid"))
    }
    received = dict(
        Payment.objects.filter(paid_on__year=year)
        .annotate(month=TruncMonth("paid_on"))
        .values("month")
        .annotate(received=Sum(signed))
        .values_list("month", "received")
    )
    months = []
    for number in range(1, 13):
        month = date(year, number, 1)
        row = invoiced.get(month, {})
        total = row.get("invoiced") or Decimal(0)
        months.append(
            RevenueMonth(
                month, total, received.get(month) or Decimal(0), total - (row.get("paid") or Decimal(0))
            )
        )
    return months
