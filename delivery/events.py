"""Events the delivery app publishes (contracts for messaging, webhooks and any other consumer). Times are
ISO 8601 in UTC, money a decimal string; customers appear by id only."""

from dataclasses import dataclass, field

from dispensary.events import Event


@dataclass(frozen=True)
class RoutePlanned(Event):
    """A trip was planned or its stops changed (planned by the board's planner, an order assigned, moved,
    removed or inserted late, or the trip cancelled: then `status` is "cancelled" and `stops` is empty).
    Consumers keep the highest `version` of a trip. Each stop: sequence (1, 2, ...), order_id (the order's
    number), delivery_order_id, customer_id, planned_arrival, window_start, window_end."""

    name = "delivery.route_planned"
    version = 1
    trip_id: int
    organization_id: int
    store_id: int
    day: str  # the store's local day, YYYY-MM-DD
    status: str  # planned, locked or cancelled
    trip_version: int
    driver_id: int  # the driver's profile
    driver_first_name: str
    vehicle_id: int
    vehicle_plate: str
    planned_start: str
    planned_end: str
    distance_m: int
    goods_value: str
    stops: list[dict] = field(default_factory=list)
