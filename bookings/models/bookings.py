"""Shoot plans, the bookings they are made of (and changes held beside them), and equipment lines."""

import secrets
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .catalogue import SHOOT_DAY_STARTS, DayRange, Equipment, StudioSet
from .crews import Crew


def reference_code() -> str:
    """Six random characters: 887 million codes, so a repeat is rare but does happen at scale;
    the services draw again when the database refuses one (bookings.references)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def new_plan_reference() -> str:
    # "HD-P" and six characters: never the shape of a booking's reference (HD- and six).
    return "HD-P" + reference_code()


class ShootPlanQuerySet(models.QuerySet):
    def for_user(self, user) -> "ShootPlanQuerySet":
        """A crew member's crew's plans; anyone else's are not there (as ``BookingQuerySet.for_user``)."""
        if getattr(user, "crew_id", None):
            return self.filter(crew_id=user.crew_id)
        return self.none()


class ShootPlan(models.Model):
    """Several bookings of one crew requested together; they succeed or fail as a whole.

    Equipment is held either with one part (a ``BookingItem``) or with the whole plan
    (a ``PlanItem``): the latter once on each day any active part of the plan is shot.
    """

    class Status(models.TextChoices):
        # Derived from the parts' statuses (see ``status``); never stored.
        REQUESTED = "requested", _("Requested")
        PARTLY_CONFIRMED = "partly-confirmed", _("Partly confirmed")
        CONFIRMED = "confirmed", _("Confirmed")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_plan_reference, editable=False
    )
    crew = models.ForeignKey(Crew, verbose_name=_("crew"), on_delete=models.PROTECT, related_name="plans")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    # The whole plan's price when requested: every part's quote plus the plan's own equipment lines.
    quote_total = models.DecimalField(
        _("quoted total (CNY)"), max_digits=12, decimal_places=2, default=Decimal(0)
    )
    # The plan-level equipment lines' quote (the parts keep their own).
    quote_lines = models.JSONField(_("quote breakdown"), default=list, blank=True)
    # Made by studio staff for the crew (a phone call, a walk-in), not by one of its members.
    by_desk = models.BooleanField(_("booked by the booking desk"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()
    objects = ShootPlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("shoot plan")
        verbose_name_plural = _("shoot plans")
        constraints = [
            models.CheckConstraint(condition=Q(quote_total__gte=0), name="shootplan_quote_not_negative"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("bookings:plan", args=[self.reference])

    def _bookings(self) -> list["Booking"]:
        # From the prefetch cache when there is one; a change waiting beside a booking is not a part.
        return [b for b in self.bookings.all() if b.change_of_id is None]

    @property
    def parts(self) -> list["Booking"]:
        """The plan's bookings by first day."""
        return sorted(self._bookings(), key=lambda b: (b.start_date, b.reference))

    @property
    def status(self) -> str:
        """One status for the plan, from its parts':

        any part still requested → requested, or partly confirmed if another is confirmed;
        otherwise any part confirmed → confirmed; otherwise any completed → completed;
        otherwise none of it happens: rejected if any part was rejected, else expired if
        any expired, else cancelled.
        """
        statuses = {b.status for b in self._bookings()}
        S = Booking.Status
        if S.REQUESTED in statuses:
            return self.Status.PARTLY_CONFIRMED if S.CONFIRMED in statuses else self.Status.REQUESTED
        for status in (S.CONFIRMED, S.COMPLETED, S.REJECTED, S.EXPIRED):
            if status in statuses:
                return status
        return self.Status.CANCELLED

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @property
    def start_date(self) -> date | None:
        return min((b.start_date for b in self._bookings()), default=None)

    @property
    def end_date(self) -> date | None:
        return max((b.end_date for b in self._bookings()), default=None)

    @property
    def localized_quote_lines(self) -> list[dict]:
        from ..selectors import localized_quote_lines

        return localized_quote_lines(self.quote_lines)


class PlanItem(models.Model):
    """Units of one equipment kind that go with the whole plan, at the rate quoted when it was made.

    They are held, and billed, once per day over the union of the plan's shoot days: on
    every day some active part is shot, never twice on days two parts overlap, and not
    on the days between parts.
    """

    plan = models.ForeignKey(
        ShootPlan, verbose_name=_("shoot plan"), on_delete=models.CASCADE, related_name="items"
    )
    equipment = models.ForeignKey(
        "Equipment", verbose_name=_("equipment"), on_delete=models.PROTECT, related_name="plan_items"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    daily_rate = models.DecimalField(_("daily rate (CNY)"), max_digits=10, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("equipment line for the whole plan")
        verbose_name_plural = _("equipment lines for the whole plan")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="planitem_quantity_positive"),
            models.CheckConstraint(condition=Q(daily_rate__gte=0), name="planitem_rate_not_negative"),
            models.UniqueConstraint(fields=["plan", "equipment"], name="planitem_one_line_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.equipment}"


def shoot_day_starts_at(day: date) -> datetime:
    return datetime.combine(day, SHOOT_DAY_STARTS, tzinfo=timezone.get_default_timezone())


REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out over the phone


def new_reference() -> str:
    return "HD-" + reference_code()


# The longest reason for a decision, cancellation or fee waiver: a few sentences, shown in emails.
REASON_MAX_LENGTH = 1000


class BookingQuerySet(models.QuerySet):
    def active(self) -> "BookingQuerySet":
        return self.filter(status__in=Booking.ACTIVE_STATUSES)

    def holding(self) -> "BookingQuerySet":
        """Every row that keeps days and units from other crews: live bookings and proposed changes."""
        return self.filter(status__in=Booking.HOLDING_STATUSES)

    def bookings(self) -> "BookingQuerySet":
        """Bookings proper, without the proposed changes held beside confirmed ones."""
        return self.filter(change_of__isnull=True)

    def for_user(self, user) -> "BookingQuerySet":
        """What ``user`` may see on the site: a crew member their crew's, anyone else nothing.

        Staff are no exception: they work in the admin, where each page and
        action checks their role's permissions and records who acted.
        """
        if getattr(user, "crew_id", None):
            return self.filter(crew_id=user.crew_id)
        return self.none()


class Booking(models.Model):
    """One crew, one set, a range of whole shoot days, plus equipment lines."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")
        # A change to a confirmed booking, held beside it until the booking desk decides.
        CHANGE = "change", _("Change awaiting the booking desk")
        CHANGE_APPROVED = "applied", _("Change approved")
        CHANGE_REFUSED = "refused", _("Change refused")
        CHANGE_WITHDRAWN = "withdrawn", _("Change withdrawn")

    ACTIVE_STATUSES = (Status.REQUESTED, Status.CONFIRMED)
    # What keeps a set's days and equipment units from other crews. Migration 0013 gives the
    # PostgreSQL exclusion constraint the same list.
    HOLDING_STATUSES = (Status.REQUESTED, Status.CONFIRMED, Status.CHANGE)

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    plan = models.ForeignKey(
        ShootPlan, verbose_name=_("shoot plan"), on_delete=models.PROTECT, related_name="bookings"
    )
    crew = models.ForeignKey(Crew, verbose_name=_("crew"), on_delete=models.PROTECT, related_name="bookings")
    studio_set = models.ForeignKey(
        StudioSet, verbose_name=_("set"), on_delete=models.PROTECT, related_name="bookings"
    )
    start_date = models.DateField(_("first shoot day"))
    end_date = models.DateField(_("last shoot day"))
    # The last day the set stays blocked: end_date plus the set's changeover at
    # booking time. Stored so the database itself can refuse overlaps.
    blocked_until = models.DateField(_("blocked until"), editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    quote_total = models.DecimalField(_("quoted total (CNY)"), max_digits=12, decimal_places=2)
    quote_lines = models.JSONField(_("quote breakdown"), default=list)
    # The quote before the latest change, kept beside the new one: a change re-quotes at the
    # day's rates, and both the crew and the desk must see what it did to the price.
    previous_quote_total = models.DecimalField(
        _("quoted total before the change (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    previous_quote_lines = models.JSONField(_("quote breakdown before the change"), default=list, blank=True)
    # Set on a proposed change (status "change"): the confirmed booking it would replace. It
    # holds its own days and units beside the booking's until the desk approves or refuses it.
    change_of = models.ForeignKey(
        "self",
        verbose_name=_("change of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changes",
    )
    change_reason = models.TextField(_("reason for the decision on the change"), max_length=2000, blank=True)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    # Stored, not worked out from created_by: it must still say so after that person changes crews.
    by_desk = models.BooleanField(_("booked by the booking desk"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Why the desk confirmed or rejected it (required for a rejection), shown to the crew.
    decision_reason = models.TextField(_("reason for the decision"), max_length=REASON_MAX_LENGTH, blank=True)
    # Why it was cancelled: required when the studio cancels, optional for the crew.
    cancellation_reason = models.TextField(
        _("reason for cancelling"), max_length=REASON_MAX_LENGTH, blank=True
    )
    # The fee charged for the cancellation (bookings/fees.py), stored as it was when cancelled.
    cancellation_fee_percent = models.PositiveSmallIntegerField(
        _("cancellation fee (%)"), null=True, blank=True
    )
    cancellation_fee = models.DecimalField(
        _("cancellation fee (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    cancellation_fee_waived = models.BooleanField(_("cancellation fee waived"), default=False)
    cancellation_fee_waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fee waived by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancellation_fee_waiver_reason = models.TextField(
        _("reason for waiving the fee"), max_length=REASON_MAX_LENGTH, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = BookingQuerySet.as_manager()
    # updated_at is the historical row's own date; kept out so diffs show only real changes.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["start_date", "studio_set__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="booking_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(blocked_until__gte=F("end_date")), name="booking_blocked_covers_shoot"
            ),
            models.CheckConstraint(condition=Q(quote_total__gte=0), name="booking_quote_not_negative"),
            # A proposed change, and only a proposed change, names the booking it changes.
            models.CheckConstraint(
                condition=Q(
                    change_of__isnull=True,
                    status__in=["requested", "confirmed", "rejected", "expired", "cancelled", "completed"],
                )
                | Q(change_of__isnull=False, status__in=["change", "applied", "refused", "withdrawn"]),
                name="booking_change_status_matches",
            ),
            # At most one change waits for the desk per booking.
            models.UniqueConstraint(
                fields=["change_of"], condition=Q(status="change"), name="booking_one_pending_change"
            ),
            models.CheckConstraint(
                condition=Q(cancellation_fee__isnull=True) | Q(cancellation_fee__gte=0),
                name="booking_cancellation_fee_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(cancellation_fee_percent__isnull=True)
                | Q(cancellation_fee_percent__gte=0, cancellation_fee_percent__lte=100),
                name="booking_cancellation_fee_percent_range",
            ),
            # A waived fee is nothing, and the waiver says who and why.
            models.CheckConstraint(
                condition=Q(cancellation_fee_waived=False)
                | (
                    Q(cancellation_fee=0, cancellation_fee_waived_by__isnull=False)
                    & ~Q(cancellation_fee_waiver_reason="")
                ),
                name="booking_waived_fee_is_zero_with_reason",
            ),
            # On PostgreSQL, migration 0003 adds an exclusion constraint: no two
            # active bookings of one set over overlapping [start_date, blocked_until].
        ]
        indexes = [
            models.Index(fields=["studio_set", "start_date", "blocked_until"], name="booking_set_days"),
            models.Index(fields=["status", "hold_expires_at"], name="booking_status_hold"),
            models.Index(fields=["crew", "start_date"], name="booking_crew_start"),
            # "My bookings": a crew's past, paged (selectors.past_plans_page).
            models.Index(fields=["crew", "end_date"], name="booking_crew_end"),
            # The reminder sweep: confirmed bookings starting, or ending, soon.
            models.Index(fields=["status", "start_date"], name="booking_status_start"),
            models.Index(fields=["status", "end_date"], name="booking_status_end"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("bookings:detail", args=[self.reference])

    @property
    def days(self) -> DayRange:
        return DayRange(self.start_date, self.end_date)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_change(self) -> bool:
        return self.change_of_id is not None

    @property
    def quote_difference(self) -> Decimal | None:
        if self.previous_quote_total is None:
            return None
        return self.quote_total - self.previous_quote_total

    def has_started(self, today: date) -> bool:
        return today >= self.start_date

    def can_be_changed_by(self, user, today: date) -> bool:
        """A member of the crew, before the last shoot day is over, while the booking is live.

        Before the first day anything may change; once the shoot has started only the last
        day can move later (an extension).
        """
        return (
            self.change_of_id is None
            and user.crew_id is not None
            and user.crew_id == self.crew_id
            and self.is_active
            and today <= self.end_date
        )

    @property
    def localized_quote_lines(self) -> list[dict]:
        """The stored quote, its set and equipment named in the reader's language."""
        from ..selectors import localized_quote_lines

        return localized_quote_lines(self.quote_lines)

    @property
    def starts_at(self) -> datetime:
        """When the first shoot day begins, in the studio's time zone."""
        return shoot_day_starts_at(self.start_date)

    @property
    def last_day_starts_at(self) -> datetime:
        return shoot_day_starts_at(self.end_date)

    def can_be_cancelled_by(self, user, today: date) -> bool:
        """A member of the crew, or staff allowed to decide bookings, before the first shoot day."""
        allowed = (user.crew_id is not None and user.crew_id == self.crew_id) or user.has_perm(
            "bookings.change_booking"
        )
        return allowed and self.is_active and today < self.start_date


class BookingItem(models.Model):
    """Units of one equipment kind held by a booking, at the rate quoted when it was made."""

    booking = models.ForeignKey(
        Booking, verbose_name=_("booking"), on_delete=models.CASCADE, related_name="items"
    )
    equipment = models.ForeignKey(
        Equipment, verbose_name=_("equipment"), on_delete=models.PROTECT, related_name="booking_items"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    daily_rate = models.DecimalField(_("daily rate (CNY)"), max_digits=10, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("equipment line")
        verbose_name_plural = _("equipment lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bookingitem_quantity_positive"),
            models.CheckConstraint(condition=Q(daily_rate__gte=0), name="bookingitem_rate_not_negative"),
            models.UniqueConstraint(fields=["booking", "equipment"], name="bookingitem_one_line_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.equipment}"
