"""Invoices: issued when a shoot plan is confirmed as a whole, numbered without gaps."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Booking, Crew, Invoice, InvoiceCounter, ShootPlan, User

CENT = Decimal("0.01")


def invoice_next_number(*, year: int) -> int:
    """The next number of ``year``, taken in the caller's transaction.

    The year's counter row is created if missing (a second creator waits on the first's row
    and then finds it), then locked: numbers are handed out one transaction at a time, and a
    transaction that rolls back gives its number back.
    """
    InvoiceCounter.objects.bulk_create([InvoiceCounter(year=year)], ignore_conflicts=True)
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def vat_on(net: Decimal) -> Decimal:
    return (net * settings.VAT_PERCENT / 100).quantize(CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def invoice_issue_for_plan(
    *, plan: ShootPlan, by: User | None, now: datetime | None = None
) -> Invoice | None:
    """Issue ``plan``'s invoice once it is confirmed as a whole: no part waits for a decision and
    at least one part is confirmed. Returns it, or None when not due yet or issued already.

    Call it in the transaction that decides a part. The plan's row is locked first, so when two
    desks decide the last two parts at once, the second to get the lock sees both decisions.
    """
    plan = ShootPlan.objects.select_for_update().get(pk=plan.pk)
    parts = list(
        Booking.objects.filter(plan=plan, change_of__isnull=True).order_by("start_date", "reference")
    )
    confirmed = [p for p in parts if p.status == Booking.Status.CONFIRMED]
    if not confirmed or any(p.status == Booking.Status.REQUESTED for p in parts):
        return None
    if Invoice.objects.filter(plan=plan, kind=Invoice.Kind.INVOICE).exists():
        return None
    lines = [{**line, "part": part.reference} for part in confirmed for line in part.quote_lines]
    lines += [{**line, "part": ""} for line in plan.quote_lines]
    net = sum((p.quote_total for p in confirmed), Decimal(0)) + sum(
        (Decimal(line["amount"]) for line in plan.quote_lines), Decimal(0)
    )
    vat = vat_on(net)
    today = timezone.localdate(now or timezone.now())
    sequence = invoice_next_number(year=today.year)
    crew = Crew.objects.get(pk=plan.crew_id)
    return Invoice.objects.create(
        number=f"{settings.INVOICE_NUMBER_PREFIX}-{today.year}-{sequence:06d}",
        year=today.year,
        sequence=sequence,
        plan=plan,
        crew=crew,
        billing_name=crew.name,
        billing_tax_id=crew.tax_id,
        billing_address=crew.billing_address,
        issued_on=today,
        due_on=today + timedelta(days=settings.INVOICE_PAYMENT_DAYS),
        lines=lines,
        net=net,
        vat_percent=settings.VAT_PERCENT,
        vat=vat,
        total=net + vat,
        issued_by=by,
    )
