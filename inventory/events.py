"""Events inventory publishes (compliance reports them to the state; messaging and webhooks react)."""

from dataclasses import dataclass

from dispensary.events import Event


@dataclass(frozen=True)
class PackageReceived(Event):
    name = "inventory.package_received"
    organization_id: int
    store_id: int
    package_id: int
    tag: str
    quantity: str
    unit: str


@dataclass(frozen=True)
class PackageAdjusted(Event):
    name = "inventory.package_adjusted"
    organization_id: int
    store_id: int
    package_id: int
    tag: str
    quantity: str  # signed change of on hand
    reason: str
    movement_id: int
    report_to_state: bool


@dataclass(frozen=True)
class StockLow(Event):
    name = "inventory.stock_low"
    organization_id: int
    store_id: int
    product_id: int
    available: str
    reorder_point: str
