"""The catalogue in the admin: sets and their photos, equipment kinds, blackouts, each in every language."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from hengdian.admin import NamedInputsMixin

from .. import selectors, services
from ..models import (
    REPAIR_OPEN_END,
    Blackout,
    DayRange,
    Equipment,
    EquipmentUnit,
    Handover,
    KitComponent,
    SetPhoto,
    StudioSet,
)
from ..translation import in_every_language
from .base import BoundedDateHierarchyMixin, money_field
from .history import HistoryAdminMixin


class SetPhotoInline(NamedInputsMixin, admin.TabularInline):
    model = SetPhoto
    extra = 1
    fields = ["image", "caption", "position"]


@admin.register(StudioSet)
class StudioSetAdmin(HistoryAdminMixin, TranslationAdmin):
    inlines = [SetPhotoInline]
    list_display = ["name", "category", "daily_rate_cny", "changeover_days", "vertical_ready", "is_active"]
    list_filter = ["category", "vertical_ready", "is_active"]
    search_fields = in_every_language("name", "description", "features", "location")
    prepopulated_fields = {"slug": ["name"]}
    daily_rate_cny = money_field(StudioSet, "daily_rate")

    LOCATIONS = ("location_en", "location_zh_hans", "location_es")

    def save_model(self, request, obj, form, change) -> None:
        """A new "where to go" is emailed to the crews of the set's coming confirmed bookings."""
        moved = change and set(form.changed_data) & set(self.LOCATIONS)
        before = {name.removeprefix("location_"): form.initial.get(name) or "" for name in self.LOCATIONS}
        super().save_model(request, obj, form, change)
        if moved:
            told = services.studio_set_location_tell_crews(studio_set=obj, before=before)
            if told:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d crew member with a coming booking was emailed where to go.",
                        "%(count)d crew members with coming bookings were emailed where to go.",
                        told,
                    )
                    % {"count": told},
                    level=messages.SUCCESS,
                )


# The prefix of the components inline's fields in the equipment form's POST data.
KIT_PREFIX = "components"


class EquipmentAdminForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kit_pricing" in self.fields:
            # Only a kit's price follows it: a form that leaves it out keeps what the kind had.
            self.fields["kit_pricing"].required = False
            self.fields["kit_pricing"].help_text = _("Only for a kit, a kind with components (below).")
        if "stock" in self.fields and self.instance.pk and self.instance.is_kit:
            self.fields["stock"].help_text = _(
                "A kit owns no units: how many kits can be booked follows from its components' stock."
            )

    def clean_kit_pricing(self) -> str:
        return self.cleaned_data.get("kit_pricing") or self.instance.kit_pricing

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

    def clean(self):
        cleaned = super().clean()
        self._clean_tracking(cleaned)
        if cleaned.get("tracks_units") and self._kit_once_saved():
            self.add_error(
                "tracks_units",
                forms.ValidationError(
                    _(
                        "A kit has no units of its own: its components track theirs. Untick this, or remove the components."
                    ),
                    code="kit",
                ),
            )
        return cleaned

    def _clean_tracking(self, cleaned: dict) -> None:
        """A kind that tracks units owns exactly its units that are not retired: ticking the box
        makes the stock that count (never below what crews hold), and unticking it is refused
        while units are out. The admin saves in the same transaction, so the row stays locked."""
        if "tracks_units" not in cleaned or self.errors.get("stock"):
            return
        tracks, tracked = cleaned["tracks_units"], bool(self.instance.pk and self.instance.tracks_units)
        if not tracks and not tracked:
            return
        if not tracks:
            if Handover.objects.out().filter(unit__equipment=self.instance).exists():
                self.add_error(
                    "tracks_units",
                    _("Units of this kind are out with crews: take them back before tracking stops."),
                )
            return
        owned = (
            EquipmentUnit.objects.filter(equipment_id=self.instance.pk).owned().count()
            if self.instance.pk
            else 0
        )
        if not tracked and self.instance.pk:
            try:
                services.equipment_check_stock(equipment=self.instance, stock=owned)
            except services.BookingError as exc:
                self.add_error("tracks_units", forms.ValidationError(str(exc), code="held"))
                return
        cleaned["stock"] = owned

    def _kit_once_saved(self) -> bool:
        """Whether the kind has components once saved, as the components inline posts them (the
        inline checks its own rows). Posted without the inline, the kind stays as it is."""
        try:
            total = int(self.data.get(f"{KIT_PREFIX}-TOTAL_FORMS", ""))
        except ValueError:
            return bool(self.instance.pk) and self.instance.is_kit
        return any(
            self.data.get(f"{KIT_PREFIX}-{i}-component") and not self.data.get(f"{KIT_PREFIX}-{i}-DELETE")
            for i in range(min(total, 1000))
        )


class KitComponentForm(forms.ModelForm):
    class Meta:
        model = KitComponent
        fields = ["component", "quantity"]

    def clean_component(self) -> Equipment:
        component = self.cleaned_data["component"]
        if component.pk == self.instance.kit_id:
            raise forms.ValidationError(_("A kit cannot contain itself."), code="itself")
        # One level only: every check follows a kit to its components and no further.
        if KitComponent.objects.filter(kit=component).exists():
            raise forms.ValidationError(
                _("%(item)s is a kit itself: add what it is made of instead.") % {"item": component},
                code="kit_in_kit",
            )
        return component


class KitComponentFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            # The table's "Delete?" heading is no label: name each row's box for screen readers.
            form.fields["DELETE"].widget.attrs["aria-label"] = gettext("Remove from the kit")

    def clean(self):
        super().clean()
        if any(self.errors) or not self.instance.pk:
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data.get("component") and not form.cleaned_data.get("DELETE")
        ]
        containing = list(Equipment.objects.filter(components__component=self.instance).order_by("pk"))
        if kept and containing:
            kept[0].add_error(
                "component",
                forms.ValidationError(
                    gettext("%(item)s goes in %(kits)s, so it cannot be a kit itself.")
                    % {"item": self.instance, "kits": ", ".join(str(kit) for kit in containing)},
                    code="kit_in_kit",
                ),
            )


class KitComponentInline(NamedInputsMixin, admin.TabularInline):
    """What a kit is made of: booking one kit holds these units of each component."""

    model = KitComponent
    fk_name = "kit"
    form = KitComponentForm
    formset = KitComponentFormSet
    fields = ["component", "quantity"]
    extra = 0


@admin.register(Equipment)
class EquipmentAdmin(HistoryAdminMixin, TranslationAdmin):
    form = EquipmentAdminForm
    inlines = [KitComponentInline]
    list_display = ["name", "category", "daily_rate_cny", "stock", "tracks_units", "is_active"]
    list_filter = ["category", "tracks_units", "is_active"]
    search_fields = in_every_language("name", "description")
    prepopulated_fields = {"slug": ["name"]}
    daily_rate_cny = money_field(Equipment, "daily_rate")

    def get_readonly_fields(self, request, obj=None):
        # Counted from the units (added, retired on the units' pages), never typed in.
        fields = ["stock"] if obj is not None and obj.tracks_units else []
        return [*fields, "tagged_units"] if obj is not None and not obj.is_kit else fields

    @admin.display(description=_("tagged units"))
    def tagged_units(self, obj: Equipment) -> str:
        owned = obj.units.owned().count()
        units = reverse("admin:bookings_equipmentunit_changelist") + f"?equipment__id__exact={obj.pk}"
        if not owned:
            return format_html('<a href="{}">{}</a>', units, gettext("No units yet"))
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            units,
            ngettext("%(count)d unit", "%(count)d units", owned) % {"count": owned},
            reverse("admin:bookings_equipmentunit_labels", args=[obj.pk]),
            gettext("Print their QR labels (PDF)"),
        )


class BlackoutAdminForm(forms.ModelForm):
    close_over_bookings = forms.BooleanField(
        label=_("Close anyway"),
        required=False,
        help_text=_(
            "Only when the days are held by crews: tick it once you have told them. Their bookings stay as they are."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "reason" in self.fields:
            # A unit goes to repair from the store's counter, never as a blackout typed in here.
            self.fields["reason"].choices = [
                choice for choice in self.fields["reason"].choices if choice[0] != Blackout.Reason.REPAIR
            ]

    def clean_equipment(self) -> Equipment | None:
        equipment = self.cleaned_data.get("equipment")
        if equipment is not None and equipment.is_kit:
            raise forms.ValidationError(
                _("A kit owns no units: close what it is made of instead."), code="kit"
            )
        return equipment

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
        # Kept for the save: the crews are emailed, about the bookings as they were before it.
        self.clashes = clashes
        if clashes and not cleaned.get("close_over_bookings"):
            references = ", ".join(f"{b.reference} ({b.crew.name})" for b in clashes[:10])
            self.add_error(
                "close_over_bookings",
                ngettext(
                    "%(count)d booking holds these days: %(refs)s. Tick “Close anyway” to save; its crew is emailed.",
                    "%(count)d bookings hold these days: %(refs)s. Tick “Close anyway” to save; their crews are emailed.",
                    len(clashes),
                )
                % {"count": len(clashes), "refs": references + (" …" if len(clashes) > 10 else "")},
            )
        return cleaned


@admin.register(Blackout)
class BlackoutAdmin(HistoryAdminMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    form = BlackoutAdminForm
    list_display = ["start_date", "last_day", "studio_set", "equipment", "units", "reason", "note"]
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

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        clashes = getattr(form, "clashes", [])
        if clashes and services.blackout_tell_crews(blackout=obj, bookings=clashes):
            self.message_user(
                request,
                ngettext(
                    "The crew of %(count)d booking was emailed.",
                    "The crews of %(count)d bookings were emailed.",
                    len(clashes),
                )
                % {"count": len(clashes)},
                level=messages.SUCCESS,
            )

    @admin.display(description=_("last day"), ordering="end_date")
    def last_day(self, obj: Blackout) -> str:
        if obj.unit_id is not None and obj.end_date == REPAIR_OPEN_END:
            return gettext("until repaired")
        return date_format(obj.end_date, "DATE_FORMAT")

    # A unit's repair is kept by the store (taken back damaged, marked repaired): shown, never edited.
    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.unit_id)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.unit_id)
