"""What every admin page of the studio shares: read-only records, bounded date drill-downs, money columns, CSV cells."""

from datetime import MAXYEAR, MINYEAR, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Max, Min
from django.utils import timezone

from ..money import format_cny

# Participants' private links, passport data and letters (a workshops permission, named here as a string
# because bookings never imports workshops).
PRIVATE_LINKS_PERMISSION = "workshops.view_passport_data"


class DrillDownDatesMixin:
    """``dates()`` / ``datetimes()`` by years and months without reading every row.

    The admin's date drill-down lists the years (or a year's months) that have rows with
    ``SELECT DISTINCT`` over the whole (filtered) table: with ten years of bookings and
    emails that read every row on every visit to the list. Here the first and last date
    come from the index (MIN and MAX), and each year or month between them is one
    indexed ``EXISTS`` over its own date range: a dozen small queries whatever the size
    of the table. Days (inside one month) are left to the admin.
    """

    MAX_YEARS = 60  # a mistyped year 9999 is not a reason for thousands of probes

    def dates(self, field_name, kind, order="ASC"):
        found = self._drill_down(field_name, kind, None)
        return super().dates(field_name, kind, order) if found is None else found

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        found = self._drill_down(field_name, kind, tzinfo or timezone.get_current_timezone())
        return super().datetimes(field_name, kind, order, tzinfo) if found is None else found

    def _drill_down(self, field_name, kind, tzinfo):
        if kind not in ("year", "month"):
            return None
        span = self.aggregate(first=Min(field_name), last=Max(field_name))
        first, last = span["first"], span["last"]
        if first is None:
            return []
        if tzinfo is not None:
            first, last = timezone.localtime(first, tzinfo), timezone.localtime(last, tzinfo)
        if last.year - first.year > self.MAX_YEARS:
            return None
        if kind == "year":
            starts = [date(year, 1, 1) for year in range(first.year, last.year + 1)]
        else:
            starts, month = [], date(first.year, first.month, 1)
            last_day = last.date() if isinstance(last, datetime) else last
            while month <= last_day:
                starts.append(month)
                month = _next_month(month)
        found = []
        for start in starts:
            end = date(start.year + 1, 1, 1) if kind == "year" else _next_month(start)
            lower, upper = (
                (start, end) if tzinfo is None else (_midnight(start, tzinfo), _midnight(end, tzinfo))
            )
            if self.filter(**{f"{field_name}__gte": lower, f"{field_name}__lt": upper}).exists():
                found.append(lower)
        return found


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _midnight(day: date, tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tzinfo)


_DRILL_DOWN_CLASSES: dict[type, type] = {}


def with_drill_down(queryset):
    """``queryset`` as a copy whose ``dates()`` and ``datetimes()`` are DrillDownDatesMixin's."""
    base = type(queryset)
    if issubclass(base, DrillDownDatesMixin):
        return queryset
    cls = _DRILL_DOWN_CLASSES.get(base)
    if cls is None:
        cls = _DRILL_DOWN_CLASSES[base] = type(f"DrillDown{base.__name__}", (DrillDownDatesMixin, base), {})
    clone = queryset._chain()
    clone.__class__ = cls
    return clone


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

    def get_queryset(self, request, exclude_parameters=None):
        # The drill-down above the list asks this queryset for its years and months.
        return with_drill_down(super().get_queryset(request, exclude_parameters))


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
    # A number is written as itself: "-6800.00" is a refund, which a spreadsheet must read as a number.
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
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
