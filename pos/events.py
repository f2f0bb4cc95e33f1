"""Events the point of sale publishes. Compliance reports them to the state, messaging sends receipts, and
webhooks tell third parties. Money and quantities are decimal strings."""

from dataclasses import dataclass, field

from dispensary.events import Event


@dataclass(frozen=True)
class SaleCompleted(Event):
    """A sale was completed. Each line: package_id, package_label, quantity, unit ("each" or "g"),
    total_amount (after discounts, before taxes), discount_amount, and each tax by name (excise_tax,
    sales_tax, city_tax, county_tax, municipal_tax) where it applies."""

    name = "pos.sale_completed"
    version = 1
    sale_id: int
    organization_id: int
    store_id: int
    completed_at: str  # ISO 8601, UTC
    customer_type: str  # "adult_use" or "medical"
    lines: list[dict]
    customer_id: int | None = None
    patient_license_number: str = ""
    caregiver_license_number: str = ""
    receipt_number: str = ""


@dataclass(frozen=True)
class SaleVoided(Event):
    name = "pos.sale_voided"
    version = 1
    sale_id: int
    organization_id: int
    store_id: int
    voided_at: str


@dataclass(frozen=True)
class SaleRefunded(Event):
    """Some lines of a sale were refunded. `remaining_lines` is what the sale now holds, in the shape of
    SaleCompleted's lines (the state's receipt is updated to it)."""

    name = "pos.sale_refunded"
    version = 1
    sale_id: int
    organization_id: int
    store_id: int
    refund_id: int
    refunded_at: str
    remaining_lines: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ReceiptRequested(Event):
    """Staff asked for a sale's receipt by text or email; messaging sends it. `destination` is the E.164
    phone number or the email address the customer gave at the counter."""

    name = "pos.receipt_requested"
    version = 1
    sale_id: int
    organization_id: int
    store_id: int
    channel: str  # "sms" or "email"
    destination: str


@dataclass(frozen=True)
class CartAbandoned(Event):
    """A known customer's cart with lines saw no activity for POS_CART_ABANDONED_MINUTES. Lines:
    product_id and quantity (a decimal string); total_estimate is the list price before discounts and taxes."""

    name = "pos.cart_abandoned"
    version = 1
    cart_id: int
    organization_id: int
    store_id: int
    customer_id: int
    lines: list[dict]
    total_estimate: str
    last_activity_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class PointsEarned(Event):
    """A loyalty member earned points on a sale."""

    name = "pos.points_earned"
    version = 1
    organization_id: int
    customer_id: int
    sale_id: int
    points: int
    balance: int


@dataclass(frozen=True)
class TierChanged(Event):
    """A loyalty member's tier changed after a sale, refund or void (empty names: no tier)."""

    name = "pos.tier_changed"
    version = 1
    organization_id: int
    customer_id: int
    from_tier: str
    to_tier: str


@dataclass(frozen=True)
class RewardRedeemed(Event):
    """A loyalty member spent points on a reward in a sale."""

    name = "pos.reward_redeemed"
    version = 1
    organization_id: int
    customer_id: int
    sale_id: int
    reward_id: int
    points: int
    amount: str


@dataclass(frozen=True)
class PickupOrderPlaced(Event):
    """A pickup order was placed and its stock reserved. Each line: product_id, package_id, quantity, unit."""

    name = "pos.pickup_order_placed"
    version = 1
    pickup_order_id: int
    organization_id: int
    store_id: int
    customer_id: int
    placed_at: str  # ISO 8601, UTC
    expires_at: str
    estimated_total: str
    lines: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class PickupOrderClosed(Event):
    """A pickup order left the reserved state: status completed (with its sale), cancelled or expired."""

    name = "pos.pickup_order_closed"
    version = 1
    pickup_order_id: int
    organization_id: int
    store_id: int
    status: str
    closed_at: str
    sale_id: int | None = None
    reason: str = ""
