"""The delivery planner: every plan is checked by the independent evaluator; each reason for leaving an order
out is produced by a case built to cause it; insertion keeps every promise or says why it cannot."""

import dataclasses
import datetime as dt
import math
from decimal import Decimal

import pytest

from delivery.routing.matrix import Point, StraightLineMatrix
from delivery.routing.planner import (
    NO_ROOM,
    NO_VEHICLE,
    OVER_CAPACITY,
    OVER_VALUE_CAP,
    WINDOW_UNREACHABLE,
    Depot,
    PlanningError,
    Stop,
    Vehicle,
    check_route,
    insert_stop,
    plan_routes,
)
from tests.delivery.routing.day import STORE, at, realistic_day
from tests.delivery.routing.evaluator import haversine, plan_check

DAY = dt.date(2026, 3, 10)
PROVIDER = StraightLineMatrix(road_factor=1.3, speed_kmh=30)


def travel(a, b):
    metres = haversine(a, b) * 1.3
    return metres, metres / (30 * 1000 / 3600)


def east_of_store(kilometres: float) -> Point:
    return Point(
        STORE.latitude, STORE.longitude + kilometres / (111.2 * math.cos(math.radians(STORE.latitude)))
    )


def stop(number, kilometres, start=(10, 0), end=(12, 0), **fields) -> Stop:
    return Stop(
        id=f"o{number}",
        point=east_of_store(kilometres),
        window_start=at(DAY, *start),
        window_end=at(DAY, *end),
        **fields,
    )


def vehicle(name="v1", start=9, end=21, **fields) -> Vehicle:
    fields.setdefault("capacity", 10)
    return Vehicle(id=name, shift_start=at(DAY, start), shift_end=at(DAY, end), **fields)


DEPOT = Depot(point=STORE, opens=at(DAY, 9), closes=at(DAY, 21))


def test_a_realistic_day_is_planned_within_every_promise():
    depot, stops, vehicles = realistic_day(orders=30, drivers=5, seed=3)
    plan = plan_routes(depot, stops, vehicles, provider=PROVIDER, seconds=1)
    assert plan_check(depot, stops, vehicles, plan, travel) == []
    # Enough drivers for this day: every order is served.
    assert plan.unassigned == ()
    assert plan.distance == sum(route.distance for route in plan.routes) > 0


def test_zones_decide_who_carries_an_order():
    stops = [stop(1, 2, zone="east"), stop(2, 3, zone="west"), stop(3, 4, zone="east")]
    vehicles = [
        vehicle("east-driver", zones=frozenset({"east"})),
        vehicle("west-driver", zones=frozenset({"west"})),
    ]
    plan = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5)
    assert plan_check(DEPOT, stops, vehicles, plan, travel) == []
    carried = {route.vehicle_id: set(route.stop_ids) for route in plan.routes}
    assert carried == {"east-driver": {"o1", "o3"}, "west-driver": {"o2"}}


def test_each_reason_for_leaving_an_order_out():
    stops = [
        stop(1, 2, zone="south"),  # nobody serves the south
        stop(2, 2, demand=11),  # larger than the vehicle
        stop(3, 2, value=Decimal("10000.01")),  # over the value cap alone
        stop(4, 60, start=(9, 0), end=(9, 30)),  # 60 km away, window closing half an hour after opening
        stop(5, 3),
    ]
    vehicles = [vehicle(capacity=10, value_cap=Decimal("10000.00"), zones=frozenset({"east"}))]
    stops[4] = dataclasses.replace(stops[4], zone="east")
    plan = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5)
    assert plan_check(DEPOT, stops, vehicles, plan, travel) == []
    assert {item.stop_id: item.reason for item in plan.unassigned} == {
        "o1": NO_VEHICLE,
        "o2": OVER_CAPACITY,
        "o3": OVER_VALUE_CAP,
        "o4": WINDOW_UNREACHABLE,
    }
    assert [route.stop_ids for route in plan.routes] == [("o5",)]
    assert all(item.message for item in plan.unassigned)


def test_two_orders_at_the_same_moment_far_apart_one_vehicle_keeps_one_promise():
    # Both must be reached between 10:00 and 10:05, 10 km apart in opposite directions.
    stops = [stop(1, 5, end=(10, 5), start=(10, 0)), stop(2, -5, end=(10, 5), start=(10, 0))]
    vehicles = [vehicle()]
    plan = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5)
    assert plan_check(DEPOT, stops, vehicles, plan, travel) == []
    assert len(plan.routes) == 1 and len(plan.routes[0].stops) == 1
    assert [item.reason for item in plan.unassigned] == [NO_ROOM]


def test_the_value_cap_splits_the_goods_between_vehicles():
    stops = [stop(number, number, value=Decimal("4000.00")) for number in range(1, 4)]
    vehicles = [
        vehicle("v1", value_cap=Decimal("10000.00")),
        vehicle("v2", value_cap=Decimal("10000.00"), carried_value=Decimal("3000.00")),
    ]
    plan = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5)
    assert plan_check(DEPOT, stops, vehicles, plan, travel) == []
    assert plan.unassigned == ()
    by_vehicle = {route.vehicle_id: route for route in plan.routes}
    # 12,000 does not fit in one vehicle; v2 already carries 3,000, so it takes one order and v1 two.
    assert (len(by_vehicle["v1"].stops), len(by_vehicle["v2"].stops)) == (2, 1)
    assert by_vehicle["v1"].value == Decimal("8000.00")


def test_more_orders_served_comes_before_less_driving():
    # One vehicle: o1 near the store early, o2 far away later. Serving both drives far more than serving one,
    # yet both are served.
    stops = [stop(1, 1, start=(10, 0), end=(10, 30)), stop(2, 25, start=(12, 0), end=(13, 0))]
    vehicles = [vehicle()]
    plan = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5)
    assert plan_check(DEPOT, stops, vehicles, plan, travel) == []
    assert plan.unassigned == ()
    assert plan.routes[0].stop_ids == ("o1", "o2")


def test_nothing_leaves_before_now_and_shifts_and_store_hours_bound_the_routes():
    stops = [stop(1, 2, start=(9, 0), end=(20, 0)), stop(2, 4, start=(9, 0), end=(20, 0))]
    vehicles = [vehicle(start=9, end=12)]
    now = at(DAY, 11, 30)
    plan = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5, now=now)
    assert plan_check(DEPOT, stops, vehicles, plan, travel, now=now) == []
    assert plan.routes[0].departure >= now
    assert plan.routes[0].return_time <= at(DAY, 12)
    late = plan_routes(DEPOT, stops, vehicles, provider=PROVIDER, seconds=0.5, now=at(DAY, 12, 30))
    assert late.routes == () and {item.reason for item in late.unassigned} == {WINDOW_UNREACHABLE}


def test_the_planner_refuses_inconsistent_input():
    with pytest.raises(PlanningError):
        Stop(id=1, point=STORE, window_start=at(DAY, 12), window_end=at(DAY, 11))
    with pytest.raises(PlanningError):
        Stop(id=1, point=STORE, window_start=dt.datetime(2026, 3, 10, 10), window_end=at(DAY, 11))  # noqa: DTZ001
    with pytest.raises(PlanningError):
        Depot(point=STORE, opens=at(DAY, 21), closes=at(DAY, 9))
    with pytest.raises(PlanningError):
        plan_routes(DEPOT, [stop(1, 1), stop(1, 2)], [vehicle()], provider=PROVIDER, seconds=0.1)
    with pytest.raises(PlanningError):
        plan_routes(DEPOT, [stop(1, 1)], [vehicle(), vehicle()], provider=PROVIDER, seconds=0.1)
    with pytest.raises(ValueError):
        Point(91, 0)


def test_check_route_lists_what_a_hand_made_route_breaks():
    stops = [stop(1, 5, start=(10, 0), end=(10, 30)), stop(2, -5, start=(10, 0), end=(10, 20))]
    good = check_route(DEPOT, vehicle(), stops[:1], provider=PROVIDER)
    assert good.feasible and good.route.stop_ids == ("o1",)
    # The first stop waits for its window to open: the vehicle leaves late enough not to wait.
    assert good.route.stops[0].arrival == good.route.stops[0].service_start == at(DAY, 10)
    bad = check_route(DEPOT, vehicle(capacity=1, zones=frozenset({"x"})), stops, provider=PROVIDER)
    assert not bad.feasible
    assert bad.problems == (
        "load 2 is over the vehicle's capacity 1",
        "order o2 would be reached after its window",
    )


def test_a_new_order_joins_an_open_route_where_it_adds_the_least_distance():
    route = [stop(1, 2, start=(10, 0), end=(11, 0)), stop(2, 6, start=(10, 0), end=(12, 0))]
    new = stop(3, 4, start=(10, 0), end=(12, 0))
    insertion = insert_stop(DEPOT, [(vehicle(), route)], new, provider=PROVIDER)
    assert insertion.inserted and insertion.position == 1
    assert insertion.route.stop_ids == ("o1", "o3", "o2")
    # On a straight line outward the detour is nothing.
    assert abs(insertion.added_distance) <= 2
    stops = [*route, new]
    plan_like = type("P", (), {"routes": (insertion.route,), "unassigned": ()})
    assert plan_check(DEPOT, stops, [vehicle()], plan_like, travel) == []


def test_a_new_order_that_would_break_a_promise_is_not_inserted():
    # The open route must be at o1 by 10:10 and at o2 by 10:40; a new order 12 km the other way cannot fit.
    route = [stop(1, 4, start=(10, 0), end=(10, 10)), stop(2, 6, start=(10, 30), end=(10, 40))]
    new = stop(3, -12, start=(10, 0), end=(10, 45))
    insertion = insert_stop(DEPOT, [(vehicle(), route)], new, provider=PROVIDER)
    assert not insertion.inserted and insertion.reason == NO_ROOM and insertion.message
    # An idle driver on shift can take it alone.
    idle = vehicle("v2")
    insertion = insert_stop(DEPOT, [(vehicle(), route)], new, idle_vehicles=[idle], provider=PROVIDER)
    assert insertion.inserted and insertion.route.vehicle_id == "v2" and insertion.route.stop_ids == ("o3",)


def test_a_new_order_outside_every_drivers_zone_says_so():
    route = [stop(1, 4, zone="east")]
    new = stop(2, 3, zone="west")
    insertion = insert_stop(DEPOT, [(vehicle(zones=frozenset({"east"})), route)], new, provider=PROVIDER)
    assert insertion.reason == NO_VEHICLE


def test_an_order_arriving_later_is_inserted_into_the_planned_day_without_breaking_a_promise():
    depot, stops, vehicles = realistic_day(orders=21, drivers=5, seed=5)
    planned, late = stops[:20], stops[20]
    plan = plan_routes(depot, planned, vehicles, provider=PROVIDER, seconds=0.5)
    by_id = {stop.id: stop for stop in planned}
    vehicle_by_id = {vehicle.id: vehicle for vehicle in vehicles}
    routes = [(vehicle_by_id[route.vehicle_id], [by_id[i] for i in route.stop_ids]) for route in plan.routes]
    busy = {route.vehicle_id for route in plan.routes}
    idle = [vehicle for vehicle in vehicles if vehicle.id not in busy]
    now = at(DAY, 9, 30)
    insertion = insert_stop(depot, routes, late, idle_vehicles=idle, provider=PROVIDER, now=now)
    assert insertion.inserted
    new_routes = tuple(
        insertion.route if r.vehicle_id == insertion.route.vehicle_id else r for r in plan.routes
    )
    if insertion.route.vehicle_id not in busy:
        new_routes += (insertion.route,)
    after = type("P", (), {"routes": new_routes, "unassigned": plan.unassigned})
    assert plan_check(depot, stops, vehicles, after, travel, now=now) == []
    # Only the route that took the order changed; its other stops are in the same order as before.
    before = {route.vehicle_id: route.stop_ids for route in plan.routes}
    without_new = tuple(i for i in insertion.route.stop_ids if i != late.id)
    assert without_new == before.get(insertion.route.vehicle_id, ())
