"""What the benchmark asks of its database, run inside a ``manage.py bench_probe`` process.

The runner (hengdian/bench/runner.py) never opens the benchmark's database itself: it starts
this command with that database's environment and reads one line of JSON back.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.utils import timezone

from bookings.models import Booking, BookingItem, Crew, Equipment, KitComponent, PlanItem, StudioSet, User
from bookings.models.outbox import Notification
from hengdian.bench.data import BENCH_EMAIL_DOMAIN, DEMO_CREW_EMAIL
from workshops.models import Enrolment, Session


def session_cookie(user: User) -> str:
    """A logged-in session for ``user``, as the log-in page would have made it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def pages() -> dict:
    """The paths the benchmark's table measures, and the demo crew's session."""
    today = timezone.localdate()
    start, end = today + timedelta(days=30), today + timedelta(days=33)
    studio_set = StudioSet.objects.filter(is_active=True).order_by("pk").first()
    query = f"start={start:%Y-%m-%d}&end={end:%Y-%m-%d}"
    return {
        "paths": [
            ["floor", "/bench/floor/"],
            ["/", "/"],
            ["/sets/", "/sets/"],
            ["/sets/?start…&end…", f"/sets/?{query}"],
            ["/sets/<slug>/", f"/sets/{studio_set.slug}/"],
            ["/equipment/?start…&end…", f"/equipment/?{query}"],
            ["/workshops/", "/workshops/"],
            ["/bookings/ (demo crew)", "/bookings/"],
        ],
        "cookie": session_cookie(User.objects.get(email=DEMO_CREW_EMAIL)),
    }


def burst_setup(*, requests: int, capacity: int) -> dict:
    """A new 100-place session to register for, and ``requests`` crews each asking for a free set-week."""
    model = Session.objects.filter(workshop__is_published=True).order_by("pk").first()
    starts = timezone.now() + timedelta(days=60)
    session = Session.objects.create(
        workshop=model.workshop,
        starts_at=starts,
        ends_at=starts + timedelta(hours=6),
        venue=model.venue,
        language=model.language,
        capacity=capacity,
        registration_closes_at=starts - timedelta(days=1),
        status=Session.Status.OPEN,
    )
    # Weeks far enough ahead that the grown data holds nothing there, within the booking horizon.
    today = timezone.localdate()
    horizon = today + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD - 10)
    sets = list(StudioSet.objects.filter(is_active=True).order_by("pk").values_list("pk", "slug"))
    targets = []
    week = 0
    while len(targets) < requests:
        first = today + timedelta(days=220 + 7 * week)
        if first + timedelta(days=3) > horizon:
            raise RuntimeError("not enough free set-weeks for the burst; fewer requests or more sets")
        for set_id, slug in sets:
            clash = Booking.objects.filter(
                studio_set_id=set_id,
                status__in=Booking.HOLDING_STATUSES,
                start_date__lte=first + timedelta(days=3 + 14),
                blocked_until__gte=first,
            ).exists()
            if not clash:
                targets.append((slug, first, first + timedelta(days=2)))
            if len(targets) == requests:
                break
        week += 1
    crews = _burst_crews(len(targets))
    return {
        "session": session.pk,
        "bookings": [
            {"cookie": session_cookie(user), "set": slug, "start": f"{s:%Y-%m-%d}", "end": f"{e:%Y-%m-%d}"}
            for user, (slug, s, e) in zip(crews, targets, strict=True)
        ],
    }


def _burst_crews(count: int) -> list[User]:
    """``count`` crew coordinators, one per crew: the grown data's, or new ones."""
    users = list(
        User.objects.filter(email__endswith=f"@{BENCH_EMAIL_DOMAIN}", crew__isnull=False).order_by("pk")[
            :count
        ]
    )
    model = Crew.objects.order_by("pk").first()
    for i in range(len(users), count):
        crew = Crew.objects.create(
            name=f"Burst Pictures {i:04d}", contact_phone=model.contact_phone, country=model.country
        )
        users.append(
            User.objects.create_user(
                email=f"burst{i:04d}@{BENCH_EMAIL_DOMAIN}",
                password=None,
                crew=crew,
                crew_role=User.CrewRole.choices[0][0],
                first_name="Burst",
                last_name=f"{i:04d}",
            )
        )
    return users


def invariants(*, session_pk: int | None) -> dict:
    """The promises the bursts must keep, checked in the database afterwards."""
    problems = []
    result: dict = {}
    if session_pk is not None:
        session = Session.objects.get(pk=session_pk)
        rows = list(session.enrolments.order_by("pk").values_list("pk", "status", "waitlist_order"))
        confirmed = [r for r in rows if r[1] == Enrolment.Status.CONFIRMED]
        waiting = [r for r in rows if r[1] == Enrolment.Status.WAITLISTED]
        result.update(enrolments=len(rows), confirmed=len(confirmed), waitlisted=len(waiting))
        if len(confirmed) != min(session.capacity, len(rows)):
            problems.append(f"{len(confirmed)} confirmed for {session.capacity} places")
        if waiting and confirmed and max(r[0] for r in confirmed) > min(r[0] for r in waiting):
            problems.append("someone who came later was confirmed before someone waiting")
        orders = [r[2] for r in waiting]
        if orders != sorted(set(orders)):  # rows are in arrival (id) order
            problems.append("the waiting list is not in arrival order")
    # No set-day promised twice: active bookings of one set never overlap, changeover included.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.studio_set_id = b.studio_set_id AND a.id < b.id
             AND a.start_date <= b.blocked_until AND b.start_date <= a.blocked_until
             WHERE a.status IN ('requested', 'confirmed') AND b.status IN ('requested', 'confirmed')
            """
        )
        (overlaps,) = cursor.fetchone()
    if overlaps:
        problems.append(f"{overlaps} pairs of active bookings share set-days")
    result["set_day_overlaps"] = overlaps
    over = _units_over_stock()
    if over:
        problems.append(f"{len(over)} equipment-days promised beyond stock, e.g. {over[0]}")
    result["unit_days_over"] = len(over)
    result["problems"] = problems
    return result


def _units_over_stock() -> list[str]:
    today = timezone.localdate()
    held = defaultdict(int)
    # A kit holds its components, not units of its own.
    parts = defaultdict(list)
    for kit_id, component_id, per_kit in KitComponent.objects.values_list(
        "kit_id", "component_id", "quantity"
    ):
        parts[kit_id].append((component_id, per_kit))

    def hold(equipment_id: int, day, quantity: int) -> None:
        for kind, per_unit in parts.get(equipment_id) or [(equipment_id, 1)]:
            held[kind, day] += quantity * per_unit

    live = Booking.objects.filter(status__in=Booking.HOLDING_STATUSES, end_date__gte=today)
    for equipment_id, quantity, start, end in BookingItem.objects.filter(booking__in=live).values_list(
        "equipment_id", "quantity", "booking__start_date", "booking__end_date"
    ):
        for n in range((end - start).days + 1):
            hold(equipment_id, start + timedelta(days=n), quantity)
    plan_days = defaultdict(set)
    for plan_id, start, end in live.values_list("plan_id", "start_date", "end_date"):
        plan_days[plan_id].update(start + timedelta(days=n) for n in range((end - start).days + 1))
    for plan_id, equipment_id, quantity in PlanItem.objects.filter(plan_id__in=plan_days).values_list(
        "plan_id", "equipment_id", "quantity"
    ):
        for day in plan_days[plan_id]:
            hold(equipment_id, day, quantity)
    stock = dict(Equipment.objects.values_list("pk", "stock"))
    return [f"{pk} on {day}: {n} of {stock[pk]}" for (pk, day), n in sorted(held.items()) if n > stock[pk]]


def sweep_timing(*, runs: int) -> dict:
    """The sweep's median time over ``runs`` runs, after one that does whatever was due."""
    from hengdian.tasks import sweep

    sweep()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        sweep()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "ms": round(statistics.median(times), 1),
        "bookings": Booking.objects.count(),
        "enrolments": Enrolment.objects.count(),
    }


def outbox() -> dict:
    counts = defaultdict(int)
    for status in Notification.objects.values_list("status", flat=True):
        counts[status] += 1
    return {
        "counts": dict(counts),
        "sent_ids": sorted(
            Notification.objects.filter(status=Notification.Status.SENT).values_list("pk", flat=True)
        ),
    }
