import csv
from collections.abc import Callable
from datetime import MAXYEAR, MINYEAR, date, timedelta
from zoneinfo import ZoneInfo

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from modeltranslation.admin import TranslationAdmin

from hengdian.admin import NamedInputsMixin

from . import desk, emails, notifications, selectors, services
from .decision_forms import DecisionForm, StaffCancelForm
from .fees import booking_cancellation_fee, fee_policy
from .history_admin import HistoryAdminMixin
from .models import (
    Blackout,
    Booking,
    BookingItem,
    Crew,
    DayRange,
    Equipment,
    Notification,
    SetPhoto,
    ShootPlan,
    StudioSet,
    User,
)
from .money import format_cny
from .services import BookingError
from .translation import in_every_language
from .widgets import DateInput

# Participants' private links, passport data and letters (a workshops permission, named here as a string
# because bookings never imports workshops).
PRIVATE_LINKS_PERMISSION = "workshops.view_passport_data"


# Fields that grant or reveal access: only a superuser sees or changes them.
ACCESS_FIELDS = ("password", "is_staff", "is_superuser", "groups", "user_permissions")


class CrewMemberAdminForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "language", "is_active"]


class BoundedDateChangeList(ChangeList):
    """The change list, with the date drill-down kept inside the calendar.

    The admin works out the end of the year, month or day drilled into by itself; for
    December 9999 that is past ``date.max`` (an OverflowError, so a 500), and near year 1
    the time-zone conversion is. A year outside 2–9998 is refused the way the admin
    refuses any filter it cannot apply: back to the whole list, flagged with ``?e=1``.
    """

    def get_filters(self, request):
        years = self.filter_params.get(f"{self.date_hierarchy}__year") if self.date_hierarchy else None
        if years:
            try:
                year = int(years[-1])
            except ValueError as exc:
                raise IncorrectLookupParameters(exc) from exc
            if not MINYEAR < year < MAXYEAR:
                raise IncorrectLookupParameters(f"year {year} is out of range")
        return super().get_filters(request)


class BoundedDateHierarchyMixin:
    """For every admin with a ``date_hierarchy``."""

    def get_changelist(self, request, **kwargs):
        return BoundedDateChangeList


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People who log in. Staff accounts and everything that grants access are the superuser's.

    Staff with the user permissions (the booking desk) see crew members only,
    and may correct names and language or switch an account off; they cannot
    change an address, a crew, a password or a permission, which would let
    them take over or escalate an account.
    """

    ordering = ["email"]
    list_display = ["email", "first_name", "crew", "crew_role", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "crew_role", "language"]
    search_fields = ["email", "first_name", "last_name", "crew__name"]
    list_select_related = ["crew"]
    autocomplete_fields = ["crew"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "language")}),
        (_("Crew"), {"fields": ("crew", "crew_role")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None and not request.user.is_superuser:
            # Not Django's UserChangeForm, whose password field links to setting a new one.
            kwargs["form"] = CrewMemberAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(is_staff=False, is_superuser=False)
        return queryset

    def get_fieldsets(self, request, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in ACCESS_FIELDS]})
            for name, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["last_login", "date_joined"]
        return ["email", "crew", "crew_role", "last_login", "date_joined"]

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else ["is_active", "crew_role", "language"]

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


class MemberInline(NamedInputsMixin, admin.TabularInline):
    model = User
    fields = ["email", "first_name", "crew_role", "is_active", "last_login"]
    readonly_fields = ["email", "first_name", "last_login"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Crew)
class CrewAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    view_on_site = False  # the crew page is the crew's own, not a public page
    list_display = ["name", "country", "contact_phone", "member_count", "created_at"]
    list_filter = ["country"]
    search_fields = ["name", "contact_phone", "members__email"]
    date_hierarchy = "created_at"
    inlines = [MemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj: Crew) -> int:
        return obj.member_count


class SetPhotoInline(NamedInputsMixin, admin.TabularInline):
    model = SetPhoto
    extra = 1
    fields = ["image", "caption", "position"]


def money_field(model, field: str):
    """An admin column or read-only field showing an amount as every page does (¥121,800.00);
    the admin's own display of a DecimalField groups nothing (121800.00)."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def display(self, obj) -> str:
        return format_cny(getattr(obj, field))

    return display


@admin.register(StudioSet)
class StudioSetAdmin(HistoryAdminMixin, TranslationAdmin):
    inlines = [SetPhotoInline]
    list_display = ["name", "category", "daily_rate_cny", "changeover_days", "vertical_ready", "is_active"]
    list_filter = ["category", "vertical_ready", "is_active"]
    search_fields = in_every_language("name", "description", "features", "location")
    prepopulated_fields = {"slug": ["name"]}
    daily_rate_cny = money_field(StudioSet, "daily_rate")


class EquipmentAdminForm(forms.ModelForm):
    def clean_stock(self):
        stock = self.cleaned_data["stock"]
        if self.instance.pk and stock is not None and stock < self.instance.stock:
            # The admin saves in the same transaction, so the row stays locked until the new stock
            # is written: no request can take the units in between.
            try:
                services.equipment_check_stock(equipment=self.instance, stock=stock)
            except services.BookingError as exc:
                raise forms.ValidationError(str(exc), code="held") from exc
        return stock


@admin.register(Equipment)
class EquipmentAdmin(HistoryAdminMixin, TranslationAdmin):
    form = EquipmentAdminForm
    list_display = ["name", "category", "daily_rate_cny", "stock", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = in_every_language("name", "description")
    prepopulated_fields = {"slug": ["name"]}
    daily_rate_cny = money_field(Equipment, "daily_rate")


class BlackoutAdminForm(forms.ModelForm):
    close_over_bookings = forms.BooleanField(
        label=_("Close anyway"),
        required=False,
        help_text=_(
            "Only when the days are held by crews: tick it once you have told them. Their bookings stay as they are."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if self.errors or not start or not end or end < start:
            return cleaned
        clashes = selectors.bookings_under_blackout(
            days=DayRange(start, end),
            studio_set=cleaned.get("studio_set"),
            equipment=cleaned.get("equipment"),
            units=cleaned.get("units") or 0,
            exclude=self.instance,
        )
        if clashes and not cleaned.get("close_over_bookings"):
            references = ", ".join(f"{b.reference} ({b.crew.name})" for b in clashes[:10])
            self.add_error(
                "close_over_bookings",
                ngettext(
                    "%(count)d booking holds these days: %(refs)s. Tell the crew, then tick “Close anyway” to save.",
                    "%(count)d bookings hold these days: %(refs)s. Tell the crews, then tick “Close anyway” to save.",
                    len(clashes),
                )
                % {"count": len(clashes), "refs": references + (" …" if len(clashes) > 10 else "")},
            )
        return cleaned


@admin.register(Blackout)
class BlackoutAdmin(HistoryAdminMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    form = BlackoutAdminForm
    list_display = ["start_date", "end_date", "studio_set", "equipment", "units", "reason", "note"]
    list_filter = ["reason", "studio_set", "equipment"]
    list_select_related = ["studio_set", "equipment"]
    search_fields = [*in_every_language("studio_set__name", "equipment__name"), "note"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["studio_set", "equipment"]
    fields = [
        "studio_set",
        "equipment",
        "units",
        "start_date",
        "end_date",
        "reason",
        "note",
        "close_over_bookings",
    ]


# --- Bookings -------------------------------------------------------------------

STUDIO_TZ = ZoneInfo(settings.TIME_ZONE)  # shoot days and timestamps are the studio's


def studio_today() -> date:
    return timezone.localdate(timezone=STUDIO_TZ)


class ReadOnlyInline(admin.TabularInline):
    """Rows shown for reference; they change only through the services."""

    extra = 0
    can_delete = False
    related: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.related)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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


class ChangeDecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("The crew reads this on the booking page and in the email."),
    )

    def __init__(self, *args, reason_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        if reason_required:
            self.fields["reason"].error_messages["required"] = _("Say why; the crew reads it.")


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


# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class RecordOnlyAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    """A record staff may read but never add, edit or delete here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
            fieldsets = ((_("Changes asked for by the crew"), {"fields": ("change_panel",)}), *fieldsets)
        return fieldsets

    @admin.display(description=_("changes"))
    def change_panel(self, obj: Booking) -> str:
        """The change waiting for a decision (with its buttons), and those already decided."""
        if obj.change_of_id:
            return format_html(
                '{} <a href="{}">{}</a>',
                _("This is a change asked for booking"),
                reverse("admin:bookings_booking_change", args=[obj.change_of_id]),
                obj.change_of.reference,
            )
        rows = []
        for change in obj.changes.select_related("studio_set", "decided_by").order_by("-created_at"):
            buttons = ""
            if change.status == Booking.Status.CHANGE:
                buttons = format_html(
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
                    buttons,
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

    def occupancy_view(self, request: HttpRequest) -> HttpResponse:
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
        grid = selectors.occupancy_grid(start=window["start"], days=days)
        url = reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_occupancy")

        def link(start: date) -> str:
            return f"{url}?{urlencode({'start': start.isoformat(), 'weeks': window['weeks']})}"

        context = {
            **self._page_context(request, _("Set occupancy")),
            "form": form,
            "window_errors": window_errors,
            "grid": grid,
            "today": today,
            "weeks": window["weeks"],
            "previous_url": link(window["start"] - timedelta(days=days)),
            "next_url": link(window["start"] + timedelta(days=days)),
            "today_url": link(today),
        }
        return TemplateResponse(request, "admin/bookings/occupancy.html", context)

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
        form = ChangeDecisionForm(request.POST or None, reason_required=decision == "refuse")
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
        return TemplateResponse(request, "admin/bookings/change_decision.html", context)

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


# --- Outbox ---------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(RecordOnlyAdmin):
    """The email outbox: what was sent, what is waiting, what failed and why.

    Messages are written by the services and sent by the workers; staff only
    read them here and may retry one that failed.
    """

    # Fits a 1366 px screen beside the admin's menu and filters: a long subject or address is cut
    # short with "…" (the whole text in its tooltip), times are short; the row's page has the rest.
    # The kind is in the subject and the filters; attempts show beside the status once there were any.
    list_display = ["subject_line", "recipient_line", "status_line", "created"]
    list_display_links = ["subject_line"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "dedupe_key"]
    date_hierarchy = "created_at"
    actions = ["retry_selected"]
    fieldsets = (
        (
            None,
            {"fields": ("kind", "recipient", "language", "dedupe_key", "booking", "enrolment", "account")},
        ),
        (
            _("Delivery"),
            {
                "fields": (
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "claimed_at",
                    "sent_at",
                    "last_error",
                    "created_at",
                )
            },
        ),
        (_("Message"), {"fields": ("preview",)}),
    )
    # Nothing in the outbox is edited by hand: every field shown is read-only.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("booking", "enrolment", "account")

    @admin.display(description=_("subject"), ordering="subject")
    def subject_line(self, obj: Notification) -> str:
        return format_html('<span class="outbox-cut" title="{}">{}</span>', obj.subject, obj.subject)

    @admin.display(description=_("recipient"), ordering="recipient")
    def recipient_line(self, obj: Notification) -> str:
        return format_html('<span class="outbox-cut" title="{}">{}</span>', obj.recipient, obj.recipient)

    @admin.display(description=_("status"), ordering="status")
    def status_line(self, obj: Notification) -> str:
        if not obj.attempts:
            return obj.get_status_display()
        return ngettext("%(status)s (%(count)d attempt)", "%(status)s (%(count)d attempts)", obj.attempts) % {
            "status": obj.get_status_display(),
            "count": obj.attempts,
        }

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj: Notification) -> str:
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    def has_retry_permission(self, request) -> bool:
        """Retrying needs the model's change permission, though the record itself is never edited."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @staticmethod
    def sees_private_links(request: HttpRequest) -> bool:
        # A participant's manage link is their only credential: it opens their
        # enrolment and their letter (passport data), so it is the visa officer's.
        return request.user.has_perm(PRIVATE_LINKS_PERMISSION)

    @staticmethod
    def shown(obj: Notification, text: str, *, mask: bool, html: bool = False) -> str:
        """``text`` as staff may read it here."""
        # A set-password link is made only when the email is sent; the row, and so this page, never holds it.
        placeholder = str(_("[link made when the email is sent]"))
        text = text.replace(notifications.SEND_TIME_LINK, escape(placeholder) if html else placeholder)
        token = obj.enrolment.manage_token if mask and obj.enrolment_id else ""
        return text.replace(token, gettext("[private link hidden]")) if token else text

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def get_fieldsets(self, request, obj=None):
        preview = "preview" if self.sees_private_links(request) else "preview_masked"
        return [*self.fieldsets[:-1], (_("Message"), {"fields": (preview,)})]

    def _preview(self, obj: Notification, *, mask: bool) -> str:
        text = self.shown(obj, obj.body_text, mask=mask)
        # The HTML part is shown from its own URL, in a sandboxed frame with its
        # own Content-Security-Policy: no scripts, no forms, no same origin.
        html = (
            format_html(
                '<iframe sandbox src="{}" title="{}" class="outbox-preview"></iframe>',
                reverse("admin:bookings_notification_body", args=[obj.pk]),
                _("HTML version"),
            )
            if obj.body_html
            else format_html("<p>{}</p>", _("No HTML version."))
        )
        return format_html(
            '<p><strong>{}</strong></p><pre class="outbox-text">{}</pre>{}', obj.subject, text, html
        )

    @admin.display(description=_("preview"))
    def preview(self, obj: Notification) -> str:
        return self._preview(obj, mask=False)

    @admin.display(description=_("preview"))
    def preview_masked(self, obj: Notification) -> str:
        return self._preview(obj, mask=True)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<int:pk>/body.html",
                self.admin_site.admin_view(self.body_view),
                name="{}_{}_body".format(*info),
            ),
            *super().get_urls(),
        ]

    @method_decorator(xframe_options_sameorigin)
    def body_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The HTML part of one email, for the preview frame only."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        notification = get_object_or_404(self.get_queryset(request), pk=pk)
        body = self.shown(
            notification, notification.body_html, mask=not self.sees_private_links(request), html=True
        )
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        # Emails style themselves inline; nothing else may load or run, and
        # only the admin may frame it.
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
        )
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.action(description=_("Retry selected failed notifications"), permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset) -> None:
        retried = skipped = 0
        for notification in queryset.order_by("pk"):
            if notifications.notification_retry(notification=notification):
                self.log_change(request, notification, "Retried")
                retried += 1
            else:
                skipped += 1
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification queued to be sent again.",
                    "%(count)d notifications queued to be sent again.",
                    retried,
                )
                % {"count": retried},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification was skipped: only failed notifications can be retried.",
                    "%(count)d notifications were skipped: only failed notifications can be retried.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


# --- Installed apps' lists --------------------------------------------------------

# django-axes' lock-out lists have a date drill-down too, with the same overflow.
for _model in (AccessAttempt, AccessFailureLog, AccessLog):
    if admin.site.is_registered(_model):
        _admin_class = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(
            _model, type(_admin_class.__name__, (BoundedDateHierarchyMixin, _admin_class), {})
        )
