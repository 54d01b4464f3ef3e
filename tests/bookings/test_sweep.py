"""The periodic sweep: reminders become due at the right moment in studio time, once each."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import emails, services
from bookings.models import Booking, Notification
from hengdian import tasks
from workshops.emails import enrolment_notify
from workshops.models import Enrolment, Session

from ..factories import EnrolmentFactory, SessionFactory, StudioSetFactory
from .helpers import run_concurrently
from .test_booking_request import days_from_now

Kind = Notification.Kind
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment on the studio's clock."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def sweep() -> dict[str, int]:
    return tasks.sweep()  # the beat task itself, run in this thread


def queued(kind: str, **filters) -> int:
    return Notification.objects.filter(kind=kind, **filters).count()


def confirmed_booking(crew_owner, staff_admin, *, start_in: int, days: int = 3) -> Booking:
    """A confirmed booking whose invoice is paid in full: only the shoot's own reminders can be due."""
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(start_in, days), by=crew_owner
    )
    booking = services.booking_confirm(booking=booking, by=staff_admin)
    invoice = booking.plan.invoices.get()
    services.payment_record(
        invoice=invoice,
        amount=invoice.total,
        paid_on=timezone.localdate(),
        method="bank_transfer",
        by=staff_admin,
    )
    return booking


def session_starting(moment: datetime, **kwargs) -> Session:
    return SessionFactory(
        starts_at=moment,
        ends_at=moment + timedelta(days=3),
        registration_closes_at=moment - timedelta(days=10),
        **kwargs,
    )


# --- Timing -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_start_reminder_is_due_48_hours_before_the_first_shoot_day_begins(crew_owner, staff_admin):
    booking = confirmed_booking(crew_owner, staff_admin, start_in=10)
    # The first shoot day begins at 07:00 in Hengdian, so 07:00 two days before, studio time.
    due = at(booking.start_date - timedelta(days=2), 7)
    assert due.astimezone(ZoneInfo("UTC")).hour == 23  # the previous evening in UTC: the zone matters

    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        sweep()
        assert queued(Kind.BOOKING_REMINDER_START) == 0
    with time_machine.travel(due, tick=False):
        sweep()
        assert queued(Kind.BOOKING_REMINDER_START, booking=booking, recipient=crew_owner.email) == 1
    with time_machine.travel(due + timedelta(hours=30), tick=False):
        sweep()
    assert queued(Kind.BOOKING_REMINDER_START) == 1


@pytest.mark.django_db
def test_the_return_reminder_is_due_when_the_last_shoot_day_begins(crew_owner, staff_admin):
    booking = confirmed_booking(crew_owner, staff_admin, start_in=2, days=3)
    last_day = booking.end_date

    with time_machine.travel(at(last_day, 6, 59), tick=False):
        sweep()
        assert queued(Kind.BOOKING_REMINDER_END) == 0
    with time_machine.travel(at(last_day, 7), tick=False):
        sweep()
        assert queued(Kind.BOOKING_REMINDER_END, booking=booking) == 1
    with time_machine.travel(at(last_day, 22), tick=False):
        sweep()
    assert queued(Kind.BOOKING_REMINDER_END) == 1


@pytest.mark.django_db
def test_a_booking_that_ended_yesterday_gets_no_late_return_reminder(crew_owner, staff_admin):
    booking = confirmed_booking(crew_owner, staff_admin, start_in=1, days=1)

    with time_machine.travel(at(booking.end_date + timedelta(days=1), 8), tick=False):
        sweep()

    assert queued(Kind.BOOKING_REMINDER_END) == 0


@pytest.mark.django_db
def test_the_hold_warning_is_due_12_hours_before_the_hold_ends(crew_owner, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(10, 3), by=crew_owner
    )
    due = booking.hold_expires_at - timedelta(hours=12)

    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        sweep()
        assert queued(Kind.BOOKING_HOLD_EXPIRING) == 0
    with time_machine.travel(due, tick=False):
        sweep()
        sweep()
    assert set(
        Notification.objects.filter(kind=Kind.BOOKING_HOLD_EXPIRING).values_list("recipient", flat=True)
    ) == {crew_owner.email, "desk@hengdian.example"}
    assert queued(Kind.BOOKING_HOLD_EXPIRING) == 2

    with time_machine.travel(booking.hold_expires_at, tick=False):
        assert sweep()["expired"] == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert queued(Kind.BOOKING_HOLD_EXPIRED, recipient=crew_owner.email) == 1


@pytest.mark.django_db
def test_a_hold_no_longer_than_the_warning_gets_no_separate_warning(crew_owner, settings):
    settings.BOOKING_HOLD_HOURS = 6
    booking = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(10, 3), by=crew_owner
    )

    with time_machine.travel(booking.hold_expires_at - timedelta(hours=1), tick=False):
        sweep()

    assert queued(Kind.BOOKING_HOLD_EXPIRING) == 0


@pytest.mark.django_db
def test_the_week_and_day_reminders_are_due_at_the_right_moments_in_studio_time():
    starts = at(timezone.localdate() + timedelta(days=20), 9, 30)
    session = session_starting(starts)
    enrolment = EnrolmentFactory(session=session)
    EnrolmentFactory(session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=1)
    EnrolmentFactory(session=session, status=Enrolment.Status.CANCELLED)
    EnrolmentFactory(session=session_starting(starts, status=Session.Status.CANCELLED))
    week, day = starts - timedelta(days=7), starts - timedelta(days=1)

    with time_machine.travel(week - timedelta(minutes=1), tick=False):
        sweep()
        assert Notification.objects.count() == 0
    with time_machine.travel(week, tick=False):
        sweep()
    reminder = Notification.objects.get(kind=Kind.ENROLMENT_REMINDER_WEEK)
    assert reminder.enrolment == enrolment
    assert timezone.localtime(reminder.created_at, SHANGHAI).time() == time(9, 30)

    with time_machine.travel(day - timedelta(minutes=1), tick=False):
        sweep()
        assert queued(Kind.ENROLMENT_REMINDER_DAY) == 0
    with time_machine.travel(day, tick=False):
        sweep()
    assert queued(Kind.ENROLMENT_REMINDER_DAY, enrolment=enrolment) == 1
    with time_machine.travel(starts + timedelta(minutes=1), tick=False):
        sweep()
    assert list(Notification.objects.values_list("kind", flat=True).order_by("pk")) == [
        Kind.ENROLMENT_REMINDER_WEEK,
        Kind.ENROLMENT_REMINDER_DAY,
    ]


# --- Once, however often the sweep runs -----------------------------------------------


def make_due_items(crew_owner, staff_admin) -> tuple[list[Booking], list[Enrolment]]:
    """Three shoots starting tomorrow and three participants whose session starts in 12 hours."""
    bookings = [confirmed_booking(crew_owner, staff_admin, start_in=1) for _ in range(3)]
    session = session_starting(timezone.now() + timedelta(hours=12))
    enrolments = [EnrolmentFactory(session=session) for _ in range(3)]
    return bookings, enrolments


def assert_one_reminder_each(bookings, enrolments) -> None:
    for booking in bookings:
        assert queued(Kind.BOOKING_REMINDER_START, booking=booking) == 1
    for enrolment in enrolments:
        assert queued(Kind.ENROLMENT_REMINDER_DAY, enrolment=enrolment) == 1
    reminders = Notification.objects.filter(
        kind__in=[Kind.BOOKING_REMINDER_START, Kind.ENROLMENT_REMINDER_DAY]
    )
    assert reminders.count() == 6
    assert not reminders.exclude(status=Notification.Status.SENT).exists()
    reminder_mail = [m for m in mail.outbox if "tomorrow" in m.subject or "starts on" in m.subject]
    assert len(reminder_mail) == 6


@pytest.mark.django_db
def test_running_the_sweep_twice_queues_one_reminder_per_object_and_kind(
    crew_owner, staff_admin, django_capture_on_commit_callbacks
):
    bookings, enrolments = make_due_items(crew_owner, staff_admin)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep()["reminders"] == 6
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep()["reminders"] == 0

    assert_one_reminder_each(bookings, enrolments)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_moment_queue_and_send_one_reminder_per_object_and_kind(
    crew_owner, staff_admin
):
    bookings, enrolments = make_due_items(crew_owner, staff_admin)
    mail.outbox.clear()

    results = run_concurrently(2, lambda i: sweep())

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["reminders"] for r in results) == 6
    assert_one_reminder_each(bookings, enrolments)


# --- Cost ---------------------------------------------------------------------------


def make_items_not_due(count: int, crew_owner, staff_admin, capture_on_commit) -> None:
    """Bookings and enrolments of every kind the sweep must not touch, ``count`` of each.

    Their own messages (requested, confirmed …) are sent, as a worker would have.
    """
    for i in range(count):
        with capture_on_commit(execute=True):
            confirmed_booking(crew_owner, staff_admin, start_in=30 + 4 * i)  # starts later
            services.booking_request(  # held, far from expiring
                crew=crew_owner.crew,
                studio_set=StudioSetFactory(),
                days=days_from_now(60 + 4 * i, 2),
                by=crew_owner,
            )
            cancelled = confirmed_booking(crew_owner, staff_admin, start_in=1)
            services.booking_cancel(booking=cancelled, by=crew_owner)
            fee = cancelled.plan.invoices.get(kind="cancellation")  # paid too: no payment reminder is due
            services.payment_record(
                invoice=fee, amount=fee.total, paid_on=timezone.localdate(), method="card", by=staff_admin
            )
            reminded = confirmed_booking(crew_owner, staff_admin, start_in=1)  # due, but already reminded
            emails.booking_notify(booking=reminded, kind=Kind.BOOKING_REMINDER_START)
            EnrolmentFactory(session=session_starting(timezone.now() + timedelta(days=40)))
            soon = timezone.now() + timedelta(hours=12)
            EnrolmentFactory(session=session_starting(soon), status=Enrolment.Status.CANCELLED)
            already = EnrolmentFactory(session=session_starting(soon))
            enrolment_notify(enrolment=already, kind=Kind.ENROLMENT_REMINDER_DAY)


@pytest.mark.django_db
def test_the_sweeps_queries_do_not_grow_with_items_that_are_not_due(
    crew_owner, staff_admin, django_capture_on_commit_callbacks
):
    def sweep_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            result = sweep()
        assert result == {
            "requeued": 0,
            "expired": 0,
            "lapsed": 0,
            "reminders": 0,
            "overdue": 0,
            "payments": 0,
            "released": 0,
            "lapsed_offers": 0,
            "unpaid_deposits": 0,
            "certificates": 0,
        }
        return len(queries)

    make_items_not_due(2, crew_owner, staff_admin, django_capture_on_commit_callbacks)
    few = sweep_queries()
    make_items_not_due(10, crew_owner, staff_admin, django_capture_on_commit_callbacks)
    many = sweep_queries()

    assert few == many
    # A handful of indexed selects (the last: units still out, unpaid invoices, workshop fees
    # due, unpaid places past their deadline, offers lapsing, sessions just ended), none per row.
    assert many <= 19


@pytest.mark.django_db
def test_the_sweeps_queries_grow_only_with_the_items_that_are_due(
    crew_owner, staff_admin, django_capture_on_commit_callbacks
):
    make_items_not_due(3, crew_owner, staff_admin, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        make_due_items(crew_owner, staff_admin)

    with CaptureQueriesContext(connection) as queries:
        assert sweep()["reminders"] == 6

    # Per due message (one recipient each here): its own transaction, a dedupe check and
    # the insert in a savepoint — six statements; the selects themselves are fixed (one per
    # kind, with the due rows' lines and recipients, the units still out, the unpaid invoices and
    # the workshop fees, the offers lapsing, the sessions just ended: at most 20 whatever is due).
    assert len(queries) <= 20 + 6 * 6


# --- Reminders follow a booking whose days changed -------------------------------------


@pytest.mark.django_db
def test_an_extension_approved_after_the_return_reminder_gets_one_for_the_new_last_day(
    crew_owner, staff_admin
):
    booking = confirmed_booking(crew_owner, staff_admin, start_in=2, days=3)
    old_last = booking.end_date
    with time_machine.travel(at(old_last, 7), tick=False):
        sweep()
        assert queued(Kind.BOOKING_REMINDER_END, booking=booking) == 1
        change = services.booking_change(
            booking=booking,
            change=services.BookingChange(
                booking.studio_set, booking.days.__class__(booking.start_date, old_last + timedelta(days=1))
            ),
            by=crew_owner,
        )
        services.booking_change_approve(change=change, by=staff_admin, reason="One more day")
        sweep()
        assert queued(Kind.BOOKING_REMINDER_END, booking=booking) == 1  # not again for the same day
    with time_machine.travel(at(old_last + timedelta(days=1), 7), tick=False):
        sweep()
    reminders = Notification.objects.filter(kind=Kind.BOOKING_REMINDER_END, booking=booking)
    assert reminders.count() == 2
    assert sorted(reminders.values_list("about_date", flat=True)) == [old_last, old_last + timedelta(days=1)]


@pytest.mark.django_db
def test_a_shoot_moved_later_after_its_start_reminder_is_reminded_again(crew_owner, staff_admin):
    booking = confirmed_booking(crew_owner, staff_admin, start_in=5, days=3)
    with time_machine.travel(at(booking.start_date - timedelta(days=2), 7), tick=False):
        sweep()
        moved = booking.days.__class__(
            booking.start_date + timedelta(days=4), booking.end_date + timedelta(days=4)
        )
        change = services.booking_change(
            booking=booking, change=services.BookingChange(booking.studio_set, moved), by=crew_owner
        )
        services.booking_change_approve(change=change, by=staff_admin)
    with time_machine.travel(at(moved.start - timedelta(days=2), 7), tick=False):
        sweep()
    assert queued(Kind.BOOKING_REMINDER_START, booking=booking, recipient=crew_owner.email) == 2


@pytest.mark.django_db
def test_a_plan_is_told_its_last_day_on_its_last_day_not_its_first_parts(crew_owner, staff_admin):
    from bookings.models import DayRange
    from bookings.services import SetRequest

    first = timezone.localdate() + timedelta(days=2)
    plan = services.shoot_plan_request(
        crew=crew_owner.crew,
        parts=[
            SetRequest(StudioSetFactory(), DayRange(first, first + timedelta(days=1))),
            SetRequest(StudioSetFactory(), DayRange(first + timedelta(days=2), first + timedelta(days=4))),
        ],
        by=crew_owner,
    )
    services.shoot_plan_confirm(plan=plan, by=staff_admin)
    with time_machine.travel(at(first + timedelta(days=1), 7), tick=False):
        sweep()
        assert queued(Kind.PLAN_REMINDER_END) == 0  # the first set's last day is not the shoot's
    with time_machine.travel(at(first + timedelta(days=4), 7), tick=False):
        sweep()
        sweep()
    assert queued(Kind.PLAN_REMINDER_END, recipient=crew_owner.email) == 1
