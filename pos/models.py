"""Registers, sales with their lines, taxes and tenders, and refunds. Money is Decimal to the cent; every line
stores its price, discount and each tax, and a sale's totals are the sums of its rounded lines."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from dispensary.models import Customer, Store

MONEY = {"max_digits": 12, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}
ZERO = Decimal("0")


def _set(field: str) -> models.Q:
    """A partial index's condition: the rows where `field` is set (rows leaving it empty write no entry)."""
    return models.Q(**{f"{field}__isnull": False})


class CustomerType(models.TextChoices):
    ADULT_USE = "adult_use", "Adult use"
    MEDICAL = "medical", "Medical"


class VeteranProof(models.TextChoices):
    """How a budtender saw that the customer is a veteran (a stated check), when the record does not say it."""

    RECORD = "record", "Verified on the customer's record"
    VA_CARD = "va_card", "VA health or benefits card"
    VETERAN_ID = "veteran_id", "Veteran ID card"
    LICENCE = "licence", "Driver's licence or state ID marked veteran"
    DD214 = "dd214", "DD-214 discharge papers"


class Register(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="registers")
    name = models.CharField(max_length=60)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="pos_register_name_per_store")]

    def __str__(self) -> str:
        return f"{self.store} {self.name}"


class Sale(models.Model):
    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"
        VOIDED = "voided", "Voided"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="sales", db_index=False)
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="sales")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="sales", db_index=False
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
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    void_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    drawer_session = models.ForeignKey(
        "DrawerSession", on_delete=models.PROTECT, null=True, blank=True, related_name="sales"
    )
    pickup_order = models.OneToOneField(
        "PickupOrder", on_delete=models.PROTECT, null=True, blank=True, related_name="sale"
    )
    points_earned = models.IntegerField(default=0)
    points_redeemed = models.IntegerField(default=0)
    caregiver = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales_as_caregiver",
        db_index=False,
        help_text="The caregiver who bought for the patient (the sale's customer).",
    )
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The staff member who bought, when employee discounts were asked for.",
    )
    veteran_proof = models.CharField(max_length=10, choices=VeteranProof.choices, blank=True)

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
            models.Index(
                fields=["customer", "completed_at"], name="pos_sale_customer_time", condition=_set("customer")
            ),
            # The columns most sales leave empty are indexed only where set (a sale writes no entry in them);
            # the store's own index is the unique and composite ones above, which start with it.
            models.Index(fields=["caregiver"], name="pos_sale_caregiver", condition=_set("caregiver")),
            models.Index(fields=["employee"], name="pos_sale_employee", condition=_set("employee")),
            models.Index(fields=["voided_by"], name="pos_sale_voided_by", condition=_set("voided_by")),
            models.Index(
                fields=["void_approved_by"],
                name="pos_sale_void_approved_by",
                condition=_set("void_approved_by"),
            ),
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
    tender_kind = models.CharField(
        max_length=4,
        choices=Tender.Kind.choices,
        default=Tender.Kind.CASH,
        help_text="How the money went back.",
    )
    drawer_session = models.ForeignKey(
        "DrawerSession", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    points_reversed = models.IntegerField(default=0)
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


class SaleLineDiscount(models.Model):
    """One discount on one line: which promotion, coupon, reward or approved override, and how much."""

    class Source(models.TextChoices):
        PROMOTION = "promotion", "Promotion"
        COUPON = "coupon", "Coupon"
        REWARD = "reward", "Loyalty reward"
        OVERRIDE = "override", "Price override"

    line = models.ForeignKey(SaleLine, on_delete=models.CASCADE, related_name="discounts")
    source = models.CharField(max_length=10, choices=Source.choices)
    name = models.CharField(max_length=120)
    amount = models.DecimalField(**MONEY)
    promotion = models.ForeignKey(
        "Promotion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    coupon = models.ForeignKey("Coupon", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reward = models.ForeignKey("Reward", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["line_id", "id"]

    def __str__(self) -> str:
        return f"{self.name} {self.amount}"


# --- Drawers and manager PINs -------------------------------------------------------------------------------


class DrawerSession(models.Model):
    """A register's cash drawer from the opening count to the blind closing count."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="drawer_sessions")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    opening_amount = models.DecimalField(**MONEY)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    counted_amount = models.DecimalField(**MONEY, null=True, blank=True, help_text="The blind closing count.")
    expected_amount = models.DecimalField(**MONEY, null=True, blank=True)
    over_short = models.DecimalField(**MONEY, null=True, blank=True, help_text="Counted minus expected.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        permissions = [("manage_drawer", "Can open, close and move cash in drawers")]
        constraints = [
            models.UniqueConstraint(
                fields=["register"],
                condition=models.Q(status="open"),
                name="pos_one_open_drawer_per_register",
            )
        ]

    def __str__(self) -> str:
        return f"Drawer {self.register} {self.opened_at:%Y-%m-%d %H:%M}"


class DrawerMovement(models.Model):
    class Kind(models.TextChoices):
        DROP = "drop", "Cash drop"
        PAID_IN = "paid_in", "Paid in"
        PAID_OUT = "paid_out", "Paid out"

    session = models.ForeignKey(DrawerSession, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["session_id", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="pos_drawer_movement_positive")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class ManagerPin(models.Model):
    """A manager's PIN for approvals at the counter (price overrides, voids, refunds), stored hashed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="manager_pin"
    )
    pin_hash = models.CharField(max_length=200)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"PIN of {self.user}"


# --- Check-in queue and pickup orders -----------------------------------------------------------------------


class Fulfilment(models.TextChoices):
    PICKUP = "pickup", "Pickup at the store"
    DELIVERY = "delivery", "Delivery"


class OrderChannel(models.TextChoices):
    API = "api", "Online (API)"
    PHONE = "phone", "Phone order taken by staff"
    KIOSK = "kiosk", "In-store kiosk"
    STAFF = "staff", "Staff"


class AgeVerificationMethod(models.TextChoices):
    COUNTER_SCAN = "counter_scan", "ID scanned at the counter"
    DOOR_CHECK = "door_check", "ID checked at the door on delivery"
    ONLINE = "online", "Verified online by the ordering channel"
    MEDICAL_CARD = "medical_card", "Medical card checked"
    KIOSK_STATED = "kiosk_stated", "Stated at the kiosk; ID checked at the counter"


class PickupOrder(models.Model):
    """An order placed ahead (online, by phone, at a kiosk) whose stock is allocated until it is handed over
    (picked up at the counter or delivered), cancelled or expires. The class keeps its historical name; its
    `fulfilment` says whether it is picked up or delivered (the delivery facts live in delivery.DeliveryOrder)."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="pickup_orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="pickup_orders")
    customer_type = models.CharField(max_length=10, choices=CustomerType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESERVED)
    placed_at = models.DateTimeField()
    pickup_after = models.DateTimeField(null=True, blank=True, help_text="When the customer means to come.")
    expires_at = models.DateTimeField(help_text="The reservation is released after this.")
    idempotency_key = models.CharField(max_length=100)
    idempotency_owner = models.CharField(
        max_length=40,
        default="",
        help_text='Whose key it is: "client:<id>" or "user:<id>"; two callers may use the same key.',
    )
    source = models.CharField(max_length=20, default="api")
    fulfilment = models.CharField(max_length=8, choices=Fulfilment.choices, default=Fulfilment.PICKUP)
    channel = models.CharField(max_length=8, choices=OrderChannel.choices, default=OrderChannel.API)
    age_verification_method = models.CharField(
        max_length=12,
        choices=AgeVerificationMethod.choices,
        blank=True,
        help_text="How the customer's age and identity were verified (blank: not yet).",
    )
    age_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    age_verified_by_name = models.CharField(
        max_length=120, blank=True, help_text="Who verified: the staff member's or the channel's name."
    )
    age_verified_at = models.DateTimeField(null=True, blank=True)
    age_verification_reference = models.CharField(
        max_length=120, blank=True, help_text="The channel's verification id, or the medical card number."
    )
    id_verification = models.ForeignKey(
        "compliance.IdVerification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    api_client = models.ForeignKey(
        "dispensary.ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    external_reference = models.CharField(max_length=120, blank=True)
    caregiver = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The caregiver who will collect the patient's order (the order's customer).",
    )
    note = models.TextField(blank=True)
    estimated_total = models.DecimalField(**MONEY, default=ZERO)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "idempotency_owner", "idempotency_key"],
                name="pos_pickup_idempotency_per_caller",
            )
        ]
        permissions = [("use_kiosk", "Can start the in-store kiosk on a tablet")]
        indexes = [models.Index(fields=["store", "status"], name="pos_pickup_store_status")]

    def __str__(self) -> str:
        return f"{'Delivery' if self.fulfilment == Fulfilment.DELIVERY else 'Pickup'} {self.pk}"


class PickupOrderLine(models.Model):
    order = models.ForeignKey(PickupOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey("inventory.Package", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QUANTITY)
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.package_id}"


class QueueEntry(models.Model):
    """A customer waiting at a store: checked in at the door (or an arriving pickup order) until served."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SERVING = "serving", "Being served"
        DONE = "done", "Served"
        LEFT = "left", "Left"

    class Source(models.TextChoices):
        WALK_IN = "walk_in", "Walk-in"
        PICKUP = "pickup", "Pickup order"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="queue_entries")
    local_date = models.DateField()
    number = models.PositiveIntegerField(help_text="The ticket number, per store and local day.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.WALK_IN)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="queue_entries"
    )
    display_name = models.CharField(
        max_length=40, help_text="What the public display shows: first name, initial."
    )
    customer_type = models.CharField(
        max_length=10, choices=CustomerType.choices, default=CustomerType.ADULT_USE
    )
    id_verification = models.ForeignKey(
        "compliance.IdVerification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pickup_order = models.ForeignKey(
        PickupOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="queue_entries"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    checked_in_at = models.DateTimeField()
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    called_at = models.DateTimeField(null=True, blank=True)
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    register = models.ForeignKey(Register, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["checked_in_at", "id"]
        verbose_name_plural = "queue entries"
        constraints = [
            models.UniqueConstraint(fields=["store", "local_date", "number"], name="pos_queue_number_per_day")
        ]
        indexes = [models.Index(fields=["store", "status", "checked_in_at"], name="pos_queue_store_status")]

    def __str__(self) -> str:
        return f"#{self.number} {self.display_name}"


# --- Carts --------------------------------------------------------------------------------------------------


class Cart(models.Model):
    """A sale being built at a register. Completing it makes a Sale with the cart's idempotency key."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="carts")
    register = models.ForeignKey(
        Register, on_delete=models.PROTECT, null=True, blank=True, related_name="carts"
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="carts"
    )
    customer_type = models.CharField(
        max_length=10, choices=CustomerType.choices, default=CustomerType.ADULT_USE
    )
    id_verification = models.ForeignKey(
        "compliance.IdVerification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    queue_entry = models.ForeignKey(
        QueueEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="carts"
    )
    pickup_order = models.ForeignKey(
        PickupOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="carts"
    )
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.OPEN)
    idempotency_key = models.CharField(
        max_length=100, help_text="Sent with the completion; one sale per cart."
    )
    coupon_codes = models.JSONField(default=list, blank=True)
    promotion_ids = models.JSONField(default=list, blank=True, help_text="Discounts the budtender chose.")
    reward_ids = models.JSONField(default=list, blank=True)
    caregiver = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="A caregiver buying for the cart's customer, their patient.",
    )
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member buying (employee discounts).",
    )
    veteran_proof = models.CharField(
        max_length=10,
        choices=VeteranProof.choices,
        blank=True,
        help_text="The veteran check the budtender made.",
    )
    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="cart")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(help_text="Last activity.")
    abandoned_at = models.DateTimeField(null=True, blank=True, help_text="When CartAbandoned was published.")

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "idempotency_key"], name="pos_cart_idempotency_per_store"
            )
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="pos_cart_status_activity")]

    def __str__(self) -> str:
        return f"Cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(
        "inventory.Package",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="A scanned tag pins the package; otherwise first-expiring-first-out at completion.",
    )
    quantity = models.DecimalField(**QUANTITY)
    price_override = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Unit price a manager approved."
    )
    override_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["cart_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.product_id}"


# --- Promotions, coupons and loyalty ------------------------------------------------------------------------


class Promotion(models.Model):
    """A discount rule: what it takes off, on what, for whom and when. Automatic promotions apply by
    themselves; the others are chosen at the counter (employee, veteran) or carried by a coupon."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage off"
        AMOUNT = "amount", "Fixed amount off"
        BUY_X_GET_Y = "bxgy", "Buy X get Y"

    class Scope(models.TextChoices):
        LINE = "line", "Each qualifying line"
        CART = "cart", "The whole cart"

    class Group(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        ADULT_USE = "adult_use", "Adult-use customers"
        MEDICAL = "medical", "Medical patients"
        EMPLOYEE = "employee", "Employees"
        SENIOR = "senior", "Seniors"
        VETERAN = "veteran", "Veterans"

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.PROTECT, related_name="+")
    stores = models.ManyToManyField(Store, blank=True, related_name="+", help_text="Empty: every store.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    scope = models.CharField(max_length=4, choices=Scope.choices, default=Scope.LINE)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Percent off, amount off, or for buy X get Y the percent off the Y.",
    )
    buy_quantity = models.PositiveIntegerField(null=True, blank=True)
    get_quantity = models.PositiveIntegerField(null=True, blank=True)
    categories = models.JSONField(default=list, blank=True, help_text="Product categories; empty: all.")
    brands = models.JSONField(default=list, blank=True)
    products = models.ManyToManyField("inventory.Product", blank=True, related_name="+")
    customer_group = models.CharField(max_length=10, choices=Group.choices, default=Group.EVERYONE)
    senior_age = models.PositiveSmallIntegerField(default=65)
    min_subtotal = models.DecimalField(**MONEY, null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True, help_text="0 Monday .. 6 Sunday; empty: every day.")
    start_time = models.TimeField(null=True, blank=True, help_text="Store-local, for happy hours.")
    end_time = models.TimeField(null=True, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    automatic = models.BooleanField(
        default=False,
        help_text="Applies by itself to every cart it fits; otherwise chosen at the counter or by a coupon code.",
    )
    stackable = models.BooleanField(default=False, help_text="May combine with other promotions on a line.")
    priority = models.IntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "name", "id"]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """A code giving a promotion's discount, with its own validity, use limits and minimum spend. A code sent
    by a message carries that message's id, so a redemption is attributed to it."""

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=40, help_text="Stored upper case; matched without regard to case.")
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="coupons")
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="1: single use; empty: unlimited."
    )
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True)
    min_spend = models.DecimalField(**MONEY, null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=64, blank=True, help_text="The message that delivered the code.")
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only this customer may use it.",
    )
    uses = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="pos_coupon_code_per_org")
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="coupon_redemptions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = models.DecimalField(**MONEY)
    message_id = models.CharField(max_length=64, blank=True)
    redeemed_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True, help_text="The sale was voided.")

    class Meta:
        ordering = ["-redeemed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["coupon", "sale"], name="pos_coupon_once_per_sale")]

    def __str__(self) -> str:
        return f"{self.coupon} on {self.sale_id}"


class LoyaltyProgram(models.Model):
    organization = models.OneToOneField(
        "dispensary.Organization", on_delete=models.CASCADE, related_name="loyalty_program"
    )
    enabled = models.BooleanField(default=True)
    points_per_currency_unit = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal("1"))
    points_expire_after_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: never.")
    tier_window_days = models.PositiveIntegerField(default=365)

    def __str__(self) -> str:
        return f"Loyalty of {self.organization}"


class LoyaltyTier(models.Model):
    organization = models.ForeignKey("dispensary.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=60)
    min_spend = models.DecimalField(**MONEY, help_text="Spend over the tier window to reach this tier.")
    earn_multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))

    class Meta:
        ordering = ["organization_id", "min_spend"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="pos_tier_name_per_org"),
            models.UniqueConstraint(fields=["organization", "min_spend"], name="pos_tier_spend_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class PointsMultiplier(models.Model):
    """Extra points on some categories or days (double points on edibles, on Wednesdays)."""

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    categories = models.JSONField(default=list, blank=True, help_text="Empty: all categories.")
    weekdays = models.JSONField(default=list, blank=True, help_text="0 Monday .. 6 Sunday; empty: every day.")
    multiplier = models.DecimalField(max_digits=5, decimal_places=2)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Reward(models.Model):
    class Kind(models.TextChoices):
        AMOUNT = "amount", "Amount off the cart"
        PERCENT = "percent", "Percentage off the cart"

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    points_cost = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.AMOUNT)
    value = models.DecimalField(**MONEY)
    categories = models.JSONField(default=list, blank=True, help_text="Empty: any category.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["points_cost", "id"]

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="loyalty_account")
    balance = models.IntegerField(default=0)
    tier = models.ForeignKey(LoyaltyTier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tier_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Loyalty of {self.customer_id}"


class PointsEntry(models.Model):
    """The points ledger: the account's balance is the sum of its entries. Earned entries keep what is left
    of them, spent and expired first-earned-first."""

    class Kind(models.TextChoices):
        EARNED = "earned", "Earned"
        REDEEMED = "redeemed", "Redeemed"
        EXPIRED = "expired", "Expired"
        REVERSED = "reversed", "Reversed (void or refund)"
        ADJUSTED = "adjusted", "Adjusted"

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    points = models.IntegerField()
    remaining = models.IntegerField(default=0, help_text="For earned points: not yet spent or expired.")
    expires_at = models.DateTimeField(null=True, blank=True)
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["account_id", "created_at", "id"]
        verbose_name_plural = "points entries"
        indexes = [models.Index(fields=["kind", "expires_at"], name="pos_points_expiry")]

    def __str__(self) -> str:
        return f"{self.kind} {self.points}"
