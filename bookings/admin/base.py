"""What every admin page of the studio shares: read-only records, bounded date drill-downs, money columns, CSV cells."""

from datetime import MAXYEAR, MINYEAR, date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.utils import timezone

from ..money import format_cny

# Participants' private links, passport data and letters (a workshops permission, named here as a string
# because bookings never imports workshops).
PRIVATE_LINKS_PERMISSION = "workshops.view_passport_data"


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
    """For every admin with a ``date_hierarchy``: the tables that grow with the years."""

    # A page of a table with years of rows in it, and no count of the whole table on every
    # filtered page ("3 results (100,000 total)"): the filtered count is all staff need.
    list_per_page = 50
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return BoundedDateChangeList


def money_field(model, field: str):
    """An admin column or read-only field showing an amount as every page does (¥121,800.00);
    the admin's own display of a DecimalField groups nothing (121800.00)."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def display(self, obj) -> str:
        return format_cny(getattr(obj, field))

    return display


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
