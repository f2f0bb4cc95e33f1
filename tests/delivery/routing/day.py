"""A realistic delivery day for the planner's tests and its benchmark: one store in Los Angeles, three zones
(sectors around it), drivers on staggered shifts serving one or two zones, orders in two-hour windows."""

import datetime as dt
import math
import random
import zoneinfo
from decimal import Decimal

from delivery.routing.matrix import Point
from delivery.routing.planner import Depot, Stop, Vehicle

LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
STORE = Point(34.0522, -118.2437)
ZONES = ("north", "east", "west")
# (shift start hour, shift end hour, zones) for up to eight drivers.
SHIFTS = [
    (9, 17, ("north", "east")),
    (10, 18, ("east",)),
    (12, 21, ("west", "north")),
    (9, 15, ("west",)),
    (14, 21, ("north", "east", "west")),
    (11, 19, ("north",)),
    (9, 17, ("west", "east")),
    (13, 21, ("east",)),
]


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOS_ANGELES)


def realistic_day(orders: int = 80, drivers: int = 5, seed: int = 7, day: dt.date = dt.date(2026, 3, 10)):
    """(depot, stops, vehicles): the store open 9:00-21:00, two-hour windows from 10:00 to 20:00."""
    chance = random.Random(seed)
    depot = Depot(point=STORE, opens=at(day, 9), closes=at(day, 21))
    stops = []
    for number in range(orders):
        zone = chance.choice(ZONES)
        # Each zone is a 120-degree sector around the store, 1 to 9 km out.
        bearing = math.radians(ZONES.index(zone) * 120 + chance.uniform(-55, 55))
        kilometres = chance.uniform(1, 9)
        latitude = STORE.latitude + kilometres / 111.2 * math.cos(bearing)
        longitude = STORE.longitude + kilometres / (
            111.2 * math.cos(math.radians(STORE.latitude))
        ) * math.sin(bearing)
        start = chance.randrange(10, 19)
        stops.append(
            Stop(
                id=f"order-{number + 1}",
                point=Point(round(latitude, 6), round(longitude, 6)),
                window_start=at(day, start),
                window_end=at(day, start + 2),
                service_seconds=chance.choice([240, 300, 420]),
                demand=chance.randint(1, 4),
                value=Decimal(chance.randrange(4000, 60000)) / 100,
                zone=zone,
            )
        )
    vehicles = [
        Vehicle(
            id=f"driver-{number + 1}",
            capacity=40,
            shift_start=at(day, start),
            shift_end=at(day, end),
            value_cap=Decimal("10000.00"),
            zones=frozenset(zones),
        )
        for number, (start, end, zones) in enumerate(SHIFTS[:drivers])
    ]
    return depot, stops, vehicles
