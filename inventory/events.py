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


@dataclass(frozen=True)
class PackageWasted(Event):
    name = "inventory.package_wasted"
    organization_id: int
    store_id: int
    package_id: int
    tag: str
    quantity: str
    reason: str
    method: str
    waste_weight_g: str | None
    waste_record_id: int
    report_to_state: bool


@dataclass(frozen=True)
class PackageMoved(Event):
    name = "inventory.package_moved"
    organization_id: int
    store_id: int
    package_id: int
    tag: str
    from_location: str
    to_location: str


@dataclass(frozen=True)
class RecallOpened(Event):
    name = "inventory.recall_opened"
    organization_id: int
    recall_id: int
    criterion: str
    value: str
    package_ids: list[int]
