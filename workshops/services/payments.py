"""Workshop fees: payments and refunds recorded against a place, found by its payment reference;
the reminder before the deadline; and unpaid places released to the waiting list.

A place's row is locked for every payment recorded against it, and the release locks the session
and then the place and looks again: a payment recorded at the same moment as the sweep either
comes first (the place is kept) or finds the place released (the money is then owed back).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings import history
from bookings.models import Notification, User
from bookings.services import money_entry_fields, money_entry_refusal

from ..models import Enrolment, PlacePayment, Session, normalize_payment_reference
from ..selectors import enrolments_with_payments
from .enrolments import NOTICE, EnrolmentError, _lock_session, _notify, _promote_waiting


@dataclass(frozen=True)
class PlacePaymentRecorded:
    payment: PlacePayment
    enrolment: Enrolment  # as it is after the payment, with ``paid`` and ``refunded``


def enrolment_for_payment_reference(reference: str) -> Enrolment | None:
    """The place a payment reference names, however it was typed on the transfer; None if none."""
    normalized = normalize_payment_reference(reference)
    if not normalized:
        return None
    return Enrolment.objects.select_related("session__workshop").filter(payment_reference=normalized).first()


@transaction.atomic
def place_payment_record(
    *,
    enrolment: Enrolment,
    amount: Decimal,
    paid_on: date,
    method: str,
    by: User,
    kind: str = PlacePayment.Kind.PAYMENT,
    payer_reference: str = "",
    note: str = "",
    now: datetime | None = None,
) -> PlacePaymentRecorded:
    """Record money received for a place (or paid back). Partial payments add up.

    The payment that completes the fee of a confirmed place marks it paid and tells the
    participant. Money for a place already released or cancelled is recorded too (it arrived, and
    is owed back). A refund of more than was paid, a day in the future, or a place without a fee
    is refused, with the field it concerns.
    """
    now = now or timezone.now()
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("session__workshop")
        .get(pk=enrolment.pk)
    )
    if not enrolment.fee:
        raise EnrolmentError(_("%(name)s's place has no fee to pay.") % {"name": enrolment.full_name})
    totals = (
        enrolments_with_payments(Enrolment.objects.filter(pk=enrolment.pk)).values("paid", "refunded").get()
    )
    paid, refunded = totals["paid"], totals["refunded"]
    refusal = money_entry_refusal(
        kind=kind,
        amount=amount,
        paid_on=paid_on,
        today=timezone.localdate(now),
        owed_since=timezone.localdate(enrolment.created_at),
        balance=paid - refunded,
    )
    if refusal:
        raise EnrolmentError(refusal[0], field=refusal[1])
    payment = PlacePayment.objects.create(
        enrolment=enrolment,
        **money_entry_fields(
            kind=kind,
            amount=amount,
            paid_on=paid_on,
            method=method,
            payer_reference=payer_reference,
            note=note,
            by=by,
        ),
    )
    if kind == PlacePayment.Kind.PAYMENT:
        paid += amount
    else:
        refunded += amount
    if enrolment.status == Enrolment.Status.CONFIRMED:
        settled = paid - refunded >= enrolment.fee
        if settled and enrolment.paid_at is None:
            enrolment.paid_at = now
            history.note(enrolment, by=by, reason=history.FEE_PAID)
            enrolment.save(update_fields=["paid_at", "updated_at"])
            _notify(enrolment, NOTICE.ENROLMENT_PAID, now=now)
        elif not settled and enrolment.paid_at is not None:
            enrolment.paid_at = None
            history.note(enrolment, by=by, reason=history.FEE_REFUNDED)
            enrolment.save(update_fields=["paid_at", "updated_at"])
    enrolment.paid, enrolment.refunded = paid, refunded
    return PlacePaymentRecorded(payment=payment, enrolment=enrolment)


def _awaiting_payment(*, now: datetime):
    return Enrolment.objects.filter(
        status=Enrolment.Status.CONFIRMED,
        fee__gt=0,
        paid_at__isnull=True,
        # Once the session has begun there is nobody left to give the place to.
        session__starts_at__gt=now,
    )


def _unpaid_past_deadline(*, now: datetime):
    return _awaiting_payment(now=now).filter(payment_due_on__lt=timezone.localdate(now))


def place_release_unpaid(*, now: datetime | None = None) -> list[Enrolment]:
    """Release the places still unpaid after their deadline, each to the next person waiting.

    Run by the sweep. Each place is released in its own transaction under its session's lock and
    looked at again there, so running twice at once releases (and promotes) once.
    """
    now = now or timezone.now()
    due = list(
        _unpaid_past_deadline(now=now).order_by("payment_due_on", "pk").values_list("pk", "session_id")
    )
    released = []
    for pk, session_id in due:
        with transaction.atomic():
            session = _lock_session(Session(pk=session_id))
            enrolment = _unpaid_past_deadline(now=now).select_for_update(of=("self",)).filter(pk=pk).first()
            if enrolment is None:  # paid, cancelled or released a moment ago
                continue
            enrolment.status = Enrolment.Status.CANCELLED
            enrolment.cancelled_at = now
            enrolment.refund_percent = 100  # anything paid towards it comes back
            history.note(enrolment, by=None, reason=history.RELEASED_UNPAID)
            enrolment.save(update_fields=["status", "cancelled_at", "refund_percent", "updated_at"])
            _notify(enrolment, NOTICE.ENROLMENT_RELEASED, now=now)
            _promote_waiting(session, now=now)
            released.append(enrolment)
    return released


def place_payment_reminders_queue_due(*, now: datetime | None = None) -> int:
    """Remind participants the day before their fee falls due; at most once per place.

    Not for a place confirmed so late that its confirmation email, a day before, already said so.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    already = Notification.objects.filter(enrolment=OuterRef("pk"), kind=NOTICE.ENROLMENT_PAYMENT_DUE)
    due = (
        _awaiting_payment(now=now)
        .filter(payment_due_on__gte=today, payment_due_on__lte=today + timedelta(days=1))
        .exclude(Exists(already))
        .select_related("session__workshop")
        .order_by("pk")
    )
    queued = 0
    for enrolment in due:
        if timezone.localdate(enrolment.confirmed_at) >= enrolment.payment_due_on - timedelta(days=1):
            continue
        with transaction.atomic():
            queued += _notify(enrolment, NOTICE.ENROLMENT_PAYMENT_DUE, now=now) is not None
    return queued
