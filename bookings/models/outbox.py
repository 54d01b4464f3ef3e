"""The email outbox: every email is a row written with the event that causes it, sent by a worker."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .bookings import Booking, ShootPlan


class Notification(models.Model):
    """One email in the outbox: written with the event that causes it, sent by a worker.

    The row is the source of truth for delivery: a worker claims it with a
    conditional update (pending → sending), so two workers never both send it,
    and a failed send is retried from ``next_attempt_at`` by the periodic sweep.
    """

    class Kind(models.TextChoices):
        BOOKING_REQUESTED = "booking-requested", _("Booking requested (crew)")
        BOOKING_REQUEST_RECEIVED = "booking-request-received", _("Booking requested (staff)")
        BOOKING_CONFIRMED = "booking-confirmed", _("Booking confirmed")
        BOOKING_REJECTED = "booking-rejected", _("Booking rejected")
        BOOKING_CANCELLED = "booking-cancelled", _("Booking cancelled")
        BOOKING_HOLD_EXPIRING = "booking-hold-expiring", _("Hold expiring")
        BOOKING_HOLD_EXPIRED = "booking-hold-expired", _("Hold expired")
        BOOKING_REMINDER_START = "booking-reminder-start", _("Reminder: shoot starts")
        BOOKING_REMINDER_END = "booking-reminder-end", _("Reminder: last shoot day")
        BOOKING_CHANGED = "booking-changed", _("Request changed")
        BOOKING_CHANGE_REQUESTED = "booking-change-requested", _("Change asked for")
        BOOKING_CHANGE_APPROVED = "booking-change-approved", _("Change approved")
        BOOKING_CHANGE_REFUSED = "booking-change-refused", _("Change refused")
        BOOKING_CHANGE_LAPSED = "booking-change-lapsed", _("Change not decided in time")
        PLAN_REQUESTED = "plan-requested", _("Shoot plan requested (crew)")
        PLAN_REQUEST_RECEIVED = "plan-request-received", _("Shoot plan requested (staff)")
        PLAN_CONFIRMED = "plan-confirmed", _("Shoot plan confirmed")
        PLAN_REJECTED = "plan-rejected", _("Shoot plan rejected")
        PLAN_HOLD_EXPIRING = "plan-hold-expiring", _("Shoot plan hold expiring")
        PLAN_HOLD_EXPIRED = "plan-hold-expired", _("Shoot plan hold expired")
        PLAN_REMINDER_START = "plan-reminder-start", _("Reminder: shoot plan starts")
        PLAN_REMINDER_END = "plan-reminder-end", _("Reminder: last shoot day of the plan")
        BOOKING_CLOSED_OVER = "booking-closed-over", _("Set or equipment closed during a booking")
        BOOKING_LOCATION_CHANGED = "booking-location-changed", _("Where to go changed")
        EQUIPMENT_OVERDUE = "equipment-overdue", _("Equipment not returned (crew)")
        EQUIPMENT_OVERDUE_STORE = "equipment-overdue-store", _("Equipment not returned (store)")
        EQUIPMENT_SHORT = "equipment-short", _("Bookings short of units after a damaged return")
        INVOICE_DEPOSIT_DUE = "invoice-deposit-due", _("Reminder: deposit due")
        INVOICE_DEPOSIT_OVERDUE = "invoice-deposit-overdue", _("Deposit overdue")
        INVOICE_BALANCE_DUE = "invoice-balance-due", _("Reminder: balance due")
        INVOICE_OVERDUE = "invoice-overdue", _("Payment overdue")
        FAPIAO_REQUESTED = "fapiao-requested", _("Fapiao requested (staff)")
        ENROLMENT_CONFIRMED = "enrolment-confirmed", _("Enrolment confirmed")
        ENROLMENT_WAITLISTED = "enrolment-waitlisted", _("Enrolment on the waiting list")
        ENROLMENT_PROMOTED = "enrolment-promoted", _("Promoted from the waiting list")
        ENROLMENT_CANCELLED = "enrolment-cancelled", _("Enrolment cancelled")
        ENROLMENT_SESSION_CANCELLED = "enrolment-session-cancelled", _("Session cancelled by the studio")
        ENROLMENT_LINK = "enrolment-link", _("Enrolment link sent again")
        ENROLMENT_LETTER = "enrolment-letter", _("Invitation letter issued")
        ENROLMENT_REMINDER_WEEK = "enrolment-reminder-week", _("Reminder: workshop in a week")
        ENROLMENT_REMINDER_DAY = "enrolment-reminder-day", _("Reminder: workshop tomorrow")
        ENROLMENT_PAYMENT_DUE = "enrolment-payment-due", _("Reminder: workshop fee due")
        ENROLMENT_PAID = "enrolment-paid", _("Workshop fee received")
        ENROLMENT_RELEASED = "enrolment-released", _("Unpaid place released")
        ENROLMENT_CERTIFICATE = "enrolment-certificate", _("Certificate of attendance issued")
        ENROLMENT_OFFERED = "enrolment-offered", _("A place offered from the waiting list")
        ENROLMENT_OFFER_LAPSED = "enrolment-offer-lapsed", _("Offered place not accepted in time")
        ENROLMENT_VISA_SKIPPED = "enrolment-visa-skipped", _("Passed over: too late for a visa")
        ENROLMENT_SESSION_CHANGED = "enrolment-session-changed", _("Session moved or its venue changed")
        ACCOUNT_SIGNUP = "account-signup", _("Sign-up: choose a password")
        ACCOUNT_SIGNUP_EXISTING = "account-signup-existing", _("Sign-up tried with a registered address")
        ACCOUNT_INVITATION = "account-invitation", _("Added to a crew: choose a password")
        ACCOUNT_ADD_EXISTING = "account-add-existing", _("A crew tried to add a registered address")
        PASSWORD_RESET = "password-reset", _("Password reset")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    recipient = models.EmailField(_("recipient"))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    booking = models.ForeignKey(
        Booking,
        verbose_name=_("booking"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    plan = models.ForeignKey(
        ShootPlan,
        verbose_name=_("shoot plan"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    enrolment = models.ForeignKey(
        "workshops.Enrolment",
        verbose_name=_("enrolment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # The account an email about an account is for. If the body holds
    # SEND_TIME_LINK (bookings.notifications), a set-password link for this
    # account is made when the email is sent and never stored: staff read the
    # outbox, and the link is a credential.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="account_notifications",
    )
    # At most one message per key however often the event or the sweep runs,
    # e.g. "booking:42:reminder-start".
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    # A reminder's shoot day (the first or the last): when the days of a booking or plan change,
    # a reminder about the new day is due again, and one about a day never goes out twice.
    about_date = models.DateField(_("about the shoot day"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="notification_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notification_sent_has_time"
            ),
        ]
        indexes = [
            # The sweep's queries: pending rows that are due, and sending rows whose worker died.
            models.Index(fields=["status", "next_attempt_at"], name="notification_status_due"),
            models.Index(fields=["status", "claimed_at"], name="notification_status_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient}"
