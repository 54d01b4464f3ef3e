"""Invoices, issued when a shoot plan is confirmed as a whole and numbered without gaps; payments
recorded against them; reminders before a deposit or the balance falls due, and when overdue."""

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import emails
from ..models import (
    Booking,
    Crew,
    FapiaoRequest,
    Invoice,
    InvoiceCounter,
    MoneyEntry,
    Notification,
    Payment,
    ShootPlan,
    User,
)
from ..money import format_cny
from ..selectors import plan_quote_lines

NOTICE = Notification.Kind

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


def _whole_plan_lines(plan: ShootPlan, parts: list[Booking]) -> list[dict]:
    """The whole-plan equipment lines as billed: at the rates quoted when the plan was made, over
    the union of the days of the parts that go ahead (a rejected or cancelled part's days are not
    billed, whatever the plan's stored quote still says)."""
    items = list(plan.items.select_related("equipment").order_by("pk"))
    if not items or not parts:
        return []
    lines = plan_quote_lines(
        [p.days for p in parts],
        [(i.equipment, i.quantity) for i in items],
        rates={i.equipment_id: i.daily_rate for i in items},
    )
    return [line.as_json() for line in lines]


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
    whole_plan = _whole_plan_lines(plan, confirmed)
    lines += [{**line, "part": ""} for line in whole_plan]
    net = sum((p.quote_total for p in confirmed), Decimal(0)) + sum(
        (Decimal(line["amount"]) for line in whole_plan), Decimal(0)
    )
    vat = vat_on(net)
    total = net + vat
    today = timezone.localdate(now or timezone.now())
    first_day = min(p.start_date for p in confirmed)
    balance_due = max(today, first_day - timedelta(days=1))
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
        deposit=(total * settings.DEPOSIT_PERCENT / 100).quantize(CENT, rounding=ROUND_HALF_UP),
        deposit_due_on=min(today + timedelta(days=settings.DEPOSIT_DAYS), balance_due),
        due_on=balance_due,
        lines=lines,
        net=net,
        vat_percent=settings.VAT_PERCENT,
        vat=vat,
        total=total,
        issued_by=by,
    )


def invoices_with_paid(queryset=None):
    """Invoices with ``paid``: payments less refunds, in one query with them."""
    signed = Payment.signed("payments__")
    return (queryset if queryset is not None else Invoice.objects.all()).annotate(
        paid=Coalesce(
            Sum(signed), Value(Decimal(0)), output_field=DecimalField(max_digits=12, decimal_places=2)
        )
    )


class PaymentError(Exception):
    """A payment that cannot be recorded; ``str(e)`` is for the user, ``field`` says where."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def money_entry_refusal(
    *, kind: str, amount: Decimal | None, paid_on: date, today: date, owed_since: date, balance: Decimal
) -> tuple[str, str] | None:
    """Why money received (or paid back) cannot be recorded, and the field it concerns; None if it can.

    ``owed_since`` is the day the money was first owed (an invoice's, a registration's); ``balance``
    what has been received so far and not paid back. Shared by every kind of payment recorded.
    """
    if amount is None or amount <= 0:
        return _("Enter an amount above zero."), "amount"
    if paid_on > today:
        return _("The day it was paid cannot be in the future."), "paid_on"
    if paid_on < owed_since - timedelta(days=366):
        return _("That day is long before anything was owed; check the date."), "paid_on"
    if kind == MoneyEntry.Kind.REFUND and amount > balance:
        return _("Only %(paid)s has been paid, so no more can be refunded.") % {
            "paid": format_cny(balance)
        }, "amount"
    return None


def money_entry_fields(
    *, kind: str, amount: Decimal, paid_on: date, method: str, payer_reference: str, note: str, by: User
) -> dict:
    """The fields of a MoneyEntry as stored: the payer's reference on one line, the note trimmed."""
    return {
        "kind": kind,
        "amount": amount,
        "paid_on": paid_on,
        "method": method,
        "payer_reference": " ".join(payer_reference.split()),
        "note": note.strip(),
        "recorded_by": by,
    }


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    paid_on: date,
    method: str,
    by: User,
    kind: str = Payment.Kind.PAYMENT,
    payer_reference: str = "",
    note: str = "",
    now: datetime | None = None,
) -> tuple[Payment, Decimal]:
    """Record money received for ``invoice`` (or paid back); returns it and the invoice's paid total.

    Partial payments add up. More than the total is recorded and flagged (the caller says so);
    a refund of more than was paid, a date in the future, or nothing at all is refused.
    """
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    paid = invoices_with_paid(Invoice.objects.filter(pk=invoice.pk)).get().paid
    refusal = money_entry_refusal(
        kind=kind,
        amount=amount,
        paid_on=paid_on,
        today=timezone.localdate(now or timezone.now()),
        owed_since=invoice.issued_on,
        balance=paid,
    )
    if refusal:
        raise PaymentError(refusal[0], field=refusal[1])
    payment = Payment.objects.create(
        invoice=invoice,
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
    return payment, paid + payment.signed_amount


# --- Reminders --------------------------------------------------------------------------


def invoice_reminders_queue_due(*, now: datetime | None = None) -> int:
    """Remind crews the day before a deposit or the balance falls due, and tell them (and the desk)
    once it is overdue: each at most once per invoice, however often the sweep runs."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    tomorrow = today + timedelta(days=1)
    open_invoices = (
        invoices_with_paid(Invoice.objects.filter(Q(deposit_due_on__lte=tomorrow) | Q(due_on__lte=tomorrow)))
        .filter(paid__lt=F("total"))
        .select_related("plan", "crew")
    )
    queued = 0
    for invoice in open_invoices:
        kinds = []
        # A deposit due on the balance's day is the balance: one reminder, not two.
        if invoice.paid < invoice.deposit and invoice.deposit_due_on < invoice.due_on:
            if today > invoice.deposit_due_on:
                kinds.append(NOTICE.INVOICE_DEPOSIT_OVERDUE)
            elif today >= invoice.deposit_due_on - timedelta(days=1):
                kinds.append(NOTICE.INVOICE_DEPOSIT_DUE)
        if today > invoice.due_on:
            kinds.append(NOTICE.INVOICE_OVERDUE)
        elif today >= invoice.due_on - timedelta(days=1):
            kinds.append(NOTICE.INVOICE_BALANCE_DUE)
        for kind in kinds:
            with transaction.atomic():
                queued += emails.invoice_notify(invoice=invoice, kind=kind, paid=invoice.paid)
    return queued


# --- Later documents: corrections, credit notes, cancellation invoices ----------------------


def _in_every_language(message: str, values: dict) -> dict[str, str]:
    """A document line's label in each of the site's languages, as stored quotes keep them."""
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels[code] = _(message) % values
    return labels


def _later_document(
    *,
    first: Invoice,
    kind: str,
    net: Decimal,
    label: dict[str, str],
    reason: str,
    by: User | None,
    today: date,
) -> Invoice:
    crew = Crew.objects.get(pk=first.crew_id)
    vat = vat_on(net)
    sequence = invoice_next_number(year=today.year)
    due = max(today, first.due_on) if kind != Invoice.Kind.CREDIT else today
    return Invoice.objects.create(
        number=f"{settings.INVOICE_NUMBER_PREFIX}-{today.year}-{sequence:06d}",
        year=today.year,
        sequence=sequence,
        kind=kind,
        corrects=first,
        reason=reason[:300],
        plan_id=first.plan_id,
        crew=crew,
        billing_name=crew.name,
        billing_tax_id=crew.tax_id,
        billing_address=crew.billing_address,
        issued_on=today,
        deposit=Decimal(0),
        deposit_due_on=today,
        due_on=due,
        lines=[
            {
                "label": label.get(settings.LANGUAGE_CODE, next(iter(label.values()))),
                "labels": label,
                "rate": str(net),
                "quantity": 1,
                "days": 1,
                "amount": str(net),
                "part": "",
            }
        ],
        net=net,
        vat_percent=settings.VAT_PERCENT,
        vat=vat,
        total=net + vat,
        issued_by=by,
    )


def _billable_net(plan: ShootPlan) -> Decimal:
    """What the plan's confirmed (or shot) parts and its whole-plan lines come to now."""
    live = [
        p
        for p in Booking.objects.filter(plan=plan, change_of__isnull=True)
        if p.status in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
    ]
    if not live:
        return Decimal(0)
    return sum((p.quote_total for p in live), Decimal(0)) + sum(
        (Decimal(line["amount"]) for line in _whole_plan_lines(plan, live)), Decimal(0)
    )


# The labels of later documents' lines, translated when each document is written.
CHANGE_APPROVED = gettext_noop("Change to %(ref)s approved")
PART_CANCELLED = gettext_noop("Cancellation of %(ref)s")
CANCELLATION_FEE = gettext_noop("Cancellation fee for %(ref)s (%(percent)s %% of its quoted total)")


@transaction.atomic
def invoice_correct_for_plan(
    *, plan: ShootPlan, by: User | None, booking: Booking, message: str, now: datetime | None = None
) -> Invoice | None:
    """After an invoiced plan changed (a change approved, a part cancelled), invoice the difference:
    a correcting invoice for more, a credit note for less. Invoices already issued stay as they are.
    ``message`` (``CHANGE_APPROVED``, ``PART_CANCELLED``) says why, about ``booking``."""
    plan = ShootPlan.objects.select_for_update().get(pk=plan.pk)
    first = Invoice.objects.filter(plan=plan, kind=Invoice.Kind.INVOICE).first()
    if first is None:
        return None
    invoiced = sum(
        Invoice.objects.filter(plan=plan)
        .exclude(kind=Invoice.Kind.CANCELLATION)
        .values_list("net", flat=True),
        Decimal(0),
    )
    difference = _billable_net(plan) - invoiced
    if not difference:
        return None
    today = timezone.localdate(now or timezone.now())
    kind = Invoice.Kind.CORRECTION if difference > 0 else Invoice.Kind.CREDIT
    label = _in_every_language(message, {"ref": booking.reference})
    return _later_document(
        first=first, kind=kind, net=difference, label=label, reason=label["en"], by=by, today=today
    )


@transaction.atomic
def invoice_cancellation_fee(
    *, booking: Booking, by: User | None, now: datetime | None = None
) -> Invoice | None:
    """Invoice a cancelled booking's fee, once its invoiced amount has been credited."""
    first = Invoice.objects.filter(plan_id=booking.plan_id, kind=Invoice.Kind.INVOICE).first()
    if first is None or not booking.cancellation_fee:
        return None
    today = timezone.localdate(now or timezone.now())
    label = _in_every_language(
        CANCELLATION_FEE, {"ref": booking.reference, "percent": booking.cancellation_fee_percent}
    )
    return _later_document(
        first=first,
        kind=Invoice.Kind.CANCELLATION,
        net=booking.cancellation_fee,
        label=label,
        reason=label["en"],
        by=by,
        today=today,
    )


# --- Fapiao ------------------------------------------------------------------------------


@transaction.atomic
def fapiao_request(*, invoice: Invoice, by: User, kind: str, email: str, note: str = "") -> FapiaoRequest:
    """A member of the invoice's crew asks for the official fapiao; the booking desk is told.

    One request per invoice. A special VAT fapiao names the buyer's tax ID, so the crew must
    have given one (on its crew page) first.
    """
    invoice = Invoice.objects.select_for_update().select_related("crew").get(pk=invoice.pk)
    if by.crew_id != invoice.crew_id:
        raise PaymentError(_("Only a member of the invoiced crew can ask for its fapiao."))
    if FapiaoRequest.objects.filter(invoice=invoice).exists():
        raise PaymentError(_("The fapiao for this invoice has been asked for already."), field="kind")
    if kind == FapiaoRequest.Kind.SPECIAL and not invoice.billing_tax_id:
        raise PaymentError(
            _(
                "A special VAT fapiao needs your company's tax ID, which this invoice does not have. "
                "Ask for an ordinary one, or add the tax ID on your crew page and call the booking desk."
            ),
            field="kind",
        )
    request = FapiaoRequest.objects.create(
        invoice=invoice, kind=kind, email=email.strip().lower(), note=note.strip(), requested_by=by
    )
    emails.fapiao_requested_notify(request=request)
    return request


@transaction.atomic
def fapiao_mark_issued(*, request: FapiaoRequest, by: User, now: datetime | None = None) -> FapiaoRequest:
    request = FapiaoRequest.objects.select_for_update().get(pk=request.pk)
    if request.issued_on is None:
        request.issued_on = timezone.localdate(now or timezone.now())
        request.issued_by = by
        request.save(update_fields=["issued_on", "issued_by"])
    return request
