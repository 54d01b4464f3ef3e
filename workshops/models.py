import secrets
from datetime import date, datetime, timedelta
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
from bookings.models import MoneyEntry, split_list
from bookings.validators import validate_single_line

# What an invitation letter needs from a passport: kept only while a letter is asked for.
PASSPORT_FIELDS = ("passport_number", "passport_expiry", "date_of_birth")


def new_manage_token() -> str:
    # 256 bits: the private link is the participant's only credential.
    return secrets.token_urlsafe(32)


# Payment references: no 0/O, 1/I/L or U, so one read out or typed from a bank statement is unambiguous.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "HDW"


def new_payment_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{code[:4]}-{code[4:]}"


CHECKIN_PREFIX = "HDC"


def new_checkin_code() -> str:
    """What the participant's QR code holds for the door: not the private link, which is a credential."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return f"{CHECKIN_PREFIX}-{code[:5]}-{code[5:]}"


def normalize_checkin_code(value: str) -> str:
    code = "".join(ch for ch in value.upper() if ch.isalnum()).removeprefix(CHECKIN_PREFIX)
    return f"{CHECKIN_PREFIX}-{code[:5]}-{code[5:]}" if len(code) == 10 else ""


def new_certificate_number() -> str:
    # Random, so that numbers cannot be walked to list who attended what.
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
    return f"HDW-C-{code[:4]}-{code[4:8]}-{code[8:]}"


def normalize_payment_reference(value: str) -> str:
    """``hdw k7m2q9xp`` or ``HDWK7M2Q9XP`` as written on a transfer, in the stored form."""
    code = "".join(ch for ch in value.upper() if ch.isalnum())
    code = code.removeprefix(REFERENCE_PREFIX)
    return f"{REFERENCE_PREFIX}-{code[:4]}-{code[4:]}" if len(code) == 8 else ""


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


def default_visa_lead_days() -> int:
    return settings.WORKSHOP_VISA_LEAD_DAYS


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
    visa_lead_days = models.PositiveSmallIntegerField(
        _("visa lead time (days)"),
        default=default_visa_lead_days,
        help_text=_(
            "Closer to the start than this, a free place is not offered to someone on the waiting list who "
            "needs a visa letter: it goes to the next person who needs none."
        ),
    )
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
        # A free place held for the first person waiting until they accept it or the offer lapses.
        OFFERED = "offered", _("Offered a place")
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
    # Shown as a QR code for the door. Nullable only so that the migration could give each older
    # enrolment a code of its own.
    checkin_code = models.CharField(
        _("check-in code"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        default=new_checkin_code,
        editable=False,
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
    offer_expires_at = models.DateTimeField(_("offer open until"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # The workshop's fee as it was when the place was confirmed; 0 for a free session. A place
    # with a fee is awaiting payment until paid_at, and released if still unpaid after payment_due_on.
    fee = models.DecimalField(
        _("fee (CNY)"), max_digits=10, decimal_places=2, default=Decimal(0), editable=False
    )
    payment_reference = models.CharField(
        _("payment reference"), max_length=16, unique=True, null=True, blank=True, editable=False
    )
    payment_due_on = models.DateField(_("pay by"), null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid in full at"), null=True, blank=True, editable=False)
    # When the passport data (and the letters' PDF files) were deleted under the retention rule.
    passport_purged_at = models.DateTimeField(
        _("passport data deleted at"), null=True, blank=True, editable=False
    )
    # Set when a place with a fee is cancelled: the share of what was paid that is paid back.
    refund_percent = models.PositiveSmallIntegerField(_("refund (%)"), null=True, blank=True, editable=False)

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
                condition=~Q(status="offered") | Q(offer_expires_at__isnull=False),
                name="enrolment_offer_has_end",
            ),
            models.CheckConstraint(condition=Q(fee__gte=0), name="enrolment_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(fee=0) | Q(status="waitlisted") | Q(payment_due_on__isnull=False),
                name="enrolment_fee_has_deadline",
            ),
            models.CheckConstraint(
                condition=Q(refund_percent__isnull=True) | Q(refund_percent__lte=100),
                name="enrolment_refund_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(needs_visa_letter=False)
                | Q(passport_purged_at__isnull=False)
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

    @property
    def holds_a_place(self) -> bool:
        return self.status in HOLDING

    def passport_valid_on(self, day: date) -> bool:
        return self.passport_expiry is not None and self.passport_expiry >= day

    @property
    def passport_purge_due(self) -> datetime | None:
        """When the passport data is deleted: some time after the session ends, sooner once cancelled."""
        if self.status == self.Status.CANCELLED and self.cancelled_at is not None:
            return self.cancelled_at + timedelta(days=settings.PASSPORT_RETENTION_CANCELLED_DAYS)
        return self.session.ends_at + timedelta(days=settings.PASSPORT_RETENTION_DAYS)

    def payment_state(self, *, paid: Decimal, refunded: Decimal, today: date) -> str:
        """Where the participant stands with the fee, given the payments recorded: a PlacePaymentState.

        ``paid`` is what came in and ``refunded`` what went back, both positive.
        """
        S = PlacePaymentState
        if self.fee == 0 and not paid:
            return S.FREE
        if self.status == self.Status.CANCELLED:
            return S.REFUND_DUE if self.refund_owed(paid=paid, refunded=refunded) > 0 else S.SETTLED
        if self.status == self.Status.WAITLISTED:
            return S.REFUND_DUE if paid > refunded else S.FREE
        net = paid - refunded
        if net > self.fee:
            return S.OVERPAID
        if net == self.fee:
            return S.PAID
        if self.payment_due_on is not None and today > self.payment_due_on:
            return S.OVERDUE
        return S.AWAITING

    def refund_owed(self, *, paid: Decimal, refunded: Decimal) -> Decimal:
        """What is still to be paid back: the refund policy's share for a cancelled place, any excess otherwise."""
        if self.status == self.Status.CANCELLED:
            share = (paid * (self.refund_percent or Decimal(0)) / 100).quantize(Decimal("0.01"))
        elif self.status == self.Status.WAITLISTED:
            share = paid
        else:
            share = max(paid - self.fee, Decimal(0))
        return max(share - refunded, Decimal(0))


# What takes one of a session's places: a confirmed place, or one offered and not yet answered.
HOLDING = (Enrolment.Status.CONFIRMED, Enrolment.Status.OFFERED)


class PlacePaymentState(models.TextChoices):
    FREE = "free", _("Nothing to pay")
    AWAITING = "awaiting", _("Awaiting payment")
    OVERDUE = "overdue", _("Payment overdue")
    PAID = "paid", _("Paid")
    OVERPAID = "overpaid", _("Paid more than the fee")
    REFUND_DUE = "refund-due", _("Refund due")
    SETTLED = "settled", _("Settled")


class PlacePayment(MoneyEntry):
    """Money received for a workshop place, or paid back; found by the place's payment reference."""

    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="payments"
    )

    class Meta(MoneyEntry.Meta):
        verbose_name = _("place payment")
        verbose_name_plural = _("place payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="place_payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} · {self.enrolment.payment_reference}"


# What a letter whose file was deleted under the retention rule says instead of its PDF.
LETTER_DELETED = _("The PDF file of this letter was deleted under the passport data retention rule.")


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
    # Emptied, and the file deleted, under the passport data retention rule; the row stays as the record.
    pdf = models.FileField(_("PDF file"), upload_to="letters/%Y/", storage=private_storage, blank=True)

    class Meta:
        verbose_name = _("invitation letter")
        verbose_name_plural = _("invitation letters")
        ordering = ["-issued_at", "-pk"]
        get_latest_by = ["issued_at", "pk"]

    def __str__(self) -> str:
        return self.number


class Attendance(models.Model):
    """A participant checked in at the door for one day of their session."""

    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="attendance"
    )
    day = models.DateField(_("day"))
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("checked in by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["day", "checked_in_at", "pk"]
        constraints = [
            # Two desks scanning one code at the same instant record one check-in.
            models.UniqueConstraint(fields=["enrolment", "day"], name="one_checkin_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment.full_name} · {self.day:%Y-%m-%d}"


class Certificate(models.Model):
    """A certificate of attendance, earned by attending enough of a session's days."""

    enrolment = models.OneToOneField(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="certificate"
    )
    number = models.CharField(
        _("certificate number"), max_length=24, unique=True, default=new_certificate_number
    )
    # The name exactly as registered on the day it was issued: the certificate never changes.
    name = models.CharField(_("name"), max_length=200)
    days_attended = models.PositiveSmallIntegerField(_("days attended"))
    days_total = models.PositiveSmallIntegerField(_("days of the session"))
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("certificate of attendance")
        verbose_name_plural = _("certificates of attendance")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days_attended__lte=F("days_total")), name="certificate_days_within_session"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("workshops:certificate_verify", args=[self.number])
