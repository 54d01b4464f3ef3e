import secrets
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import storages
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from bookings.images import ReencodedImageField, validate_image_extension, validate_image_upload
from bookings.models import split_list
from bookings.validators import validate_single_line

# What an invitation letter needs from a passport: kept only while a letter is asked for.
PASSPORT_FIELDS = ("passport_number", "passport_expiry", "date_of_birth")


def new_manage_token() -> str:
    # 256 bits: the private link is the participant's only credential.
    return secrets.token_urlsafe(32)


def private_storage():
    """Invitation letters hold passport data: kept outside MEDIA_ROOT, served only through views."""
    return storages["private"]


class Workshop(models.Model):
    """A course run by the International Business Department, e.g. a production intensive."""

    title = models.CharField(_("title"), max_length=200, validators=[validate_single_line])
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
    topics = models.CharField(
        _("topics"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated, e.g. vertical framing, pacing."),
    )
    # Stored re-encoded by Pillow: never the uploaded bytes (bookings/images.py).
    cover_image = ReencodedImageField(
        _("cover image"),
        upload_to="workshops/",
        blank=True,
        validators=[validate_image_extension, validate_image_upload],
    )
    is_published = models.BooleanField(_("published"), default=False)
    # Calendar files take their SEQUENCE from it (workshops/calendars.py).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

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

    @property
    def topic_list(self) -> list[str]:
        return split_list(self.topics)


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
    venue = models.CharField(_("venue"), max_length=200, validators=[validate_single_line])
    language = models.CharField(_("language of instruction"), max_length=10, choices=Language.choices)
    interpretation = models.JSONField(
        _("interpretation into"),
        default=list,
        blank=True,
        help_text=_("Languages the teaching is interpreted into, if any."),
    )
    capacity = models.PositiveIntegerField(_("capacity"))
    registration_closes_at = models.DateTimeField(_("registration closes at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    # Calendar files take their SEQUENCE from it (workshops/calendars.py).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

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

    def get_absolute_url(self) -> str:
        return reverse("workshops:register", args=[self.pk])

    @property
    def interpretation_labels(self) -> list[str]:
        labels = dict(self.Language.choices)
        return [str(labels[code]) for code in self.interpretation if code in labels]

    def registration_is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.OPEN and now < self.registration_closes_at


class Enrolment(models.Model):
    """One participant's place in one session, or on its waiting list."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("On the waiting list")
        CANCELLED = "cancelled", _("Cancelled")

    class Role(models.TextChoices):
        ACTOR = "actor", _("Actor")
        DIRECTOR = "director", _("Director")
        CINEMATOGRAPHER = "cinematographer", _("Cinematographer")
        SCREENWRITER = "screenwriter", _("Screenwriter")
        CHOREOGRAPHER = "choreographer", _("Choreographer")
        PRODUCER = "producer", _("Producer")
        EDITOR = "editor", _("Editor")
        OTHER = "other", _("Other")

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="enrolments"
    )
    full_name = models.CharField(
        _("full name as in passport"), max_length=200, validators=[validate_single_line]
    )
    # Stored lower-cased by the service, so the unique constraint ignores case.
    email = models.EmailField(_("email"))
    country_of_residence = CountryField(_("country of residence"))
    nationality = CountryField(_("nationality"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    experience = models.TextField(_("experience"), max_length=1000, blank=True)
    language = models.CharField(
        _("language for emails"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    needs_visa_letter = models.BooleanField(_("needs a visa invitation letter"), default=False)
    passport_number = models.CharField(_("passport number"), max_length=20, blank=True)
    passport_expiry = models.DateField(_("passport expiry date"), null=True, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    needs = models.TextField(_("dietary or accessibility needs"), max_length=1000, blank=True)
    # Set when the participant changes passport details after a letter was issued; cleared by
    # the next letter. The visa officer filters on it.
    letter_reissue_requested_at = models.DateTimeField(_("new letter requested at"), null=True, blank=True)
    consented_at = models.DateTimeField(_("consented to data processing at"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    # Arrival order on the waiting list; kept after promotion as a record.
    waitlist_order = models.PositiveIntegerField(_("waiting-list order"), null=True, blank=True)
    manage_token = models.CharField(
        _("manage token"), max_length=64, unique=True, default=new_manage_token, editable=False
    )
    # The staff member who enrolled the participant by hand; empty when they registered themselves.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("enrolled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    # Passport data is deleted on a schedule, so history never copies it; nor the private link,
    # which is a credential. updated_at is the historical row's own date.
    history = HistoricalRecords(excluded_fields=[*PASSPORT_FIELDS, "manage_token", "updated_at"])

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["session", "created_at"]
        permissions = [
            # The visa officer's: passport number, date of birth, expiry, the
            # letter PDFs and participants' private links.
            ("view_passport_data", _("Can see passport data, letters and private links")),
            ("export_passport_data", _("Can export passport data")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "email"],
                condition=~Q(status="cancelled"),
                name="one_active_enrolment_per_email",
                violation_error_message=_("This email address is already enrolled in this session."),
            ),
            models.CheckConstraint(
                condition=~Q(status="waitlisted") | Q(waitlist_order__isnull=False),
                name="enrolment_waitlisted_has_order",
            ),
            models.CheckConstraint(
                condition=Q(needs_visa_letter=False)
                | (
                    ~Q(passport_number="") & Q(passport_expiry__isnull=False) & Q(date_of_birth__isnull=False)
                ),
                name="enrolment_visa_letter_has_passport",
            ),
        ]
        indexes = [models.Index(fields=["session", "status", "waitlist_order"])]

    def __str__(self) -> str:
        # Never the passport number: this string ends up in logs and admin messages.
        return f"{self.full_name} <{self.email}>"

    def get_absolute_url(self) -> str:
        return reverse("workshops:manage", args=[self.manage_token])

    @property
    def masked_passport_number(self) -> str:
        if not self.passport_number:
            return ""
        return "•" * max(len(self.passport_number) - 3, 3) + self.passport_number[-3:]

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.CANCELLED

    def passport_valid_on(self, day: date) -> bool:
        return self.passport_expiry is not None and self.passport_expiry >= day


class InvitationLetter(models.Model):
    """A visa invitation letter on studio letterhead, issued by staff."""

    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="letters"
    )
    number = models.CharField(_("letter number"), max_length=32, unique=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    pdf = models.FileField(_("PDF file"), upload_to="letters/%Y/", storage=private_storage)

    class Meta:
        verbose_name = _("invitation letter")
        verbose_name_plural = _("invitation letters")
        ordering = ["-issued_at", "-pk"]
        get_latest_by = ["issued_at", "pk"]

    def __str__(self) -> str:
        return self.number
