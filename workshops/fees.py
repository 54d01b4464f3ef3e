"""A workshop place's fee terms: by when it must be paid, and how much comes back on cancelling.

Pure apart from the settings: the manage page, the emails and the services all read the terms
from here, so what a participant is told and what the sweep does cannot disagree.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from bookings.fees import FeeTier, fee_percent, fee_policy

from .models import Enrolment, Session, new_payment_reference


def payment_deadline(*, session: Session, confirmed_at: datetime) -> date:
    """The last studio day to pay a place confirmed at ``confirmed_at``.

    ``WORKSHOP_PAYMENT_DAYS`` after confirming, but never later than ``WORKSHOP_PAYMENT_CLOSES_DAYS``
    before the session starts, so a released place can still go to someone who can come. A place
    confirmed after that point (from the waiting list, close to the session) has until the end of
    the next day, and never past the day before the session.
    """
    confirmed = timezone.localdate(confirmed_at)
    first_day = timezone.localdate(session.starts_at)
    usual = min(
        confirmed + timedelta(days=settings.WORKSHOP_PAYMENT_DAYS),
        first_day - timedelta(days=settings.WORKSHOP_PAYMENT_CLOSES_DAYS),
    )
    late = min(confirmed + timedelta(days=1), first_day - timedelta(days=1))
    return max(usual, late, confirmed)


def charge_fee(enrolment: Enrolment, *, session: Session, now: datetime) -> list[str]:
    """Set the fee terms of a place being confirmed now; returns the fields it set.

    The fee is the workshop's at this moment: changing the workshop's fee later does not change
    what a confirmed participant owes.
    """
    enrolment.fee = session.workshop.fee
    if enrolment.fee == 0:
        return ["fee"]
    enrolment.payment_due_on = payment_deadline(session=session, confirmed_at=now)
    if not enrolment.payment_reference:
        enrolment.payment_reference = new_payment_reference()
    return ["fee", "payment_due_on", "payment_reference"]


def days_before_session(session: Session, today: date) -> int:
    return (timezone.localdate(session.starts_at) - today).days


def refund_percent(*, session: Session, today: date) -> int:
    """The share of a paid fee refunded to a participant who cancels on ``today``."""
    return fee_percent(days_before_session(session, today), settings.WORKSHOP_REFUND_POLICY)


def refund_policy(*, session: Session, today: date) -> list[FeeTier]:
    """The refund policy as people read it, the step that applies today marked."""
    return fee_policy(settings.WORKSHOP_REFUND_POLICY, days_before=days_before_session(session, today))


def refund_if_cancelled(*, paid: Decimal, session: Session, today: date) -> Decimal:
    """What a participant who has paid ``paid`` gets back by cancelling on ``today``."""
    percent = refund_percent(session=session, today=today)
    return (paid * percent / 100).quantize(Decimal("0.01"))
