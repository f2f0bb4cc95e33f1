"""Registers, sales with their lines, taxes and tenders, and refunds. Money is Decimal to the cent; every line
stores its price, discount and each tax, and a sale's totals are the sums of its rounded lines."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from dispensary.models import Customer, Store

MONEY = {"max_digits": 12, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}
ZERO = Decimal("0")


class CustomerType(models.TextChoices):
    ADULT_USE = "adult_use", "Adult use"
    MEDICAL = "medical", "Medical"


class Register(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="registers")
    name = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="pos_register_name_per_store")]

    def __str__(self) -> str:
        return f"{self.store} {self.name}"


class Sale(models.Model):
    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"
        VOIDED = "voided", "Voided"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="sales")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="sales")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="sales"
    )
    customer_type = models.CharField(max_length=10, choices=CustomerType.choices)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    id_verification = models.ForeignKey(
        "compliance.IdVerification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETED)
    local_date = models.DateField(help_text="The store's local date of the sale.")
    completed_at = models.DateTimeField()
    receipt_number = models.CharField(max_length=80)
    idempotency_key = models.CharField(max_length=100)
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    discount_total = models.DecimalField(**MONEY, default=ZERO)
    excise_tax_total = models.DecimalField(**MONEY, default=ZERO)
    sales_tax_total = models.DecimalField(**MONEY, default=ZERO)
    local_tax_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    refunded_total = models.DecimalField(**MONEY, default=ZERO)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-completed_at", "-id"]
        permissions = [("approve_refund", "Can approve voids and refunds")]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_number"], name="pos_sale_receipt_per_store"),
            models.UniqueConstraint(
                fields=["store", "idempotency_key"], name="pos_sale_idempotency_per_store"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "local_date"], name="pos_sale_store_day"),
            models.Index(fields=["customer", "completed_at"], name="pos_sale_customer_time"),
        ]

    def __str__(self) -> str:
        return f"Sale {self.receipt_number}"


class SaleLine(models.Model):
    """One package's quantity on a sale. Amounts: list (quantity x unit price), discount, net (what taxes are
    charged on: after discounts, before taxes), taxes, total (what the customer pays for the line)."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey("inventory.Package", on_delete=models.PROTECT, related_name="sale_lines")
    quantity = models.DecimalField(**QUANTITY)
    unit = models.CharField(max_length=4)
    unit_price = models.DecimalField(**MONEY)
    list_amount = models.DecimalField(**MONEY)
    discount_amount = models.DecimalField(**MONEY, default=ZERO)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY)
    limit_amounts = models.JSONField(
        default=dict, blank=True, help_text="What the line counted for per limit bucket when sold."
    )
    refunded_quantity = models.DecimalField(**QUANTITY, default=ZERO)

    class Meta:
        ordering = ["sale_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} {self.unit} of {self.package_id}"

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.refunded_quantity


class SaleLineTax(models.Model):
    line = models.ForeignKey(SaleLine, on_delete=models.CASCADE, related_name="taxes")
    tax_rate = models.ForeignKey("compliance.TaxRate", on_delete=models.PROTECT, null=True, related_name="+")
    name = models.CharField(max_length=120)
    field = models.CharField(max_length=20, help_text="The state's receipt field: excise_tax, sales_tax, ...")
    level = models.CharField(max_length=20)
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    included_in_price = models.BooleanField(default=False)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["line_id", "id"]

    def __str__(self) -> str:
        return f"{self.name} {self.amount}"


class Tender(models.Model):
    class Kind(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card or debit"

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="tenders")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    amount = models.DecimalField(**MONEY, help_text="What was handed over.")
    applied = models.DecimalField(**MONEY, help_text="What went to the sale.")
    change_due = models.DecimalField(**MONEY, default=ZERO)
    reference = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["sale_id", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class Refund(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="refunds")
    reason = models.CharField(max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    net_amount = models.DecimalField(**MONEY, default=ZERO)
    tax_amount = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refund {self.pk} of sale {self.sale_id}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    sale_line = models.ForeignKey(SaleLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.DecimalField(**QUANTITY)
    restock = models.BooleanField(help_text="Back to stock; otherwise the goods go to waste.")
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    waste_record = models.ForeignKey(
        "inventory.WasteRecord", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["refund_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.sale_line_id}"
