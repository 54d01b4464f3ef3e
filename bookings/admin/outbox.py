"""The email outbox in the admin: what was sent, to whom, and why it failed."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from .. import notifications
from ..models import (
    Notification,
)
from .base import PRIVATE_LINKS_PERMISSION, RecordOnlyAdmin


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
