import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from .images import ReencodedImageField, validate_image_extension, validate_image_upload
from .validators import validate_single_line

phone_validator = RegexValidator(
    regex=r"^\+?[0-9][0-9 ()\-]{5,24}$",
    message=_("Enter a phone number with 6 to 20 digits, e.g. +86 579 8655 0000."),
)


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class Crew(models.Model):
    """A production company's account; bookings belong to the crew, not one person."""

    name = models.CharField(_("company name"), max_length=200, validators=[validate_single_line])
    contact_phone = models.CharField(_("contact phone"), max_length=32, validators=[phone_validator])
    country = CountryField(_("country"))
    # Secret part of the crew's calendar feed URL; resetting it cuts off old subscriptions.
    calendar_token = models.CharField(
        _("calendar feed token"), max_length=64, unique=True, default=new_calendar_token, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("crew")
        verbose_name_plural = _("crews")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("bookings:crew")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str):
        # Log-in is by email and must not depend on how it was capitalised.
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person who logs in: a crew member or studio staff. Logs in by email."""

    class CrewRole(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")

    username = None
    email = models.EmailField(_("email address"), unique=True)
    first_name = models.CharField(
        _("first name"), max_length=150, blank=True, validators=[validate_single_line]
    )
    last_name = models.CharField(
        _("last name"), max_length=150, blank=True, validators=[validate_single_line]
    )
    crew = models.ForeignKey(
        Crew,
        verbose_name=_("crew"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    crew_role = models.CharField(_("role in crew"), max_length=10, choices=CrewRole.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[phone_validator])
    language = models.CharField(
        _("language for emails"), max_length=10, choices=settings.LANGUAGES, default="en"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                condition=(Q(crew__isnull=True, crew_role="") | Q(crew__isnull=False) & ~Q(crew_role="")),
                name="user_crew_role_matches_crew",
            ),
            # One owner answers for the crew; ownership moves with crew_owner_transfer.
            models.UniqueConstraint(
                fields=["crew"],
                condition=Q(crew_role="owner"),
                name="one_owner_per_crew",
                violation_error_message=_("A crew has one owner; make the other person a member first."),
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_crew_owner(self) -> bool:
        return self.crew_id is not None and self.crew_role == self.CrewRole.OWNER


# Chinese text separates list items with a full-width comma or an enumeration comma.
LIST_SEPARATORS = re.compile(r"[,，、]")


def split_list(text: str) -> list[str]:
    """The items of a comma-separated catalogue text, in any of the site's languages."""
    return [item.strip() for item in LIST_SEPARATORS.split(text or "") if item.strip()]


# Bounds the window the catalogue looks at when it widens a range by changeovers.
MAX_CHANGEOVER_DAYS = 14

# Shoot days begin when the equipment store opens; reminders count from here.
SHOOT_DAY_STARTS = time(7, 0)


@dataclass(frozen=True)
class DayRange:
    """Whole shoot days from ``start`` to ``end``, both included, in the studio's time zone."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def overlaps(self, start: date, end: date) -> bool:
        return self.start <= end and start <= self.end

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}" if self.days > 1 else f"{self.start:%Y-%m-%d}"


class StudioSet(models.Model):
    """A bookable standing set, stage or backlot location; one crew at a time."""

    class Category(models.TextChoices):
        PALACE = "palace", _("Palace")
        ANCIENT_STREET = "ancient_street", _("Ancient street")
        MODERN_OFFICE = "modern_office", _("Modern office")
        HOSPITAL = "hospital", _("Hospital")
        RESIDENCE = "residence", _("Residence / villa")
        WEDDING_HALL = "wedding_hall", _("Wedding hall")
        COURTROOM = "courtroom", _("Courtroom")
        POLICE_STATION = "police_station", _("Police station")
        SCHOOL = "school", _("School")
        ROOFTOP = "rooftop", _("Rooftop")
        GREEN_SCREEN = "green_screen", _("Green screen")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200, validators=[validate_single_line])
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    area_m2 = models.PositiveIntegerField(_("area (m²)"), null=True, blank=True)
    max_crew_size = models.PositiveIntegerField(_("maximum crew size"), null=True, blank=True)
    daily_rate = models.DecimalField(
        _("daily rate (CNY)"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    changeover_days = models.PositiveSmallIntegerField(
        _("changeover days"),
        default=0,
        validators=[MaxValueValidator(MAX_CHANGEOVER_DAYS)],
        help_text=_("Days kept free after each booking to reset the set."),
    )
    location = models.CharField(
        _("where to go"),
        max_length=200,
        blank=True,
        help_text=_("Where a crew reports on its first shoot day, e.g. Ming-Qing Palace area, north gate."),
    )
    vertical_ready = models.BooleanField(_("suits vertical shooting"), default=True)
    features = models.CharField(
        _("features"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated, e.g. natural light, three-phase power."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("set")
        verbose_name_plural = _("sets")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(daily_rate__gte=0), name="studioset_daily_rate_not_negative"),
            models.CheckConstraint(
                condition=Q(changeover_days__lte=MAX_CHANGEOVER_DAYS), name="studioset_changeover_at_most_14"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("bookings:set_detail", args=[self.slug])

    @property
    def feature_list(self) -> list[str]:
        return split_list(self.features)


def validate_photo_size(file) -> None:
    """Migration 0005 refers to this; the limits are ``validate_image_upload``'s now."""
    validate_image_upload(file)


def set_photo_path(instance: "SetPhoto", filename: str) -> str:
    # A random name: uploads never overwrite each other or reveal the original file name.
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"sets/{instance.studio_set.slug}/{secrets.token_hex(8)}.{extension}"


class SetPhoto(models.Model):
    studio_set = models.ForeignKey(
        StudioSet, verbose_name=_("set"), on_delete=models.CASCADE, related_name="photos"
    )
    # Stored re-encoded by Pillow: never the uploaded bytes (bookings/images.py).
    image = ReencodedImageField(
        _("photo"), upload_to=set_photo_path, validators=[validate_image_extension, validate_image_upload]
    )
    caption = models.CharField(_("caption"), max_length=200, blank=True, validators=[validate_single_line])
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class Equipment(models.Model):
    """A pooled kind of item with a stock count, booked by quantity."""

    class Category(models.TextChoices):
        CAMERA_KIT = "camera_kit", _("Camera kit")
        LENS = "lens", _("Lens")
        GIMBAL = "gimbal", _("Gimbal / stabiliser")
        LIGHTING = "lighting", _("Lighting")
        GRIP = "grip", _("Grip")
        AUDIO = "audio", _("Audio")
        MONITOR = "monitor", _("Monitor")
        TELEPROMPTER = "teleprompter", _("Teleprompter")
        POWER = "power", _("Power")

    name = models.CharField(_("name"), max_length=200, validators=[validate_single_line])
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    daily_rate = models.DecimalField(
        _("daily rate (CNY)"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    stock = models.PositiveIntegerField(_("units owned"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["category", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(daily_rate__gte=0), name="equipment_daily_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Blackout(models.Model):
    """A period when a set, or some units of an equipment kind, cannot be booked."""

    class Reason(models.TextChoices):
        MAINTENANCE = "maintenance", _("Maintenance")
        STUDIO_EVENT = "studio_event", _("Studio event")
        OTHER = "other", _("Other")

    studio_set = models.ForeignKey(
        StudioSet,
        verbose_name=_("set"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="blackouts",
    )
    equipment = models.ForeignKey(
        Equipment,
        verbose_name=_("equipment"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="blackouts",
    )
    units = models.PositiveIntegerField(
        _("units"), null=True, blank=True, help_text=_("For equipment: how many units are unavailable.")
    )
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, default=Reason.MAINTENANCE)
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("blackout")
        verbose_name_plural = _("blackouts")
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="blackout_end_after_start"
            ),
            models.CheckConstraint(
                condition=(
                    Q(studio_set__isnull=False, equipment__isnull=True, units__isnull=True)
                    | Q(studio_set__isnull=True, equipment__isnull=False, units__gt=0)
                ),
                name="blackout_set_or_equipment_units",
            ),
        ]
        indexes = [models.Index(fields=["start_date", "end_date"])]

    def __str__(self) -> str:
        what = self.studio_set or f"{self.units} × {self.equipment}"
        return f"{what}: {self.start_date} – {self.end_date}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = _("The last day cannot be before the first day.")
        if bool(self.studio_set_id) == bool(self.equipment_id):
            errors["studio_set"] = _("Choose either a set or an equipment kind.")
        elif self.equipment_id and not self.units:
            errors["units"] = _("Say how many units are unavailable.")
        elif self.studio_set_id and self.units:
            errors["units"] = _("Units apply to equipment only.")
        if errors:
            raise ValidationError(errors)


def new_plan_reference() -> str:
    # "HD-P" and six characters: never the shape of a booking's reference (HD- and six).
    return "HD-P" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


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
        from .selectors import localized_quote_lines

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
    return "HD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


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
        from .selectors import localized_quote_lines

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
        PLAN_REQUESTED = "plan-requested", _("Shoot plan requested (crew)")
        PLAN_REQUEST_RECEIVED = "plan-request-received", _("Shoot plan requested (staff)")
        PLAN_CONFIRMED = "plan-confirmed", _("Shoot plan confirmed")
        PLAN_REJECTED = "plan-rejected", _("Shoot plan rejected")
        PLAN_HOLD_EXPIRING = "plan-hold-expiring", _("Shoot plan hold expiring")
        PLAN_HOLD_EXPIRED = "plan-hold-expired", _("Shoot plan hold expired")
        PLAN_REMINDER_START = "plan-reminder-start", _("Reminder: shoot plan starts")
        PLAN_REMINDER_END = "plan-reminder-end", _("Reminder: last shoot day of the plan")
        ENROLMENT_CONFIRMED = "enrolment-confirmed", _("Enrolment confirmed")
        ENROLMENT_WAITLISTED = "enrolment-waitlisted", _("Enrolment on the waiting list")
        ENROLMENT_PROMOTED = "enrolment-promoted", _("Promoted from the waiting list")
        ENROLMENT_CANCELLED = "enrolment-cancelled", _("Enrolment cancelled")
        ENROLMENT_SESSION_CANCELLED = "enrolment-session-cancelled", _("Session cancelled by the studio")
        ENROLMENT_LINK = "enrolment-link", _("Enrolment link sent again")
        ENROLMENT_LETTER = "enrolment-letter", _("Invitation letter issued")
        ENROLMENT_REMINDER_WEEK = "enrolment-reminder-week", _("Reminder: workshop in a week")
        ENROLMENT_REMINDER_DAY = "enrolment-reminder-day", _("Reminder: workshop tomorrow")
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
