"""Two dispatchers on PostgreSQL, on two real connections: one waiting order put on two routes at once lands on
one of them (the other is refused, nothing half-written); two plans of the same day at once are served one after
the other and leave one trip per driver."""

import threading

import pytest
from django.db import connections

from delivery.models import DeliveryOrder, Trip, TripStop
from delivery.services_dispatch import DispatchRefused, dispatch_assign, dispatch_plan
from tests.delivery.dispatch_fixtures import (
    DAY,
    NOW,
    STORE_POINT,
    driver_on_shift,
    local,
    order_at,
    spread_orders,
)
from tests.delivery.helpers import square
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("shipped_rules"),
]


def compete(works):
    barrier = threading.Barrier(len(works))
    results, errors, lock = {}, {}, threading.Lock()

    def run(name, work):
        try:
            barrier.wait()
            result = work()
            with lock:
                results[name] = result
        except DispatchRefused as error:
            with lock:
                errors[name] = error
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=item) for item in works.items()]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return results, errors


def _store():
    from delivery.services import delivery_zone_create

    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, latitude=STORE_POINT[0], longitude=STORE_POINT[1])
    manager = UserFactory(organization=organization, roles=["manager"], stores=[store])
    zones = tuple(
        delivery_zone_create(
            store=store,
            actor=None,
            name=name,
            geometry=square(*corners),
            minimum_order="20",
            fee="4.99",
            estimated_minutes=40,
        )
        for name, corners in (
            ("North", (37.765, -122.52, 37.82, -122.35)),
            ("South", (37.70, -122.52, 37.765, -122.35)),
        )
    )
    driver_on_shift(store, "Dana", "8AAA001", capacity=4)
    driver_on_shift(store, "Eli", "8AAA002", capacity=4)
    return store, manager, zones


def test_one_order_put_on_two_routes_at_once_lands_on_one(clock):
    clock.move_to(NOW, tick=True)
    store, manager, zones = _store()
    # Two orders far apart due at the same time: one route each.
    for latitude, longitude, zone in ((37.80, -122.47, zones[0]), (37.72, -122.37, zones[1])):
        order_at(
            store,
            zone,
            latitude=latitude,
            longitude=longitude,
            start=local(store, 13),
            end=local(store, 13, 10),
        )
    dispatch_plan(store=store, day=DAY, by=manager, seconds=0.5)
    trips = list(Trip.objects.filter(store=store))
    assert len(trips) == 2
    waiting = order_at(
        store, zones[0], latitude=37.78, longitude=-122.41, start=local(store, 14), end=local(store, 17)
    )
    results, errors = compete(
        {trip.pk: (lambda trip=trip: dispatch_assign(order=waiting, trip=trip, by=manager)) for trip in trips}
    )
    assert len(results) == 1 and len(errors) == 1, (results, errors)
    (error,) = errors.values()
    assert "already on a route" in error.message
    assert TripStop.objects.filter(order=waiting).count() == 1


def test_two_plans_of_one_day_at_once_leave_one_trip_per_driver(clock):
    clock.move_to(NOW, tick=True)
    store, manager, zones = _store()
    spread_orders(store, zones, 6)
    results, errors = compete(
        {n: (lambda: dispatch_plan(store=store, day=DAY, by=manager, seconds=0.5)) for n in range(2)}
    )
    assert len(results) == 2 and errors == {}
    live = Trip.objects.filter(store=store).exclude(status="cancelled")
    assert live.values("shift").distinct().count() == live.count() <= 2
    assert (
        TripStop.objects.filter(trip__store=store).count()
        == DeliveryOrder.objects.filter(order__store=store).count()
    )
