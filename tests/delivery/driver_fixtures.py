"""A sent trip for the driver app's tests: a driver on today's shift with three delivery orders (placed through
the delivery order service) as stops 1-3, and another driver with a trip of their own."""

import datetime as dt
from decimal import Decimal as D

import pytest

from delivery.models import DeliveryAddress, Trip, TripStop
from delivery.services_orders import delivery_order_create
from tests.delivery.fleet import make_driver, make_shift, make_vehicle
from tests.delivery.order_fixtures import INSIDE, local
from tests.factories import CustomerFactory

ADULT_BORN = dt.date(1990, 5, 17)


def make_customer(organization, first, last, born=ADULT_BORN, n=0):
    customer = CustomerFactory(
        organization=organization, first_name=first, last_name=last, date_of_birth=born
    )
    address = DeliveryAddress.objects.create(
        customer=customer,
        line1=f"{10 + n} Market St",
        city="San Francisco",
        region="CA",
        postal_code="94105",
        source="client",
        latitude=INSIDE["latitude"] + D("0.001") * n,
        longitude=INSIDE["longitude"],
    )
    return customer, address


def make_trip(store, driver, vehicle, orders, *, status=Trip.Status.SENT, start=13):
    day = local(start).date()
    shift = make_shift(store, driver, vehicle, day, start=10, end=20)
    trip = Trip.objects.create(
        organization=store.organization,
        store=store,
        day=day,
        shift=shift,
        driver=driver,
        vehicle=vehicle,
        status=status,
        planned_start=local(start),
        planned_end=local(start + 3),
        planned_at=local(12),
        sent_at=local(12, 30),
    )
    for sequence, delivery in enumerate(orders, start=1):
        TripStop.objects.create(
            trip=trip,
            order=delivery,
            sequence=sequence,
            planned_arrival=local(start, 10 * sequence),
            planned_departure=local(start, 10 * sequence + 5),
        )
    return trip


def place_order(store, customer, address, product, key, quantity=D("1"), note=""):
    return delivery_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, quantity)],
        idempotency_key=key,
        window_start=local(14),
        window_end=local(16),
        address=address,
        note=note,
    )


@pytest.fixture
def route(now, store, zone, product, package, budtender):
    """Today's sent trip of driver Dana with three stops (Ada, Bob, Cy), and driver Eve's trip with one."""
    organization = store.organization
    dana = make_driver(store, username="dana", licence="D1000001")
    eve = make_driver(store, username="eve", licence="D1000002")
    car, van = make_vehicle(store, plate="8AAA111"), make_vehicle(store, plate="8BBB222")
    people = [
        make_customer(organization, "Ada", "Lovelace", n=0),
        make_customer(organization, "Bob", "Marley", n=1),
        make_customer(organization, "Cy", "Young", n=2),
        make_customer(organization, "Zoe", "Other", n=3),
    ]
    orders = [
        place_order(store, customer, address, product, f"o-{i}", note="Ring twice" if i == 0 else "")
        for i, (customer, address) in enumerate(people)
    ]
    trip = make_trip(store, dana, car, orders[:3])
    other = make_trip(store, eve, van, orders[3:])
    return {"dana": dana, "eve": eve, "trip": trip, "other": other, "orders": orders, "people": people}
