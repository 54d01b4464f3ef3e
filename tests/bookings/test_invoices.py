"""Invoices: issued when a plan is confirmed as a whole, gapless numbers, the PDF, who may see it."""

import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import selectors, services
from bookings.fees import fee_percent
from bookings.models import (
    Booking,
    DayRange,
    FapiaoRequest,
    Invoice,
    InvoiceCounter,
    Notification,
    Payment,
    PaymentState,
)
from bookings.services import ItemRequest, SetRequest
from bookings.services.invoices import invoice_next_number, vat_on
from hengdian import tasks

from ..auth import login_staff
from ..factories import CrewOwnerFactory, EquipmentFactory, StaffFactory, StudioSetFactory
from .helpers import run_concurrently


def days(start: int, length: int = 3) -> DayRange:
    first = timezone.localdate() + timedelta(days=start)
    return DayRange(first, first + timedelta(days=length - 1))


def request_plan(owner, *parts: DayRange, items=()):
    return services.shoot_plan_request(
        crew=owner.crew,
        parts=[SetRequest(StudioSetFactory(daily_rate=Decimal("10000")), d) for d in parts],
        items=list(items),
        by=owner,
    )


@pytest.mark.django_db
def test_confirming_a_plan_issues_its_invoice_from_the_stored_quote_with_vat_apart(settings):
    settings.VAT_PERCENT = Decimal("6")
    settings.DEPOSIT_PERCENT, settings.DEPOSIT_DAYS = Decimal("30"), 7
    settings.INVOICE_NUMBER_PREFIX = "HD-INV"
    owner = CrewOwnerFactory()
    owner.crew.tax_id, owner.crew.billing_address = "91330783MA2DEMO01X", "横店镇万盛街 1 号"
    owner.crew.save()
    camera = EquipmentFactory(daily_rate=Decimal("1200"), stock=4)
    plan = request_plan(owner, days(10), items=[ItemRequest(camera, 2)])

    services.shoot_plan_confirm(plan=plan, by=StaffFactory())

    invoice = Invoice.objects.get(plan=plan)
    year = timezone.localdate().year
    assert invoice.number == f"HD-INV-{year}-000001"
    # 3 days × ¥10,000 for the set, 2 × 3 × ¥1,200 for the cameras held with the whole plan.
    assert invoice.net == plan.quote_total == Decimal("37200.00")
    assert (invoice.vat, invoice.total) == (Decimal("2232.00"), Decimal("39432.00"))
    assert [line["amount"] for line in invoice.lines] == ["30000.00", "7200.00"]
    assert (invoice.billing_tax_id, invoice.billing_address) == ("91330783MA2DEMO01X", "横店镇万盛街 1 号")
    # A deposit of 30 % within 7 days; the rest by the day before the first shoot day.
    assert invoice.deposit == Decimal("11829.60")
    assert invoice.deposit_due_on == invoice.issued_on + timedelta(days=7)
    assert invoice.due_on == plan.start_date - timedelta(days=1)

    owner.crew.tax_id = "CHANGED"
    owner.crew.save()
    invoice.refresh_from_db()
    assert invoice.billing_tax_id == "91330783MA2DEMO01X"  # as it was when issued


@pytest.mark.django_db
def test_a_plan_is_invoiced_only_once_every_part_is_decided_and_only_for_what_was_confirmed():
    owner = CrewOwnerFactory()
    plan = request_plan(owner, days(10), days(20), days(30))
    first, second, third = plan.parts
    desk = StaffFactory()

    services.booking_confirm(booking=first, by=desk)
    services.booking_confirm(booking=second, by=desk)
    assert not Invoice.objects.exists()  # the third still waits for the desk

    services.booking_reject(booking=third, by=desk, reason="The courtroom is closed that week.")

    invoice = Invoice.objects.get()
    assert invoice.net == first.quote_total + second.quote_total
    assert {line["part"] for line in invoice.lines} == {first.reference, second.reference}


@pytest.mark.django_db
def test_a_rejected_plan_gets_no_invoice():
    owner = CrewOwnerFactory()
    plan = request_plan(owner, days(10))
    services.shoot_plan_reject(plan=plan, by=StaffFactory(), reason="Not that week.")
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_a_number_taken_by_a_transaction_that_rolled_back_is_given_again():
    year = timezone.localdate().year
    with pytest.raises(RuntimeError), transaction.atomic():
        assert invoice_next_number(year=year) == 1
        raise RuntimeError("the confirmation failed after the number was taken")
    with transaction.atomic():
        assert invoice_next_number(year=year) == 1
        assert invoice_next_number(year=year) == 2


@pytest.mark.django_db
def test_numbers_start_again_each_year():
    owner = CrewOwnerFactory()
    desk = StaffFactory()
    this_year = timezone.localdate().year
    services.shoot_plan_confirm(plan=request_plan(owner, days(10)), by=desk)
    new_year = timezone.make_aware(timezone.datetime(this_year + 1, 1, 1, 9))
    with time_machine.travel(new_year, tick=False):
        services.shoot_plan_confirm(plan=request_plan(owner, days(10)), by=desk)

    assert sorted(Invoice.objects.values_list("year", "sequence")) == [(this_year, 1), (this_year + 1, 1)]


@pytest.mark.django_db(transaction=True)
def test_twenty_desks_confirming_at_the_same_instant_get_twenty_numbers_without_a_gap():
    owners = [CrewOwnerFactory() for _ in range(20)]
    plans = [request_plan(owner, days(10 + i)) for i, owner in enumerate(owners)]
    desks = [StaffFactory() for _ in range(20)]

    def confirm(i: int):
        try:
            return services.shoot_plan_confirm(plan=plans[i], by=desks[i])
        finally:
            connection.close()

    results = run_concurrently(20, confirm)

    assert not [r for r in results if isinstance(r, Exception)], results
    year = timezone.localdate().year
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 21))
    assert Invoice.objects.values("number").distinct().count() == 20
    assert InvoiceCounter.objects.get(year=year).last_number == 20


@pytest.mark.django_db
def test_the_crew_downloads_its_invoice_in_chinese_and_english_and_another_crew_gets_a_404(client):
    owner = CrewOwnerFactory()
    owner.crew.name = "红灯笼影业"
    owner.crew.save()
    plan = request_plan(owner, days(10))
    services.shoot_plan_confirm(plan=plan, by=StaffFactory())
    invoice = Invoice.objects.get()
    client.force_login(owner)

    page = client.get(plan.get_absolute_url()).text
    response = client.get(invoice.get_absolute_url())

    assert invoice.get_absolute_url() in page
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True)
    words = text.stdout.decode()
    assert invoice.number in words and "红灯笼影业" in words
    assert "COMMERCIAL INVOICE" in words and "商业发票" in words and "fapiao" in words
    assert f"{invoice.total:,.2f}" in words
    fonts = subprocess.run(["pdffonts", "-"], input=response.content, capture_output=True, check=True).stdout
    assert b"Helvetica" not in fonts and fonts.count(b" yes ") >= 2  # every font embedded

    client.force_login(CrewOwnerFactory())
    assert client.get(invoice.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_staff_find_and_download_invoices_in_the_admin(client, staff_admin):
    owner = CrewOwnerFactory()
    services.shoot_plan_confirm(plan=request_plan(owner, days(10)), by=StaffFactory())
    invoice = Invoice.objects.get()
    login_staff(client, staff_admin)

    listed = client.get(reverse("admin:bookings_invoice_changelist"), {"q": invoice.number}).text
    pdf = client.get(reverse("admin:bookings_invoice_pdf", args=[invoice.pk]))

    assert invoice.number in listed
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        client.post(reverse("admin:bookings_invoice_delete", args=[invoice.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert Invoice.objects.filter(pk=invoice.pk).exists()


@pytest.mark.django_db
def test_the_owner_keeps_the_billing_details_invoices_print(client):
    owner = CrewOwnerFactory()
    client.force_login(owner)

    response = client.post(
        reverse("bookings:crew_edit"),
        {
            "name": owner.crew.name,
            "contact_phone": owner.crew.contact_phone,
            "country": "CN",
            "tax_id": " 91330783ma2demo01x ",
            "billing_address": "Hengdian, Dongyang",
        },
    )

    assert response.status_code == 302
    owner.crew.refresh_from_db()
    assert (owner.crew.tax_id, owner.crew.billing_address) == ("91330783MA2DEMO01X", "Hengdian, Dongyang")


# --- Payments ---------------------------------------------------------------------------


def _invoice(owner=None, start: int = 20) -> Invoice:
    owner = owner or CrewOwnerFactory()
    plan = request_plan(owner, days(start))
    services.shoot_plan_confirm(plan=plan, by=StaffFactory())
    return Invoice.objects.get(plan=plan)


def _paid(invoice: Invoice) -> Decimal:
    return services.invoices_with_paid(Invoice.objects.filter(pk=invoice.pk)).get().paid


@pytest.mark.django_db
def test_partial_payments_add_up_refunds_take_back_and_more_than_the_total_is_flagged():
    invoice = _invoice()
    desk = StaffFactory()
    today = timezone.localdate()

    _p, paid = services.payment_record(
        invoice=invoice, amount=invoice.deposit, paid_on=today, method="bank_transfer", by=desk
    )
    assert paid == invoice.deposit
    assert invoice.payment_state(paid=paid, today=today) == PaymentState.DEPOSIT_PAID
    _p, paid = services.payment_record(
        invoice=invoice, amount=invoice.total - invoice.deposit, paid_on=today, method="wechat_pay", by=desk
    )
    assert paid == invoice.total and invoice.payment_state(paid=paid, today=today) == PaymentState.PAID
    _p, paid = services.payment_record(
        invoice=invoice, amount=Decimal("10"), paid_on=today, method="cash", by=desk
    )
    assert invoice.payment_state(paid=paid, today=today) == PaymentState.OVERPAID
    _p, paid = services.payment_record(
        invoice=invoice, amount=Decimal("10"), paid_on=today, method="cash", kind="refund", by=desk
    )
    assert paid == invoice.total == _paid(invoice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"paid_on": timezone.localdate() + timedelta(days=1)}, "paid_on"),
        ({"kind": "refund", "amount": Decimal("1")}, "amount"),  # nothing paid yet to refund
    ],
)
def test_a_payment_that_cannot_be_is_refused_naming_the_field_and_nothing_is_recorded(changes, field):
    invoice = _invoice()
    values = {"amount": Decimal("100"), "paid_on": timezone.localdate(), "method": "alipay", **changes}

    with pytest.raises(services.PaymentError) as refused:
        services.payment_record(invoice=invoice, by=StaffFactory(), **values)

    assert refused.value.field == field
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_payment_reminders_come_the_day_before_and_when_overdue_once_each(settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    invoice = _invoice(start=20)
    kinds = Notification.Kind

    def sweep_on(day, hour=9):
        with time_machine.travel(
            timezone.make_aware(
                timezone.datetime.combine(day, timezone.datetime.min.time()).replace(hour=hour)
            ),
            tick=False,
        ):
            tasks.sweep()
            tasks.sweep()

    sweep_on(invoice.deposit_due_on - timedelta(days=2))
    assert not Notification.objects.filter(kind__startswith="invoice-").exists()
    sweep_on(invoice.deposit_due_on - timedelta(days=1))
    sweep_on(invoice.deposit_due_on + timedelta(days=1))
    sweep_on(invoice.deposit_due_on + timedelta(days=2))
    crew = Notification.objects.filter(
        recipient=invoice.crew.members.get().email, kind__startswith="invoice-"
    )
    assert sorted(crew.values_list("kind", flat=True)) == [
        kinds.INVOICE_DEPOSIT_DUE,
        kinds.INVOICE_DEPOSIT_OVERDUE,
    ]
    assert (
        Notification.objects.filter(
            recipient="desk@hengdian.example", kind=kinds.INVOICE_DEPOSIT_OVERDUE
        ).count()
        == 1
    )

    services.payment_record(
        invoice=invoice,
        amount=invoice.total,
        paid_on=timezone.localdate(),
        method="bank_transfer",
        by=StaffFactory(),
    )
    sweep_on(invoice.due_on + timedelta(days=1))
    assert not Notification.objects.filter(
        kind__in=[kinds.INVOICE_BALANCE_DUE, kinds.INVOICE_OVERDUE]
    ).exists()
    body = crew.get(kind=kinds.INVOICE_DEPOSIT_DUE).body_text
    assert invoice.number in body


@pytest.mark.django_db
def test_the_desk_records_a_payment_on_the_invoice_page_and_the_plan_shows_deposit_paid(client, staff_admin):
    invoice = _invoice()
    login_staff(client, staff_admin)
    url = reverse("admin:bookings_invoice_payment", args=[invoice.pk])

    bad = client.post(
        url, {"kind": "payment", "amount": "-5", "paid_on": timezone.localdate(), "method": "alipay"}
    )
    assert bad.status_code == 200 and "Enter an amount above zero." in bad.text
    assert not Payment.objects.exists()
    done = client.post(
        url,
        {
            "kind": "payment",
            "amount": str(invoice.deposit),
            "paid_on": timezone.localdate(),
            "method": "bank_transfer",
            "payer_reference": f"{invoice.number} deposit",
        },
    )

    assert done.status_code == 302
    assert _paid(invoice) == invoice.deposit
    client.force_login(invoice.crew.members.get())
    page = client.get(invoice.plan.get_absolute_url()).text
    assert 'data-payment="deposit-paid"' in page and "Deposit paid" in page


# --- Fapiao ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_crew_asks_for_the_fapiao_the_desk_is_told_and_marks_it_issued(client, settings, staff_admin):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    invoice = _invoice()
    member = invoice.crew.members.get()
    client.force_login(member)
    url = reverse("bookings:invoice_fapiao", args=[invoice.number])
    prefix = f"fapiao-{invoice.pk}"

    special = client.post(url, {f"{prefix}-kind": "special", f"{prefix}-email": "finance@redlantern.example"})
    assert special.status_code == 400 and "needs your company&#x27;s tax ID" in special.text
    assert not FapiaoRequest.objects.exists()

    done = client.post(
        url,
        {
            f"{prefix}-kind": "ordinary",
            f"{prefix}-email": "Finance@RedLantern.example",
            f"{prefix}-note": "E-fapiao",
        },
    )

    assert done.status_code == 302
    request = FapiaoRequest.objects.get()
    assert (request.kind, request.email, request.requested_by) == (
        "ordinary",
        "finance@redlantern.example",
        member,
    )
    told = Notification.objects.get(kind=Notification.Kind.FAPIAO_REQUESTED)
    assert told.recipient == "desk@hengdian.example" and invoice.number in told.body_text
    again = client.post(url, {f"{prefix}-kind": "ordinary", f"{prefix}-email": "x@example.com"})
    assert again.status_code == 400 and FapiaoRequest.objects.count() == 1
    assert "Fapiao asked for on" in client.get(invoice.plan.get_absolute_url()).text

    staff = Client()
    login_staff(staff, staff_admin)
    staff.post(
        reverse("admin:bookings_fapiaorequest_changelist"),
        {"action": "mark_issued", "_selected_action": [request.pk]},
    )
    request.refresh_from_db()
    assert request.issued_on == timezone.localdate() and request.issued_by == staff_admin
    assert "Fapiao issued on" in client.get(invoice.plan.get_absolute_url()).text

    client.force_login(CrewOwnerFactory())
    assert (
        client.post(url, {f"{prefix}-kind": "ordinary", f"{prefix}-email": "x@example.com"}).status_code
        == 404
    )


# --- Reports -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_revenue_by_month_and_the_accounting_csv(client, staff_admin):
    owner = CrewOwnerFactory()
    owner.crew.name = "=HYPERLINK(evil)"  # a formula in a cell must stay text
    owner.crew.save()
    invoice = _invoice(owner)
    other = _invoice()
    desk = StaffFactory()
    today = timezone.localdate()
    services.payment_record(invoice=invoice, amount=invoice.total, paid_on=today, method="alipay", by=desk)
    services.payment_record(invoice=other, amount=Decimal("100"), paid_on=today, method="cash", by=desk)
    login_staff(client, staff_admin)

    page = client.get(reverse("admin:bookings_invoice_report"), {"year": today.year}).text
    month = selectors.revenue_by_month(year=today.year)[today.month - 1]
    assert month.invoiced == invoice.total + other.total
    assert month.received == invoice.total + Decimal("100")
    assert month.outstanding == other.total - Decimal("100")
    assert f'data-month="{today:%Y-%m}"' in page

    csv_response = client.get(
        reverse("admin:bookings_invoice_report"),
        {"date_from": today.isoformat(), "date_to": today.isoformat()},
    )
    content = csv_response.content.decode("utf-8")
    assert csv_response["Content-Type"].startswith("text/csv") and content.startswith("\ufeff")
    rows = content.splitlines()
    assert len(rows) == 1 + 2 + 2  # heading, two invoices, two payments
    assert "'=HYPERLINK(evil)" in content and ",=HYPERLINK" not in content

    bad = client.get(
        reverse("admin:bookings_invoice_report"), {"date_from": today.isoformat(), "date_to": "2000-01-01"}
    )
    assert bad.status_code == 200 and "The last day cannot be before the first day." in bad.text


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 6])
def test_the_report_costs_the_same_queries_however_many_invoices(
    client, staff_admin, django_assert_num_queries, count
):
    for _ in range(count):
        invoice = _invoice()
        services.payment_record(
            invoice=invoice,
            amount=invoice.deposit,
            paid_on=timezone.localdate(),
            method="card",
            by=staff_admin,
        )
    login_staff(client, staff_admin)
    # session, user, device; invoiced by month; received by month
    with django_assert_num_queries(5):
        assert client.get(reverse("admin:bookings_invoice_report")).status_code == 200


# --- Later documents ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_approved_change_after_invoicing_issues_a_correcting_invoice_for_the_difference():
    owner = CrewOwnerFactory()
    plan = request_plan(owner, days(20, 3))
    desk = StaffFactory()
    services.shoot_plan_confirm(plan=plan, by=desk)
    booking = plan.parts[0]
    first = Invoice.objects.get()

    change = services.booking_change(
        booking=booking,
        change=services.BookingChange(
            booking.studio_set, DayRange(booking.start_date, booking.end_date + timedelta(days=2))
        ),
        by=owner,
    )
    services.booking_change_approve(change=change, by=desk, reason="Two more days")

    correction = Invoice.objects.get(kind=Invoice.Kind.CORRECTION)
    assert correction.corrects == first and correction.net == Decimal("20000.00")  # two more days at ¥10,000
    assert correction.sequence == first.sequence + 1
    assert booking.reference in correction.lines[0]["label"]
    first.refresh_from_db()
    assert first.net == Decimal("30000.00")  # the first invoice is never edited


@pytest.mark.django_db
def test_cancelling_an_invoiced_booking_credits_it_and_invoices_the_fee(settings):
    settings.CANCELLATION_FEE_TIERS = ((14, 0), (7, 30), (0, 60))
    owner = CrewOwnerFactory()
    plan = request_plan(owner, days(10, 3))  # 10 days ahead: a 30 % fee
    services.shoot_plan_confirm(plan=plan, by=StaffFactory())
    booking = plan.parts[0]

    services.booking_cancel(booking=booking, by=owner)

    first = Invoice.objects.get(kind=Invoice.Kind.INVOICE)
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT)
    fee = Invoice.objects.get(kind=Invoice.Kind.CANCELLATION)
    assert credit.net == -first.net and credit.total == -first.total
    assert fee.net == Decimal("9000.00") and fee.vat == vat_on(Decimal("9000.00"))
    assert {credit.corrects, fee.corrects} == {first}
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]
    today = timezone.localdate()
    assert credit.payment_state(paid=Decimal(0), today=today) == PaymentState.CREDIT
    assert fee.payment_state(paid=Decimal(0), today=today) == PaymentState.DUE


@pytest.mark.django_db
def test_whole_plan_equipment_is_invoiced_over_the_days_of_the_parts_that_go_ahead_only():
    owner = CrewOwnerFactory()
    camera = EquipmentFactory(daily_rate=Decimal("1000"), stock=4)
    plan = request_plan(owner, days(10, 3), days(20, 2), items=[ItemRequest(camera, 1)])
    first, second = plan.parts
    desk = StaffFactory()

    services.booking_confirm(booking=first, by=desk)
    services.booking_reject(booking=second, by=desk, reason="The street is closed.")

    invoice = Invoice.objects.get()
    whole_plan = [line for line in invoice.lines if not line["part"]]
    assert [(line["days"], line["amount"]) for line in whole_plan] == [(3, "3000.00")]  # not 5 days
    assert invoice.net == first.quote_total + Decimal("3000.00")


def _sweep_on(day, hour=9):
    moment = timezone.make_aware(
        timezone.datetime.combine(day, timezone.datetime.min.time()).replace(hour=hour)
    )
    with time_machine.travel(moment, tick=False):
        return tasks.sweep()


@pytest.mark.django_db
def test_an_unpaid_deposit_only_flags_the_plan_unless_the_setting_cancels_it(settings):
    invoice = _invoice(start=20)
    booking = invoice.plan.bookings.get()

    assert _sweep_on(invoice.deposit_due_on + timedelta(days=1))["unpaid_deposits"] == 0
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED  # the default: the desk decides

    settings.UNPAID_DEPOSIT_CANCELS = True
    assert _sweep_on(invoice.deposit_due_on, hour=23)["unpaid_deposits"] == 0  # still its day
    assert _sweep_on(invoice.deposit_due_on + timedelta(days=1))["unpaid_deposits"] == 1
    assert _sweep_on(invoice.deposit_due_on + timedelta(days=1), hour=10)["unpaid_deposits"] == 0

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancelled_by is None  # the studio's rule, not a person
    # On the usual terms, as if the crew had cancelled that day.
    cancelled_on = invoice.deposit_due_on + timedelta(days=1)
    assert booking.cancellation_fee_percent == fee_percent((booking.start_date - cancelled_on).days)
    assert invoice.number in booking.cancellation_reason
    # The invoice is credited in full, and the crew told it was the studio.
    assert Invoice.objects.get(plan=invoice.plan, kind=Invoice.Kind.CREDIT).total == -invoice.total
    email = Notification.objects.get(booking=booking, kind=Notification.Kind.BOOKING_CANCELLED)
    assert "The studio has cancelled" in email.body_text


@pytest.mark.django_db
def test_a_paid_deposit_keeps_the_plan_when_unpaid_deposits_cancel(settings):
    settings.UNPAID_DEPOSIT_CANCELS = True
    invoice = _invoice(start=20)
    services.payment_record(
        invoice=invoice,
        amount=invoice.deposit,
        paid_on=timezone.localdate(),
        method="wechat_pay",
        by=StaffFactory(),
    )

    assert _sweep_on(invoice.deposit_due_on + timedelta(days=2))["unpaid_deposits"] == 0
    assert invoice.plan.bookings.get().status == Booking.Status.CONFIRMED
