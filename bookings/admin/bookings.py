"""Bookings and shoot plans in the admin: decisions with reasons, changes, occupancy and export."""

import csv
from collections.abc import Callable
from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from .. import desk, emails, selectors, services
from ..decision_forms import DecisionForm, StaffCancelForm
from ..fees import booking_cancellation_fee, fee_policy
from ..models import (
    Booking,
    BookingItem,
    DayRange,
    Notification,
    ShootPlan,
)
from ..money import format_cny
from ..services import BookingError
from ..translation import in_every_language
from ..widgets import DateInput
from .base import STUDIO_TZ, ReadOnlyInline, RecordOnlyAdmin, csv_safe, money_field, studio_today
from .history import HistoryAdminMixin


class BookingItemInline(ReadOnlyInline):
    model = BookingItem
    fields = ["equipment", "quantity", "daily_rate_cny"]
    related = ("equipment",)
    daily_rate_cny = money_field(BookingItem, "daily_rate")


class BookingNotificationInline(ReadOnlyInline):
    """What the crew (and the desk) were told about this booking, and whether it went out."""

    model = Notification
    fields = ["kind", "recipient", "status", "sent_at", "created_at"]
    ordering = ["created_at", "pk"]
    verbose_name_plural = _("emails about this booking")


class OccupancyWindowForm(forms.Form):
    """The window of the occupancy overview, from the query string."""

    WEEKS = [(2, _("2 weeks")), (3, _("3 weeks")), (4, _("4 weeks"))]
    MAX_YEARS_AWAY = 5  # keeps previous/next arithmetic far from date.min/date.max

    start = forms.DateField(label=_("From"), widget=DateInput())
    weeks = forms.TypedChoiceField(label=_("Weeks"), choices=WEEKS, coerce=int)

    def clean_start(self) -> date:
        start = self.cleaned_data["start"]
        if abs((start - studio_today()).days) > 366 * self.MAX_YEARS_AWAY:
            raise forms.ValidationError(
                _("Choose a start date within %(years)d years of today."),
                params={"years": self.MAX_YEARS_AWAY},
            )
        return start


class BookingExportForm(forms.Form):
    MAX_DAYS = 366

    date_from = forms.DateField(label=_("From"), widget=DateInput())
    date_to = forms.DateField(
        label=_("To"),
        widget=DateInput(),
        help_text=_("Inclusive. Bookings with any shoot day in the range are exported."),
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last:
            if last < first:
                self.add_error("date_to", _("The last day cannot be before the first day."))
            elif (last - first).days + 1 > self.MAX_DAYS:
                self.add_error(
                    "date_to", _("Export at most %(days)d days at a time.") % {"days": self.MAX_DAYS}
                )
        return data


@admin.register(Booking)
class BookingAdmin(HistoryAdminMixin, RecordOnlyAdmin):
    """Staff review and decide bookings here; they never edit them by hand.

    Bookings are made through the site's booking form, or by the booking desk
    on the admin's "Add" page (``bookings.desk``); both call
    ``services.shoot_plan_request`` so that availability, stock and the quote
    are checked under lock. The admin therefore cannot edit or delete a
    booking: the actions below change its status through the same services,
    and the record is kept whatever happens to it.
    """

    view_on_site = False  # booking pages on the site belong to the crew
    list_display = [
        "reference",
        "crew",
        "studio_set",
        "start_date",
        "end_date",
        "status",
        "quote_total_cny",
        "hold_expires_at",
        "by_desk",
    ]
    list_filter = ["status", "by_desk", "studio_set", "studio_set__category", "start_date"]
    search_fields = ["reference", "plan__reference", "crew__name", *in_every_language("studio_set__name")]
    date_hierarchy = "start_date"
    list_select_related = ["crew", "studio_set"]
    inlines = [BookingItemInline, BookingNotificationInline]
    # Cancelling is one booking at a time, from its page: the fee and any waiver are per booking.
    actions = ["confirm_selected", "reject_selected"]
    fieldsets = (
        (None, {"fields": ("reference", "status", "crew", "plan", "studio_set")}),
        (_("Days"), {"fields": ("start_date", "end_date", "blocked_until", "hold_expires_at")}),
        (_("Quote"), {"fields": ("quote_total_cny", "quote_table")}),
        (None, {"fields": ("notes",)}),
        (_("Decision"), {"fields": ("decision_reason", "cancellation_reason", "cancellation_fee_text")}),
        (
            _("History"),
            {"fields": ("created_by", "by_desk", "created_at", "decided_by", "cancelled_by", "updated_at")},
        ),
    )
    readonly_fields = [
        "change_panel",
        "change_list",
        "reference",
        "status",
        "crew",
        "plan",
        "studio_set",
        "start_date",
        "end_date",
        "blocked_until",
        "hold_expires_at",
        "quote_total_cny",
        "quote_table",
        "notes",
        "created_by",
        "by_desk",
        "created_at",
        "decided_by",
        "cancelled_by",
        "updated_at",
        "decision_reason",
        "cancellation_reason",
        "cancellation_fee_text",
    ]
    change_form_template = "admin/bookings/booking/change_form.html"

    # --- permissions: a read-only record whose status moves only through actions

    def has_add_permission(self, request, obj=None) -> bool:
        """The booking desk books for a crew on its own page, through the crew's booking service."""
        return request.user.has_perm(services.DESK_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        return desk.desk_booking_view(self, request)

    def has_decide_permission(self, request) -> bool:
        """Confirming, rejecting and cancelling need the model's change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("crew", "studio_set", "plan")

    quote_total_cny = money_field(Booking, "quote_total")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and (obj.change_of_id or obj.changes.exists()):
            # Approve / Refuse only for those who may decide; the others see the changes alone.
            panel = "change_panel" if self.has_decide_permission(request) else "change_list"
            fieldsets = ((_("Changes asked for by the crew"), {"fields": (panel,)}), *fieldsets)
        return fieldsets

    @admin.display(description=_("changes"))
    def change_list(self, obj: Booking) -> str:
        return self._changes_table(obj, buttons=False)

    @admin.display(description=_("changes"))
    def change_panel(self, obj: Booking) -> str:
        return self._changes_table(obj, buttons=True)

    def _changes_table(self, obj: Booking, *, buttons: bool) -> str:
        """The change waiting for a decision (with its buttons, for the desk), and those already decided."""
        if obj.change_of_id:
            return format_html(
                '{} <a href="{}">{}</a>',
                _("This is a change asked for booking"),
                reverse("admin:bookings_booking_change", args=[obj.change_of_id]),
                obj.change_of.reference,
            )
        rows = []
        for change in obj.changes.select_related("studio_set", "decided_by").order_by("-created_at"):
            actions = ""
            if buttons and change.status == Booking.Status.CHANGE:
                actions = format_html(
                    '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
                    reverse("admin:bookings_booking_change_decision", args=[change.pk, "approve"]),
                    _("Approve the change"),
                    reverse("admin:bookings_booking_change_decision", args=[change.pk, "refuse"]),
                    _("Refuse the change"),
                )
            rows.append(
                (
                    reverse("admin:bookings_booking_change", args=[change.pk]),
                    change.reference,
                    change.get_status_display(),
                    change.studio_set.name,
                    f"{date_format(change.start_date)} – {date_format(change.end_date)}",
                    format_cny(change.previous_quote_total),
                    format_cny(change.quote_total),
                    change.change_reason,
                    actions,
                )
            )
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class="nowrap">{}</td>'
            '<td class="nowrap">{}</td><td>{}</td><td class="nowrap">{}</td></tr>',
            rows,
        )
        return format_html(
            '<table id="booking-changes"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th><th></th></tr></thead><tbody>{}</tbody></table>",
            _("Change"),
            _("Status"),
            _("Set"),
            _("Shoot days"),
            _("Quote before"),
            _("Quote after"),
            _("Reason"),
            body,
        )

    @admin.display(description=_("cancellation fee"))
    def cancellation_fee_text(self, obj: Booking) -> str:
        if obj.cancellation_fee is None:
            return "-"
        text = emails.cancellation_fee_text(obj)
        if obj.cancellation_fee_waived and obj.cancellation_fee_waived_by:
            text += f" ({obj.cancellation_fee_waived_by})"
        return text

    @admin.display(description=_("quote breakdown"))
    def quote_table(self, obj: Booking) -> str:
        lines = obj.quote_lines if isinstance(obj.quote_lines, list) else []
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td class="nowrap">{}</td><td>{}</td><td>{}</td><td class="nowrap">{}</td></tr>',
            (
                (
                    line.get("label", ""),
                    format_cny(line.get("rate")),
                    line.get("quantity", ""),
                    line.get("days", ""),
                    format_cny(line.get("amount")),
                )
                for line in lines
                if isinstance(line, dict)
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody>"
            '<tfoot><tr><th colspan="4">{}</th><th class="nowrap">{}</th></tr></tfoot></table>',
            _("Item"),
            _("Rate (CNY/day)"),
            _("Quantity"),
            _("Days"),
            _("Amount (CNY)"),
            rows,
            _("Total"),
            format_cny(obj.quote_total),
        )

    # --- actions

    def _decide(
        self,
        request: HttpRequest,
        queryset,
        service: Callable[..., Booking],
        done: str,
        log: str,
        reason: str = "",
    ) -> None:
        for booking in queryset.order_by("pk"):
            try:
                service(booking=booking, by=request.user, reason=reason)
            except BookingError as e:
                text = str(e)
                if booking.reference not in text:
                    text = _("%(ref)s: %(error)s") % {"ref": booking.reference, "error": text}
                messages.error(request, text)
            else:
                self.log_change(request, booking, f"{log}: {reason}" if reason else log)
                messages.success(request, done % {"ref": booking.reference})

    @admin.action(description=_("Confirm selected requests"), permissions=["decide"])
    def confirm_selected(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, services.booking_confirm, _("%(ref)s confirmed."), "Confirmed")

    @admin.action(description=_("Reject selected requests"), permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset):
        """Asks for the reason on a page of its own first; the crews read it."""
        form = DecisionForm(request.POST if "apply" in request.POST else None, reason_required=True)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._decide(
                request, queryset, services.booking_reject, _("%(ref)s rejected."), "Rejected", reason
            )
            return None
        context = {
            **self._page_context(request, _("Reject selected requests")),
            "form": form,
            "bookings": queryset.select_related("crew", "studio_set").order_by("pk"),
            "action": "reject_selected",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/bookings/booking/reject_selected.html", context)

    # --- one booking's decisions, from buttons on its page

    DECISIONS = {
        "confirm": _("Confirm"),
        "reject": _("Reject"),
        "cancel": _("Cancel booking"),
    }

    def decisions_for(self, request: HttpRequest, booking: Booking) -> list[str]:
        """The decisions the booking's status allows, for a user who may decide at all."""
        if not self.has_decide_permission(request):
            return []
        allowed = []
        if booking.status == Booking.Status.REQUESTED:
            allowed += ["confirm", "reject"]
        if booking.can_be_cancelled_by(request.user, studio_today()):
            allowed.append("cancel")
        return allowed

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, object_id)
        decisions = []
        if booking is not None:
            decisions = [
                {
                    "name": name,
                    "label": self.DECISIONS[name],
                    "url": reverse(f"admin:bookings_booking_{name}", args=[booking.pk]),
                }
                for name in self.decisions_for(request, booking)
            ]
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "decisions": decisions}
        )

    def decide_view(self, request: HttpRequest, pk: int, decision: str) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        booking = get_object_or_404(self.get_queryset(request), pk=pk)
        change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
        if decision not in self.decisions_for(request, booking):
            messages.error(
                request,
                _("%(ref)s is %(status)s, so it cannot be decided that way now.")
                % {"ref": booking.reference, "status": booking.get_status_display().lower()},
            )
            return redirect(change_url)
        data = request.POST if request.method == "POST" else None
        fee = None
        if decision == "cancel":
            fee = booking_cancellation_fee(booking, today=studio_today())
            form = StaffCancelForm(data, reason_required=True, reason_help=_("Required; the crew reads it."))
        else:
            form = DecisionForm(
                data,
                reason_required=decision == "reject",
                reason_help=_("Required; the crew reads it.")
                if decision == "reject"
                else _("Optional; the crew reads it in the email and on the booking page."),
            )
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            try:
                if decision == "confirm":
                    services.booking_confirm(booking=booking, by=request.user, reason=reason)
                    done, log = _("%(ref)s confirmed."), "Confirmed"
                elif decision == "reject":
                    services.booking_reject(booking=booking, by=request.user, reason=reason)
                    done, log = _("%(ref)s rejected."), "Rejected"
                else:
                    cancelled = services.booking_cancel(
                        booking=booking,
                        by=request.user,
                        reason=reason,
                        waive_fee=form.cleaned_data["waive_fee"],
                        waiver_reason=form.cleaned_data["waiver_reason"],
                        agreed_fee_percent=fee.percent,
                    )
                    done, log = _("%(ref)s cancelled."), "Cancelled"
                    if cancelled.cancellation_fee_waived:
                        log += f"; fee waived: {cancelled.cancellation_fee_waiver_reason}"
            except BookingError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                self.log_change(request, booking, f"{log}: {reason}" if reason else log)
                messages.success(request, done % {"ref": booking.reference})
                return redirect(change_url)
        titles = {
            "confirm": _("Confirm %(ref)s"),
            "reject": _("Reject %(ref)s"),
            "cancel": _("Cancel %(ref)s"),
        }
        context = {
            **self._page_context(request, titles[decision] % {"ref": booking.reference}),
            "form": form,
            "decision": decision,
            "submit_label": self.DECISIONS[decision],
            "bookings": [booking],
            "object_label": booking.reference,
            "change_url": change_url,
            "fee": fee,
            "policy": fee_policy(days_before=fee.days_before) if fee else None,
            "confirmed": booking.status == Booking.Status.CONFIRMED,
        }
        return TemplateResponse(
            request, "admin/bookings/decide.html", context, status=400 if form.errors else 200
        )

    # --- extra pages

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "occupancy/",
                self.admin_site.admin_view(self.occupancy_view),
                name="{}_{}_occupancy".format(*info),
            ),
            path(
                "equipment-occupancy/",
                self.admin_site.admin_view(self.equipment_occupancy_view),
                name="{}_{}_equipment_occupancy".format(*info),
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            path(
                "<int:object_id>/change-decision/<str:decision>/",
                self.admin_site.admin_view(self.change_decision_view),
                name="{}_{}_change_decision".format(*info),
            ),
            *(
                path(
                    f"<int:pk>/{decision}/",
                    self.admin_site.admin_view(self.decide_view),
                    {"decision": decision},
                    name="{}_{}_{}".format(*info, decision),
                )
                for decision in self.DECISIONS
            ),
            *super().get_urls(),
        ]

    def _page_context(self, request: HttpRequest, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
        }

    def _occupancy_window(self, request: HttpRequest, page: str) -> dict:
        """The window an occupancy page shows (``?start=&weeks=``), its errors and its links."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = studio_today()
        window = {"start": today, "weeks": 2}
        # Missing or empty parameters take the default; the others must be valid.
        data = {"start": today.isoformat(), "weeks": "2"}
        data.update({k: v for k, v in request.GET.items() if k in data and v.strip()})
        form = OccupancyWindowForm(data)
        window_errors = []
        if form.is_valid():
            window = form.cleaned_data
        else:
            window_errors = [
                f"{form.fields[name].label}: {message}"
                for name, messages_ in form.errors.items()
                for message in messages_
            ]
        days = window["weeks"] * 7
        url = reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{page}")

        def link(start: date) -> str:
            return f"{url}?{urlencode({'start': start.isoformat(), 'weeks': window['weeks']})}"

        return {
            "form": form,
            "window_errors": window_errors,
            "start": window["start"],
            "days": days,
            "today": today,
            "weeks": window["weeks"],
            "previous_url": link(window["start"] - timedelta(days=days)),
            "next_url": link(window["start"] + timedelta(days=days)),
            "today_url": link(today),
        }

    def occupancy_view(self, request: HttpRequest) -> HttpResponse:
        window = self._occupancy_window(request, "occupancy")
        context = {
            **self._page_context(request, _("Set occupancy")),
            **window,
            "grid": selectors.occupancy_grid(start=window["start"], days=window["days"]),
        }
        return TemplateResponse(request, "admin/bookings/occupancy.html", context)

    def equipment_occupancy_view(self, request: HttpRequest) -> HttpResponse:
        window = self._occupancy_window(request, "equipment_occupancy")
        context = {
            **self._page_context(request, _("Equipment occupancy")),
            **window,
            "grid": selectors.equipment_occupancy_grid(start=window["start"], days=window["days"]),
        }
        return TemplateResponse(request, "admin/bookings/equipment_occupancy.html", context)

    def change_decision_view(self, request: HttpRequest, object_id: int, decision: str) -> HttpResponse:
        """Approve or refuse a change a crew asked for, with the reason the crew will read."""
        if decision not in ("approve", "refuse"):
            raise Http404
        if not self.has_decide_permission(request):
            raise PermissionDenied
        change = get_object_or_404(
            Booking.objects.select_related("studio_set", "change_of__studio_set", "crew").prefetch_related(
                "items__equipment", "change_of__items__equipment"
            ),
            pk=object_id,
            change_of__isnull=False,
        )
        booking = change.change_of
        form = DecisionForm(
            request.POST or None,
            reason_required=decision == "refuse",
            reason_help=_("The crew reads this on the booking page and in the email."),
        )
        if request.method == "POST" and form.is_valid():
            service = (
                services.booking_change_approve if decision == "approve" else services.booking_change_refuse
            )
            reason = form.cleaned_data["reason"]
            try:
                service(change=change, by=request.user, reason=reason)
            except BookingError as exc:
                form.add_error("reason" if exc.field == "reason" else None, str(exc))
            else:
                verb = "Approved" if decision == "approve" else "Refused"
                self.log_change(
                    request, booking, f"{verb} the change {change.reference}: {reason}".strip(": ")
                )
                done = (
                    _("The change to %(ref)s is approved.")
                    if decision == "approve"
                    else _("The change to %(ref)s is refused; the booking stays as it was.")
                )
                messages.success(request, done % {"ref": booking.reference})
                return HttpResponseRedirect(
                    reverse(f"{self.admin_site.name}:bookings_booking_change", args=[booking.pk])
                )
        title = (
            _("Approve the change to %(ref)s") if decision == "approve" else _("Refuse the change to %(ref)s")
        ) % {"ref": booking.reference}
        context = {
            **self._page_context(request, title),
            "form": form,
            "change": change,
            "booking": booking,
            "decision": decision,
        }
        return TemplateResponse(
            request, "admin/bookings/change_decision.html", context, status=400 if form.errors else 200
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = studio_today()
        first_of_month = today.replace(day=1)
        last_of_month = (first_of_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        form = BookingExportForm(
            request.GET or None, initial={"date_from": first_of_month, "date_to": last_of_month}
        )
        if form.is_valid():
            return self._export_csv(DayRange(form.cleaned_data["date_from"], form.cleaned_data["date_to"]))
        context = {**self._page_context(request, _("Export bookings")), "form": form}
        return TemplateResponse(request, "admin/bookings/export.html", context)

    def _export_csv(self, days: DayRange) -> HttpResponse:
        filename = f"bookings-{days.start:%Y-%m-%d}-{days.end:%Y-%m-%d}.csv"
        response = HttpResponse(
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
        response.write("\ufeff")  # the BOM tells Excel the file is UTF-8, so Chinese names survive
        writer = csv.writer(response)
        writer.writerow(
            [
                _("Reference"),
                _("Crew"),
                _("Set"),
                _("First day"),
                _("Last day"),
                _("Days"),
                _("Status"),
                _("Quote total (CNY)"),
                _("Equipment"),
                _("Created at (Asia/Shanghai)"),
            ]
        )
        for b in selectors.bookings_for_export(days=days):
            equipment = "; ".join(f"{item.quantity} × {item.equipment.name}" for item in b.items.all())
            created = timezone.localtime(b.created_at, STUDIO_TZ)
            row = [
                b.reference,
                b.crew.name,
                b.studio_set.name,
                f"{b.start_date:%Y-%m-%d}",
                f"{b.end_date:%Y-%m-%d}",
                b.days.days,
                b.get_status_display(),
                b.quote_total,
                equipment,
                f"{created:%Y-%m-%d %H:%M}",
            ]
            writer.writerow([csv_safe(cell) for cell in row])
        return response


class PlanBookingInline(ReadOnlyInline):
    model = Booking
    fields = ["reference", "studio_set", "start_date", "end_date", "status", "quote_total_cny"]
    related = ("studio_set",)
    show_change_link = True
    quote_total_cny = money_field(Booking, "quote_total")


@admin.register(ShootPlan)
class ShootPlanAdmin(HistoryAdminMixin, RecordOnlyAdmin):
    """Read-only: a plan is the bookings one request made together; the desk decides it as a whole."""

    list_display = [
        "__str__",
        "crew",
        "booking_count",
        "status_summary",
        "created_by",
        "by_desk",
        "created_at",
    ]
    list_filter = ["by_desk"]
    list_select_related = ["crew", "created_by"]
    search_fields = ["crew__name", "bookings__reference"]
    date_hierarchy = "created_at"
    fields = ["crew", "created_by", "by_desk", "created_at"]
    readonly_fields = fields
    inlines = [PlanBookingInline]
    change_form_template = "admin/bookings/shootplan/change_form.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(services.DESK_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        return desk.desk_booking_view(self, request)

    def get_queryset(self, request):
        # A change waiting beside a booking is not a part of the plan.
        part = Q(bookings__change_of__isnull=True)
        per_status = {
            f"{status}_count": Count("bookings", filter=part & Q(bookings__status=status))
            for status in Booking.Status.values
        }
        return (
            super().get_queryset(request).annotate(booking_count=Count("bookings", filter=part), **per_status)
        )

    @admin.display(description=_("bookings"), ordering="booking_count")
    def booking_count(self, obj: ShootPlan) -> int:
        return obj.booking_count

    @admin.display(description=_("status"))
    def status_summary(self, obj: ShootPlan) -> str:
        return ", ".join(
            f"{count} × {label}"
            for status, label in Booking.Status.choices
            if (count := getattr(obj, f"{status}_count", 0))
        )

    # --- deciding the plan as a whole

    DECISIONS = {"confirm": _("Confirm plan"), "reject": _("Reject plan")}

    @staticmethod
    def may_decide(request: HttpRequest) -> bool:
        return request.user.has_perm("bookings.change_booking")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        plan = self.get_object(request, object_id)
        decisions = []
        if (
            plan is not None
            and self.may_decide(request)
            and plan.bookings.filter(status=Booking.Status.REQUESTED).exists()
        ):
            decisions = [
                {
                    "name": name,
                    "label": label,
                    "url": reverse(f"admin:bookings_shootplan_{name}", args=[plan.pk]),
                }
                for name, label in self.DECISIONS.items()
            ]
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "decisions": decisions}
        )

    def decide_view(self, request: HttpRequest, pk: int, decision: str) -> HttpResponse:
        if not self.may_decide(request):
            raise PermissionDenied
        plan = get_object_or_404(self.get_queryset(request), pk=pk)
        change_url = reverse("admin:bookings_shootplan_change", args=[plan.pk])
        parts = list(plan.bookings.select_related("studio_set").order_by("pk"))
        if not any(b.status == Booking.Status.REQUESTED for b in parts):
            messages.error(request, _("No booking of this plan is waiting for a decision."))
            return redirect(change_url)
        form = DecisionForm(
            request.POST if request.method == "POST" else None,
            reason_required=decision == "reject",
            reason_help=_("Required; every part's crew reads it.")
            if decision == "reject"
            else _("Optional; the crew reads it in the email and on the booking page."),
        )
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            service = services.shoot_plan_confirm if decision == "confirm" else services.shoot_plan_reject
            try:
                decided = service(plan=plan, by=request.user, reason=reason)
            except BookingError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                log = "Confirmed with its plan" if decision == "confirm" else "Rejected with its plan"
                for booking in decided:
                    self.log_change(request, booking, f"{log}: {reason}" if reason else log)
                done = (
                    _("Plan confirmed: %(refs)s.") if decision == "confirm" else _("Plan rejected: %(refs)s.")
                )
                messages.success(request, done % {"refs": ", ".join(b.reference for b in decided)})
                return redirect(change_url)
        title = _("Confirm plan %(plan)s") if decision == "confirm" else _("Reject plan %(plan)s")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title % {"plan": plan},
            "form": form,
            "decision": decision,
            "submit_label": self.DECISIONS[decision],
            "bookings": parts,
            "object_label": str(plan),
            "change_url": change_url,
            "plan": plan,
        }
        return TemplateResponse(
            request, "admin/bookings/decide.html", context, status=400 if form.errors else 200
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            *(
                path(
                    f"<int:pk>/{decision}/",
                    self.admin_site.admin_view(self.decide_view),
                    {"decision": decision},
                    name="{}_{}_{}".format(*info, decision),
                )
                for decision in self.DECISIONS
            ),
            *super().get_urls(),
        ]
