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
