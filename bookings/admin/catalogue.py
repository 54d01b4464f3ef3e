"""The catalogue in the admin: sets and their photos, equipment kinds, blackouts, each in every language."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin

from hengdian.admin import NamedInputsMixin

from .. import selectors, services
from ..models import (
    Blackout,
    DayRange,
    Equipment,
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
