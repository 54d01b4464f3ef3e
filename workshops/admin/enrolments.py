"""The International Business Department's admin for workshops, sessions and enrolments.

Places change only through ``services``: the admin never writes an enrolment's
status itself, so capacity, the waiting list and the participant's emails stay
consistent whether a change comes from the public form, a task or staff.
"""

import csv
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter
from modeltranslation.admin import TranslationAdmin, TranslationStackedInline

from bookings.admin import (
    PRIVATE_LINKS_PERMISSION,
    STUDIO_TZ,
    BoundedDateHierarchyMixin,
    ReadOnlyInline,
    RecordOnlyAdmin,
    csv_safe,
    money_field,
    studio_today,
)
from bookings.admin.history import HistoryAdminMixin
from bookings.models import Notification
from bookings.money import format_cny
from bookings.translation import in_every_language
from hengdian.admin import NamedInputsMixin

from .. import desk, selectors, services
from ..forms import PASSPORT_FIELDS
from ..models import (
    LETTER_DELETED,
    Enrolment,
    InvitationLetter,
    PlacePayment,
    PlacePaymentState,
    Session,
    Workshop,
)
from .checkin import checkin_view

logger = logging.getLogger(__name__)


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _cancel_if_called_off(model_admin: admin.ModelAdmin, request: HttpRequest, session: Session) -> None:
    """A session set to cancelled in the admin cancels its places and tells everyone on it."""
    if session.status != Session.Status.CANCELLED:
        return
    cancelled = services.session_cancel(session=session, by=request.user)
    if cancelled:
        model_admin.message_user(
            request,
            ngettext(
                "%(count)d person's enrolment was cancelled and they were emailed.",
                "%(count)d people's enrolments were cancelled and they were emailed.",
                len(cancelled),
            )
            % {"count": len(cancelled)},
            level=messages.WARNING,
        )


# What participants are told about when it changes: the dates and the venue (in any language).
ANNOUNCED = ("starts_at", "ends_at", "venue_en", "venue_zh_hans", "venue_es")


def _session_before(form) -> dict | None:
    """The session as it was before ``form`` changed its dates or venue; None if it changed neither."""
    if not form.instance.pk or not set(form.changed_data) & set(ANNOUNCED):
        return None
    venue = {code: form.initial.get(f"venue_{code}", "") for code in ("en", "zh_hans", "es")}
    return {
        "starts_at": form.initial.get("starts_at"),
        "ends_at": form.initial.get("ends_at"),
        "venue": venue,
    }


def _announce_changes(model_admin: admin.ModelAdmin, request: HttpRequest, session: Session, before) -> None:
    if before is None:
        return
    told = services.session_changes_announce(session=session, before=before, by=request.user)
    if told:
        model_admin.message_user(
            request,
            ngettext(
                "%(count)d person on this session was emailed the change.",
                "%(count)d people on this session were emailed the change.",
                len(told),
            )
            % {"count": len(told)},
            level=messages.SUCCESS,
        )


def _report_promoted(model_admin: admin.ModelAdmin, request: HttpRequest, promoted: list[Enrolment]) -> None:
    if not promoted:
        return
    model_admin.message_user(
        request,
        ngettext(
            "%(count)d person on the waiting list was offered the place and emailed: %(names)s.",
            "%(count)d people on the waiting list were offered places and emailed: %(names)s.",
            len(promoted),
        )
        % {"count": len(promoted), "names": ", ".join(e.full_name for e in promoted)},
        level=messages.SUCCESS,
    )


# --- Workshops and sessions -----------------------------------------------------


class SessionAdminForm(forms.ModelForm):
    interpretation = forms.MultipleChoiceField(
        label=_("interpretation into"),
        choices=Session.Language.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Languages the teaching is interpreted into, if any."),
    )

    class Meta:
        model = Session
        fields = [
            "workshop",
            "starts_at",
            "ends_at",
            "venue",
            "language",
            "interpretation",
            "capacity",
            "registration_closes_at",
            "visa_lead_days",
            "status",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "visa_lead_days" in self.fields:
            # Its default is read from the settings (a callable), for which Django adds a hidden
            # copy of the initial value; that copy repeated the help text's aria link, invalidly.
            self.fields["visa_lead_days"].show_hidden_initial = False

    def clean_interpretation(self) -> list[str]:
        chosen = set(self.cleaned_data.get("interpretation") or [])
        # Stored in the order of the choices, so equal selections compare equal.
        return [code for code, _label in Session.Language.choices if code in chosen]

    def clean(self):
        data = super().clean()
        starts_at = data.get("starts_at")
        ends_at = data.get("ends_at")
        closes_at = data.get("registration_closes_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The session must end after it starts."))
        if starts_at and closes_at and closes_at > starts_at:
            self.add_error(
                "registration_closes_at", _("Registration must close no later than the session starts.")
            )
        language = data.get("language")
        if language and language in (data.get("interpretation") or []):
            self.add_error(
                "interpretation",
                _("The teaching cannot be interpreted into its own language of instruction."),
            )
        capacity = data.get("capacity")
        if self.instance.pk and capacity is not None and "capacity" in self.changed_data:
            # The lock lasts until the admin's transaction commits, so no registration
            # can take a place between this check and the save.
            confirmed = services.session_confirmed_count_locked(session=self.instance)
            if capacity < confirmed:
                self.add_error(
                    "capacity",
                    forms.ValidationError(
                        ngettext(
                            "%(confirmed)d place is already confirmed: the capacity cannot be lower. "
                            "Cancel enrolments first.",
                            "%(confirmed)d places are already confirmed: the capacity cannot be lower. "
                            "Cancel enrolments first.",
                            confirmed,
                        ),
                        code="below_confirmed",
                        params={"confirmed": confirmed},
                    ),
                )
        return data


class SessionInline(NamedInputsMixin, TranslationStackedInline):
    # Stacked, not a table: the venue in three languages and the date-and-time pickers made a row
    # wider than a laptop's screen.
    model = Session
    form = SessionAdminForm
    extra = 0
    show_change_link = True
    fields = [
        ("starts_at", "ends_at"),
        "venue",
        ("language", "capacity"),
        "interpretation",
        ("registration_closes_at", "status"),
        "visa_lead_days",
    ]


@admin.register(Workshop)
class WorkshopAdmin(TranslationAdmin):
    list_display = ["title", "fee_cny", "is_published", "session_count"]
    list_filter = ["is_published"]
    search_fields = in_every_language("title", "summary", "topics")
    prepopulated_fields = {"slug": ["title"]}
    inlines = [SessionInline]
    fee_cny = money_field(Workshop, "fee")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(session_count=Count("sessions"))

    @admin.display(description=_("sessions"), ordering="session_count")
    def session_count(self, obj: Workshop) -> int:
        return obj.session_count

    def save_formset(self, request, form, formset, change) -> None:
        befores = (
            {f.instance.pk: _session_before(f) for f in formset.forms if f.instance.pk}
            if formset.model is Session
            else {}
        )
        super().save_formset(request, form, formset, change)
        if formset.model is not Session:
            return
        for session, _fields in formset.changed_objects:
            _announce_changes(self, request, session, befores.get(session.pk))
        saved = [*formset.new_objects, *(obj for obj, _fields in formset.changed_objects)]
        promoted: list[Enrolment] = []
        # Sessions are locked one at a time in primary-key order, as everywhere else.
        for session in sorted(saved, key=lambda s: s.pk):
            _cancel_if_called_off(self, request, session)
            promoted += services.session_fill_from_waiting_list(session=session, by=request.user)
        _report_promoted(self, request, promoted)


@admin.register(Session)
class SessionAdmin(HistoryAdminMixin, NamedInputsMixin, BoundedDateHierarchyMixin, TranslationAdmin):
    form = SessionAdminForm
    list_display = [
        "workshop",
        "starts_at",
        "language",
        "capacity",
        "confirmed_count",
        "waitlisted_count",
        "seats_left",
        "status",
        "enrolments_link",
    ]
    list_filter = ["status", "language", "workshop"]
    list_select_related = ["workshop"]
    search_fields = in_every_language("workshop__title", "venue")
    date_hierarchy = "starts_at"
    fields = [
        "workshop",
        "starts_at",
        "ends_at",
        "venue",
        "language",
        "interpretation",
        "capacity",
        "registration_closes_at",
        "status",
    ]

    def get_queryset(self, request):
        return selectors.sessions_with_places(super().get_queryset(request))

    @admin.display(description=_("confirmed"), ordering="confirmed_count")
    def confirmed_count(self, obj: Session) -> int:
        return obj.confirmed_count

    @admin.display(description=_("waiting"), ordering="waitlisted_count")
    def waitlisted_count(self, obj: Session) -> int:
        return obj.waitlisted_count

    @admin.display(description=_("seats left"), ordering="seats_left")
    def seats_left(self, obj: Session) -> int:
        return obj.seats_left

    @admin.display(description=_("enrolments"))
    def enrolments_link(self, obj: Session) -> str:
        url = f"{_admin_url(Enrolment, 'changelist')}?{urlencode({'session__id__exact': obj.pk})}"
        return format_html('<a href="{}">{}</a>', url, gettext("Enrolments"))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<int:pk>/checkin/",
                self.admin_site.admin_view(lambda request, pk: checkin_view(self, request, pk)),
                name="{}_{}_checkin".format(*info),
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change) -> None:
        before = _session_before(form)
        super().save_model(request, obj, form, change)
        _cancel_if_called_off(self, request, obj)
        _announce_changes(self, request, obj, before)
        # A raised capacity goes to the people waiting, in the order they arrived.
        _report_promoted(self, request, services.session_fill_from_waiting_list(session=obj, by=request.user))


# --- Enrolments and letters -------------------------------------------------------


class SessionListFilter(admin.RelatedFieldListFilter):
    """The session filter, with each session's workshop fetched in the same query."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or Session._meta.ordering
        sessions = Session.objects.select_related("workshop").order_by(*ordering)
        return [(s.pk, str(s)) for s in sessions]


class LetterIssuedFilter(admin.SimpleListFilter):
    title = _("letter issued")
    parameter_name = "letter"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(letter_issued=True)
        if self.value() == "no":
            return queryset.filter(letter_issued=False)
        return queryset


def _letter_download_link(letter: InvitationLetter) -> str:
    if not letter.pk:
        return "—"
    if not letter.pdf:
        return str(LETTER_DELETED)
    return format_html(
        '<a href="{}">{}</a>', _admin_url(InvitationLetter, "pdf", letter.pk), gettext("Download PDF")
    )


def sees_passport_data(request: HttpRequest) -> bool:
    """Passport numbers, dates of birth, letters and private links are the visa officer's."""
    return request.user.has_perm(PRIVATE_LINKS_PERMISSION)


class InvitationLetterInline(ReadOnlyInline):
    model = InvitationLetter
    fields = ["number", "issued_at", "issued_by", "download"]
    related = ("issued_by",)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if sees_passport_data(request) else [f for f in fields if f != "download"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("PDF"))
    def download(self, obj: InvitationLetter) -> str:
        return _letter_download_link(obj)


class EnrolmentNotificationInline(ReadOnlyInline):
    """What the participant was told, and whether it went out."""

    model = Notification
    fields = ["kind", "status", "sent_at", "created_at"]
    ordering = ["created_at", "pk"]
    verbose_name_plural = _("emails about this enrolment")


class PlacePaymentInline(ReadOnlyInline):
    model = PlacePayment
    fields = ["paid_on", "kind", "amount_cny", "method", "payer_reference", "note", "recorded_by"]
    related = ("recorded_by",)
    amount_cny = money_field(PlacePayment, "amount")
    verbose_name_plural = _("payments and refunds")


class PlacePaymentStateFilter(admin.SimpleListFilter):
    title = _("fee")
    parameter_name = "fee"

    def lookups(self, request, model_admin):
        S = PlacePaymentState
        return [(state, state.label) for state in (S.AWAITING, S.OVERDUE, S.PAID, S.REFUND_DUE)]

    def queryset(self, request, queryset):
        """On the list's own queryset, which carries ``paid`` and ``refunded``."""
        S, status = PlacePaymentState, Enrolment.Status
        unpaid = Q(status=status.CONFIRMED, fee__gt=0, paid_at__isnull=True)
        today = studio_today()
        if self.value() == S.AWAITING:
            return queryset.filter(unpaid, payment_due_on__gte=today)
        if self.value() == S.OVERDUE:
            return queryset.filter(unpaid, payment_due_on__lt=today)
        if self.value() == S.PAID:
            return queryset.filter(status=status.CONFIRMED, fee__gt=0, paid_at__isnull=False)
        if self.value() == S.REFUND_DUE:
            cent = Decimal("0.005")
            return queryset.filter(
                Q(status=status.CANCELLED, refunded__lt=F("paid") * F("refund_percent") / 100 - cent)
                | Q(status=status.WAITLISTED, refunded__lt=F("paid"))
                | Q(status=status.CONFIRMED, fee__gt=0, refunded__lt=F("paid") - F("fee"))
            )
        return queryset


class EnrolmentAdminForm(forms.ModelForm):
    class Meta:
        model = Enrolment
        # Status and places change only through the services (see EnrolmentAdmin.readonly_fields).
        fields = [
            "full_name",
            "email",
            "country_of_residence",
            "nationality",
            "role",
            "experience",
            "language",
            "needs",
            "needs_visa_letter",
            "passport_number",
            "passport_expiry",
            "date_of_birth",
        ]

    def clean(self):
        data = super().clean()
        # Spelled out per field: the database constraint alone gives a vague message. Data deleted
        # under the retention rule is not asked for again.
        if data.get("needs_visa_letter") and self.instance.passport_purged_at is None:
            for name in ("passport_number", "passport_expiry", "date_of_birth"):
                if name in data and not data[name]:
                    self.add_error(name, _("Required for an invitation letter."))
        return data


# Beside the passport fields, what only the visa officer sees of an enrolment.
VISA_ONLY = ("manage_token", "passport_purge_on", "passport_purged_at")


@admin.register(Enrolment)
class EnrolmentAdmin(HistoryAdminMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    """Enrolments are made through the public form and never deleted; staff cancel instead.

    Without the visa officer's permission the passport fields, the letters and
    the private link are not part of the page at all: the number is masked and
    the rest is left out, so it cannot be read or changed.
    """

    form = EnrolmentAdminForm
    # The site's page for an enrolment is the participant's private link.
    view_on_site = False
    list_display = [
        "full_name",
        "email",
        "session",
        "status",
        "waitlist_order",
        "payment",
        "nationality",
        "needs_visa_letter",
        "masked_passport",
        "letter_issued",
        "letter_reissue_requested_at",
        "created_at",
        "created_by",
    ]
    list_filter = [
        ("session", SessionListFilter),
        "status",
        PlacePaymentStateFilter,
        ("country_of_residence", CountryFilter),
        ("nationality", CountryFilter),
        "needs_visa_letter",
        LetterIssuedFilter,
        # The participant changed passport details after their letter: it needs reissuing.
        ("letter_reissue_requested_at", admin.EmptyFieldListFilter),
        # Enrolled by hand by the workshop desk, or registered themselves.
        ("created_by", admin.EmptyFieldListFilter),
    ]
    search_fields = ["full_name", "email", "payment_reference"]
    list_select_related = ["session__workshop", "created_by"]
    date_hierarchy = "created_at"
    inlines = [PlacePaymentInline, InvitationLetterInline, EnrolmentNotificationInline]
    actions = [
        "issue_letters",
        "reissue_letters",
        "cancel_selected",
        "promote_selected",
        "export_csv",
        "export_csv_with_passport",
    ]
    fieldsets = (
        (None, {"fields": ("full_name", "email", "session", "status", "waitlist_order")}),
        (
            _("Participant"),
            {"fields": ("country_of_residence", "nationality", "role", "experience", "language", "needs")},
        ),
        (
            _("Fee"),
            {
                "fields": (
                    "fee_cny",
                    "payment_reference",
                    "payment_due_on",
                    "paid_at",
                    "refund_percent",
                    "payment_summary",
                )
            },
        ),
        (
            _("Passport (for the invitation letter)"),
            {
                "fields": (
                    "needs_visa_letter",
                    "passport_number",
                    "passport_expiry",
                    "date_of_birth",
                    "letter_reissue_requested_at",
                    "passport_purge_on",
                    "passport_purged_at",
                )
            },
        ),
        (
            _("Record"),
            {
                "fields": (
                    "manage_token",
                    "consented_at",
                    "created_at",
                    "created_by",
                    "confirmed_at",
                    "cancelled_at",
                    "updated_at",
                )
            },
        ),
    )
    # Moving someone between sessions or changing a status must go through the
    # services, which hold the session lock and keep the waiting list in order.
    readonly_fields = [
        "session",
        "status",
        "waitlist_order",
        "manage_token",
        "consented_at",
        "created_at",
        "created_by",
        "confirmed_at",
        "cancelled_at",
        "updated_at",
        "letter_reissue_requested_at",
        "fee_cny",
        "payment_reference",
        "payment_due_on",
        "paid_at",
        "refund_percent",
        "payment_summary",
        "passport_purge_on",
        "passport_purged_at",
    ]
    fee_cny = money_field(Enrolment, "fee")

    def get_queryset(self, request):
        return selectors.enrolments_with_payments(super().get_queryset(request)).annotate(
            letter_issued=Exists(InvitationLetter.objects.filter(enrolment=OuterRef("pk")))
        )

    @admin.display(description=_("fee"))
    def payment(self, obj: Enrolment) -> str:
        state = obj.payment_state(paid=obj.paid, refunded=obj.refunded, today=studio_today())
        return "" if state == PlacePaymentState.FREE else PlacePaymentState(state).label

    @admin.display(description=_("payments"))
    def payment_summary(self, obj: Enrolment) -> str:
        if not obj.fee and not obj.paid:
            return ""
        return gettext("%(state)s. Received %(paid)s, paid back %(refunded)s; %(owed)s owed back.") % {
            "state": self.payment(obj) or PlacePaymentState.FREE.label,
            "paid": format_cny(obj.paid),
            "refunded": format_cny(obj.refunded),
            "owed": format_cny(obj.refund_owed(paid=obj.paid, refunded=obj.refunded)),
        }

    def has_add_permission(self, request) -> bool:
        """The workshop desk enrols someone by hand on its own page, through the registration service."""
        return request.user.has_perm(desk.ENROL_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        return desk.enrol_view(self, request, sees_passport_data=sees_passport_data(request))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_fieldsets(self, request, obj=None):
        if sees_passport_data(request):
            fieldsets = [*self.fieldsets]
            record = fieldsets[-1]
            fields = ["private_link" if f == "manage_token" else f for f in record[1]["fields"]]
            return [*fieldsets[:-1], (record[0], {"fields": fields})]
        masked = []
        for name, options in self.fieldsets:
            fields = [f for f in options["fields"] if f not in PASSPORT_FIELDS and f not in VISA_ONLY]
            if "needs_visa_letter" in fields:
                fields.append("masked_passport")
            masked.append((name, {**options, "fields": fields}))
        return masked

    def get_readonly_fields(self, request, obj=None):
        extra = ["private_link"] if sees_passport_data(request) else ["needs_visa_letter", "masked_passport"]
        return [*self.readonly_fields, *extra]

    @admin.display(description=_("private link"))
    def private_link(self, obj: Enrolment) -> str:
        url = f"{settings.SITE_URL}{obj.get_absolute_url()}"
        return format_html('<a href="{}" rel="noreferrer">{}</a>', url, url)

    def has_issue_letters_permission(self, request) -> bool:
        return request.user.has_perm(
            f"{InvitationLetter._meta.app_label}.add_invitationletter"
        ) and sees_passport_data(request)

    def has_manage_places_permission(self, request) -> bool:
        """Cancelling and promoting move places: the workshop desk's, which can change sessions too."""
        return request.user.has_perm(f"{self.opts.app_label}.change_enrolment") and request.user.has_perm(
            f"{Session._meta.app_label}.change_session"
        )

    def has_export_passport_data_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.export_passport_data")

    @admin.display(description=_("passport data deleted on"))
    def passport_purge_on(self, obj: Enrolment) -> str:
        """When the retention rule deletes this enrolment's passport data and letter files."""
        if obj.passport_purged_at is not None:
            return ""
        return date_format(timezone.localtime(obj.passport_purge_due, STUDIO_TZ), "DATE_FORMAT")

    @admin.display(description=_("passport"))
    def masked_passport(self, obj: Enrolment) -> str:
        # Lists never show the full number: screens are shared and screenshotted.
        return obj.masked_passport_number

    @admin.display(description=_("letter issued"), boolean=True, ordering="letter_issued")
    def letter_issued(self, obj: Enrolment) -> bool:
        return obj.letter_issued

    # --- actions

    def _run(
        self,
        request: HttpRequest,
        enrolments: Iterable[Enrolment],
        operation: Callable[[Enrolment], object],
        success: Callable[[int], str],
    ) -> int:
        """Apply ``operation`` to each enrolment; report failures one by one and the successes once."""
        done = 0
        for enrolment in enrolments:
            try:
                operation(enrolment)
            except services.EnrolmentError as e:
                self.message_user(request, str(e), level=messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, success(done), level=messages.SUCCESS)
        return done

    def _issue(self, request: HttpRequest, queryset, *, reissue: bool) -> None:
        enrolments = list(queryset.select_related("session__workshop").order_by("pk"))
        issued_before = set(
            InvitationLetter.objects.filter(enrolment__in=[e.pk for e in enrolments]).values_list(
                "enrolment_id", flat=True
            )
        )
        if not reissue:
            for enrolment in enrolments:
                if enrolment.pk in issued_before:
                    self.message_user(
                        request,
                        gettext(
                            "%(name)s already has an invitation letter: use “Reissue invitation letters” "
                            "to issue a new one."
                        )
                        % {"name": enrolment.full_name},
                        level=messages.WARNING,
                    )
            enrolments = [e for e in enrolments if e.pk not in issued_before]

        def issue(enrolment: Enrolment) -> None:
            letter = services.invitation_letter_issue(enrolment=enrolment, by=request.user)
            self.log_change(request, enrolment, f"Issued invitation letter {letter.number}")

        self._run(
            request,
            enrolments,
            issue,
            lambda n: (
                ngettext("%(count)d invitation letter issued.", "%(count)d invitation letters issued.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Issue invitation letters"), permissions=["issue_letters"])
    def issue_letters(self, request: HttpRequest, queryset) -> None:
        self._issue(request, queryset, reissue=False)

    @admin.action(description=_("Reissue invitation letters"), permissions=["issue_letters"])
    def reissue_letters(self, request: HttpRequest, queryset) -> None:
        self._issue(request, queryset, reissue=True)

    @admin.action(description=_("Cancel selected enrolments"), permissions=["manage_places"])
    def cancel_selected(self, request: HttpRequest, queryset) -> None:
        def cancel(enrolment: Enrolment) -> None:
            services.enrolment_cancel(enrolment=enrolment, by=request.user)
            self.log_change(request, enrolment, "Cancelled")

        self._run(
            request,
            queryset.select_related("session").order_by("pk"),
            cancel,
            lambda n: (
                ngettext(
                    "%(count)d enrolment cancelled; a freed place goes to the next person waiting.",
                    "%(count)d enrolments cancelled; freed places go to the next people waiting.",
                    n,
                )
                % {"count": n}
            ),
        )

    @admin.action(description=_("Promote from the waiting list"), permissions=["manage_places"])
    def promote_selected(self, request: HttpRequest, queryset) -> None:
        def promote(enrolment: Enrolment) -> None:
            services.enrolment_promote(enrolment=enrolment, by=request.user)
            self.log_change(request, enrolment, "Promoted from the waiting list")
            if services.visa_too_late(enrolment, enrolment.session, timezone.now()):
                # Allowed by hand (the person may travel without our letter), but said plainly.
                self.message_user(
                    request,
                    gettext(
                        "%(name)s asked for a visa letter and %(session)s starts in under %(days)d days: "
                        "the visa may not come in time."
                    )
                    % {
                        "name": enrolment.full_name,
                        "session": enrolment.session,
                        "days": enrolment.session.visa_lead_days,
                    },
                    level=messages.WARNING,
                )

        self._run(
            request,
            # The first in line gets a place first when fewer places than people are free.
            queryset.select_related("session").order_by("session", "waitlist_order", "pk"),
            promote,
            lambda n: (
                ngettext(
                    "%(count)d person promoted from the waiting list.",
                    "%(count)d people promoted from the waiting list.",
                    n,
                )
                % {"count": n}
            ),
        )

    @admin.action(description=_("Export CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        return self._csv_response(self._for_export(queryset), with_passport=False)

    @admin.action(description=_("Export CSV with passport data"), permissions=["export_passport_data"])
    def export_csv_with_passport(self, request: HttpRequest, queryset) -> HttpResponse:
        enrolments = self._for_export(queryset)
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=enrolments,
            action_flag=CHANGE,
            change_message="Exported passport data (CSV)",
        )
        # Never the numbers themselves: this line ends up in log files.
        logger.info("User %s exported passport data for %d enrolments", request.user.pk, len(enrolments))
        return self._csv_response(enrolments, with_passport=True)

    def _for_export(self, queryset) -> list[Enrolment]:
        return list(
            queryset.select_related("session__workshop")
            .prefetch_related(
                Prefetch("letters", queryset=InvitationLetter.objects.order_by("issued_at", "pk"))
            )
            .order_by("session__starts_at", "session", "created_at", "pk")
        )

    def _csv_response(self, enrolments: list[Enrolment], *, with_passport: bool) -> HttpResponse:
        stamp = timezone.localtime(timezone.now(), STUDIO_TZ)
        suffix = "-passports" if with_passport else ""
        filename = f"enrolments{suffix}-{stamp:%Y%m%d-%H%M}.csv"
        response = HttpResponse(
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "private, no-store",
            },
        )
        response.write("\ufeff")  # the BOM tells Excel the file is UTF-8, so non-Latin names survive
        writer = csv.writer(response)
        header = [
            gettext("Name"),
            gettext("Email"),
            gettext("Session"),
            gettext("Status"),
            gettext("Waiting-list order"),
            gettext("Nationality"),
            gettext("Country of residence"),
            gettext("Role"),
            gettext("Language for emails"),
            gettext("Needs visa letter"),
            gettext("Letter numbers"),
            gettext("Registered at (Asia/Shanghai)"),
            gettext("Fee (CNY)"),
            gettext("Payment reference"),
            gettext("Fee paid"),
            gettext("Received (CNY)"),
            gettext("Paid back (CNY)"),
        ]
        if with_passport:
            header += [gettext("Passport number"), gettext("Passport expiry"), gettext("Date of birth")]
        writer.writerow(header)
        yes, no = gettext("yes"), gettext("no")
        today = studio_today()
        for e in enrolments:
            row = [
                e.full_name,
                e.email,
                str(e.session),
                e.get_status_display(),
                e.waitlist_order if e.waitlist_order is not None else "",
                e.nationality.name,
                e.country_of_residence.name,
                e.get_role_display(),
                e.get_language_display(),
                yes if e.needs_visa_letter else no,
                "; ".join(letter.number for letter in e.letters.all()),
                f"{timezone.localtime(e.created_at, STUDIO_TZ):%Y-%m-%d %H:%M}",
                f"{e.fee:.2f}",
                e.payment_reference or "",
                PlacePaymentState(e.payment_state(paid=e.paid, refunded=e.refunded, today=today)).label,
                f"{e.paid:.2f}",
                f"{e.refunded:.2f}",
            ]
            if with_passport:
                row += [
                    e.passport_number,
                    f"{e.passport_expiry:%Y-%m-%d}" if e.passport_expiry else "",
                    f"{e.date_of_birth:%Y-%m-%d}" if e.date_of_birth else "",
                ]
            writer.writerow([csv_safe(cell) for cell in row])
        return response


@admin.register(InvitationLetter)
class InvitationLetterAdmin(RecordOnlyAdmin):
    """Letters are issued from the enrolment list; here they are only looked up and downloaded."""

    list_display = ["number", "enrolment", "issued_at", "issued_by", "download"]
    list_select_related = ["enrolment", "issued_by"]
    search_fields = ["number", "enrolment__full_name", "enrolment__email"]
    date_hierarchy = "issued_at"
    # Not the file field: its storage URL would point at a location that is not served.
    fields = ["number", "enrolment", "issued_at", "issued_by", "download"]
    readonly_fields = fields

    @admin.display(description=_("PDF"))
    def download(self, obj: InvitationLetter) -> str:
        return _letter_download_link(obj)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            # Before the default URLs, whose "<path:object_id>/" would swallow this one.
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="{}_{}_pdf".format(*info),
            ),
            *super().get_urls(),
        ]

    def get_list_display(self, request):
        return (
            self.list_display
            if sees_passport_data(request)
            else [f for f in self.list_display if f != "download"]
        )

    def get_fields(self, request, obj=None):
        return self.fields if sees_passport_data(request) else [f for f in self.fields if f != "download"]

    def pdf_view(self, request: HttpRequest, pk: int) -> FileResponse:
        # The letter prints the passport number and date of birth.
        if not (self.has_view_permission(request) and sees_passport_data(request)):
            raise PermissionDenied
        letter = get_object_or_404(InvitationLetter, pk=pk)
        if not letter.pdf:
            raise Http404(str(LETTER_DELETED))
        try:
            pdf = letter.pdf.open("rb")
        except FileNotFoundError as exc:
            raise Http404(gettext("The PDF file of this letter is missing.")) from exc
        response = FileResponse(
            pdf, as_attachment=True, filename=f"{letter.number}.pdf", content_type="application/pdf"
        )
        response["Cache-Control"] = "private, no-store"
        return response
