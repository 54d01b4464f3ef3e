"""Grow the demo data to studio scale with bulk inserts (``manage.py bench_data``).

Rows are written with ``bulk_create``, not through the services, so ten years of
bookings take seconds, not hours; they are still valid rows: ``blocked_until`` is
the last shoot day plus the set's changeover, quotes are the catalogue's quote
lines, references are unique, and no two active bookings of one set overlap
(each set's years are cut into slots, one booking per slot, none over a demo
booking). Bulk inserts write no historical rows, which is what a data import
would do too.
"""

from __future__ import annotations

import random
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from bookings.models import (
    REFERENCE_ALPHABET,
    Booking,
    BookingItem,
    Crew,
    DayRange,
    Equipment,
    ShootPlan,
    StudioSet,
    User,
)
from bookings.selectors import quote_lines
from workshops.models import Enrolment, Session, Workshop

DEMO_CREW_EMAIL = "coordinator@redlantern.example"
BENCH_EMAIL_DOMAIN = "bench.example"


@dataclass(frozen=True)
class Scale:
    # Totals, the demo's and an earlier scale's rows included: a size can be grown to the next.
    sets: int
    crews: int
    bookings: int
    demo_crew_bookings: int
    years: int
    sessions: int  # upcoming, with ``enrolments`` spread over the added ones
    enrolments: int


SCALES = {
    "demo": None,
    "grown": Scale(
        sets=513,
        crews=2000,
        bookings=100_000,
        demo_crew_bookings=2_225,
        years=10,
        sessions=200,
        enrolments=10_000,
    ),
    # Where the sweep's cost is compared from (at 100k bookings it should cost at most 1.5× its cost at 1k).
    "1k": Scale(
        sets=40, crews=60, bookings=1_000, demo_crew_bookings=25, years=10, sessions=10, enrolments=500
    ),
    "smoke": Scale(
        sets=20, crews=30, bookings=400, demo_crew_bookings=20, years=2, sessions=9, enrolments=120
    ),
}


def _clone(obj, **changes):
    """A new unsaved row with ``obj``'s field values (translations included) and ``changes``."""
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key}
    values.update(changes)
    return type(obj)(**values)


class _References:
    """Unique references, checked against those already stored: 6 of 31 letters collide at 100k."""

    def __init__(self, model, prefix: str, rng: random.Random):
        self.seen = set(model.objects.values_list("reference", flat=True))
        self.prefix = prefix
        self.rng = rng

    def __call__(self) -> str:
        while True:
            ref = self.prefix + "".join(self.rng.choice(REFERENCE_ALPHABET) for _ in range(6))
            if ref not in self.seen:
                self.seen.add(ref)
                return ref


def build(scale_name: str, *, seed: int = 14, batch: int = 5000, log=print) -> dict[str, int]:
    """Add the rows of ``scale_name`` to a database that already holds the demo."""
    scale = SCALES[scale_name]
    if scale is None:
        return counts()
    rng = random.Random(f"{seed}-{scale_name}")
    demo_crew = User.objects.get(email=DEMO_CREW_EMAIL).crew_id
    scale = replace(
        scale,
        bookings=max(0, scale.bookings - Booking.objects.count()),
        demo_crew_bookings=max(
            0, scale.demo_crew_bookings - Booking.objects.filter(crew_id=demo_crew).count()
        ),
        sessions=max(0, scale.sessions - Session.objects.filter(starts_at__gt=timezone.now()).count()),
        enrolments=max(0, scale.enrolments - Enrolment.objects.count()),
    )
    with transaction.atomic():
        sets = _grow_sets(scale, rng)
        log(f"sets: {len(sets)}")
        crews = _grow_crews(scale, rng)
        log(f"bench crews: {len(crews)}")
        _grow_bookings(scale, rng, sets, crews, batch=batch, log=log)
        _grow_sessions(scale, rng, batch=batch)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return counts()


def counts() -> dict[str, int]:
    demo_crew = User.objects.filter(email=DEMO_CREW_EMAIL).values_list("crew_id", flat=True).first()
    return {
        "sets": StudioSet.objects.count(),
        "crews": Crew.objects.count(),
        "bookings": Booking.objects.count(),
        "demo_crew_bookings": Booking.objects.filter(crew_id=demo_crew).count(),
        "upcoming_sessions": Session.objects.filter(starts_at__gt=timezone.now()).count(),
        "enrolments": Enrolment.objects.count(),
    }


def _grow_sets(scale: Scale, rng: random.Random) -> list[StudioSet]:
    existing = list(StudioSet.objects.order_by("pk"))
    demo = [s for s in existing if s.slug[-1:].isalpha()] or existing
    new = []
    for i in range(len(existing), scale.sets):
        model = demo[i % len(demo)]
        number = i + 1  # unique whatever size was built before
        new.append(
            _clone(
                model,
                slug=f"{model.slug}-{number}"[:200],
                name=f"{model.name} {number}",
                name_en=f"{model.name_en or model.name} {number}",
                changeover_days=rng.choice([0, 0, 1, 1, 2]),
            )
        )
    StudioSet.objects.bulk_create(new)
    return list(StudioSet.objects.order_by("pk"))


def _grow_crews(scale: Scale, rng: random.Random) -> list[tuple[int, int]]:
    """(crew id, coordinator user id) of every crew the bench added, this time or before."""
    model = Crew.objects.order_by("pk").first()
    start = Crew.objects.count()
    crews = [
        _clone(
            model, name=f"Bench Pictures {i:04d}", calendar_token=f"bench{i:06d}{rng.getrandbits(64):016x}"
        )
        for i in range(start, scale.crews)
    ]
    crews = Crew.objects.bulk_create(crews)
    users = [
        User(
            email=f"crew{i:04d}@{BENCH_EMAIL_DOMAIN}",
            first_name="Bench",
            last_name=f"{i:04d}",
            crew=crew,
            crew_role=User.CrewRole.choices[0][0],
            password="!",  # no password: these accounts never log in with one
        )
        for i, crew in enumerate(crews, start=start)
    ]
    User.objects.bulk_create(users)
    return list(
        User.objects.filter(email__endswith=f"@{BENCH_EMAIL_DOMAIN}", crew__isnull=False)
        .order_by("pk")
        .values_list("crew_id", "pk")
    )


def _past_status(rng: random.Random) -> str:
    r = rng.random()
    S = Booking.Status
    return S.COMPLETED if r < 0.85 else S.CANCELLED if r < 0.93 else S.REJECTED if r < 0.97 else S.EXPIRED


def _future_status(rng: random.Random) -> str:
    r = rng.random()
    S = Booking.Status
    return S.CONFIRMED if r < 0.7 else S.REQUESTED if r < 0.85 else S.CANCELLED


def _grow_bookings(scale, rng, sets, crews, *, batch: int, log) -> None:
    today = timezone.localdate()
    now = timezone.now()
    first = today - timedelta(days=365 * scale.years - 200)
    span = (today + timedelta(days=200) - first).days
    # A few more slots than needed (some fall on earlier rows and are skipped), then a sample.
    per_set = max(1, -(-scale.bookings * 21 // (20 * len(sets))))
    slot = span // per_set
    demo_user = User.objects.get(email=DEMO_CREW_EMAIL)
    # The demo's own bookings stay where they are; nothing is put over them.
    taken = defaultdict(list)
    for set_id, start, until in Booking.objects.values_list("studio_set_id", "start_date", "blocked_until"):
        taken[set_id].append((start, until))
    equipment = [e for e in Equipment.objects.filter(is_active=True).order_by("pk") if e.stock >= 2]
    used = defaultdict(int)  # (equipment id, day) -> units promised by active added bookings
    for item in BookingItem.objects.filter(booking__status__in=Booking.HOLDING_STATUSES).select_related(
        "booking"
    ):
        for day in item.booking.days.dates():
            used[item.equipment_id, day] += item.quantity
    quotes: dict[tuple[int, int, int | None], tuple[list, Decimal]] = {}
    booking_refs = _References(Booking, "HD-", rng)
    plan_refs = _References(ShootPlan, "HD-P", rng)

    rows = []  # (studio_set, start, end, crew_id, user_id, item)
    demo_share = scale.demo_crew_bookings / max(1, scale.bookings)
    for studio_set in sets:
        for n in range(per_set):
            slot_start = first + timedelta(days=n * slot)
            start = slot_start + timedelta(days=rng.randint(0, 2))
            longest = max(1, min(10, slot - 3 - studio_set.changeover_days - 1))
            end = start + timedelta(days=rng.randint(1, longest) - 1)
            until = end + timedelta(days=studio_set.changeover_days)
            if any(s <= until and start <= u for s, u in taken[studio_set.pk]):
                continue
            crew_id, user_id = (
                (demo_user.crew_id, demo_user.pk) if rng.random() < demo_share else rng.choice(crews)
            )
            rows.append((studio_set, start, end, until, crew_id, user_id))
    rows = rng.sample(rows, min(len(rows), scale.bookings))  # in request order, not set by set

    plans, bookings, items = [], [], []
    for studio_set, start, end, until, crew_id, user_id in rows:
        status = _past_status(rng) if end < today else _future_status(rng)
        item = None
        if equipment and rng.random() < 0.1:
            kind = rng.choice(equipment)
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            active = status in Booking.HOLDING_STATUSES
            if not active or all(used[kind.pk, d] < kind.stock for d in days):
                item = kind
                if active:
                    for d in days:
                        used[kind.pk, d] += 1
        ndays = (end - start).days + 1
        key = (studio_set.pk, ndays, item.pk if item else None)
        if key not in quotes:
            lines = quote_lines(studio_set, DayRange(start, end), [(item, 1)] if item else [])
            quotes[key] = (
                [line.as_json() for line in lines],
                sum((line.amount for line in lines), Decimal(0)),
            )
        lines, total = quotes[key]
        plan = ShootPlan(reference=plan_refs(), crew_id=crew_id, created_by_id=user_id, quote_total=total)
        plans.append(plan)
        bookings.append(
            Booking(
                reference=booking_refs(),
                plan=plan,
                crew_id=crew_id,
                studio_set_id=studio_set.pk,
                start_date=start,
                end_date=end,
                blocked_until=until,
                status=status,
                hold_expires_at=now + timedelta(hours=rng.randint(1, 47))
                if status == Booking.Status.REQUESTED
                else None,
                quote_total=total,
                quote_lines=lines,
                created_by_id=user_id,
            )
        )
        items.append(item)

    for plan, booking in zip(plans, bookings, strict=True):
        # Rows were "requested" some weeks before their first day, not all today.
        plan.created_at = booking.created_at = timezone.make_aware(
            datetime.combine(booking.start_date - timedelta(days=rng.randint(7, 60)), time(10))
        )
    with _keeping_created_at():
        _insert(plans, bookings, items, batch=batch, log=log)


@contextmanager
def _keeping_created_at():
    """auto_now_add would stamp every imported row with today; these rows bring their own date."""
    fields = [model._meta.get_field("created_at") for model in (ShootPlan, Booking)]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _insert(plans, bookings, items, *, batch: int, log) -> None:
    for i in range(0, len(plans), batch):
        ShootPlan.objects.bulk_create(plans[i : i + batch])
        for b in bookings[i : i + batch]:
            b.plan_id = b.plan.pk
        Booking.objects.bulk_create(bookings[i : i + batch])
        log(f"bookings: {min(i + batch, len(bookings))}/{len(bookings)}")
    BookingItem.objects.bulk_create(
        [
            BookingItem(booking=b, equipment=kind, quantity=1, daily_rate=kind.daily_rate)
            for b, kind in zip(bookings, items, strict=True)
            if kind is not None
        ],
        batch_size=batch,
    )


def _grow_sessions(scale: Scale, rng: random.Random, *, batch: int) -> None:
    workshops = list(Workshop.objects.filter(is_published=True).order_by("pk"))
    model = Session.objects.order_by("pk").first()
    if not workshops or model is None or not scale.sessions:
        return
    now = timezone.now()
    sessions = []
    for i in range(scale.sessions):
        starts = now + timedelta(days=rng.randint(7, 300), hours=rng.randint(0, 8))
        sessions.append(
            _clone(
                model,
                workshop_id=workshops[i % len(workshops)].pk,
                starts_at=starts,
                ends_at=starts + timedelta(hours=rng.choice([3, 6, 8])),
                registration_closes_at=starts - timedelta(days=2),
                # Fuller than its places, so each has a waiting list too.
                capacity=min(
                    rng.choice([20, 30, 40, 60]), max(1, scale.enrolments * 4 // (5 * scale.sessions))
                ),
                status=Session.Status.OPEN,
            )
        )
    sessions = Session.objects.bulk_create(sessions)
    per_session = scale.enrolments // max(1, len(sessions))
    enrolments = []
    roles = [value for value, _label in Enrolment.Role.choices]
    for session in sessions:
        for n in range(per_session):
            confirmed = n < session.capacity
            enrolments.append(
                Enrolment(
                    session=session,
                    full_name=f"Participant {session.pk}-{n}",
                    email=f"p{session.pk}-{n}@{BENCH_EMAIL_DOMAIN}",
                    role=rng.choice(roles),
                    language=rng.choice(["en", "zh-hans", "es"]),
                    consented_at=now,
                    status=Enrolment.Status.CONFIRMED if confirmed else Enrolment.Status.WAITLISTED,
                    waitlist_order=None if confirmed else n - session.capacity + 1,
                    confirmed_at=now if confirmed else None,
                )
            )
    Enrolment.objects.bulk_create(enrolments, batch_size=batch)


def check(*, today: date | None = None) -> list[str]:
    """What is wrong with the stored rows, in words; empty when the data is consistent."""
    problems = []
    active = list(
        Booking.objects.filter(status__in=Booking.ACTIVE_STATUSES)
        .order_by("studio_set_id", "start_date")
        .values_list("studio_set_id", "start_date", "blocked_until", "reference")
    )
    last = {}
    for set_id, start, until, ref in active:
        if set_id in last and last[set_id][0] >= start:
            problems.append(f"{ref} overlaps {last[set_id][1]} on set {set_id}")
        last[set_id] = (until, ref)
    changeover = dict(StudioSet.objects.values_list("pk", "changeover_days"))
    for b in Booking.objects.filter(change_of__isnull=True).values(
        "reference", "studio_set_id", "end_date", "blocked_until"
    ):
        if b["blocked_until"] != b["end_date"] + timedelta(days=changeover[b["studio_set_id"]]):
            problems.append(f"{b['reference']} blocked_until is not end + changeover")
            break
    return problems
