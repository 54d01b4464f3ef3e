"""What crews book: sets, their photos, pooled equipment kinds, and blackouts."""

import re
import secrets
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..images import ReencodedImageField, validate_image_extension, validate_image_upload
from ..validators import validate_single_line

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
    """A pooled kind of item, booked by quantity.

    Its stock is a plain count (cables, sandbags), or, for a kind that tracks units, the
    count of its tagged units that are not retired. A kit is a kind made of other kinds
    (``components``): it owns no units, and booking one holds its components.
    """

    class KitPricing(models.TextChoices):
        KIT_RATE = "kit", _("The kit's own daily rate")
        SUM = "sum", _("The sum of its components' daily rates")

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
    stock = models.PositiveIntegerField(
        _("units owned"),
        help_text=_("For a kind that tracks units, the count of its units that are not retired."),
    )
    tracks_units = models.BooleanField(
        _("tracks units"),
        default=False,
        help_text=_("Each unit has an asset tag and is handed out and taken back one by one."),
    )
    kit_pricing = models.CharField(
        _("a kit is priced at"), max_length=3, choices=KitPricing.choices, default=KitPricing.KIT_RATE
    )
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

    @property
    def kit_parts(self) -> list:
        """What one kit is made of (``KitComponent`` rows), none for a plain kind.

        A list of kinds reads them for all at once with ``selectors.with_kit_parts``.
        """
        return list(self.components.all()) if self.pk else []

    @property
    def is_kit(self) -> bool:
        return bool(self.kit_parts)

    @property
    def lendable(self) -> int:
        """The most a crew can book on a day: the units owned, or for a kit, the whole kits its
        components' stock makes (a kit's own stock counts for nothing)."""
        parts = self.kit_parts
        if parts:
            return min(part.component.stock // part.quantity for part in parts)
        return self.stock


# A repair blackout lasts until the unit is marked repaired; this last day stands for "not yet".
REPAIR_OPEN_END = date(9999, 12, 31)


class Blackout(models.Model):
    """A period when a set, or some units of an equipment kind, cannot be booked."""

    class Reason(models.TextChoices):
        MAINTENANCE = "maintenance", _("Maintenance")
        REPAIR = "repair", _("Unit in repair")
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
    # Set by the equipment store when a unit comes back damaged: this one unit, until repaired.
    unit = models.ForeignKey(
        "EquipmentUnit",
        verbose_name=_("unit in repair"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="repairs",
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
            models.CheckConstraint(
                condition=Q(unit__isnull=True) | Q(equipment__isnull=False, units=1, reason="repair"),
                name="blackout_repair_is_one_unit",
            ),
        ]
        indexes = [models.Index(fields=["start_date", "end_date"])]

    def __str__(self) -> str:
        if self.unit_id is not None and self.end_date == REPAIR_OPEN_END:
            return gettext("%(unit)s in repair since %(start)s") % {
                "unit": self.unit,
                "start": self.start_date,
            }
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
