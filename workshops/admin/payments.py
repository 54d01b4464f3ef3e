"""Workshop fees in the admin: the workshop desk records a payment (or a refund) by the place's
payment reference, as written on the bank transfer, or from a bank statement matched by those
references; the payments are then read, never edited."""

import csv
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.admin import MoneyEntryForm, RecordOnlyAdmin, csv_safe, money_field, studio_today
from bookings.admin.statements import Matcher, StatementAdminMixin
from bookings.money import format_cny
from bookings.statements import StatementLine

from .. import selectors, services
from ..models import (
    REFERENCE_ALPHABET,
    REFERENCE_PREFIX,
    Enrolment,
    PlacePayment,
    normalize_payment_reference,
)

RECORD_PERMISSION = "workshops.add_placepayment"


class PlacePaymentForm(MoneyEntryForm):
    reference = forms.CharField(
        label=_("Payment reference"),
        max_length=40,
        help_text=_(
            "As written on the transfer, e.g. HDW-K7M2-Q9XP; spaces, dashes and capitals do not matter."
        ),
    )

    class Meta(MoneyEntryForm.Meta):
        model = PlacePayment
        fields = ["reference", *MoneyEntryForm.Meta.fields]

    def clean_reference(self) -> str:
        self.enrolment = services.enrolment_for_payment_reference(self.cleaned_data["reference"])
        if self.enrolment is None:
            raise forms.ValidationError(
                _("No place has this payment reference: check it against the transfer."), code="unknown"
            )
        return self.enrolment.payment_reference


def record_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The admin's "Add" for place payments, also reached from an enrolment's page (reference filled in)."""
    if not request.user.has_perm(RECORD_PERMISSION):
        raise PermissionDenied
    form = PlacePaymentForm(
        request.POST if request.method == "POST" else None,
        initial={
            "reference": request.GET.get("reference", ""),
            "paid_on": studio_today(),
            "kind": PlacePayment.Kind.PAYMENT,
        },
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            recorded = services.place_payment_record(
                enrolment=form.enrolment,
                amount=data["amount"],
                paid_on=data["paid_on"],
                method=data["method"],
                kind=data["kind"],
                payer_reference=data["payer_reference"],
                note=data["note"],
                by=request.user,
            )
        except services.EnrolmentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            _report(request, recorded.enrolment)
            return redirect("admin:workshops_enrolment_change", recorded.enrolment.pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Record a payment for a workshop place"),
        "form": form,
        "cancel_url": reverse("admin:workshops_placepayment_changelist"),
    }
    return TemplateResponse(
        request, "admin/workshops/placepayment_record.html", context, status=400 if form.is_bound else 200
    )


def _report(request: HttpRequest, enrolment: Enrolment) -> None:
    net = enrolment.paid - enrolment.refunded
    names = {"name": enrolment.full_name, "paid": format_cny(net), "fee": format_cny(enrolment.fee)}
    messages.success(request, gettext("Recorded. %(name)s: %(paid)s paid of %(fee)s.") % names)
    owed = enrolment.refund_owed(paid=enrolment.paid, refunded=enrolment.refunded)
    if enrolment.status != Enrolment.Status.CONFIRMED and owed:
        messages.warning(
            request,
            gettext("This place is %(status)s: %(owed)s is owed back to %(name)s.")
            % {**names, "status": enrolment.get_status_display().lower(), "owed": format_cny(owed)},
        )
    elif owed:
        messages.warning(
            request,
            gettext("%(name)s has now paid %(owed)s more than the fee: refund it, or check the entry.")
            % {**names, "owed": format_cny(owed)},
        )


class PlaceMatcher(Matcher):
    """A statement line pays the place whose payment reference its message (or payer column) names."""

    pattern = re.compile(
        rf"{REFERENCE_PREFIX}[\s-]*([{REFERENCE_ALPHABET}]{{4}})[\s-]*([{REFERENCE_ALPHABET}]{{4}})",
        re.IGNORECASE,
    )
    entries = PlacePayment
    target_field = "enrolment"
    no_reference = _("No payment reference in the message.")

    def reference(self, found) -> str:
        return normalize_payment_reference(found[0])

    def targets(self, references: set[str]) -> dict[str, Enrolment]:
        places = selectors.enrolments_with_payments(
            Enrolment.objects.filter(payment_reference__in=references)
        )
        return {place.payment_reference: place for place in places}

    def unknown(self, reference: str) -> str:
        return gettext("No place has the reference %(reference)s.") % {"reference": reference}

    def label(self, target: Enrolment) -> str:
        return gettext("%(reference)s, %(name)s: %(left)s of %(fee)s still to pay") % {
            "reference": target.payment_reference,
            "name": target.full_name,
            "left": format_cny(max(target.fee - target.paid + target.refunded, 0)),
            "fee": format_cny(target.fee),
        }

    def problem(self, target: Enrolment) -> str:
        if target.status == Enrolment.Status.CONFIRMED:
            return ""
        # Money for a place that was released or cancelled is owed back: a person decides.
        return gettext("The place is %(status)s: record it by hand if it is to be kept.") % {
            "status": target.get_status_display().lower()
        }

    def record(self, line: StatementLine, target: int, *, by) -> None:
        services.place_payment_record(
            enrolment=Enrolment.objects.get(pk=target),
            amount=line.amount,
            paid_on=line.paid_on,
            method=PlacePayment.Method.BANK_TRANSFER,
            payer_reference=line.payer_reference,
            note=gettext("From a bank statement, line %(row)d.") % {"row": line.row},
            by=by,
        )


@admin.register(PlacePayment)
class PlacePaymentAdmin(StatementAdminMixin, RecordOnlyAdmin):
    list_display = [
        "paid_on",
        "payment_reference",
        "enrolment",
        "kind",
        "amount_cny",
        "method",
        "payer_reference",
        "recorded_by",
    ]
    list_filter = ["kind", "method"]
    list_select_related = ["enrolment", "recorded_by"]
    search_fields = [
        "enrolment__payment_reference",
        "payer_reference",
        "enrolment__full_name",
        "enrolment__email",
    ]
    date_hierarchy = "paid_on"
    fields = [
        "enrolment",
        "payment_reference",
        "kind",
        "amount_cny",
        "paid_on",
        "method",
        "payer_reference",
        "note",
        "recorded_by",
        "recorded_at",
    ]
    readonly_fields = fields
    amount_cny = money_field(PlacePayment, "amount")
    actions = ["export_csv"]

    @admin.action(description=_("Export CSV for accounting"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        """The chosen payments and refunds: UTF-8 with a BOM, refunds negative, no cell read as a formula."""
        response = HttpResponse(
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="place-payments-{studio_today():%Y-%m-%d}.csv"'
            },
        )
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(
            [
                gettext("Entry"),
                gettext("Date"),
                gettext("Payment reference"),
                gettext("Participant"),
                gettext("Session"),
                gettext("Amount (CNY)"),
                gettext("Method"),
                gettext("Payer's reference"),
                gettext("Recorded by"),
            ]
        )
        rows = queryset.select_related("enrolment__session__workshop", "recorded_by").order_by(
            "paid_on", "pk"
        )
        for payment in rows:
            writer.writerow(
                [
                    csv_safe(value)
                    for value in (
                        payment.get_kind_display(),
                        f"{payment.paid_on:%Y-%m-%d}",
                        payment.enrolment.payment_reference,
                        payment.enrolment.full_name,
                        str(payment.enrolment.session),
                        payment.signed_amount,
                        payment.get_method_display(),
                        payment.payer_reference,
                        payment.recorded_by.email,
                    )
                ]
            )
        return response

    @admin.display(description=_("payment reference"), ordering="enrolment__payment_reference")
    def payment_reference(self, obj: PlacePayment) -> str:
        return obj.enrolment.payment_reference

    def has_add_permission(self, request, obj=None) -> bool:
        """Recorded on the page of ``record_view``, through the payments service."""
        return request.user.has_perm(RECORD_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        return record_view(self, request)

    statement_matcher = PlaceMatcher
    statement_permission = RECORD_PERMISSION
    statement_errors = (services.EnrolmentError,)
    statement_title = _("Match a bank statement to workshop places")
    statement_intro = _(
        "Upload the bank's statement: each transfer whose message names a payment reference "
        "(e.g. HDW-K7M2-Q9XP) is matched to that place, for you to confirm."
    )
