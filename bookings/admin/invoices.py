"""Invoices in the admin: read, searched and downloaded; issued only by the services, never edited."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..invoices import invoice_pdf
from ..models import Invoice
from .base import RecordOnlyAdmin, money_field


@admin.register(Invoice)
class InvoiceAdmin(RecordOnlyAdmin):
    list_display = ["number", "billing_name", "plan", "issued_on", "due_on", "total_cny", "pdf_link"]
    list_select_related = ["plan"]
    search_fields = ["number", "billing_name", "billing_tax_id", "plan__reference"]
    date_hierarchy = "issued_on"
    fields = [
        "number",
        "kind",
        "plan",
        "crew",
        "billing_name",
        "billing_tax_id",
        "billing_address",
        "issued_on",
        "due_on",
        "net_cny",
        "vat_percent",
        "vat_cny",
        "total_cny",
        "issued_by",
        "pdf_link",
    ]
    readonly_fields = fields
    total_cny = money_field(Invoice, "total")
    net_cny = money_field(Invoice, "net")
    vat_cny = money_field(Invoice, "vat")

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:bookings_invoice_pdf", args=[obj.pk]), gettext("Download")
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="{}_{}_pdf".format(*info)),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice.objects.select_related("plan"), pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response
