"""Catalog, tagged packages with lab results, and the stock ledger.

Every change of a package's quantity is an immutable StockMovement; the package's on-hand and allocated
quantities are kept in the same transaction, so on_hand == sum(movements.quantity) and
allocated == sum(movements.allocated_delta) always hold (`manage.py ledger_check` verifies it)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from dispensary.models import Organization, Store

QUANTITY = {"max_digits": 14, "decimal_places": 3}
ZERO = Decimal("0")
MILLI = Decimal("0.001")
# Units a manifest or the state may hold a package in (dispensary.units converts between them).
STATE_UNITS = [
    ("g", "grams"),
    ("mg", "milligrams"),
    ("kg", "kilograms"),
    ("oz", "ounces"),
    ("lb", "pounds"),
    ("each", "each"),
]


def quantity_text(value: Decimal) -> str:
    """One spelling for quantities in events, errors and the API: 3.500 -> "3.5", 4.000 -> "4"."""
    text = format(Decimal(value).quantize(MILLI), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# Metrc package tags: 24 characters, upper-case letters and digits (for example 1A4FF0100000022000000123).
tag_validator = RegexValidator(
    r"^[0-9A-Z]{24}$", "A package tag is 24 characters: digits and capital letters.", code="tag"
)


def gtin_is_valid(code: str) -> bool:
    """UPC-A, EAN-8, EAN-13 and GTIN-14: digits with a valid check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_barcode(value: str) -> None:
    if value and not gtin_is_valid(value):
        raise ValidationError(f"{value!r} is not a valid UPC/EAN barcode (check the digits).")


class LimitBucket(models.TextChoices):
    """The purchase-limit buckets compliance counts; products declare their amount per unit in each."""

    FLOWER_G = "flower_g", "Flower (g)"
    CONCENTRATE_G = "concentrate_g", "Concentrate (g)"
    INFUSED_THC_MG = "infused_thc_mg", "Infused THC (mg)"
    INFUSED_WEIGHT_G = "infused_weight_g", "Infused product weight (g)"
    IMMATURE_PLANTS = "immature_plants", "Immature plants"
    SEEDS = "seeds", "Seeds"


class Product(models.Model):
    class Category(models.TextChoices):
        FLOWER = "flower", "Flower"
        PRE_ROLL = "pre_roll", "Pre-roll"
        VAPE = "vape", "Vape"
        CONCENTRATE = "concentrate", "Concentrate"
        EDIBLE = "edible", "Edible"
        TINCTURE = "tincture", "Tincture"
        TOPICAL = "topical", "Topical"
        BEVERAGE = "beverage", "Beverage"
        ACCESSORY = "accessory", "Accessory"
        SEEDS_CLONES = "seeds_clones", "Seeds and clones"

    class SoldBy(models.TextChoices):
        EACH = "each", "Each (packaged units)"
        WEIGHT = "g", "Weight in grams (bulk)"

    class NetUnit(models.TextChoices):
        GRAM = "g", "g"
        MILLIGRAM = "mg", "mg"
        MILLILITRE = "ml", "ml"
        EACH = "each", "each"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    brand = models.CharField(max_length=120, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    strain = models.CharField(max_length=120, blank=True)
    sold_by = models.CharField(max_length=4, choices=SoldBy.choices, default=SoldBy.EACH)
    net_amount = models.DecimalField(
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text="Net weight or volume of one unit.",
    )
    net_unit = models.CharField(max_length=4, choices=NetUnit.choices, blank=True)
    thc_mg = models.DecimalField("THC per unit (mg)", max_digits=10, decimal_places=3, null=True, blank=True)
    cbd_mg = models.DecimalField("CBD per unit (mg)", max_digits=10, decimal_places=3, null=True, blank=True)
    thc_percent = models.DecimalField("THC %", max_digits=5, decimal_places=2, null=True, blank=True)
    cbd_percent = models.DecimalField("CBD %", max_digits=5, decimal_places=2, null=True, blank=True)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
        help_text="Price per unit (per gram when sold by weight), before tax.",
    )
    sku = models.CharField("SKU", max_length=60)
    barcode = models.CharField("UPC/EAN", max_length=14, blank=True, validators=[validate_barcode])
    state_item_name = models.CharField(max_length=200, blank=True)
    state_item_category = models.CharField(max_length=120, blank=True)
    reorder_point = models.DecimalField(max_digits=12, decimal_places=3, default=ZERO)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="product_sku_unique_per_org"),
            models.UniqueConstraint(
                fields=["organization", "barcode"],
                condition=~models.Q(barcode=""),
                name="product_barcode_unique_per_org",
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]
        indexes = [models.Index(fields=["organization", "category"])]

    def __str__(self) -> str:
        return self.name


class ProductLimitAmount(models.Model):
    """How much of one purchase-limit bucket one unit (or one gram, when sold by weight) counts for."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="limit_amounts")
    bucket = models.CharField(max_length=20, choices=LimitBucket.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=3, validators=[MinValueValidator(ZERO)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "bucket"], name="one_amount_per_bucket")]

    def __str__(self) -> str:
        return f"{self.product}: {self.amount} {self.bucket}"


class Package(models.Model):
    """A tagged batch of one product at one store."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        RECALLED = "recalled", "Recalled"
        FINISHED = "finished", "Finished"

    class Location(models.TextChoices):
        SALES_FLOOR = "sales_floor", "Sales floor"
        VAULT = "vault", "Vault"
        QUARANTINE = "quarantine", "Quarantine"
        VEHICLE = "vehicle", "Delivery vehicle"

    class LabStatus(models.TextChoices):
        PENDING = "pending", "Not tested"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="packages")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="packages")
    tag = models.CharField(max_length=24, validators=[tag_validator])
    unit = models.CharField(max_length=4, choices=Product.SoldBy.choices)
    state_unit = models.CharField(
        max_length=4,
        choices=STATE_UNITS,
        blank=True,
        default="",
        db_default="",  # rows written without it (bulk loads, the synthetic year) are in their own unit
        help_text="The unit the state holds this package in, when it is not the package's own (a manifest in "
        "pounds); quantities reported to the state are converted into it.",
    )
    supplier_license = models.CharField(max_length=60, blank=True)
    supplier_name = models.CharField(max_length=200, blank=True)
    harvest_batch = models.CharField(max_length=100, blank=True)
    harvest_date = models.DateField(null=True, blank=True)
    packaged_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField("expiry or use-by date", null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    location = models.CharField(max_length=12, choices=Location.choices, default=Location.SALES_FLOOR)
    location_detail = models.CharField(max_length=120, blank=True, help_text="Shelf, safe, or vehicle.")
    lab_status = models.CharField(max_length=8, choices=LabStatus.choices, default=LabStatus.PENDING)
    quantity_on_hand = models.DecimalField(**QUANTITY, default=ZERO)
    quantity_allocated = models.DecimalField(**QUANTITY, default=ZERO)
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store_id", "tag"]
        constraints = [
            models.UniqueConstraint(fields=["store", "tag"], name="package_tag_unique_per_store"),
            models.CheckConstraint(
                condition=models.Q(quantity_on_hand__gte=0), name="package_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    quantity_allocated__gte=0, quantity_allocated__lte=models.F("quantity_on_hand")
                ),
                name="package_allocated_within_on_hand",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "product", "status"]),
            models.Index(fields=["harvest_batch"]),
        ]
        permissions = [("adjust_package", "Can adjust and waste package quantities")]

    def __str__(self) -> str:
        return self.tag

    @property
    def quantity_available(self) -> Decimal:
        return self.quantity_on_hand - self.quantity_allocated


def coa_upload_to(instance: "LabResult", filename: str) -> str:
    return f"coa/{instance.package.store_id}/{instance.package.tag}/{filename}"


class LabResult(models.Model):
    """A certificate of analysis for a package."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="lab_results")
    lab_name = models.CharField(max_length=200)
    lab_license = models.CharField(max_length=60, blank=True)
    tested_on = models.DateField()
    thc_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    cbd_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    total_cannabinoids_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    tests = models.JSONField(
        default=dict, help_text='Pass/fail per test type, e.g. {"pesticides": "pass", "microbials": "fail"}.'
    )
    passed = models.BooleanField()
    document = models.FileField(upload_to=coa_upload_to, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tested_on", "-id"]

    def __str__(self) -> str:
        return f"{self.package} {self.lab_name} {self.tested_on} {'pass' if self.passed else 'FAIL'}"


class StockMovement(models.Model):
    """One immutable change of a package's quantities. `quantity` changes on hand; `allocated_delta` changes
    the quantity allocated to open orders."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        SOLD = "sold", "Sold"
        RETURNED = "returned", "Returned"
        ADJUSTED = "adjusted", "Adjusted"
        WASTED = "wasted", "Wasted"
        ALLOCATED = "allocated", "Allocated"
        RELEASED = "released", "Released"
        MOVED = "moved", "Moved"
        DELIVERED = "delivered", "Delivered"

    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="movements", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = models.DecimalField(**QUANTITY, default=ZERO)
    allocated_delta = models.DecimalField(**QUANTITY, default=ZERO)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    reason = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    reference_type = models.CharField(max_length=60, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    # Now unless the service records a movement entered after the fact (a receipt with its time of receipt).
    # Read by store or by package, through the composite indexes below; no index of its own.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        # The package and the store are indexed by the composite indexes that start with them (every sale
        # writes movements: no index that another one already serves, nor one that no query reads).
        indexes = [
            models.Index(fields=["package", "id"]),
            models.Index(fields=["store", "created_at"]),
            models.Index(fields=["reference_type", "reference_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+} {self.package}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("Stock movements are immutable; record a new movement instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Stock movements are immutable; record a new movement instead.")


class IncomingTransfer(models.Model):
    """A shipment arriving at a store under a manifest, from a CSV upload or the state's feed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"

    class Source(models.TextChoices):
        CSV = "csv", "CSV upload"
        STATE = "state", "State feed"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="incoming_transfers")
    manifest_number = models.CharField(max_length=60)
    shipper_license = models.CharField(max_length=60)
    shipper_name = models.CharField(max_length=200)
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.CSV)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "manifest_number"], name="manifest_unique_per_store"),
        ]
        permissions = [
            ("approve_incomingtransfer", "Can accept or reject received packages and complete receiving")
        ]

    def __str__(self) -> str:
        return f"Manifest {self.manifest_number}"


class TransferLine(models.Model):
    """One package on a manifest (or scanned without being on it)."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    transfer = models.ForeignKey(IncomingTransfer, on_delete=models.CASCADE, related_name="lines")
    tag = models.CharField(max_length=24, validators=[tag_validator])
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    on_manifest = models.BooleanField(default=True)
    expected_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    received_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    state_unit = models.CharField(
        max_length=4,
        choices=STATE_UNITS,
        blank=True,
        default="",
        db_default="",  # rows written without it (bulk loads, the synthetic year) are in their own unit
        help_text="The manifest's unit when it is not the product's; quantities here are in the product's unit.",
    )
    scanned_at = models.DateTimeField(null=True, blank=True)
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    harvest_batch = models.CharField(max_length=100, blank=True)
    harvest_date = models.DateField(null=True, blank=True)
    packaged_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    lab_status = models.CharField(
        max_length=8, choices=Package.LabStatus.choices, default=Package.LabStatus.PENDING
    )
    decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    package = models.ForeignKey(Package, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["transfer_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "tag"], name="one_line_per_tag_per_transfer")
        ]

    def __str__(self) -> str:
        return self.tag


class ReceivingDiscrepancy(models.Model):
    class Kind(models.TextChoices):
        SHORTAGE = "shortage", "Shortage"
        OVERAGE = "overage", "Overage"
        UNEXPECTED = "unexpected", "Unexpected package"
        MISSING = "missing", "Missing package"

    transfer = models.ForeignKey(IncomingTransfer, on_delete=models.CASCADE, related_name="discrepancies")
    line = models.ForeignKey(TransferLine, on_delete=models.CASCADE, related_name="discrepancies")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    expected_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    received_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    report_to_state = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["transfer_id", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.line.tag}"


class WasteRecord(models.Model):
    """Stock taken out as waste. Destruction also needs the method, the waste weight and a witness."""

    class Method(models.TextChoices):
        GRIND_AND_MIX = "grind_and_mix", "Ground and mixed with non-cannabis waste (50/50)"
        COMPOST = "compost", "Compost"
        INCINERATION = "incineration", "Incineration"
        HAULER = "hauler", "Licensed waste hauler"

    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="waste_records")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    movement = models.OneToOneField("StockMovement", on_delete=models.PROTECT, related_name="waste_record")
    quantity = models.DecimalField(**QUANTITY)
    reason = models.CharField(max_length=40)
    method = models.CharField(max_length=20, choices=Method.choices, blank=True)
    waste_weight_g = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    report_to_state = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.package} ({self.reason})"


class InventoryCount(models.Model):
    """A cycle count (by category or location) or a full count, entered blind and approved by a manager."""

    class Scope(models.TextChoices):
        FULL = "full", "Full count"
        CATEGORY = "category", "Category"
        LOCATION = "location", "Location"

    class Status(models.TextChoices):
        OPEN = "open", "Counting"
        APPROVED = "approved", "Approved"
        CANCELLED = "cancelled", "Cancelled"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="inventory_counts")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    scope_value = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        permissions = [("approve_inventorycount", "Can approve counts into adjustments")]

    def __str__(self) -> str:
        label = self.get_scope_display()
        return f"{label}: {self.scope_value}" if self.scope_value else label


class CountLine(models.Model):
    """One package on a count sheet: what the platform held when the count opened, what was counted, and the
    state's quantity once compliance has synced packages."""

    count = models.ForeignKey(InventoryCount, on_delete=models.CASCADE, related_name="lines")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    system_quantity = models.DecimalField(**QUANTITY)
    counted_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    state_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    counted_at = models.DateTimeField(null=True, blank=True)
    movement = models.ForeignKey(
        "StockMovement", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["count_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "package"], name="one_line_per_package_per_count")
        ]

    def __str__(self) -> str:
        return f"{self.count}: {self.package}"

    @property
    def variance(self) -> Decimal | None:
        if self.counted_quantity is None:
            return None
        return self.counted_quantity - self.system_quantity


class Recall(models.Model):
    """A recall across the organization's stores, by package tag, harvest batch, product or supplier."""

    class Criterion(models.TextChoices):
        TAG = "tag", "Package tag"
        HARVEST_BATCH = "harvest_batch", "Harvest batch"
        PRODUCT = "product", "Product"
        SUPPLIER = "supplier", "Supplier licence"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="recalls")
    criterion = models.CharField(max_length=15, choices=Criterion.choices)
    value = models.CharField(max_length=200)
    reason = models.TextField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    held_at = models.DateTimeField(null=True, blank=True)
    packages = models.ManyToManyField(Package, related_name="recalls")

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"Recall {self.pk}: {self.get_criterion_display()} {self.value}"
