"""The admin's History page for tracked models: who changed what, when and why, field by field.

Read-only by design. simple-history can roll a row back to an earlier
version from the admin; that would bypass the services (availability,
capacity, the crew's emails), so the per-version form and its URL are gone
and the page only lists. Nobody can delete historical rows: their models
are not registered in the admin at all.
"""

from datetime import date, datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

# Entries Django's own admin log holds for an object, shown under the field history.
ADMIN_LOG_LIMIT = 100


class _ReadableChanges(HistoricalRecordContextHelper):
    """Diff values as staff read them: choice labels, not codes; times in the studio's time zone."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, datetime):
            return date_format(timezone.localtime(value), "DATETIME_FORMAT")
        if isinstance(value, date):
            return date_format(value, "DATE_FORMAT")
        return super().prepare_delta_change_value(change, value)


class HistoryAdminMixin(SimpleHistoryAdmin):
    """Put first in an admin's bases: ``class StudioSetAdmin(HistoryAdminMixin, TranslationAdmin)``."""

    object_history_template = "admin/history/object_history.html"
    object_history_list_template = "admin/history/object_history_list.html"
    history_list_per_page = 50

    def get_urls(self):
        # Skips SimpleHistoryAdmin's per-version form (a revert form); keeps every other admin's URLs.
        return super(SimpleHistoryAdmin, self).get_urls()

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        raise PermissionDenied

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def has_change_history_permission(self, request, obj=None) -> bool:
        return False

    def has_view_history_permission(self, request, obj=None) -> bool:
        return self.has_view_or_change_permission(request, obj)

    def has_view_history_or_change_history_permission(self, request, obj=None) -> bool:
        return self.has_view_history_permission(request, obj)

    def get_historical_record_context_helper(self, request, historical_record):
        return _ReadableChanges(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        # Entries from before the field history existed, and admin actions, stay visible.
        admin_log = (
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(self.model, for_concrete_model=False),
                object_id=str(object_id),
            )
            .select_related("user")
            .order_by("-action_time", "-pk")[:ADMIN_LOG_LIMIT]
        )
        return super().history_view(request, object_id, {"admin_log": admin_log, **(extra_context or {})})
