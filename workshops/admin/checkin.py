"""The workshop desk at the door: a phone page per session to check participants in by the QR code
on their enrolment page (or the code typed); attendance per day, read and exported; and the
certificates of attendance it earned."""

import csv

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.admin import STUDIO_TZ, RecordOnlyAdmin, csv_safe, studio_today
from hengdian.admin import NamedInputsMixin
from hengdian.headers import permissions_policy_header

from .. import services
from ..certificates import certificate_pdf
from ..models import Attendance, Certificate, Enrolment, PlacePaymentState, Session
from ..selectors import enrolments_with_payments

VIEW_PERMISSION = "workshops.view_attendance"
CHECK_IN_PERMISSION = "workshops.add_attendance"


class CheckInForm(NamedInputsMixin, forms.Form):
    code = forms.CharField(
        label=_("Check-in code"),
        max_length=40,
        help_text=_(
            "Scan the QR code on the participant's enrolment page, or type the code printed under it."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}
        ),
    )


def checkin_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """Check people in for today's day of the session; the page also counts each day's attendance."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    session = get_object_or_404(Session.objects.select_related("workshop"), pk=pk)
    may_check_in = request.user.has_perm(CHECK_IN_PERMISSION)
    form = CheckInForm(request.POST if request.method == "POST" else None)
    result, unpaid, status = None, False, 200
    if request.method == "POST":
        if not may_check_in:
            raise PermissionDenied
        if form.is_valid():
            try:
                result = services.checkin_record(
                    session=session, code=form.cleaned_data["code"], by=request.user
                )
            except services.EnrolmentError as exc:
                form.add_error("code", str(exc))
            else:
                form = CheckInForm()  # ready for the next person
                enrolment = enrolments_with_payments(
                    Enrolment.objects.filter(pk=result.attendance.enrolment_id)
                ).get()
                state = enrolment.payment_state(
                    paid=enrolment.paid, refunded=enrolment.refunded, today=studio_today()
                )
                unpaid = state in (PlacePaymentState.AWAITING, PlacePaymentState.OVERDUE)
        if form.errors:
            status = 400
    today = studio_today()
    days = services.session_days(session)
    counts = dict(
        Attendance.objects.filter(enrolment__session=session)
        .values_list("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Session._meta,
        "title": gettext("Check-in: %(session)s") % {"session": session},
        "session": session,
        "form": form,
        "may_check_in": may_check_in,
        "result": result,
        "result_time": services.checkin_when(result.attendance) if result else "",
        "unpaid": unpaid,
        "today": today,
        "runs_today": today in days,
        "places": session.enrolments.filter(status=Enrolment.Status.CONFIRMED).count(),
        "per_day": [(day, counts.get(day, 0), day == today) for day in days],
        "recent": Attendance.objects.filter(enrolment__session=session, day=today)
        .select_related("enrolment", "checked_in_by")
        .order_by("-checked_in_at", "-pk")[:10],
    }
    response = TemplateResponse(request, "admin/workshops/checkin.html", context, status=status)
    # Scanning with the phone's camera, on this page only.
    response.headers["Permissions-Policy"] = permissions_policy_header(
        {**settings.PERMISSIONS_POLICY, "camera": ["self"]}
    )
    return response


@admin.register(Attendance)
class AttendanceAdmin(RecordOnlyAdmin):
    """Who came, per day: recorded at the door, read and exported here."""

    list_display = ["day", "participant", "session", "checked_in_at", "checked_in_by"]
    list_filter = ["enrolment__session", "day"]
    list_select_related = ["enrolment__session__workshop", "checked_in_by"]
    search_fields = ["enrolment__full_name", "enrolment__email"]
    date_hierarchy = "day"
    fields = ["enrolment", "day", "checked_in_at", "checked_in_by"]
    readonly_fields = fields
    actions = ["export_csv"]

    @admin.display(description=_("participant"), ordering="enrolment__full_name")
    def participant(self, obj: Attendance) -> str:
        return obj.enrolment.full_name

    @admin.display(description=_("session"), ordering="enrolment__session__starts_at")
    def session(self, obj: Attendance) -> str:
        return str(obj.enrolment.session)

    @admin.action(description=_("Export CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        response = HttpResponse(
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="attendance-{studio_today():%Y-%m-%d}.csv"'
            },
        )
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(
            [
                gettext("Day"),
                gettext("Name"),
                gettext("Email"),
                gettext("Session"),
                gettext("Checked in at (Asia/Shanghai)"),
                gettext("Checked in by"),
            ]
        )
        for row in queryset.select_related("enrolment__session__workshop", "checked_in_by").order_by(
            "enrolment__session__starts_at", "day", "checked_in_at", "pk"
        ):
            writer.writerow(
                [
                    csv_safe(value)
                    for value in (
                        f"{row.day:%Y-%m-%d}",
                        row.enrolment.full_name,
                        row.enrolment.email,
                        str(row.enrolment.session),
                        f"{timezone.localtime(row.checked_in_at, STUDIO_TZ):%Y-%m-%d %H:%M}",
                        row.checked_in_by.email,
                    )
                ]
            )
        return response


@admin.register(Certificate)
class CertificateAdmin(RecordOnlyAdmin):
    """Issued by the sweep after a session; looked up (e.g. for someone asking to verify one) and downloaded."""

    list_display = ["number", "name", "session", "days_attended", "days_total", "issued_at", "download"]
    list_select_related = ["enrolment__session__workshop"]
    search_fields = ["number", "name", "enrolment__email"]
    date_hierarchy = "issued_at"
    fields = ["number", "name", "enrolment", "days_attended", "days_total", "hours", "issued_at", "download"]
    readonly_fields = fields

    @admin.display(description=_("session"), ordering="enrolment__session__starts_at")
    def session(self, obj: Certificate) -> str:
        return str(obj.enrolment.session)

    @admin.display(description=_("PDF"))
    def download(self, obj: Certificate) -> str:
        url = reverse("admin:workshops_certificate_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download PDF"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="workshops_certificate_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        certificate = get_object_or_404(
            Certificate.objects.select_related("enrolment__session__workshop"), pk=pk
        )
        response = HttpResponse(certificate_pdf(certificate), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{certificate.number}.pdf"'
        return response
