"""Crews (a production company's account) and the people in them; staff are users too."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import (
    RegexValidator,
)
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from ..validators import validate_single_line

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
    # Printed on invoices (bookings/invoices.py): the company's tax ID (统一社会信用代码 in China) and address.
    tax_id = models.CharField(
        _("tax ID"),
        max_length=40,
        blank=True,
        validators=[validate_single_line],
        help_text=_("For a company in China, its unified social credit code (统一社会信用代码)."),
    )
    billing_address = models.TextField(_("billing address"), max_length=500, blank=True)
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
