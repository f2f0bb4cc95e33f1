# ruff: noqa: F811 - the fixtures imported from order_fixtures are parameters of the tests
"""Late orders through the order service: a delivery order placed for a day that has routes joins an open route
when that keeps every promise; when it cannot (every route locked), the order is placed all the same and waits
with the reason."""

from decimal import Decimal as D

import pytest

from delivery.models import DeliveryOrder, TripStop
from delivery.services_dispatch import NO_OPEN_ROUTE, dispatch_plan, trip_lock
from delivery.services_orders import delivery_order_create
from dispensary.models import AuditRecord
from tests.delivery.dispatch_fixtures import DAY, STORE_POINT, driver_on_shift, order_at
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    home,
    local,
    now,
    package,
    product,
    zone,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned_day(now, store, zone, manager):
    store.latitude, store.longitude = STORE_POINT
    store.save(update_fields=["latitude", "longitude"])
    driver_on_shift(store, "Dana", "8AAA001", capacity=6)
    order_at(store, zone, latitude=37.76, longitude=-122.43, start=local(13), end=local(15))
    dispatch_plan(store=store, day=DAY, by=manager, seconds=0.5)
    return store


def place(store, customer, product, manager, key):
    return delivery_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("1"))],
        idempotency_key=key,
        window_start=local(14),
        window_end=local(16),
        address=customer.delivery_addresses.get(),
        created_by=manager,
    )


def test_a_late_order_joins_the_open_route(planned_day, customer, home, product, package, manager):
    delivery = place(planned_day, customer, product, manager, "late-1")
    stop = TripStop.objects.get(order=delivery)
    assert stop.trip.stops.count() == 2
    assert AuditRecord.objects.filter(action="trip.order_inserted", object_id=str(stop.trip_id)).exists()


def test_a_late_order_that_fits_nowhere_is_placed_and_waits_with_the_reason(
    planned_day, customer, home, product, package, manager
):
    trip = planned_day.trips.get()
    trip_lock(trip=trip, by=manager)
    delivery = place(planned_day, customer, product, manager, "late-2")
    delivery = DeliveryOrder.objects.get(pk=delivery.pk)
    assert delivery.order.status == "reserved"
    assert not TripStop.objects.filter(order=delivery).exists()
    assert delivery.unplanned_reason == NO_OPEN_ROUTE
