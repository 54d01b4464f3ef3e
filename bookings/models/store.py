"""The equipment store: tagged units of a kind, kits of several kinds, and units handed to crews.

A kind that tracks units owns exactly its units that are not retired (``Equipment.stock`` is
kept equal to that count by ``services.store``); a unit in repair is held off the days from the
day it came back damaged by a blackout tied to it, so every availability check sees it.
"""

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..images import ReencodedImageField, validate_image_extension, validate_image_upload
from ..validators import validate_single_line
from .bookings import BookingItem, PlanItem
from .catalogue import Equipment

asset_tag_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]{1,30}$",
    _("Use 2 to 31 capital letters, digits and dashes, e.g. CAM-0012."),
)


def normalize_asset_tag(text: str) -> str:
    """What a clerk types or a scanner reads, in the stored shape: trimmed, upper case."""
    return (text or "").strip().upper()


class EquipmentUnitQuerySet(models.QuerySet):
    def owned(self) -> "EquipmentUnitQuerySet":
        return self.exclude(status=EquipmentUnit.Status.RETIRED)


class EquipmentUnit(models.Model):
    """One physical item of a kind that tracks units, known by the tag stuck on it."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        OUT = "out", _("Out with a crew")
        IN_REPAIR = "in_repair", _("In repair")
        RETIRED = "retired", _("Retired")

    equipment = models.ForeignKey(
        Equipment, verbose_name=_("equipment"), on_delete=models.PROTECT, related_name="units"
    )
    asset_tag = models.CharField(_("asset tag"), max_length=31, unique=True, validators=[asset_tag_validator])
    serial_number = models.CharField(
        _("serial number"), max_length=100, blank=True, validators=[validate_single_line]
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)

    history = HistoricalRecords()
    objects = EquipmentUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["asset_tag"]
        indexes = [models.Index(fields=["equipment", "status"], name="unit_kind_status")]

    def __str__(self) -> str:
        return self.asset_tag


class KitComponent(models.Model):
    """A kind that a kit is made of, and how many of it go in one kit."""

    kit = models.ForeignKey(
        Equipment, verbose_name=_("kit"), on_delete=models.CASCADE, related_name="components"
    )
    component = models.ForeignKey(
        Equipment, verbose_name=_("component"), on_delete=models.PROTECT, related_name="in_kits"
    )
    quantity = models.PositiveSmallIntegerField(_("units in one kit"), default=1)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("kit component")
        verbose_name_plural = _("kit components")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="kitcomponent_quantity_positive"),
            models.CheckConstraint(condition=~Q(kit=F("component")), name="kitcomponent_not_itself"),
            models.UniqueConstraint(fields=["kit", "component"], name="kitcomponent_once_per_kit"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.component}"


def return_photo_path(instance: "Handover", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"returns/{instance.unit.asset_tag}/{secrets.token_hex(8)}.{extension}"


class HandoverQuerySet(models.QuerySet):
    def out(self) -> "HandoverQuerySet":
        return self.filter(returned_at__isnull=True)


class Handover(models.Model):
    """One unit handed to a crew for one equipment line, and its return.

    The line is a set booking's own (``booking_item``) or the whole plan's (``plan_item``).
    The database keeps a unit out on at most one line at a time.
    """

    class Condition(models.TextChoices):
        OK = "ok", _("OK")
        DAMAGED = "damaged", _("Damaged")

    unit = models.ForeignKey(
        EquipmentUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="handovers"
    )
    booking_item = models.ForeignKey(
        BookingItem,
        verbose_name=_("equipment line"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handovers",
    )
    plan_item = models.ForeignKey(
        PlanItem,
        verbose_name=_("equipment line for the whole plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handovers",
    )
    handed_out_at = models.DateTimeField(_("handed out"))
    handed_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handed out by"), on_delete=models.PROTECT, related_name="+"
    )
    # A member of the crew with an account, or anyone the crew sent, by name.
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("collected by (crew member)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    collected_by_name = models.CharField(_("collected by"), max_length=200, validators=[validate_single_line])
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("return taken by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    condition = models.CharField(_("condition"), max_length=10, choices=Condition.choices, blank=True)
    return_note = models.TextField(_("note on the return"), max_length=2000, blank=True)
    return_photo = ReencodedImageField(
        _("photo of the damage"),
        upload_to=return_photo_path,
        blank=True,
        validators=[validate_image_extension, validate_image_upload],
    )

    history = HistoricalRecords()
    objects = HandoverQuerySet.as_manager()

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-handed_out_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(booking_item__isnull=False, plan_item__isnull=True)
                | Q(booking_item__isnull=True, plan_item__isnull=False),
                name="handover_one_line",
            ),
            # Out: no return recorded. Back: when, by whom and in what state, all three.
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True, returned_by__isnull=True, condition="")
                | (Q(returned_at__isnull=False, returned_by__isnull=False) & ~Q(condition="")),
                name="handover_return_complete",
            ),
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True) | Q(returned_at__gte=F("handed_out_at")),
                name="handover_returned_after_out",
            ),
            # The race guard: two clerks handing out one unit at the same moment, one wins.
            models.UniqueConstraint(
                fields=["unit"], condition=Q(returned_at__isnull=True), name="handover_unit_out_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} → {self.collected_by_name}"

    @property
    def is_out(self) -> bool:
        return self.returned_at is None
