# ruff: noqa: F811 - the fixtures imported are parameters of the fixtures below
"""Fixed deliveries for the analytics tests, in a California store (Los Angeles, UTC-7 in March 2026):

Route A, Sam, Tue Mar 10, planned 12 km, left 13:30, back 16:30 (3 h), no positions:
  A1 window 14-15, arrived 14:10, handed over 14:18 (on time, 8 min), zone City, sale 60.00 at 14:18
  A2 window 14-15, arrived 14:55, handed over 15:05 (late, 10 min), zone Hills, sale 40.00 refunded 5.00, 15:05
  A3 window 15-16, arrived 15:30, brought back 15:36 (nobody home, 6 min)
Route B, Pat, Tue Mar 10, planned 9 km, three positions along a meridian (37.75 -> 37.76 -> 37.78), left 14:00,
back 15:30 (1.5 h):
  B1 window 14-15, no arrival recorded, handed over 14:40 (on time; planned service 5 min), City, sale 100.00
  B2 window 15-16, arrived 15:10, brought back 15:12 (under age, 2 min)
Route C, Sam, Wed Mar 11, planned 5 km, left 10:00, still on the road (now: Mar 11 12:00, so 2 h):
  C1 window 10-11, arrived 10:20, handed over 10:30 (on time, 10 min), City, sale 50.00 voided
  C2 window 11-12, still to deliver
Not counted: a cancelled route of Pat on Mar 11, a route of Sam planned for Mar 11 that has not left, and a
route of another store of the organization on Mar 10."""

import datetime as dt
import itertools
import uuid
from decimal import Decimal as D

import pytest
from django.utils import timezone

from delivery.models import (
    DeliveryOrder,
    DeliveryZone,
    DriverShift,
    StopVisit,
    Trip,
    TripPosition,
    TripStop,
)
from delivery.services_orders import delivery_order_create
from pos.models import Sale
from tests.clock import at as happening_at
from tests.delivery.fleet import make_driver, make_vehicle
from tests.delivery.helpers import square
from tests.delivery.order_fixtures import LA, NOW, now, product, zone  # noqa: F401 - fixtures
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.inventory.factories import receive
from tests.pos.factories import register_with_drawer

_keys = itertools.count(1)
VIEW_AT = dt.datetime(2026, 3, 11, 12, 0, tzinfo=LA)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=LA)


class Builder:
    """Makes routes, stops, visits and sales directly (the services that make them in production are tested
    elsewhere); orders go through delivery_order_create, then get the window the story needs."""

    def __init__(self, store, product, zone, staff):
        self.store, self.product, self.zone, self.staff = store, product, zone, staff
        receive(store, product, 200)
        self.register = register_with_drawer(store, staff, name=f"Register {next(_keys)}")
        self.shifts = {}

    def order(self, window_day: int, window_hour: int, zone=None) -> DeliveryOrder:
        customer = CustomerFactory(organization=self.store.organization)
        with happening_at(NOW):  # booked in the morning of Mar 10, whatever the clock says now
            delivery = self._book(customer)
        DeliveryOrder.objects.filter(pk=delivery.pk).update(
            window_start=at(window_day, window_hour),
            window_end=at(window_day, window_hour + 1),
            zone=zone or self.zone,
        )
        delivery.refresh_from_db()
        return delivery

    def _book(self, customer) -> DeliveryOrder:
        return delivery_order_create(
            store=self.store,
            customer=customer,
            customer_type="adult_use",
            lines=[(self.product.pk, D(1))],
            idempotency_key=f"analytics-{next(_keys)}",
            window_start=at(10, 14),
            window_end=at(10, 15),
            new_address={
                "line1": "1 Market St",
                "city": "San Francisco",
                "region": "CA",
                "postal_code": "94105",
                "latitude": D("37.750000"),
                "longitude": D("-122.450000"),
            },
        )

    def route(self, driver, vehicle, day: int, *, status, distance_m, left=None, back=None):
        key = (driver.pk, day)
        if key not in self.shifts:
            self.shifts[key] = DriverShift.objects.create(
                store=self.store,
                driver=driver,
                vehicle=vehicle,
                day=dt.date(2026, 3, day),
                starts_at=at(day, 8),
                ends_at=at(day, 20),
            )
        return Trip.objects.create(
            organization=self.store.organization,
            store=self.store,
            day=dt.date(2026, 3, day),
            shift=self.shifts[key],
            driver=driver,
            vehicle=vehicle,
            status=status,
            planned_start=left or at(day, 9),
            planned_end=(left or at(day, 9)) + dt.timedelta(hours=3),
            planned_at=timezone.now(),
            distance_m=distance_m,
            departed_at=left,
            returned_at=back,
        )

    def stop(self, trip, order, sequence, *, status="pending", arrived=None, done=None, reason="", sale=None):
        planned = order.window_start + dt.timedelta(minutes=10)
        stop = TripStop.objects.create(
            trip=trip,
            order=order,
            sequence=sequence,
            planned_arrival=planned,
            planned_departure=planned + dt.timedelta(minutes=5),
            status=status,
            completed_at=done,
        )
        if arrived or reason or sale:
            StopVisit.objects.create(stop=stop, arrived_at=arrived, return_reason=reason, sale=sale)
        return stop

    def sale(self, when, total, *, refunded="0.00", voided=False) -> Sale:
        number = next(_keys)
        return Sale.objects.create(
            store=self.store,
            register=self.register,
            customer_type="adult_use",
            staff=self.staff,
            local_date=when.astimezone(self.store.tz).date(),
            completed_at=when,
            receipt_number=f"R-{number}",
            idempotency_key=str(uuid.uuid4()),
            subtotal=D(total),
            total=D(total),
            refunded_total=D(refunded),
            status=Sale.Status.VOIDED if voided else Sale.Status.COMPLETED,
        )

    def positions(self, trip, points):
        for minute, (latitude, longitude) in enumerate(points):
            TripPosition.objects.create(
                trip=trip,
                driver=trip.driver,
                recorded_at=trip.departed_at + dt.timedelta(minutes=minute),
                received_at=trip.departed_at + dt.timedelta(minutes=minute),
                latitude=D(latitude),
                longitude=D(longitude),
            )


@pytest.fixture
def hills(store, zone):
    return DeliveryZone.objects.create(
        store=store,
        name="Hills",
        geometry=square(37.60, -122.60, 37.65, -122.55),
        minimum_order=D("40"),
        fee=D("6.99"),
        estimated_minutes=45,
    )


@pytest.fixture
def sam(store):
    return make_driver(store, username="sam", first_name="Sam", last_name="Rivera", licence="D1111111")


@pytest.fixture
def pat(store):
    return make_driver(store, username="pat", first_name="Pat", last_name="Lee", licence="D2222222")


@pytest.fixture
def deliveries(store, product, zone, hills, manager, sam, pat, now, clock):
    """The story of the module docstring; the clock ends at VIEW_AT."""
    build = Builder(store, product, zone, manager)
    sam_car, pat_car = make_vehicle(store, plate="7SAM001"), make_vehicle(store, plate="7PAT002")
    returned, departed = Trip.Status.RETURNED, Trip.Status.DEPARTED

    route_a = build.route(
        sam, sam_car, 10, status=returned, distance_m=12000, left=at(10, 13, 30), back=at(10, 16, 30)
    )
    a1 = build.stop(
        route_a, build.order(10, 14), 1, status="delivered", arrived=at(10, 14, 10), done=at(10, 14, 18),
        sale=build.sale(at(10, 14, 18), "60.00"),
    )  # fmt: skip
    a2 = build.stop(
        route_a, build.order(10, 14, zone=hills), 2, status="delivered", arrived=at(10, 14, 55),
        done=at(10, 15, 5), sale=build.sale(at(10, 15, 5), "40.00", refunded="5.00"),
    )  # fmt: skip
    a3 = build.stop(
        route_a, build.order(10, 15), 3, status="returned", arrived=at(10, 15, 30), done=at(10, 15, 36),
        reason="nobody_home",
    )  # fmt: skip

    route_b = build.route(
        pat, pat_car, 10, status=returned, distance_m=9000, left=at(10, 14), back=at(10, 15, 30)
    )
    build.positions(
        route_b, [("37.750000", "-122.450000"), ("37.760000", "-122.450000"), ("37.780000", "-122.450000")]
    )
    b1 = build.stop(
        route_b, build.order(10, 14), 1, status="delivered", done=at(10, 14, 40),
        sale=build.sale(at(10, 14, 40), "100.00"),
    )  # fmt: skip
    b2 = build.stop(
        route_b, build.order(10, 15), 2, status="returned", arrived=at(10, 15, 10), done=at(10, 15, 12),
        reason="under_age",
    )  # fmt: skip

    route_c = build.route(sam, sam_car, 11, status=departed, distance_m=5000, left=at(11, 10))
    c1 = build.stop(
        route_c, build.order(11, 10), 1, status="delivered", arrived=at(11, 10, 20), done=at(11, 10, 30),
        sale=build.sale(at(11, 10, 30), "50.00", voided=True),
    )  # fmt: skip
    c2 = build.stop(route_c, build.order(11, 11), 2)

    # Not counted.
    cancelled = build.route(pat, pat_car, 11, status=Trip.Status.CANCELLED, distance_m=7000)
    build.stop(cancelled, build.order(11, 15), 1, status="returned", reason="cancelled", done=at(11, 9))
    planned = build.route(sam, sam_car, 11, status=Trip.Status.PLANNED, distance_m=4000)
    build.stop(planned, build.order(11, 16), 1)
    other_store = StoreFactory(organization=store.organization, name="Other store")
    other_driver = make_driver(other_store, username="olga", first_name="Olga", licence="D3333333")
    other = Builder(other_store, product, DeliveryZone.objects.create(
        store=other_store, name="Far", geometry=square(37.70, -122.52, 37.82, -122.35), minimum_order=D("0"),
        fee=D("0"), estimated_minutes=30,
    ), UserFactory(organization=store.organization, roles=["manager"], stores=[other_store]))  # fmt: skip
    other_route = other.route(
        other_driver, make_vehicle(other_store, plate="7OTH003"), 10, status=returned, distance_m=3000,
        left=at(10, 12), back=at(10, 13),
    )  # fmt: skip
    other.stop(
        other_route, other.order(10, 14), 1, status="delivered", arrived=at(10, 12, 10), done=at(10, 12, 20),
        sale=other.sale(at(10, 12, 20), "70.00"),
    )  # fmt: skip

    clock.move_to(VIEW_AT)
    return {
        "routes": (route_a, route_b, route_c),
        "stops": (a1, a2, a3, b1, b2, c1, c2),
        "other_store": other_store,
        "other_route": other_route,
        "build": build,
        "cars": (sam_car, pat_car),
    }
