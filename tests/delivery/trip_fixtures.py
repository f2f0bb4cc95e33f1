# ruff: noqa: F811 - the fixtures imported from order_fixtures are parameters of the fixtures below
"""Trips for the tests of the state's delivery records: real delivery orders (placed through
delivery_order_create), a driver on shift with a vehicle, a Trip with its stops made directly (the dispatch
board's planning services make them in production), and a Metrc simulator that every send of the sync queue
goes to (the store's facility, its packages seeded at the state)."""

import datetime as dt
import itertools
from decimal import Decimal as D

import pytest
from django.utils import timezone

from compliance.traceability import registry
from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import MetrcSimulator
from delivery.models import Trip, TripStop
from delivery.services_orders import delivery_order_create
from tests.delivery.fleet import make_driver, make_shift, make_vehicle
from tests.delivery.order_fixtures import local
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory
from tests.inventory.factories import receive

VENDOR, USER = "trip-vendor", "trip-user"
_keys = itertools.count(1)


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def store(organization, request):
    """A California store unless the test asks for another jurisdiction (indirect parametrization)."""
    jurisdiction = getattr(request, "param", "US-CA")
    return StoreFactory(organization=organization, jurisdiction=jurisdiction, time_zone="America/Los_Angeles")


@pytest.fixture
def simulator(store, monkeypatch, settings):
    settings.STATE_SYNC = {
        **settings.STATE_SYNC,
        "BACKOFF_BASE_SECONDS": 0.01,
        "BACKOFF_MAX_SECONDS": 0.02,
        "LEASE_SECONDS": 5,
    }
    sim = MetrcSimulator()
    sim.add_credentials(VENDOR, USER)
    sim.add_facility(store.license_adult_use, jurisdiction=store.jurisdiction, user_keys=[USER])
    sim.set_faults(get_rate_limit=None)

    def provider(for_store, **kwargs):
        return MetrcProvider(
            base_url="http://simulator.invalid",
            vendor_key=VENDOR,
            user_key=USER,
            license_number=for_store.license_adult_use,
            jurisdiction=for_store.jurisdiction,
            transport=sim.transport(),
            backoff_base=0.001,
            backoff_max=0.002,
            max_attempts=3,
        )

    monkeypatch.setattr(registry, "provider_for_store", provider)
    return sim


def stocked(store, product, simulator, quantity=10):
    """A package on the sales floor, known to the state with the same quantity."""
    package = receive(store, product, quantity)
    if simulator is not None:
        simulator.seed_package(store.license_adult_use, package.tag, quantity, "Each", product.name)
    return package


def place_order(
    store, product, *, first_name="Alice", last_name="Doe", quantity=1, hour=14, line1="1 Market St"
):
    customer = CustomerFactory(
        organization=store.organization,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=dt.date(1990, 5, 17),
    )
    return delivery_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D(quantity))],
        idempotency_key=f"trip-order-{next(_keys)}",
        window_start=local(hour),
        window_end=local(hour + 1),
        new_address={
            "line1": line1,
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94105",
            "latitude": D("37.750000"),
            "longitude": D("-122.450000"),
        },
    )


def make_trip(store, orders, *, driver=None, vehicle=None, status=Trip.Status.LOCKED, plate="8ABC123"):
    driver = driver or make_driver(store, first_name="Sam", last_name="Rivera", licence="D7654321")
    vehicle = vehicle or make_vehicle(store, plate=plate)
    day = local(12).date()
    shift = make_shift(store, driver, vehicle, day, start=12, end=20)
    start = local(13, 30)
    trip = Trip.objects.create(
        organization=store.organization,
        store=store,
        day=day,
        shift=shift,
        driver=driver,
        vehicle=vehicle,
        status=status,
        planned_start=start,
        planned_end=start + dt.timedelta(hours=3),
        planned_at=timezone.now(),
    )
    for number, delivery in enumerate(orders, start=1):
        arrival = start + dt.timedelta(minutes=30 * number)
        TripStop.objects.create(
            trip=trip,
            order=delivery,
            sequence=number,
            planned_arrival=arrival,
            planned_departure=arrival + dt.timedelta(minutes=5),
        )
    return trip
