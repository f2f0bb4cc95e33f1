"""The state's records of a delivery trip, as Metrc's request objects (compliance.reporting files them through
the sync queue): California's retailer delivery (the vehicle's inventory ledger, 4 CCR 15049.3) with the
packages carried, or one sales delivery per stop in the other Metrc states that offer deliveries. States whose
Metrc offers no delivery endpoints need none (shared/reference/metrc/endpoints-by-state.md)."""

from collections import OrderedDict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from compliance.traceability.base import Operation
from compliance.traceability.metrc import (
    DELIVERY_STATES,
    retailer_delivery_depart_object,
    retailer_delivery_object,
    retailer_package_object,
    sales_delivery_object,
    state_quantity,
    transaction_object,
)
from delivery.models import Trip, TripStop
from pos.models import PickupOrderLine

# Jurisdictions that keep the delivery inventory ledger as a Metrc retailer delivery (the vehicle's load, sold
# from at each door); the other delivery states file a sales delivery per order.
RETAILER_DELIVERY_JURISDICTIONS = frozenset({"US-CA"})
CENT = Decimal("0.01")

RETAILER = "retailer"
SALES = "sales"


def trip_state_mode(jurisdiction: str) -> str | None:
    """ "retailer", "sales", or None when the state's Metrc has no delivery records to file."""
    if jurisdiction in RETAILER_DELIVERY_JURISDICTIONS:
        return RETAILER
    state = jurisdiction.rpartition("-")[2].upper()
    return SALES if state in DELIVERY_STATES else None


@dataclass(frozen=True)
class StateRecords:
    """One report of the sync queue: its kind, the request objects and the package labels it touches."""

    kind: str
    objects: list[dict]
    labels: list[str]


def trip_stops(trip: Trip, *, with_returned: bool = False) -> list[TripStop]:
    """The trip's live stops in order, with their orders, customers, addresses and allocated lines;
    `with_returned` adds the stops the driver brought back undelivered (what the trip carried)."""
    stops = trip.stops.all() if with_returned else trip.stops.exclude(status=TripStop.Status.RETURNED)
    return list(
        stops.select_related("order__order__customer", "order__address")
        .prefetch_related(
            _lines_prefetch(),
        )
        .order_by("sequence")
    )


def _lines_prefetch():
    from django.db.models import Prefetch

    return Prefetch(
        "order__order__lines",
        queryset=PickupOrderLine.objects.select_related("package", "product").order_by("id"),
    )


def planned_route(stops: list[TripStop], zone) -> str:
    """The planned route in words, as the state asks for it: each stop's address and planned arrival."""
    parts = []
    for stop in stops:
        arrival = stop.planned_arrival.astimezone(zone)
        parts.append(f"{stop.sequence}. {stop.order.address_text} ({arrival:%H:%M})")
    return "; ".join(parts)[:1000] or "From the store and back"


def _driver(trip: Trip) -> dict:
    driver, vehicle = trip.driver, trip.vehicle
    return {
        "employee_id": driver.user.get_username(),
        "name": driver.name,
        "license_number": driver.licence_number,
        "phone": driver.phone or None,
        "vehicle_make": vehicle.make,
        "vehicle_model": vehicle.model,
        "vehicle_plate": vehicle.plate,
    }


def _recipient(stop: TripStop) -> dict:
    customer, address = stop.order.order.customer, stop.order.address
    return {
        "name": f"{customer.first_name} {customer.last_name}".strip(),
        "street1": address.line1,
        "street2": address.line2,
        "city": address.city,
        "county": None,
        "state": address.region,
        "postal_code": address.postal_code,
    }


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def trip_carried(stops: list[TripStop]) -> OrderedDict:
    """Per package carried (by tag): the package, the quantity allocated to the trip's orders and its retail
    value, in the order the stops use them."""
    carried: OrderedDict = OrderedDict()
    for stop in stops:
        for line in stop.order.order.lines.all():
            entry = carried.setdefault(
                line.package.tag, {"package": line.package, "quantity": Decimal(0), "value": Decimal(0)}
            )
            entry["quantity"] += line.quantity
            entry["value"] += line.quantity * line.unit_price
    return carried


def trip_goods_value(stops: list[TripStop]) -> Decimal:
    """Retail value of the goods the trip carries (the vehicle value cap's measure)."""
    return _money(sum((entry["value"] for entry in trip_carried(stops).values()), Decimal(0)))


def trip_create_records(trip: Trip, stops: list[TripStop] | None = None) -> StateRecords | None:
    """What the state must hold before the car leaves, or None where it asks for nothing."""
    mode = trip_state_mode(trip.store.jurisdiction)
    if mode is None:
        return None
    stops = trip_stops(trip) if stops is None else stops
    zone = trip.store.tz
    carried = trip_carried(stops)
    labels = list(carried)
    if mode == RETAILER:
        packages = []
        for label, entry in carried.items():
            package = entry["package"]
            quantity, unit = state_quantity(entry["quantity"], package.unit, package.state_unit)
            packages.append(retailer_package_object(label, quantity, unit, _money(entry["value"])))
        # The orders are not sold yet (each is sold from the vehicle at its door), so the retailer delivery
        # carries packages only, no Destinations: a destination is a sale at the state. Its DateTime (ours,
        # to the second) with the driver's licence, the plate and the packages finds it again after a lost answer.
        obj = retailer_delivery_object(
            trip.sent_at,
            zone,
            packages=packages,
            driver=_driver(trip),
            estimated_departure=trip.planned_start,
        )
        return StateRecords(Operation.RETAILER_DELIVERY_CREATE.value, [obj], labels)
    route = planned_route(stops, zone)
    objects = []
    for stop in stops:
        order = stop.order.order
        transactions = []
        for line in order.lines.all():
            package = line.package
            quantity, unit = state_quantity(line.quantity, package.unit, package.state_unit)
            transactions.append(
                transaction_object(package.tag, quantity, unit, _money(line.quantity * line.unit_price))
            )
        objects.append(
            sales_delivery_object(
                trip.sent_at,
                zone,
                order.customer_type,
                transactions=transactions,
                recipient=_recipient(stop),
                driver=_driver(trip),
                planned_route=route,
                estimated_departure=trip.planned_start,
                estimated_arrival=stop.planned_arrival,
            )
        )
    return StateRecords(Operation.SALES_DELIVERY_CREATE.value, objects, labels)


def trip_depart_records(trip: Trip) -> StateRecords | None:
    """California: the retailer delivery leaves (its depart call); other states record no departure."""
    if trip_state_mode(trip.store.jurisdiction) != RETAILER or not trip.state_reference:
        return None
    return StateRecords(
        Operation.RETAILER_DELIVERY_DEPART.value,
        [retailer_delivery_depart_object(int(trip.state_reference))],
        [],
    )


def trip_void_records(
    jurisdiction: str, *, retailer_delivery_id: str, sales_delivery_ids: list[str]
) -> StateRecords | None:
    """The voids of a cancelled trip's records at the state (DELETE), or None when the state holds none."""
    mode = trip_state_mode(jurisdiction)
    if mode == RETAILER and retailer_delivery_id:
        return StateRecords(Operation.RETAILER_DELIVERY_VOID.value, [{"Id": int(retailer_delivery_id)}], [])
    ids = [int(value) for value in sales_delivery_ids if value]
    if mode == SALES and ids:
        return StateRecords(Operation.SALES_DELIVERY_VOID.value, [{"Id": value} for value in ids], [])
    return None


def delivered_sale_change_refusal(sale, change: str) -> str | None:
    """Why a sale handed over at a door may not be voided or refunded (`change`): one reported to the state as
    part of a delivery record, which Metrc's API v2 cannot take back (shared/reference/metrc/): a retailer
    delivery is voided whole and only before it departs (DELETE /sales/v2/deliveries/retailer/{id}), with no call
    to void or amend one of its sales; a sales delivery is voided only before it is completed
    (DELETE /sales/v2/deliveries/{id}) and completed at the hand-over; neither is a receipt that
    DELETE or PUT /sales/v2/receipts could change. None for a sale the state holds as a receipt (a counter
    sale, or a delivered one in a state with no delivery records): those are voided and refunded as usual."""
    if sale.pickup_order_id is None:
        return None
    stop = (
        TripStop.objects.select_related("trip__store")
        .filter(order__order_id=sale.pickup_order_id)
        .exclude(status=TripStop.Status.RETURNED)
        .first()
    )
    if stop is None:
        return None
    trip = stop.trip
    mode = trip_state_mode(trip.store.jurisdiction)
    done = "voided" if change == "void" else "refunded"
    after = (
        f"so this sale cannot be {done} here and nothing was changed. Ask the compliance officer to have the "
        "state's record corrected in Metrc first."
    )
    if mode == RETAILER and trip.state_reference:
        return (
            f"This sale was handed over on delivery trip {trip.pk} and reported to the state as a sale from the "
            "vehicle's delivery record. Metrc cannot void or change a sale made from a delivery vehicle, "
            + after
        )
    if mode == SALES and stop.state_reference:
        return (
            f"This sale was handed over on delivery trip {trip.pk} and reported to the state as a completed "
            "delivery. Metrc cannot void or change a delivery once it is completed, " + after
        )
    return None
