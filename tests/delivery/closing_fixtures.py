# ruff: noqa: F811 - the fixtures imported are parameters of the fixtures below
"""A California (or, parametrized, another state's) trip on the road for the closing tests: three orders of the
same package sent, accepted by the Metrc simulator and departed; the driver's phone actions to hand over or
return each stop."""

import uuid

import pytest
from django.utils import timezone

from delivery.driver_app import ActionInput, driver_action_apply
from delivery.models import Trip
from delivery.services_trips import trip_depart, trip_send
from tests.delivery.order_fixtures import local
from tests.delivery.trip_fixtures import make_trip, place_order, stocked

GOOD_ID = {"date_of_birth": "1990-05-17", "expires_on": "2030-01-01", "local_passed": True}


def send(user, kind, stop, **payload):
    return driver_action_apply(
        user=user,
        action=ActionInput(
            key=str(uuid.uuid4()),
            kind=kind,
            stop_id=stop.pk,
            trip_id=None,
            payload=payload,
            happened_at=timezone.now().isoformat(),
        ),
    )


def writes(sim, method, path):
    return [r for r in sim.requests if r.method == method and r.path == path]


def fresh(trip):
    return Trip.objects.get(pk=trip.pk)


def hand_over(driver, stop, collected):
    send(driver, "arrived", stop)
    send(driver, "id_checked", stop, **GOOD_ID)
    assert send(driver, "proof", stop, no_signature_reason="Refused to sign")["outcome"] == "applied"
    answer = send(driver, "delivered", stop, collected=str(collected))
    assert answer["outcome"] == "applied", answer


@pytest.fixture
def road_stock():
    """How much of the package the store holds (a test parametrizes it to let the trip empty the package)."""
    return 10


@pytest.fixture
def road(store, product, simulator, zone, now, manager, clock, road_stock):
    """A trip of three orders (Alice 1, Bob 2, Cy 1 of the same package) sent, accepted and on the road."""
    package = stocked(store, product, simulator, quantity=road_stock)
    orders = [
        place_order(store, product, first_name="Alice", quantity=1),
        place_order(store, product, first_name="Bob", quantity=2, hour=15, line1="9 Elm St"),
        place_order(store, product, first_name="Cy", quantity=1, hour=15, line1="3 Oak St"),
    ]
    trip = make_trip(store, orders)
    trip_send(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    assert trip.state_status == "accepted"
    trip = trip_depart(trip=trip, by=manager, version=trip.version)
    clock.move_to(local(14, 10))
    return {
        "trip": fresh(trip),
        "package": package,
        "driver": trip.driver.user,
        "stops": list(trip.stops.all()),
    }


def deliver_two_return_one(road, reason="nobody_home"):
    alice, bob, cy = road["stops"]
    fee = alice.order.fee
    hand_over(road["driver"], alice, alice.order.order.estimated_total + fee)  # goods and the fee
    hand_over(road["driver"], bob, bob.order.order.estimated_total)  # the goods only
    send(road["driver"], "arrived", cy)
    assert send(road["driver"], "returned", cy, reason=reason)["outcome"] == "applied"
    return fee
