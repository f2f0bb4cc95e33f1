"""What the dispatch board shows for a store's local day: the waiting orders by window and zone, the drivers on
shift with their vehicles, each route's stops in order, and the map's points. A fixed number of queries
however many orders, drivers and routes there are."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch

from delivery.models import DeliveryOrder, DriverShift, Trip, TripStop
from delivery.selectors import delivery_hours_for_day
from delivery.services_dispatch import _day_shifts, value_cap_for, waiting_orders
from dispensary.models import Store

# Route colours on the map and the cards (distinct, readable on white, with a text colour for the number).
ROUTE_COLOURS = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#b45309", "#4b5563"]


def customer_short_name(customer) -> str:
    """First name and the family name's initial: what a dispatcher needs to tell two orders apart."""
    first = (customer.first_name or "").strip()
    last = (customer.last_name or "").strip()
    if not first and not last:
        return "Customer"
    return f"{first} {last[:1]}.".strip() if last else first


@dataclass
class WaitingGroup:
    window_start: dt.datetime
    window_end: dt.datetime
    zone: str
    orders: list[DeliveryOrder] = field(default_factory=list)


@dataclass
class RouteCard:
    trip: Trip
    colour: str
    number: int
    stops: list[TripStop]
    value_cap: Decimal | None
    live: dict | None = None  # live tracking's view of a trip on the road (delivery.tracking.fleet_get)

    @property
    def over_cap(self) -> bool:
        return self.value_cap is not None and self.trip.goods_value > self.value_cap

    @property
    def cap_percent(self) -> int:
        if not self.value_cap:
            return 0
        return min(100, int(self.trip.goods_value * 100 / self.value_cap))

    @property
    def distance_km(self) -> str:
        return f"{self.trip.distance_m / 1000:.1f}"


@dataclass
class DriverRow:
    shift: DriverShift
    driver: object
    vehicle: object
    card: RouteCard | None


@dataclass
class Board:
    store: Store
    day: dt.date
    hours_label: str
    value_cap: Decimal | None
    waiting: list[DeliveryOrder]
    groups: list[WaitingGroup]
    cards: list[RouteCard]
    drivers: list[DriverRow]
    idle_shifts: list[DriverShift]

    @property
    def open_cards(self) -> list[RouteCard]:
        return [card for card in self.cards if card.trip.status == Trip.Status.PLANNED]

    def map_data(self) -> dict:
        store = self.store
        return {
            "store": {
                "name": store.name,
                "latitude": float(store.latitude) if store.latitude is not None else None,
                "longitude": float(store.longitude) if store.longitude is not None else None,
            },
            "routes": [
                {
                    "colour": card.colour,
                    "label": f"{card.trip.driver.name}: {len(card.stops)} stop{'' if len(card.stops) == 1 else 's'}",
                    "stops": [
                        {
                            "sequence": stop.sequence,
                            "latitude": float(stop.order.latitude),
                            "longitude": float(stop.order.longitude),
                            "label": f"{stop.sequence}. Order {stop.order.order_id}, "
                            f"{customer_short_name(stop.order.order.customer)}",
                        }
                        for stop in card.stops
                    ],
                }
                for card in self.cards
            ],
            "waiting": [
                {
                    "latitude": float(delivery.latitude),
                    "longitude": float(delivery.longitude),
                    "label": f"Order {delivery.order_id}, {customer_short_name(delivery.order.customer)}: waiting",
                }
                for delivery in self.waiting
            ],
        }


def dispatch_board_get(*, store: Store, day: dt.date) -> Board:
    waiting = list(waiting_orders(store, day))
    groups: dict[tuple, WaitingGroup] = {}
    for delivery in waiting:
        delivery.customer_name = customer_short_name(delivery.order.customer)
        key = (delivery.window_start, delivery.window_end, delivery.zone.name)
        groups.setdefault(key, WaitingGroup(delivery.window_start, delivery.window_end, delivery.zone.name))
        groups[key].orders.append(delivery)
    stops = Prefetch(
        "stops",
        queryset=TripStop.objects.exclude(status=TripStop.Status.RETURNED)
        .select_related("order__order__customer", "order__zone")
        .order_by("sequence"),
        to_attr="live_stops",
    )
    trips = list(
        Trip.objects.filter(store=store, day=day)
        .exclude(status=Trip.Status.CANCELLED)
        .select_related("driver__user", "vehicle", "shift")
        .prefetch_related(stops)
        .order_by("shift__starts_at", "shift_id", "pk")
    )
    cap = value_cap_for(store, day)
    cards = []
    for number, trip in enumerate(trips, start=1):
        for stop in trip.live_stops:
            stop.customer_name = customer_short_name(stop.order.order.customer)
        cards.append(
            RouteCard(
                trip=trip,
                colour=ROUTE_COLOURS[(number - 1) % len(ROUTE_COLOURS)],
                number=number,
                stops=trip.live_stops,
                value_cap=cap,
            )
        )
    by_shift = {card.trip.shift_id: card for card in cards}
    shifts = list(_day_shifts(store, day))
    drivers = [
        DriverRow(shift=shift, driver=shift.driver, vehicle=shift.vehicle, card=by_shift.get(shift.pk))
        for shift in shifts
    ]
    shown = {shift.pk for shift in shifts}
    # A route whose shift has ended (clocked out) still shows, under its driver.
    drivers += [
        DriverRow(shift=card.trip.shift, driver=card.trip.driver, vehicle=card.trip.vehicle, card=card)
        for card in cards
        if card.trip.shift_id not in shown
    ]
    return Board(
        store=store,
        day=day,
        hours_label=delivery_hours_for_day(store, day).label,
        value_cap=cap,
        waiting=waiting,
        groups=list(groups.values()),
        cards=cards,
        drivers=drivers,
        idle_shifts=[row.shift for row in drivers if row.card is None],
    )
