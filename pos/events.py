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


# --- Orders (pickup and delivery) as contracts ---------------------------------------------------------------------
#
# PickupOrderPlaced and PickupOrderClosed (above) stay as they are, version 1, for their existing subscribers; the
# three events below are the contract new consumers use (messaging texts the customer, webhooks publish them). They
# carry the same order facts each, so a consumer never has to read the order back.


@dataclass(frozen=True, kw_only=True)
class OrderFacts(Event):
    """The facts of an order (pickup or delivery, from any channel) every order event carries.

    `fulfilment` is "pickup" or "delivery"; `channel` "api", "phone", "kiosk" or "staff"; `status` the order's
    status after the change ("reserved", "cancelled", "expired"). Money is a decimal string: `estimated_total` the
    goods with their taxes as quoted at placing, `delivery_fee` the zone's fee ("0.00" for pickup), `total` both.
    Each line: product_id, product_name, quantity (decimal string), unit ("each" or "g"), one line per product.
    For a pickup order `pickup_after` (when the customer means to come, "" if not said) and `expires_at` (the hold
    ends); for a delivery order `window_start`/`window_end` (ISO 8601, UTC), `zone_id`, `zone_name`,
    `estimated_minutes` and `address_text` (the address as booked, on one line: the only personal data here,
    needed by the driver's and the customer's messages). The customer is named by id only."""

    order_id: int
    organization_id: int
    store_id: int
    customer_id: int
    customer_type: str
    fulfilment: str
    channel: str
    status: str
    placed_at: str  # ISO 8601, UTC
    expires_at: str
    estimated_total: str
    delivery_fee: str
    total: str
    lines: list[dict] = field(default_factory=list)
    pickup_after: str = ""
    window_start: str = ""
    window_end: str = ""
    zone_id: int | None = None
    zone_name: str = ""
    estimated_minutes: int | None = None
    address_text: str = ""


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrderFacts):
    """An order was placed: its limits passed and its packages were allocated in the ledger (allocated, not sold)
    in the same transaction. Published once per order, never for a replayed idempotency key."""

    name = "pos.order_placed"
    version = 1


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(OrderFacts):
    """The store accepted the order and will hand it over: an order is confirmed when its packages are allocated
    to it in the ledger so that no other channel can sell them. The store accepts every order its rules let in
    (limits, stock, and for delivery the zone, hours and minimum), so every order is confirmed at placing:
    OrderConfirmed follows OrderPlaced in the same transaction, in that order, with the same `confirmed_at` as
    `placed_at`. Consumers that text "your order is confirmed" listen to this one."""

    name = "pos.order_confirmed"
    version = 1
    confirmed_at: str  # ISO 8601, UTC


@dataclass(frozen=True, kw_only=True)
class OrderReady(OrderFacts):
    """Staff prepared a pickup order and it waits at the counter: messaging texts the customer "your order is
    ready". Staff may say so more than once (a second click); consumers act once per order."""

    name = "pos.order_ready"
    version = 1
    ready_at: str  # ISO 8601, UTC


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(OrderFacts):
    """An open order was cancelled and its allocated packages released in the same transaction. `reason` says
    who or what cancelled it: "customer" (through the ordering channel's API, on the customer's behalf),
    "staff" (a staff member), or "expired" (the hold ran out; `status` is then "expired"). `reason_text` is
    the words given with it."""

    name = "pos.order_cancelled"
    version = 1
    cancelled_at: str  # ISO 8601, UTC
    reason: str
    reason_text: str = ""
