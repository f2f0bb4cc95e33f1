"""Fixtures of the dispatch tests: a San Francisco store placed on the map (09:00-21:00, California's value cap of
$10,000 on file), two zones, drivers on shift with vehicles, and delivery orders written as rows (the order
services have their own tests) with windows and places chosen by each test. The clock is 11:00 local."""

import datetime as dt
import itertools
from decimal import Decimal as D

import pytest
from django.utils import timezone

from delivery.models import DeliveryAddress, DeliveryOrder
from delivery.services import delivery_zone_create
from pos.models import Fulfilment, PickupOrder
from tests.delivery.fleet import make_driver, make_shift, make_vehicle
from tests.delivery.helpers import square
from tests.factories import CustomerFactory

NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)  # 11:00 in Los Angeles
DAY = dt.date(2026, 3, 10)
STORE_POINT = (D("37.770000"), D("-122.420000"))
_keys = itertools.count(1)


@pytest.fixture
def now(clock, shipped_rules):
    return clock.move_to(NOW)


@pytest.fixture
def placed_store(store):
    store.latitude, store.longitude = STORE_POINT
    store.save(update_fields=["latitude", "longitude"])
    return store


@pytest.fixture
def zones(placed_store, manager):
    north = delivery_zone_create(
        store=placed_store,
        actor=manager,
        name="North",
        geometry=square(37.765, -122.52, 37.82, -122.35),
        minimum_order="20",
        fee="4.99",
        estimated_minutes=35,
    )
    south = delivery_zone_create(
        store=placed_store,
        actor=manager,
        name="South",
        geometry=square(37.70, -122.52, 37.765, -122.35),
        minimum_order="20",
        fee="6.99",
        estimated_minutes=45,
    )
    return north, south


def local(store, hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=store.tz)


def order_at(
    store, zone, *, latitude, longitude, start, end, value="100.00", first_name="Ana", last_name="Lopez"
):
    """A reserved delivery order placed now for a window, as rows."""
    customer = CustomerFactory(organization=store.organization, first_name=first_name, last_name=last_name)
    address = DeliveryAddress.objects.create(
        customer=customer,
        line1=f"{next(_keys)} Valencia St",
        city="San Francisco",
        region="CA",
        postal_code="94110",
        latitude=D(str(latitude)),
        longitude=D(str(longitude)),
        source="staff",
    )
    now = timezone.now()
    order = PickupOrder.objects.create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        placed_at=now,
        pickup_after=start,
        expires_at=end + dt.timedelta(hours=2),
        idempotency_key=f"dispatch-{next(_keys)}",
        fulfilment=Fulfilment.DELIVERY,
        channel="phone",
        estimated_total=D(value),
    )
    return DeliveryOrder.objects.create(
        order=order,
        address=address,
        address_text=f"{address.line1}, San Francisco, CA 94110",
        latitude=address.latitude,
        longitude=address.longitude,
        zone=zone,
        window_start=start,
        window_end=end,
        fee=zone.fee,
        minimum_order=zone.minimum_order,
        estimated_minutes=zone.estimated_minutes,
    )


def driver_on_shift(store, name: str, plate: str, *, capacity=8, start=10, end=18, zones=None):
    driver = make_driver(
        store, first_name=name, last_name="Driver", licence=f"D{abs(hash(plate)) % 10**7:07d}"
    )
    vehicle = make_vehicle(store, plate=plate, capacity=capacity)
    return make_shift(store, driver, vehicle, DAY, start=start, end=end, zones=zones)


def spread_orders(store, zones, count: int, *, value="120.00"):
    """`count` orders over the afternoon's windows and both zones, a few hundred metres apart."""
    north, south = zones
    windows = [(12, 14), (13, 15), (14, 16), (15, 17)]
    made = []
    for number in range(count):
        zone = north if number % 2 == 0 else south
        latitude = (37.775 if zone is north else 37.755) + (number % 5) * 0.003
        longitude = -122.43 + (number % 7) * 0.004
        start, end = windows[number % len(windows)]
        made.append(
            order_at(
                store,
                zone,
                latitude=latitude,
                longitude=longitude,
                start=local(store, start),
                end=local(store, end),
                value=value,
                first_name=f"Cust{number}",
            )
        )
    return made
