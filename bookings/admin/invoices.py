"""Invoices and payments in the admin: invoices are read, searched and downloaded, never edited;
the booking desk records payments received (or paid back) on an invoice's own page, or from a
bank statement matched by the invoice numbers in its transfers' messages."""

import csv
import re
from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hengdian.admin import NamedInputsMixin

from .. import selectors, services
from ..invoices import invoice_pdf
from ..models import FapiaoRequest, Invoice, Payment, PaymentState
from ..money import format_cny
from ..statements import StatementLine
from .base import ReadOnlyInline, RecordOnlyAdmin, csv_safe, money_field, studio_today
from .bookings import BookingExportForm
from .statements import Matcher, StatementAdminMixin


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["paid_on", "kind", "amount", "method", "payer_reference", "note", "recorded_by"]
    related = ("recorded_by",)


class PaymentStateFilter(admin.SimpleListFilter):
    title = _("payment")
    parameter_name = "payment"

    def lookups(self, request, model_admin):
        return [
            ("unpaid", _("Not paid in full")),
            ("deposit-overdue", _("Deposit overdue")),
            ("overdue", _("Payment overdue")),
            ("paid", _("Paid")),
            ("overpaid", _("Paid more than the total")),
        ]

    def queryset(self, request, queryset):
        today = studio_today()
        value = self.value()
        if value == "unpaid":
            return queryset.filter(paid__lt=F("total"))
        if value == "deposit-overdue":
            return queryset.filter(paid__lt=F("deposit"), deposit_due_on__lt=today, due_on__gte=today)
        if value == "overdue":
            return queryset.filter(Q(paid__lt=F("total"), due_on__lt=today))
        if value == "paid":
            return queryset.filter(paid__gte=F("total"))
        if value == "overpaid":
            return queryset.filter(paid__gt=F("total"))
        return queryset


class MoneyEntryForm(NamedInputsMixin, forms.ModelForm):
    """Money received or paid back, as staff record it; a subclass names the model (see MoneyEntry)."""

    class Meta:
        fields = ["kind", "amount", "paid_on", "method", "payer_reference", "note"]
        widgets = {
            "paid_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("Enter an amount above zero."), code="not_positive")
        return amount


class PaymentForm(MoneyEntryForm):
    class Meta(MoneyEntryForm.Meta):
        model = Payment


class ReportYearForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class AccountingExportForm(BookingExportForm):
    """The days of the accounting export: the same rules as the bookings export."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_to"].help_text = _("Inclusive: invoices issued and payments made on these days.")


def _accounting_csv(first: date, last: date) -> HttpResponse:
    """Invoices issued and payments made from ``first`` to ``last``: UTF-8 with a BOM (Chinese names
    survive Excel), every cell safe from being read as a formula."""
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="accounting-{first:%Y-%m-%d}-{last:%Y-%m-%d}.csv"'
        },
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [
            gettext("Entry"),
            gettext("Date"),
            gettext("Invoice"),
            gettext("Billed to"),
            gettext("Tax ID"),
            gettext("Net (CNY)"),
            gettext("VAT (CNY)"),
            gettext("Total (CNY)"),
            gettext("Amount (CNY)"),
            gettext("Method"),
            gettext("Payer's reference"),
        ]
    )
    for invoice in Invoice.objects.filter(issued_on__range=(first, last)).order_by(
        "issued_on", "year", "sequence"
    ):
        writer.writerow(
            [
                csv_safe(value)
                for value in (
                    gettext("Invoice"),
                    f"{invoice.issued_on:%Y-%m-%d}",
                    invoice.number,
                    invoice.billing_name,
                    invoice.billing_tax_id,
                    invoice.net,
                    invoice.vat,
                    invoice.total,
                    "",
                    "",
                    "",
                )
            ]
        )
    payments = (
        Payment.objects.filter(paid_on__range=(first, last))
        .select_related("invoice")
        .order_by("paid_on", "pk")
    )
    for payment in payments:
        writer.writerow(
            [
                csv_safe(value)
                for value in (
                    payment.get_kind_display(),
                    f"{payment.paid_on:%Y-%m-%d}",
                    payment.invoice.number,
                    payment.invoice.billing_name,
                    payment.invoice.billing_tax_id,
                    "",
                    "",
                    "",
                    payment.signed_amount,
                    payment.get_method_display(),
                    payment.payer_reference,
                )
            ]
        )
    return response


@admin.register(Invoice)
class InvoiceAdmin(RecordOnlyAdmin):
    inlines = [PaymentInline]
    list_display = [
        "number",
        "billing_name",
        "plan",
        "issued_on",
        "due_on",
        "total_cny",
        "paid_cny",
        "payment_state",
        "pdf_link",
    ]
    list_filter = [PaymentStateFilter]
    list_select_related = ["plan"]
    search_fields = ["number", "billing_name", "billing_tax_id", "plan__reference"]
    date_hierarchy = "issued_on"
    fields = [
        "number",
        "plan",
        "billing_name",
        "billing_tax_id",
        "billing_address",
        "issued_on",
        "net_cny",
        "vat_percent",
        "vat_cny",
        "total_cny",
        "deposit_cny",
        "deposit_due_on",
        "due_on",
        "paid_cny",
        "payment_state",
        "issued_by",
        "pdf_link",
    ]
    readonly_fields = fields
    total_cny = money_field(Invoice, "total")
    net_cny = money_field(Invoice, "net")
    vat_cny = money_field(Invoice, "vat")
    deposit_cny = money_field(Invoice, "deposit")

    def get_queryset(self, request):
        return services.invoices_with_paid(super().get_queryset(request))

    @admin.display(description=_("paid (CNY)"), ordering="paid")
    def paid_cny(self, obj: Invoice) -> str:
        return format_cny(obj.paid)

    @admin.display(description=_("payment"))
    def payment_state(self, obj: Invoice) -> str:
        return PaymentState(obj.payment_state(paid=obj.paid, today=studio_today())).label

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:bookings_invoice_pdf", args=[obj.pk]), gettext("Download")
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="{}_{}_pdf".format(*info)),
            path("report/", self.admin_site.admin_view(self.report_view), name="{}_{}_report".format(*info)),
            path(
                "<int:pk>/payment/",
                self.admin_site.admin_view(self.payment_view),
                name="{}_{}_payment".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_record_payment": request.user.has_perm("bookings.add_payment"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Revenue by month for a year, and the accounting CSV of invoices and payments for a range."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = studio_today()
        year_form = ReportYearForm(
            request.GET if "year" in request.GET else None, initial={"year": today.year}
        )
        year = year_form.cleaned_data["year"] if year_form.is_bound and year_form.is_valid() else today.year
        first_of_month = today.replace(day=1)
        export_form = AccountingExportForm(
            request.GET if "date_from" in request.GET else None,
            initial={"date_from": first_of_month, "date_to": today},
        )
        if export_form.is_bound and export_form.is_valid():
            return _accounting_csv(export_form.cleaned_data["date_from"], export_form.cleaned_data["date_to"])
        months = selectors.revenue_by_month(year=year)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Revenue and accounting export"),
            "year_form": year_form,
            "export_form": export_form,
            "months": months,
            "year": year,
            "totals": {
                "invoiced": sum((m.invoiced for m in months), Decimal(0)),
                "received": sum((m.received for m in months), Decimal(0)),
                "outstanding": sum((m.outstanding for m in months), Decimal(0)),
            },
        }
        return TemplateResponse(request, "admin/bookings/invoice_report.html", context)

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice.objects.select_related("plan"), pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response

    def payment_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Record a payment received for the invoice (or a refund), through the payments service."""
        if not request.user.has_perm("bookings.add_payment"):
            raise PermissionDenied
        invoice = get_object_or_404(self.get_queryset(request).select_related("plan"), pk=pk)
        change_url = reverse("admin:bookings_invoice_change", args=[invoice.pk])
        form = PaymentForm(
            request.POST if request.method == "POST" else None,
            initial={"paid_on": studio_today(), "kind": Payment.Kind.PAYMENT},
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                _payment, paid = services.payment_record(
                    invoice=invoice,
                    amount=data["amount"],
                    paid_on=data["paid_on"],
                    method=data["method"],
                    kind=data["kind"],
                    payer_reference=data["payer_reference"],
                    note=data["note"],
                    by=request.user,
                )
            except services.PaymentError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(
                    request,
                    gettext("Recorded. %(number)s: %(paid)s paid of %(total)s.")
                    % {
                        "number": invoice.number,
                        "paid": format_cny(paid),
                        "total": format_cny(invoice.total),
                    },
                )
                if paid > invoice.total:
                    messages.warning(
                        request,
                        gettext(
                            "%(number)s is now paid %(over)s more than its total: refund it, or check the entry."
                        )
                        % {"number": invoice.number, "over": format_cny(paid - invoice.total)},
                    )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Record a payment for %(number)s") % {"number": invoice.number},
            "invoice": invoice,
            "form": form,
            "cancel_url": change_url,
        }
        return TemplateResponse(request, "admin/bookings/invoice_payment.html", context)


class InvoiceMatcher(Matcher):
    """A statement line pays the invoice whose number its message (or payer column) names."""

    entries = Payment
    target_field = "invoice"
    no_reference = _("No invoice number in the message.")

    def __init__(self):
        # As typed into a transfer: any case, with spaces for dashes (``hd inv 2027 000123``).
        prefix = r"[\s-]*".join(re.escape(part) for part in settings.INVOICE_NUMBER_PREFIX.split("-"))
        self.pattern = re.compile(rf"{prefix}[\s-]*(\d{{4}})[\s-]*(\d{{6}})", re.IGNORECASE)

    def reference(self, found) -> str:
        return f"{settings.INVOICE_NUMBER_PREFIX}-{found[1]}-{found[2]}"

    def targets(self, references: set[str]) -> dict[str, Invoice]:
        invoices = services.invoices_with_paid(Invoice.objects.filter(number__in=references))
        return {invoice.number: invoice for invoice in invoices}

    def unknown(self, reference: str) -> str:
        return gettext("%(number)s is not an invoice.") % {"number": reference}

    def label(self, target: Invoice) -> str:
        return gettext("%(number)s, %(billed)s: %(owed)s still owed") % {
            "number": target.number,
            "billed": target.billing_name,
            "owed": format_cny(target.total - target.paid),
        }

    def problem(self, target: Invoice) -> str:
        return (
            "" if target.kind == Invoice.Kind.INVOICE else gettext("Not an invoice to pay: check it by hand.")
        )

    def record(self, line: StatementLine, target: int, *, by) -> None:
        services.payment_record(
            invoice=Invoice.objects.get(pk=target),
            amount=line.amount,
            paid_on=line.paid_on,
            method=Payment.Method.BANK_TRANSFER,
            payer_reference=line.payer_reference,
            note=gettext("From a bank statement, line %(row)d.") % {"row": line.row},
            by=by,
        )


@admin.register(Payment)
class PaymentAdmin(StatementAdminMixin, RecordOnlyAdmin):
    list_display = ["paid_on", "invoice", "kind", "amount_cny", "method", "payer_reference", "recorded_by"]
    list_filter = ["kind", "method"]
    list_select_related = ["invoice", "recorded_by"]
    search_fields = ["invoice__number", "payer_reference", "invoice__billing_name"]
    date_hierarchy = "paid_on"
    fields = ["invoice", "kind", "amount_cny", "paid_on", "method", "payer_reference", "note", "recorded_by"]
    readonly_fields = fields
    amount_cny = money_field(Payment, "amount")

    statement_matcher = InvoiceMatcher
    statement_permission = "bookings.add_payment"
    statement_errors = (services.PaymentError,)
    statement_title = _("Match a bank statement to invoices")
    statement_intro = _(
        "Upload the bank's statement: each transfer whose message names an invoice number "
        "(e.g. %(example)s) is matched to that invoice, for you to confirm."
    )

    def statement_intro_text(self) -> str:
        return str(self.statement_intro) % {"example": f"{settings.INVOICE_NUMBER_PREFIX}-2027-000123"}


class FapiaoIssuedFilter(admin.SimpleListFilter):
    title = _("fapiao")
    parameter_name = "issued"

    def lookups(self, request, model_admin):
        return [("no", _("Waiting for finance")), ("yes", _("Issued"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(issued_on__isnull=self.value() == "no")
        return queryset


@admin.register(FapiaoRequest)
class FapiaoRequestAdmin(RecordOnlyAdmin):
    """What crews asked the finance department for; the desk marks each issued once it is sent."""

    list_display = ["invoice", "billed_to", "kind", "email", "requested_at", "issued_on"]
    list_filter = [FapiaoIssuedFilter, "kind"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "invoice__billing_name", "email"]
    date_hierarchy = "requested_at"
    fields = [
        "invoice",
        "billed_to",
        "tax_id",
        "kind",
        "email",
        "note",
        "requested_by",
        "requested_at",
        "issued_on",
        "issued_by",
    ]
    readonly_fields = fields
    actions = ["mark_issued"]

    @admin.display(description=_("billed to"))
    def billed_to(self, obj: FapiaoRequest) -> str:
        return obj.invoice.billing_name

    @admin.display(description=_("tax ID"))
    def tax_id(self, obj: FapiaoRequest) -> str:
        return obj.invoice.billing_tax_id or "—"

    def has_change_permission(self, request, obj=None) -> bool:
        # Only through the action below: nothing on the page itself is edited.
        return obj is None and request.user.has_perm("bookings.change_fapiaorequest")

    @admin.action(description=_("Mark the selected fapiao issued"), permissions=["change"])
    def mark_issued(self, request, queryset):
        for fapiao in queryset.order_by("pk"):
            services.fapiao_mark_issued(request=fapiao, by=request.user)
        self.message_user(request, gettext("Marked issued."), messages.SUCCESS)
