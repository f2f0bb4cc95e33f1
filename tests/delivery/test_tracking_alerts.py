# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""Live tracking's alerts and the customer's road events, with a frozen clock: each alert kind is raised once when
its condition appears, not again on the next position, resolved when it clears; a replayed batch raises nothing
twice; StopApproaching once per stop, StopDelayed once per late stop (again only 15 minutes later)."""

import datetime as dt
import uuid
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.driver_app import driver_actions_apply
from delivery.models import TrackingAlert, TrackingSettings, Trip, TripPosition, TripStop
from delivery.services_tracking import tracking_evaluate
from delivery.tracking import distance_to_line_m, remaining_route
from dispensary.models import OutboxEvent
from pos.models import PickupOrder
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

# The store downtown; the three stops near 37.750, -122.450 (100 m apart, northwards), window 14:00-16:00.
STORE = (D("37.779300"), D("-122.419300"))
ON_THE_WAY = ("37.764650", "-122.434650")  # half-way between the store and the first stop, on the leg
NORTH_OFF = ("37.800000", "-122.450000")  # 2 km and more from every leg, still in the zone
OUT_OF_ZONE = ("37.900000", "-122.450000")  # the zone ends at 37.82


@pytest.fixture
def road(now, route):
    """Dana's trip on the road since 13:00 from a store on the map."""
    trip = route["trip"]
    store = trip.store
    store.latitude, store.longitude = STORE
    store.save(update_fields=["latitude", "longitude"])
    Trip.objects.filter(pk=trip.pk).update(status=Trip.Status.DEPARTED, departed_at=local(13))
    trip.refresh_from_db()
    user = route["dana"].user
    user.first_name = "Dana"
    user.save(update_fields=["first_name"])
    return {**route, "trip": trip, "user": user}


def at(clock, road, hour, minute, point, second=0):
    clock.move_to(local(hour, minute) + dt.timedelta(seconds=second))
    return send(road["user"], "position", trip=road["trip"], latitude=point[0], longitude=point[1])


def alerts(kind=None):
    rows = TrackingAlert.objects.order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


def events(name):
    return list(OutboxEvent.objects.filter(name=name).order_by("pk"))


def test_leaving_the_route_raises_once_clears_on_return_and_raises_again(clock, road):
    at(clock, road, 14, 0, ON_THE_WAY)
    assert alerts() == []
    at(clock, road, 14, 1, NORTH_OFF)
    [off] = alerts()
    assert (off.kind, off.trip_id, off.resolved_at, off.raised_at) == (
        "off_route",
        road["trip"].pk,
        None,
        local(14, 1),
    )
    assert off.message.startswith("Dana was 3.5 km") and "from the planned route at 2:01 PM" in off.message
    assert off.message.endswith("(the store allows 1.0 km).")
    at(clock, road, 14, 1, NORTH_OFF, second=20)  # the next position finds the same: nothing new
    at(clock, road, 14, 2, NORTH_OFF)
    assert alerts() == [off]
    at(clock, road, 14, 3, ON_THE_WAY)  # back on the route
    off.refresh_from_db()
    assert off.resolved_at == local(14, 3)
    at(clock, road, 14, 4, NORTH_OFF)  # a new condition: a new alert
    assert [(a.kind, a.resolved_at is None) for a in alerts()] == [("off_route", False), ("off_route", True)]


def test_the_route_distance_is_the_stores_setting(clock, road):
    TrackingSettings.objects.create(store=road["trip"].store, off_route_m=5000)
    at(clock, road, 14, 1, NORTH_OFF)
    assert alerts() == []
    stops = list(road["trip"].stops.select_related("order"))
    off = distance_to_line_m(float(NORTH_OFF[0]), float(NORTH_OFF[1]), remaining_route(road["trip"], stops))
    assert 2000 < off < 5000


def test_a_late_stop_is_told_once_and_again_only_when_it_slips_further(clock, road):
    # From the store at 15:55, the first stop is about 11 minutes away: every stop ends after 16:00.
    at(clock, road, 15, 55, (str(STORE[0]), str(STORE[1])))
    late = alerts("late")
    stops = list(road["trip"].stops.order_by("sequence"))
    assert [alert.stop_id for alert in late] == [stop.pk for stop in stops]
    first = late[0]
    assert first.message.startswith("Dana is expected at stop 1 (Ada L., order ")
    assert "after the window promised to the customer (2:00 PM – 4:00 PM)." in first.message
    delayed = events("delivery.stop_delayed")
    assert [event.payload["stop_id"] for event in delayed] == [stop.pk for stop in stops]
    assert dt.datetime.fromisoformat(delayed[0].payload["window_end"]) == local(16)
    assert delayed[0].payload["late_minutes"] == first.late_minutes > 0
    at(clock, road, 15, 55, (str(STORE[0]), str(STORE[1])), second=20)
    at(clock, road, 15, 56, (str(STORE[0]), str(STORE[1])))
    assert alerts("late") == late and len(events("delivery.stop_delayed")) == 3
    # Still at the store 16 minutes later: 16 minutes later at every stop, told again (the alerts stay one each).
    at(clock, road, 16, 11, (str(STORE[0]), str(STORE[1])))
    assert alerts("late") == late and len(events("delivery.stop_delayed")) == 6
    # A stop handed over: its late alert is over.
    TripStop.objects.filter(pk=stops[0].pk).update(status=TripStop.Status.DELIVERED)
    at(clock, road, 16, 12, (str(STORE[0]), str(STORE[1])))
    first.refresh_from_db()
    assert first.resolved_at == local(16, 12) and len(alerts("late")) == 3


def test_standing_still_away_from_every_stop_raises_once_after_the_set_minutes(clock, road):
    for minute in range(10):
        at(clock, road, 14, minute, ON_THE_WAY)
    assert alerts("stopped") == []  # nine minutes
    at(clock, road, 14, 10, ON_THE_WAY)
    [stopped] = alerts("stopped")
    assert stopped.message == (
        "Dana has not moved since 2:00 PM (10 min at 2:10 PM), away from every stop and the store."
    )
    at(clock, road, 14, 11, ON_THE_WAY)
    assert alerts("stopped") == [stopped]
    at(clock, road, 14, 12, ("37.766650", "-122.434650"))  # 220 m on
    stopped.refresh_from_db()
    assert stopped.resolved_at == local(14, 12)


def test_standing_at_a_stop_is_work_not_a_stop_too_long(clock, road):
    door = road["trip"].stops.order_by("sequence").first().order
    for minute in range(0, 21, 2):
        at(clock, road, 14, minute, (str(door.latitude), str(door.longitude)))
    assert alerts("stopped") == []


def test_leaving_the_zones_raises_once(clock, road):
    at(clock, road, 14, 0, OUT_OF_ZONE)
    assert sorted(alert.kind for alert in alerts()) == ["off_route", "out_of_zone"]
    [outside] = alerts("out_of_zone")
    assert outside.message.startswith("Dana was outside every delivery zone of ")
    at(clock, road, 14, 1, OUT_OF_ZONE)
    assert len(alerts()) == 2
    at(clock, road, 14, 2, ON_THE_WAY)
    outside.refresh_from_db()
    assert outside.resolved_at == local(14, 2)


def test_goods_over_the_vehicle_cap_raise_once(clock, road):
    orders = [stop.order.order_id for stop in road["trip"].stops.all()]
    PickupOrder.objects.filter(pk__in=orders[:2]).update(estimated_total=D("5200.00"))
    at(clock, road, 14, 0, ON_THE_WAY)
    [over] = alerts("over_cap")
    assert over.message.startswith("Dana's vehicle carries $10,4")
    assert "the state allows at most $10,000.00 in a vehicle" in over.message
    at(clock, road, 14, 1, ON_THE_WAY)
    assert alerts("over_cap") == [over]
    # One of them handed over: the goods still carried are under the cap again.
    TripStop.objects.filter(trip=road["trip"], order__order_id=orders[0]).update(
        status=TripStop.Status.DELIVERED
    )
    at(clock, road, 14, 2, ON_THE_WAY)
    over.refresh_from_db()
    assert over.resolved_at == local(14, 2)


def test_the_car_nearly_at_the_next_stop_is_told_once_per_stop(clock, road):
    stops = list(road["trip"].stops.order_by("sequence").select_related("order"))
    at(clock, road, 14, 0, NORTH_OFF)  # 6 km away: not yet
    assert events("delivery.stop_approaching") == []
    near = (str(stops[0].order.latitude - D("0.003")), str(stops[0].order.longitude))  # 330 m south
    at(clock, road, 14, 5, near)
    [approaching] = events("delivery.stop_approaching")
    assert approaching.payload["stop_id"] == stops[0].pk
    assert approaching.payload["order_id"] == stops[0].order.order_id
    assert approaching.payload["customer_id"] == road["people"][0][0].pk
    at(clock, road, 14, 5, near, second=20)
    assert len(events("delivery.stop_approaching")) == 1
    # The first stop closed: the second one (100 m on) is next and is told once too.
    TripStop.objects.filter(pk=stops[0].pk).update(status=TripStop.Status.DELIVERED)
    at(clock, road, 14, 15, near)
    at(clock, road, 14, 16, near)
    assert [event.payload["stop_id"] for event in events("delivery.stop_approaching")] == [
        stops[0].pk,
        stops[1].pk,
    ]


def test_a_replayed_batch_raises_and_tells_nothing_twice(clock, road):
    clock.move_to(local(14, 20))
    batch = [
        {
            "key": str(uuid.uuid4()),
            "kind": "position",
            "trip_id": road["trip"].pk,
            "payload": {"latitude": point[0], "longitude": point[1]},
            "happened_at": (local(14, minute)).isoformat(),
        }
        for minute, point in ((0, ON_THE_WAY), (5, NORTH_OFF), (10, OUT_OF_ZONE), (19, OUT_OF_ZONE))
    ]
    first = driver_actions_apply(user=road["user"], actions=batch)
    assert [answer["outcome"] for answer in first] == ["applied"] * 4
    raised = sorted(alert.kind for alert in alerts())
    assert raised == ["off_route", "out_of_zone"]
    before = OutboxEvent.objects.count()
    clock.move_to(local(14, 21))
    again = driver_actions_apply(user=road["user"], actions=batch)
    assert [answer["replayed"] for answer in again] == [True] * 4
    assert sorted(alert.kind for alert in alerts()) == raised
    assert TripPosition.objects.count() == 4 and OutboxEvent.objects.count() == before
    # Judging the trip again without a new position changes nothing either.
    assert tracking_evaluate(trip_id=road["trip"].pk) == []
    assert len(alerts()) == 2


def test_a_trip_not_on_the_road_is_not_judged(clock, road):
    Trip.objects.filter(pk=road["trip"].pk).update(status=Trip.Status.RETURNED)
    at(clock, road, 14, 0, OUT_OF_ZONE)
    assert alerts() == [] and TripPosition.objects.count() == 1


def test_judging_a_trip_reads_a_fixed_number_of_queries(clock, road, django_assert_max_num_queries):
    at(clock, road, 14, 0, ON_THE_WAY)
    with CaptureQueriesContext(connection) as few:
        tracking_evaluate(trip_id=road["trip"].pk, now=local(14, 0) + dt.timedelta(seconds=20))
    TripPosition.objects.bulk_create(
        TripPosition(
            trip=road["trip"],
            driver=road["dana"],
            recorded_at=local(13, 50) + dt.timedelta(seconds=5 * n),
            received_at=local(14),
            latitude=D(ON_THE_WAY[0]) - D("0.002"),  # driving up to where the car is now
            longitude=D(ON_THE_WAY[1]),
        )
        for n in range(120)
    )
    with CaptureQueriesContext(connection) as many:
        tracking_evaluate(trip_id=road["trip"].pk, now=local(14, 0) + dt.timedelta(seconds=40))
    assert len(few) == len(many) <= 12


def test_a_batch_that_ends_minutes_ago_judges_no_position_and_no_lateness(clock, road):
    # The phone kept its fixes offline: the newest is 10 minutes old when it arrives; the car may be anywhere now.
    clock.move_to(local(16, 5))
    batch = [
        {
            "key": str(uuid.uuid4()),
            "kind": "position",
            "trip_id": road["trip"].pk,
            "payload": {"latitude": OUT_OF_ZONE[0], "longitude": OUT_OF_ZONE[1]},
            "happened_at": local(15, 55).isoformat(),
        }
    ]
    driver_actions_apply(user=road["user"], actions=batch)
    assert alerts() == [] and events("delivery.stop_delayed") == []
