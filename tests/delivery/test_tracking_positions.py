# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""Live tracking's base: the phone's positions stored per trip once each, the latest read in one query, and the
remaining stops' arrivals recomputed from where the car is."""

import datetime as dt
import uuid
from decimal import Decimal as D

from delivery.models import TripPosition, TripStop
from delivery.routing.matrix import Point, StraightLineMatrix
from delivery.tracking import latest_positions, stop_etas
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    local,
    now,
    package,
    product,
    zone,
)
from tests.delivery.test_driver_app import send


def test_a_position_is_stored_once_with_what_the_phone_knew(clock, route):
    dana = route["dana"].user
    key = str(uuid.uuid4())
    clock.move_to(local(14, 5))
    fix = dict(latitude="37.751", longitude="-122.449", accuracy="12.6", speed="8.5", heading="None")
    first = send(dana, "position", trip=route["trip"], key=key, **fix)
    again = send(dana, "position", trip=route["trip"], key=key, **fix)
    assert (first["outcome"], again["outcome"]) == ("applied", "applied")
    stored = TripPosition.objects.get()
    assert (stored.trip_id, stored.driver_id, stored.recorded_at) == (
        route["trip"].pk,
        route["dana"].pk,
        local(14, 5),
    )
    assert (stored.latitude, stored.longitude, stored.accuracy_m, stored.speed_mps, stored.heading) == (
        D("37.751000"),
        D("-122.449000"),
        12,
        8.5,
        None,
    )


def test_the_latest_position_of_each_trip_in_one_query(clock, route, django_assert_num_queries):
    dana, eve = route["dana"].user, route["eve"].user
    for minute, latitude in ((5, "37.75"), (15, "37.77"), (10, "37.76")):  # sent out of order
        clock.move_to(local(14, minute))
        send(dana, "position", trip=route["trip"], latitude=latitude, longitude="-122.44")
    clock.move_to(local(14, 20))
    send(eve, "position", trip=route["other"], latitude="37.70", longitude="-122.40")
    with django_assert_num_queries(1):
        latest = latest_positions([route["trip"].pk, route["other"].pk, 10**9])
    assert {trip: str(row.latitude) for trip, row in latest.items()} == {
        route["trip"].pk: "37.770000",
        route["other"].pk: "37.700000",
    }
    assert latest_positions([]) == {}


def test_arrivals_follow_the_car_and_wait_for_the_window(clock, route):
    trip = route["trip"]
    stops = list(trip.stops.select_related("order", "trip__store").order_by("sequence"))
    stops[0].status = TripStop.Status.DELIVERED
    clock.move_to(local(13, 30))
    here = stops[1].order
    position = TripPosition(
        trip=trip,
        recorded_at=local(13, 29),
        latitude=here.latitude,
        longitude=here.longitude,
    )
    matrix = StraightLineMatrix()
    etas = stop_etas(trip, stops, position=position, now=local(13, 30), provider=matrix)
    assert list(etas) == [stops[1].pk, stops[2].pk]
    second, third = etas[stops[1].pk], etas[stops[2].pk]
    # At the second stop's door already, before its window (14:00) opens: the hand-over waits for the window.
    assert (second.arrival, second.service_start, second.late_by) == (
        local(13, 30),
        local(14),
        dt.timedelta(0),
    )
    # Then five minutes at the door and the drive to the third stop.
    a = Point(float(stops[1].order.latitude), float(stops[1].order.longitude))
    b = Point(float(stops[2].order.latitude), float(stops[2].order.longitude))
    drive = dt.timedelta(seconds=matrix.matrix([a, b]).durations[0][1])
    assert third.arrival == local(14, 5) + drive
    # A stale fix is ignored: the car is taken to start from the store.
    trip.store.latitude, trip.store.longitude = D("37.7793"), D("-122.4193")
    stale = stop_etas(trip, stops, position=position, now=local(15, 0), provider=matrix)
    assert stale[stops[1].pk].arrival > local(15, 0)
    # Late against the window's end.
    late = stop_etas(trip, stops, position=None, now=local(16, 30), provider=matrix)
    assert late[stops[1].pk].late_by > dt.timedelta(minutes=30)
