"""Workshop fees in the admin: the workshop desk records a payment (or a refund) by the place's
payment reference, as written on the bank transfer; the payments are then read, never edited."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.admin import MoneyEntryForm, RecordOnlyAdmin, money_field, studio_today
from bookings.money import format_cny

from .. import services
from ..models import Enrolment, PlacePayment

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


@admin.register(PlacePayment)
class PlacePaymentAdmin(RecordOnlyAdmin):
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

    @admin.display(description=_("payment reference"), ordering="enrolment__payment_reference")
    def payment_reference(self, obj: PlacePayment) -> str:
        return obj.enrolment.payment_reference

    def has_add_permission(self, request, obj=None) -> bool:
        """Recorded on the page of ``record_view``, through the payments service."""
        return request.user.has_perm(RECORD_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        return record_view(self, request)
