"""Events the delivery app publishes: contracts for the state's records (compliance.reporting files them),
for messaging ("your order is on its way"), webhooks and any other consumer. JSON-native fields only: ids, plain
words, ISO 8601 times and money as decimal strings; customers appear by id only."""

from dataclasses import dataclass, field

from dispensary.events import Event


@dataclass(frozen=True)
class TripSent(Event):
    """A dispatcher handed the trip to its driver: the state's records of the trip are to be filed."""

    name = "delivery.trip_sent"
    organization_id: int
    store_id: int
    trip_id: int
    sent_by_id: int | None = None


@dataclass(frozen=True)
class TripStateRefiled(Event):
    """A person asked to file the state's records of a trip again after the state refused them."""

    name = "delivery.trip_state_refiled"
    organization_id: int
    store_id: int
    trip_id: int
    by_id: int | None = None


@dataclass(frozen=True)
class TripCancelled(Event):
    """A sent trip was cancelled before it left: the state's records it had (the retailer delivery's id, the
    sales deliveries' ids) are to be voided; its orders wait again."""

    name = "delivery.trip_cancelled"
    organization_id: int
    store_id: int
    trip_id: int
    retailer_delivery_id: str = ""
    sales_delivery_ids: list[str] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)
    by_id: int | None = None


@dataclass(frozen=True)
class TripDeparted(Event):
    """The car left the store with the trip's orders. `stops` in the planned order, each:
    {"sequence", "stop_id", "order_id" (the order's id), "delivery_order_id", "customer_id",
    "planned_arrival", "window_start", "window_end"} (ISO times with offset). What a messaging consumer needs to
    text each customer "your order is on its way", and when to expect it."""

    name = "delivery.trip_departed"
    organization_id: int
    store_id: int
    store_name: str
    trip_id: int
    driver_id: int
    driver_first_name: str
    vehicle_id: int
    vehicle: str
    departed_at: str
    stops: list[dict] = field(default_factory=list)


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


@dataclass(frozen=True)
class TripReturned(Event):
    """The car is back and the trip was reconciled (delivery.services_closing.trip_end): the state's records
    are to be closed (California: the retailer delivery's end with what is left of each package; other Metrc
    states: the sales deliveries of the stops not delivered completed with their goods returned). `returned`
    lists the stops not delivered: {"stop_id", "order_id", "reason"} (our reason code)."""

    name = "delivery.trip_returned"
    organization_id: int
    store_id: int
    trip_id: int
    returned_at: str
    returned: list[dict] = field(default_factory=list)
    by_id: int | None = None


# --- On the road and at the door (issue 13): what the customer is told, and what the manager is warned of ------


@dataclass(frozen=True)
class StopApproaching(Event):
    """The car is close to a stop that is next on its trip (published once per stop by live tracking, when the
    estimated arrival is a few minutes away): "your driver is nearby". `eta` is the estimated arrival (ISO
    time with offset)."""

    name = "delivery.stop_approaching"
    organization_id: int
    store_id: int
    trip_id: int
    stop_id: int
    order_id: int  # the order's number (pos.PickupOrder)
    delivery_order_id: int
    customer_id: int | None
    eta: str


@dataclass(frozen=True)
class StopDelayed(Event):
    """Live tracking expects the car at a stop after the end of the window promised to the customer (published
    once per stop and trip, and again only if the new estimate is later by another 15 minutes or more).
    `eta` is the new estimated arrival, `late_minutes` how far past the window's end."""

    name = "delivery.stop_delayed"
    organization_id: int
    store_id: int
    trip_id: int
    stop_id: int
    order_id: int
    delivery_order_id: int
    customer_id: int | None
    eta: str
    window_end: str
    late_minutes: int


@dataclass(frozen=True)
class OrderDelivered(Event):
    """A delivery was handed over at the door and became a sale (`sale_id`)."""

    name = "delivery.order_delivered"
    organization_id: int
    store_id: int
    trip_id: int
    stop_id: int
    order_id: int
    delivery_order_id: int
    customer_id: int | None
    sale_id: int
    delivered_at: str


@dataclass(frozen=True)
class OrderReturned(Event):
    """A delivery was not handed over and its goods went back on the route (`reason`: our code, e.g. refused,
    no_id, nobody_home, under_age, cancelled; `reason_text` in plain words)."""

    name = "delivery.order_returned"
    organization_id: int
    store_id: int
    trip_id: int
    stop_id: int
    order_id: int
    delivery_order_id: int
    customer_id: int | None
    reason: str
    reason_text: str
    returned_at: str
