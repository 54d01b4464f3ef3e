"""The cancellation fee: a share of a booking's stored quote, by how early the crew cancels.

Pure: the booking's quote and first shoot day, a date and the tiers (``CANCELLATION_FEE_TIERS``)
in, an amount out. The cancel page shows the result and ``booking_cancel`` stores it, so the two
cannot disagree.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


@dataclass(frozen=True)
class CancellationFee:
    percent: int
    amount: Decimal
    days_before: int  # whole studio days from the day of cancelling to the first shoot day

    @property
    def is_free(self) -> bool:
        return self.amount == 0


def fee_percent(days_before: int, tiers: Sequence[tuple[int, int]] | None = None) -> int:
    """The percentage of the first tier (most days first) whose day count ``days_before`` reaches."""
    tiers = sorted(tiers if tiers is not None else settings.CANCELLATION_FEE_TIERS, reverse=True)
    for min_days, percent in tiers:
        if days_before >= min_days:
            return percent
    return tiers[-1][1]  # the settings require a 0-day tier; a day already started counts as the last


def cancellation_fee(
    *,
    quote_total: Decimal,
    start_date: date,
    today: date,
    confirmed: bool = True,
    tiers: Sequence[tuple[int, int]] | None = None,
) -> CancellationFee:
    """What cancelling on ``today`` (a studio date) costs. A request not yet confirmed is free."""
    days_before = (start_date - today).days
    percent = fee_percent(days_before, tiers) if confirmed else 0
    amount = (Decimal(quote_total) * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return CancellationFee(percent=percent, amount=amount, days_before=days_before)


def booking_cancellation_fee(booking, *, today: date) -> CancellationFee:
    """The fee for cancelling ``booking`` on ``today``, from its stored quote."""
    return cancellation_fee(
        quote_total=booking.quote_total,
        start_date=booking.start_date,
        today=today,
        confirmed=booking.status == booking.Status.CONFIRMED,
    )


@dataclass(frozen=True)
class FeeTier:
    """One tier of the policy as people read it: from ``min_days`` to ``max_days`` (None: or more)."""

    min_days: int
    max_days: int | None
    percent: int
    current: bool = False  # the tier that applies today


def fee_policy(
    tiers: Sequence[tuple[int, int]] | None = None, *, days_before: int | None = None
) -> list[FeeTier]:
    """The tiers, most days first, each with the day range it covers; the one for ``days_before`` marked."""
    ordered = sorted(tiers if tiers is not None else settings.CANCELLATION_FEE_TIERS, reverse=True)
    rows, above = [], None
    for min_days, percent in ordered:
        max_days = None if above is None else above - 1
        current = (
            days_before is not None
            and days_before >= min_days
            and (max_days is None or days_before <= max_days)
        )
        rows.append(FeeTier(min_days, max_days, percent, current))
        above = min_days
    return rows
