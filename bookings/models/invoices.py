"""Invoices, issued from a confirmed shoot plan's stored quote, numbered without gaps, never edited;
and the payments recorded against them.

Each year's numbers come from one counter row, locked and advanced in the transaction that
writes the invoice: two desks confirming at the same instant queue on it, and an invoice whose
transaction rolls back takes its number back with it.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..validators import validate_single_line
from .bookings import ShootPlan
from .crews import Crew


class InvoiceCounter(models.Model):
    """The last invoice number issued in one year."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    last_number = models.PositiveIntegerField(_("last number issued"), default=0)

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class InvoiceQuerySet(models.QuerySet):
    def for_user(self, user) -> "InvoiceQuerySet":
        """A crew member's crew's invoices; anyone else's are not there."""
        if getattr(user, "crew_id", None):
            return self.filter(crew_id=user.crew_id)
        return self.none()


class Invoice(models.Model):
    """A commercial invoice for a shoot plan, with the crew's billing details as they were."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        # Issued after the first: never an edit of it.
        CORRECTION = "correction", _("Correcting invoice")
        CREDIT = "credit", _("Credit note")
        CANCELLATION = "cancellation", _("Cancellation invoice")

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    year = models.PositiveSmallIntegerField(_("year"), editable=False)
    sequence = models.PositiveIntegerField(_("number in the year"), editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    plan = models.ForeignKey(
        ShootPlan, verbose_name=_("shoot plan"), on_delete=models.PROTECT, related_name="invoices"
    )
    crew = models.ForeignKey(Crew, verbose_name=_("crew"), on_delete=models.PROTECT, related_name="invoices")
    # A correcting invoice, credit note or cancellation invoice names the plan's first invoice.
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # The billing details on the day of issue: a crew that moves keeps its old invoices as they were.
    billing_name = models.CharField(_("billed to"), max_length=200)
    billing_tax_id = models.CharField(_("tax ID"), max_length=40, blank=True)
    billing_address = models.TextField(_("billing address"), max_length=500, blank=True)
    issued_on = models.DateField(_("issued on"))
    # The payment terms: a deposit by one day, the rest by another (the day before the first shoot day).
    deposit = models.DecimalField(_("deposit (CNY)"), max_digits=12, decimal_places=2)
    deposit_due_on = models.DateField(_("deposit due"))
    due_on = models.DateField(_("balance due"))
    # The stored quote's lines (label in every language, rate, quantity, days, amount).
    lines = models.JSONField(_("lines"), default=list)
    net = models.DecimalField(_("net (CNY)"), max_digits=12, decimal_places=2)
    vat_percent = models.DecimalField(_("VAT (%)"), max_digits=5, decimal_places=2)
    vat = models.DecimalField(_("VAT (CNY)"), max_digits=12, decimal_places=2)
    total = models.DecimalField(_("total (CNY)"), max_digits=12, decimal_places=2)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_number_once_a_year"),
            models.CheckConstraint(condition=Q(sequence__gt=0), name="invoice_sequence_positive"),
            models.CheckConstraint(
                condition=Q(total=F("net") + F("vat")), name="invoice_total_is_net_plus_vat"
            ),
            models.CheckConstraint(condition=Q(due_on__gte=F("issued_on")), name="invoice_due_after_issue"),
            models.CheckConstraint(
                condition=Q(deposit_due_on__gte=F("issued_on"), deposit_due_on__lte=F("due_on")),
                name="invoice_deposit_due_within_terms",
            ),
            models.CheckConstraint(
                condition=Q(deposit=0) | Q(deposit__gt=0, deposit__lte=F("total")),
                name="invoice_deposit_within_total",
            ),
            # Only the first invoice stands alone; the later documents name it.
            models.CheckConstraint(
                condition=Q(kind="invoice", corrects__isnull=True)
                | (~Q(kind="invoice") & Q(corrects__isnull=False)),
                name="invoice_later_documents_name_the_first",
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit") | Q(total__lt=0), name="invoice_credit_note_is_negative"
            ),
            # One invoice per plan until corrections exist: confirming again never issues a second.
            models.UniqueConstraint(
                fields=["plan"], condition=Q(kind="invoice"), name="invoice_one_per_plan"
            ),
        ]
        indexes = [models.Index(fields=["crew", "issued_on"], name="invoice_crew_issued")]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("bookings:invoice_pdf", args=[self.number])

    def payment_state(self, *, paid: Decimal, today: date) -> str:
        """Where the crew stands with this invoice, given what it has paid: one of PaymentState."""
        S = PaymentState
        if self.kind == self.Kind.CREDIT:
            return S.CREDIT
        if paid > self.total:
            return S.OVERPAID
        if paid >= self.total:
            return S.PAID
        if today > self.due_on:
            return S.OVERDUE
        if not self.deposit:
            return S.DUE
        if paid >= self.deposit:
            return S.DEPOSIT_PAID
        if today > self.deposit_due_on:
            return S.DEPOSIT_OVERDUE
        return S.DEPOSIT_DUE


class PaymentState(models.TextChoices):
    DEPOSIT_DUE = "deposit-due", _("Deposit due")
    DEPOSIT_OVERDUE = "deposit-overdue", _("Deposit overdue")
    DEPOSIT_PAID = "deposit-paid", _("Deposit paid")
    OVERDUE = "overdue", _("Payment overdue")
    PAID = "paid", _("Paid")
    OVERPAID = "overpaid", _("Paid more than the total")
    DUE = "due", _("Payment due")
    CREDIT = "credit", _("Credit: nothing to pay")


class MoneyEntry(models.Model):
    """Money received outside the app (a transfer, WeChat Pay …), or paid back.

    Recorded by staff, never edited or deleted: a mistake is put right with a refund entry. An
    invoice's payments and a workshop place's payments are both this.
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")
        ALIPAY = "alipay", _("Alipay")
        CASH = "cash", _("Cash")
        CARD = "card", _("Card")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    payer_reference = models.CharField(
        _("payer's reference"), max_length=200, blank=True, validators=[validate_single_line]
    )
    note = models.TextField(_("note"), max_length=1000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["paid_on", "pk"]

    @classmethod
    def signed(cls, path: str = "") -> Case:
        """The amount as an expression, refunds negative; ``path`` leads to the entries from another model."""
        return Case(
            When(**{f"{path}kind": cls.Kind.REFUND}, then=-F(f"{path}amount")),
            default=F(f"{path}amount"),
            output_field=models.DecimalField(max_digits=14, decimal_places=2),
        )

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind == self.Kind.PAYMENT else -self.amount


class Payment(MoneyEntry):
    """Money received for an invoice, or paid back."""

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments"
    )

    class Meta(MoneyEntry.Meta):
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} · {self.invoice}"


class FapiaoRequest(models.Model):
    """A crew asks the finance department for the official 发票 (fapiao) of an invoice."""

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("Ordinary VAT fapiao (增值税普通发票)")
        SPECIAL = "special", _("Special VAT fapiao (增值税专用发票), for deducting input VAT")

    invoice = models.OneToOneField(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="fapiao_request"
    )
    kind = models.CharField(_("kind of fapiao"), max_length=10, choices=Kind.choices)
    email = models.EmailField(_("send the e-fapiao to"))
    note = models.TextField(_("note for the finance department"), max_length=1000, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    issued_on = models.DateField(_("fapiao issued on"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("fapiao request")
        verbose_name_plural = _("fapiao requests")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(issued_on__isnull=True, issued_by__isnull=True)
                | Q(issued_on__isnull=False, issued_by__isnull=False),
                name="fapiao_issued_says_who",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} · {self.get_kind_display()}"
