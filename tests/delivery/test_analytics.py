# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""Delivery analytics (issue 13, part 8): each figure from the routes of tests/delivery/analytics_fixtures.py
(see its docstring for the story), worked out by hand in each test; the filters; the number of queries."""

import datetime as dt
import math
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.models import Trip
from delivery.selectors_analytics import AnalyticsFilters, delivery_analytics_get
from tests.delivery.analytics_fixtures import at, deliveries, hills, pat, sam  # noqa: F401 - fixtures
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

MARCH_10, MARCH_11 = dt.date(2026, 3, 10), dt.date(2026, 3, 11)
# Route B's positions: 0.03 degrees of latitude along one meridian, on a sphere of the mean Earth radius.
ROUTE_B_METRES = 6_371_008.8 * math.radians(0.03)


def report(store, start=MARCH_10, end=MARCH_11, driver=None):
    return delivery_analytics_get(AnalyticsFilters(store=store, start=start, end=end, driver=driver))


def by_driver(result):
    return {figures.name: figures for figures in result.drivers}


def test_on_time_rate_counts_handovers_by_the_end_of_the_window(store, deliveries):
    result = report(store)
    # Delivered: A1 (14:18 <= 15:00), A2 (15:05 > 15:00), B1 (14:40, no arrival: its completion decides),
    # C1 (10:30 <= 11:00). The returned A3, B2 and the pending C2 are neither.
    assert (result.total.delivered, result.total.on_time, result.total.late) == (4, 3, 1)
    assert result.total.on_time_rate == 75.0
    days = {day.day: day for day in result.days}
    assert (days[MARCH_10].delivered, days[MARCH_10].on_time, days[MARCH_10].late) == (3, 2, 1)
    assert days[MARCH_10].on_time_rate == 66.7  # 2 of 3
    assert days[MARCH_11].on_time_rate == 100.0


def test_the_arrival_decides_when_the_completion_time_is_missing(store, deliveries):
    a2 = deliveries["stops"][1]
    # A2 arrived at 14:55, within its window; without its completion time it counts as on time.
    type(a2).objects.filter(pk=a2.pk).update(completed_at=None)
    result = report(store)
    assert (result.total.on_time, result.total.late) == (4, 0)


def test_stops_per_route_counts_only_routes_that_left(store, deliveries):
    result = report(store)
    # A: 3 stops, B: 2, C: 2 (one still to deliver); the cancelled and the planned routes are left out.
    assert result.total.routes == 3
    assert result.total.stops == 7
    assert result.stops_per_route == [(2, 2), (3, 1)]
    assert result.total.stops_per_route == 2.3  # 7 / 3


def test_minutes_per_stop_run_from_arrival_to_completion_or_the_planned_service(store, deliveries):
    result = report(store)
    # A1 8, A2 10, A3 6, B1 5 (planned: no arrival), B2 2, C1 10 = 41 minutes over 6 stops finished.
    assert result.total.service_stops == 6
    assert result.total.service_planned == 1
    assert result.total.minutes_per_stop == round(41 / 6, 1)
    drivers = by_driver(result)
    assert drivers["Sam Rivera"].minutes_per_stop == 8.5  # (8 + 10 + 6 + 10) / 4
    assert drivers["Pat Lee"].minutes_per_stop == 3.5  # (5 + 2) / 2


def test_distance_per_order_uses_the_positions_where_the_phone_sent_them(store, deliveries):
    result = report(store)
    routes = {route.trip_id: route for route in result.routes}
    route_a, route_b, route_c = deliveries["routes"]
    assert routes[route_a.pk].measured_m is None  # no positions: the planned 12 km
    assert routes[route_b.pk].measured_m == pytest.approx(ROUTE_B_METRES, abs=0.01)  # not the planned 9 km
    assert result.routes_measured == 1
    # 12 km + 3.336 km + 5 km over 4 orders delivered.
    assert result.total.distance_m == pytest.approx(12000 + ROUTE_B_METRES + 5000, abs=0.01)
    assert result.total.km_per_order == round((17000 + ROUTE_B_METRES) / 4 / 1000, 2) == 5.08
    days = {day.day: day for day in result.days}
    assert days[MARCH_10].km_per_order == round((12000 + ROUTE_B_METRES) / 3 / 1000, 2)
    assert days[MARCH_11].km_per_order == 5.0


def test_one_position_is_no_distance(store, deliveries):
    route_c = deliveries["routes"][2]
    deliveries["build"].positions(route_c, [("37.700000", "-122.450000")])
    routes = {route.trip_id: route for route in report(store).routes}
    assert routes[route_c.pk].measured_m is None
    assert routes[route_c.pk].distance_m == 5000


def test_late_and_returned_orders_by_reason(store, deliveries):
    assert report(store).reasons == [
        ("Late (delivered after the window)", 1),
        ("Nobody home", 1),
        ("Under age", 1),
    ]


def test_driver_efficiency(store, deliveries):
    drivers = by_driver(report(store))
    assert list(drivers) == ["Pat Lee", "Sam Rivera"]
    sam_figures, pat_figures = drivers["Sam Rivera"], drivers["Pat Lee"]
    # Sam: route A 13:30-16:30 (3 h) and route C on the road since 10:00, now 12:00 (2 h); finished A1, A2, A3, C1.
    assert (sam_figures.routes, sam_figures.road_hours, sam_figures.completed) == (2, 5.0, 4)
    assert sam_figures.stops_per_hour == 0.8
    assert sam_figures.on_time_rate == 66.7  # A1 and C1 of A1, A2, C1
    assert sam_figures.returned == 1
    assert sam_figures.km_per_order == round(17000 / 3 / 1000, 2)
    # Pat: route B 14:00-15:30 (1.5 h), finished B1 and B2.
    assert (pat_figures.routes, pat_figures.road_hours, pat_figures.completed) == (1, 1.5, 2)
    assert pat_figures.stops_per_hour == 1.33
    assert pat_figures.on_time_rate == 100.0
    assert pat_figures.returned == 1


def test_revenue_by_zone_and_by_local_hour(store, deliveries):
    result = report(store)
    # City: A1 60.00 + B1 100.00 (C1's sale was voided); Hills: A2 40.00 - 5.00 refunded. The other store's
    # 70.00 is not this store's.
    assert [(row.label, row.orders, row.revenue) for row in result.zones] == [
        ("City", 3, D("160.00")),
        ("Hills", 1, D("35.00")),
    ]
    assert result.revenue == D("195.00")
    # Sales at 14:18 and 14:40 (2 PM, Los Angeles) and 15:05 (3 PM); stored in UTC as 21:18, 21:40, 22:05.
    assert [(row.label, row.orders, row.revenue) for row in result.hours] == [
        ("2 PM", 2, D("160.00")),
        ("3 PM", 1, D("35.00")),
    ]


def test_hours_without_sales_between_two_are_shown_empty(store, deliveries):
    build = deliveries["build"]
    route_a = deliveries["routes"][0]
    build.stop(
        route_a, build.order(10, 17), 4, status="delivered", arrived=at(10, 17, 0), done=at(10, 17, 5),
        sale=build.sale(at(10, 17, 5), "20.00"),
    )  # fmt: skip
    hours = report(store).hours
    assert [(row.label, row.orders, row.revenue) for row in hours] == [
        ("2 PM", 2, D("160.00")),
        ("3 PM", 1, D("35.00")),
        ("4 PM", 0, D("0.00")),
        ("5 PM", 1, D("20.00")),
    ]


def test_one_driver(store, deliveries, pat):
    result = report(store, driver=pat)
    assert [figures.name for figures in result.drivers] == ["Pat Lee"]
    assert (result.total.routes, result.total.delivered, result.total.returned) == (1, 1, 1)
    assert [(row.label, row.revenue) for row in result.zones] == [("City", D("100.00"))]
    assert result.reasons == [("Under age", 1)]


def test_the_period_is_of_the_trips_local_days(store, deliveries):
    only_11 = report(store, start=MARCH_11, end=MARCH_11)
    assert only_11.total.routes == 1
    assert only_11.total.delivered == 1
    # C1 was delivered in City, but its sale was voided: an order, no revenue.
    assert [(row.label, row.orders, row.revenue) for row in only_11.zones] == [("City", 1, D("0.00"))]
    assert only_11.hours == []
    nothing = report(store, start=dt.date(2026, 2, 1), end=dt.date(2026, 3, 9))
    assert nothing.empty
    assert (nothing.days, nothing.drivers, nothing.reasons, nothing.zones, nothing.hours) == (
        [],
        [],
        [],
        [],
        [],
    )


def test_the_number_of_queries_does_not_grow_with_the_routes(
    store, deliveries, sam, django_assert_num_queries
):
    with CaptureQueriesContext(connection) as few:
        report(store)
    build = deliveries["build"]
    sam_car = deliveries["cars"][0]
    for day in (10, 11):
        for number in range(3):
            route = build.route(
                sam,
                sam_car,
                day,
                status=Trip.Status.RETURNED,
                distance_m=1000,
                left=at(day, 9),
                back=at(day, 10),
            )
            build.positions(route, [("37.700000", "-122.450000"), ("37.710000", "-122.450000")])
            build.stop(
                route, build.order(day, 9 + number), 1, status="delivered", arrived=at(day, 9, 10),
                done=at(day, 9, 20), sale=build.sale(at(day, 9, 20), "10.00"),
            )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        bigger = report(store)
    assert bigger.total.routes == 9
    assert len(few) == len(many) == 6
