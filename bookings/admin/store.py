"""The equipment store in the admin: tagged units with their labels, and the counter page where
units are handed to crews and taken back (made for a phone or tablet at the counter)."""

import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hengdian.admin import NamedInputsMixin
from hengdian.headers import permissions_policy_header

from .. import services
from ..images import ReencodedImageFormField
from ..labels import labels_pdf
from ..models import (
    Booking,
    BookingItem,
    Equipment,
    EquipmentUnit,
    Handover,
    KitComponent,
    PlanItem,
    normalize_asset_tag,
)
from ..services import store
from ..translation import in_every_language
from .base import RecordOnlyAdmin, studio_today
from .history import HistoryAdminMixin

TAG_SEPARATORS = re.compile(r"[\s,，、;；]+")


class UnitAdminForm(forms.ModelForm):
    class Meta:
        model = EquipmentUnit
        fields = ["equipment", "asset_tag", "serial_number", "notes"]

    def clean_asset_tag(self):
        return normalize_asset_tag(self.cleaned_data.get("asset_tag", ""))

    def clean_equipment(self):
        equipment = self.cleaned_data["equipment"]
        if not self.instance.pk and KitComponent.objects.filter(kit=equipment).exists():
            raise forms.ValidationError(_("A kit has no units of its own: add the units to its components."))
        return equipment


@admin.register(EquipmentUnit)
class EquipmentUnitAdmin(HistoryAdminMixin, NamedInputsMixin, admin.ModelAdmin):
    form = UnitAdminForm
    list_display = ["asset_tag", "equipment", "serial_number", "status"]
    list_filter = ["status", "equipment"]
    list_select_related = ["equipment"]
    search_fields = ["asset_tag", "serial_number", *in_every_language("equipment__name")]
    actions = ["print_labels", "mark_repaired", "retire"]

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "labels/<int:equipment_pk>/",
                self.admin_site.admin_view(self.kind_labels_view),
                name="{}_{}_labels".format(*info),
            ),
            *super().get_urls(),
        ]

    def kind_labels_view(self, request: HttpRequest, equipment_pk: int) -> HttpResponse:
        """The labels of every unit of one kind that is not retired."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        kind = get_object_or_404(Equipment, pk=equipment_pk)
        return self._labels_response(
            EquipmentUnit.objects.filter(equipment=kind)
            .owned()
            .select_related("equipment")
            .order_by("asset_tag"),
            filename=f"asset-labels-{kind.slug}.pdf",
        )

    def _labels_response(self, units, *, filename: str) -> HttpResponse:
        response = HttpResponse(labels_pdf(units), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def get_readonly_fields(self, request, obj=None):
        # The tag is on the label and the kind decides the stock: both fixed once the unit exists.
        return ["equipment", "asset_tag", "status"] if obj else ["status"]

    def get_fields(self, request, obj=None):
        return ["equipment", "asset_tag", "serial_number", "status", "notes"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # retired, never deleted: its handovers and history stay

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        unit = services.unit_add(
            equipment=obj.equipment,
            asset_tag=obj.asset_tag,
            serial_number=obj.serial_number,
            notes=obj.notes,
            by=request.user,
        )
        obj.pk = unit.pk
        obj._state.adding = False

    @admin.action(description=_("Print QR labels for the selected units"), permissions=["view"])
    def print_labels(self, request, queryset):
        return self._labels_response(
            queryset.select_related("equipment").order_by("equipment__name", "asset_tag"),
            filename="asset-labels.pdf",
        )

    def _each(self, request, queryset, operation, done: str) -> None:
        succeeded = 0
        for unit in queryset.order_by("pk"):
            try:
                operation(unit=unit, by=request.user)
            except services.BookingError as exc:
                self.message_user(request, f"{unit}: {exc}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=_("Mark the selected units repaired"), permissions=["change"])
    def mark_repaired(self, request, queryset):
        self._each(
            request, queryset, services.unit_mark_repaired, gettext("%(count)d units available again.")
        )

    @admin.action(description=_("Retire the selected units"), permissions=["change"])
    def retire(self, request, queryset):
        self._each(request, queryset, services.unit_retire, gettext("%(count)d units retired."))


class HandoverStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("out", _("Out with a crew")), ("overdue", _("Overdue")), ("back", _("Returned"))]

    def queryset(self, request, queryset):
        if self.value() == "out":
            return queryset.filter(returned_at__isnull=True)
        if self.value() == "back":
            return queryset.filter(returned_at__isnull=False)
        if self.value() == "overdue":
            today = studio_today()
            # A part's line after its booking's last day; a whole-plan line after its plan's last
            # confirmed (or completed) part.
            live = (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
            late_items = Q(booking_item__booking__end_date__lt=today, booking_item__booking__status__in=live)
            plan_goes_on = Booking.objects.filter(
                plan_id=OuterRef("plan_item__plan_id"),
                change_of__isnull=True,
                status__in=live,
                end_date__gte=today,
            )
            late_plans = Q(plan_item__isnull=False) & ~Exists(plan_goes_on)
            return queryset.filter(returned_at__isnull=True).filter(late_items | late_plans)
        return queryset


class CheckOutForm(forms.Form):
    line = forms.CharField(widget=forms.HiddenInput)
    asset_tags = forms.CharField(
        label=_("Asset tags"),
        widget=forms.Textarea(attrs={"rows": 2, "autocapitalize": "characters", "autocomplete": "off"}),
        help_text=_("Type or scan each unit's tag; one per line, or separated by spaces."),
    )
    collected_by = forms.TypedChoiceField(
        label=_("Collected by"), required=False, coerce=int, empty_value=None
    )
    collected_by_name = forms.CharField(
        label=_("Or someone else (name)"), required=False, max_length=200, widget=forms.TextInput()
    )

    def __init__(self, *args, members=(), prefix=None, **kwargs):
        super().__init__(*args, prefix=prefix, **kwargs)
        self.members = {m.pk: m for m in members}
        self.fields["collected_by"].choices = [("", _("Someone else (name below)"))] + [
            (m.pk, m.get_full_name() or m.email) for m in members
        ]
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label or ""))

    def clean_asset_tags(self):
        return [t for t in TAG_SEPARATORS.split(self.cleaned_data["asset_tags"]) if t]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("collected_by") and not (cleaned.get("collected_by_name") or "").strip():
            self.add_error("collected_by_name", _("Say who collects: a member of the crew, or a name."))
        return cleaned


class ReturnForm(forms.Form):
    asset_tag = forms.CharField(
        label=_("Asset tag"),
        max_length=31,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    condition = forms.ChoiceField(
        label=_("Condition"), choices=Handover.Condition.choices, widget=forms.RadioSelect, initial="ok"
    )
    return_note = forms.CharField(
        label=_("What is damaged"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    return_photo = ReencodedImageFormField(label=_("Photo of the damage"), required=False)

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("condition") == Handover.Condition.DAMAGED
            and not (cleaned.get("return_note") or "").strip()
        ):
            self.add_error("return_note", _("Say what is damaged."))
        return cleaned


@admin.register(Handover)
class HandoverAdmin(HistoryAdminMixin, RecordOnlyAdmin):
    list_display = [
        "unit",
        "line_reference",
        "collected_by_name",
        "handed_out_at",
        "returned_at",
        "condition",
    ]
    list_filter = [HandoverStateFilter, "condition"]
    list_select_related = ["unit", "booking_item__booking", "plan_item__plan"]
    search_fields = [
        "unit__asset_tag",
        "collected_by_name",
        "booking_item__booking__reference",
        "plan_item__plan__reference",
    ]
    date_hierarchy = "handed_out_at"
    fields = [
        "unit",
        "booking_item",
        "plan_item",
        "handed_out_at",
        "handed_out_by",
        "collected_by",
        "collected_by_name",
        "returned_at",
        "returned_by",
        "condition",
        "return_note",
        "return_photo",
    ]
    readonly_fields = fields

    @admin.display(description=_("booking"))
    def line_reference(self, obj: Handover) -> str:
        return obj.booking_item.booking.reference if obj.booking_item_id else obj.plan_item.plan.reference

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("store/", self.admin_site.admin_view(self.store_view), name="{}_{}_store".format(*info)),
            *super().get_urls(),
        ]

    # --- The counter page -------------------------------------------------------------

    def _line(self, key: str):
        kind, _sep, pk = key.partition("-")
        model = {"item": BookingItem, "planitem": PlanItem}.get(kind)
        if model is None or not pk.isdigit():
            return None
        return model.objects.filter(pk=int(pk)).first()

    def store_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = studio_today()
        bound: dict[str, CheckOutForm] = {}
        return_form = ReturnForm(prefix="return")
        if request.method == "POST":
            action = request.POST.get("action")
            if action == "return":
                if not request.user.has_perm("bookings.change_handover"):
                    raise PermissionDenied
                return_form = ReturnForm(request.POST, request.FILES, prefix="return")
                if return_form.is_valid() and self._take_back(request, return_form):
                    return redirect(request.path)
            elif action == "check-out":
                if not request.user.has_perm("bookings.add_handover"):
                    raise PermissionDenied
                key = request.POST.get("line", "")
                line = self._line(key)
                if line is None:
                    messages.error(request, gettext("That equipment line no longer exists; reload the page."))
                    return redirect(request.path)
                crew = line.booking.crew if isinstance(line, BookingItem) else line.plan.crew
                members = list(crew.members.filter(is_active=True).order_by("first_name", "pk"))
                form = CheckOutForm(request.POST, members=members, prefix=key)
                form.data = form.data.copy()
                form.data[f"{key}-line"] = key
                if form.is_valid() and self._hand_out(request, form, line):
                    return redirect(f"{request.path}#line-{key}")
                bound[key] = form
            elif action == "repaired":
                if not request.user.has_perm("bookings.change_equipmentunit"):
                    raise PermissionDenied
                self._repaired(request, request.POST.get("unit", ""))
                return redirect(f"{request.path}#in-repair")
            else:
                return HttpResponse(gettext("Unknown action."), status=400)
        cards = store.store_day(today=today)
        for card in cards:
            for line in card.lines:
                line.form = bound.get(line.key) or CheckOutForm(
                    members=card.members, prefix=line.key, initial={"line": line.key}
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Equipment store"),
            "today": today,
            "cards": cards,
            "return_form": return_form,
            "can_hand_out": request.user.has_perm("bookings.add_handover"),
            "can_take_back": request.user.has_perm("bookings.change_handover"),
            "in_repair": store.units_in_repair(),
            "can_repair": request.user.has_perm("bookings.change_equipmentunit"),
        }
        response = TemplateResponse(request, "admin/bookings/store.html", context)
        # The one page that may use the camera: to scan asset tags (the rest of the site may not).
        response.headers["Permissions-Policy"] = permissions_policy_header(
            {**settings.PERMISSIONS_POLICY, "camera": ["self"]}
        )
        return response

    def _hand_out(self, request: HttpRequest, form: CheckOutForm, line) -> bool:
        data = form.cleaned_data
        try:
            made = services.handover_check_out(
                line=line,
                asset_tags=data["asset_tags"],
                collected_by=form.members.get(data["collected_by"]) if data["collected_by"] else None,
                collected_by_name=data["collected_by_name"] or "",
                by=request.user,
            )
        except services.BookingError as exc:
            # A line that cannot be served (not confirmed, not its days) is said above the form.
            field = exc.field if exc.field in form.fields and exc.field != "line" else None
            form.add_error(field, str(exc))
            return False
        messages.success(
            request,
            gettext("Handed out %(tags)s to %(name)s.")
            % {"tags": ", ".join(h.unit.asset_tag for h in made), "name": made[0].collected_by_name},
        )
        return True

    def _repaired(self, request: HttpRequest, pk: str) -> None:
        unit = EquipmentUnit.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
        if unit is None:
            messages.error(request, gettext("That unit no longer exists; reload the page."))
            return
        try:
            services.unit_mark_repaired(unit=unit, by=request.user)
        except services.BookingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, gettext("%(tag)s is available again.") % {"tag": unit.asset_tag})

    def _take_back(self, request: HttpRequest, form: ReturnForm) -> bool:
        data = form.cleaned_data
        try:
            handover = services.handover_return(
                asset_tag=data["asset_tag"],
                condition=data["condition"],
                note=data["return_note"],
                photo=data.get("return_photo"),
                by=request.user,
            )
        except services.BookingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            return False
        if handover.condition == Handover.Condition.DAMAGED:
            messages.warning(
                request,
                gettext("%(tag)s taken back damaged; it is in repair and not booked until marked repaired.")
                % {"tag": handover.unit.asset_tag},
            )
            if handover.short_bookings:
                messages.warning(
                    request,
                    gettext("Now short of units, the booking desk has been told: %(refs)s")
                    % {"refs": ", ".join(b.reference for b in handover.short_bookings)},
                )
        else:
            messages.success(request, gettext("%(tag)s taken back.") % {"tag": handover.unit.asset_tag})
        return True
