from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Workshop(models.Model):
    """A course run by the International Business Department, e.g. a production intensive."""

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    summary = models.CharField(_("summary"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    fee = models.DecimalField(
        _("fee (CNY)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("0 means free."),
    )
    is_published = models.BooleanField(_("published"), default=False)

    class Meta:
        verbose_name = _("workshop")
        verbose_name_plural = _("workshops")
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="workshop_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("workshops:detail", args=[self.slug])


class SessionQuerySet(models.QuerySet):
    def upcoming(self) -> "SessionQuerySet":
        return (
            self.filter(workshop__is_published=True, starts_at__gte=timezone.now())
            .exclude(status=Session.Status.CANCELLED)
            .order_by("starts_at")
        )


class Session(models.Model):
    """One dated run of a workshop, with its own capacity and language."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh-hans", _("Simplified Chinese")
        SPANISH = "es", _("Spanish")

    workshop = models.ForeignKey(
        Workshop, verbose_name=_("workshop"), on_delete=models.PROTECT, related_name="sessions"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    venue = models.CharField(_("venue"), max_length=200)
    language = models.CharField(_("language of instruction"), max_length=10, choices=Language.choices)
    capacity = models.PositiveIntegerField(_("capacity"))
    registration_closes_at = models.DateTimeField(_("registration closes at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)

    objects = SessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=0), name="session_capacity_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.workshop} — {timezone.localtime(self.starts_at):%Y-%m-%d}"
