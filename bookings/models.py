from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

phone_validator = RegexValidator(
    regex=r"^\+?[0-9][0-9 ()\-]{5,24}$",
    message=_("Enter a phone number with 6 to 20 digits, e.g. +86 579 8655 0000."),
)


class Crew(models.Model):
    """A production company's account; bookings belong to the crew, not one person."""

    name = models.CharField(_("company name"), max_length=200)
    contact_phone = models.CharField(_("contact phone"), max_length=32, validators=[phone_validator])
    country = CountryField(_("country"))
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
    crew = models.ForeignKey(
        Crew,
        verbose_name=_("crew"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    crew_role = models.CharField(_("role in crew"), max_length=10, choices=CrewRole.choices, blank=True)
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
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_crew_owner(self) -> bool:
        return self.crew_id is not None and self.crew_role == self.CrewRole.OWNER


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

    name = models.CharField(_("name"), max_length=200)
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
        help_text=_("Days kept free after each booking to reset the set."),
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
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("bookings:set_detail", args=[self.slug])

    @property
    def feature_list(self) -> list[str]:
        return [f.strip() for f in self.features.split(",") if f.strip()]


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

    name = models.CharField(_("name"), max_length=200)
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
