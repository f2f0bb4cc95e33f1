# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""The fleet map's JSON and the live parts of the dispatch board and the dashboard: who may read them (the
board's people only), what they say (the driver's first name and the fix's age, the route still to drive, the
next stop and each arrival in words, the alerts), acknowledging an alert, and a bounded number of queries
whatever the number of trips and positions."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from delivery.models import TrackingAlert, Trip, TripPosition
from dispensary.models import AuditRecord
from tests.delivery.driver_fixtures import make_customer, make_trip, place_order, route  # noqa: F401
from tests.delivery.fleet import make_driver, make_vehicle
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    local,
    now,
    package,
    product,
    zone,
)
from tests.delivery.test_driver_app import send
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import receive

STORE = (D("37.779300"), D("-122.419300"))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fleet_url(store) -> str:
    return f"/delivery/stores/{store.pk}/dispatch/fleet.json?day=2026-03-10"


def depart(trip) -> Trip:
    Trip.objects.filter(pk=trip.pk).update(status=Trip.Status.DEPARTED, departed_at=local(13))
    trip.refresh_from_db()
    return trip


@pytest.fixture
def road(now, route, store):
    store.latitude, store.longitude = STORE
    store.save(update_fields=["latitude", "longitude"])
    user = route["dana"].user
    user.first_name = "Dana"
    user.save(update_fields=["first_name"])
    return {**route, "trip": depart(route["trip"]), "user": user}


def test_only_the_boards_people_read_the_fleet(clock, road, store, organization, manager, budtender):
    clock.move_to(local(14))
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    elsewhere = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    other_org = OrganizationFactory()
    stranger = UserFactory(
        organization=other_org, roles=["manager"], stores=[StoreFactory(organization=other_org)]
    )
    for user in (manager, owner):
        assert signed_in(user).get(fleet_url(store)).status_code == 200, user
    for user in (budtender, road["dana"].user, road["eve"].user, elsewhere, stranger):
        response = signed_in(user).get(fleet_url(store))
        assert response.status_code == 403, user
        assert b'"drivers"' not in response.content
    assert Client().get(fleet_url(store)).status_code == 302  # to the sign-in


def test_the_fleet_says_where_each_driver_is_and_what_comes_next(clock, road, store, manager):
    clock.move_to(local(14, 0))
    send(road["user"], "position", trip=road["trip"], latitude="37.764650", longitude="-122.434650")
    clock.move_to(local(14, 2))
    data = signed_in(manager).get(fleet_url(store)).json()
    [dana] = data["drivers"]  # Eve's trip was sent, not on the road
    stops = list(road["trip"].stops.order_by("sequence").select_related("order"))
    assert dana["driver"] == "Dana" and dana["trip"] == road["trip"].pk
    assert (dana["position"]["age"], dana["position"]["time"], dana["position"]["fresh"]) == (
        "2 min ago",
        "2:00 PM",
        True,
    )
    # The route still to drive: from the car, through the three stops, back to the store.
    assert dana["route"] == [
        [37.76465, -122.43465],
        *[[float(stop.order.latitude), float(stop.order.longitude)] for stop in stops],
        [float(STORE[0]), float(STORE[1])],
    ]
    assert [stop["next"] for stop in dana["stops"]] == [True, False, False]
    assert dana["next_stop"]["id"] == stops[0].pk and dana["next_stop"]["words"] == "on time"
    # The window opens at 2 PM: the first hand-over can start on arrival.
    assert dana["next_stop"]["eta"] == "2:07 PM"
    # Before a window opens, the card says when the hand-over can start.
    clock.move_to(local(13, 0))
    early = signed_in(manager).get(fleet_url(store)).json()["drivers"][0]["next_stop"]
    assert early["words"] == "early, hands over from 2:00 PM"
    assert dana["summary"] == "On time for every remaining window." and dana["alerts"] == []


def test_the_board_shows_late_stops_and_alerts_and_a_manager_acknowledges(clock, road, store, manager):
    clock.move_to(local(15, 55))
    send(road["user"], "position", trip=road["trip"], latitude=str(STORE[0]), longitude=str(STORE[1]))
    client = signed_in(manager)
    html = client.get(f"/delivery/stores/{store.pk}/dispatch/?day=2026-03-10").content.decode()
    assert "Live tracking alerts" in html and "Running late for a window" in html
    assert "Running late: stop 1 about" in html and "min late" in html
    assert "Last position 0 s ago (3:55 PM)." in html
    alerts = list(TrackingAlert.objects.order_by("pk"))
    assert len(alerts) == 3
    dashboard = client.get("/dashboard/").content.decode()
    assert "Drivers on the road: alerts" in dashboard
    assert all(f'data-tracking-alert="{alert.pk}"' in dashboard for alert in alerts)
    response = client.post(
        f"/delivery/stores/{store.pk}/tracking/alerts/{alerts[0].pk}/acknowledge/", {"next": "/dashboard/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    alerts[0].refresh_from_db()
    assert alerts[0].acknowledged_by == manager and alerts[0].acknowledged_at == local(15, 55)
    record = AuditRecord.objects.get(action="tracking_alert.acknowledged")
    assert record.actor_id == manager.pk
    data = client.get(fleet_url(store)).json()
    assert [alert["id"] for alert in data["drivers"][0]["alerts"]] == [alerts[2].pk, alerts[1].pk]
    assert f'data-tracking-alert="{alerts[0].pk}"' not in client.get("/dashboard/").content.decode()
    # Twice: refused in words, nothing changes.
    client.post(f"/delivery/stores/{store.pk}/tracking/alerts/{alerts[0].pk}/acknowledge/")
    assert AuditRecord.objects.filter(action="tracking_alert.acknowledged").count() == 1


def test_only_the_boards_people_acknowledge_at_their_store(clock, road, store, organization, budtender):
    clock.move_to(local(15, 55))
    send(road["user"], "position", trip=road["trip"], latitude=str(STORE[0]), longitude=str(STORE[1]))
    alert = TrackingAlert.objects.first()
    other = StoreFactory(organization=organization)
    elsewhere = UserFactory(organization=organization, roles=["manager"], stores=[other])
    for user in (budtender, road["dana"].user):
        url = f"/delivery/stores/{store.pk}/tracking/alerts/{alert.pk}/acknowledge/"
        assert signed_in(user).post(url).status_code == 403
    # Another store's manager, through their own store: no such alert there.
    signed_in(elsewhere).post(f"/delivery/stores/{other.pk}/tracking/alerts/{alert.pk}/acknowledge/")
    assert (
        signed_in(elsewhere)
        .post(f"/delivery/stores/{store.pk}/tracking/alerts/{alert.pk}/acknowledge/")
        .status_code
        == 403
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def _more_trips(store, product, count):
    organization = store.organization
    receive(store, product, 3 * count)
    for number in range(count):
        driver = make_driver(store, username=f"d{number}", licence=f"D20000{number:02d}")
        vehicle = make_vehicle(store, plate=f"9ZZ{number:04d}")
        orders = [
            place_order(
                store,
                *make_customer(organization, f"C{number}{i}", "Doe", n=10 + 3 * number + i),
                product,
                f"m-{number}-{i}",
            )
            for i in range(3)
        ]
        trip = depart(make_trip(store, driver, vehicle, orders))
        TripPosition.objects.bulk_create(
            TripPosition(
                trip=trip,
                driver=driver,
                recorded_at=local(13) + dt.timedelta(seconds=20 * n),
                received_at=local(13) + dt.timedelta(seconds=20 * n),
                latitude=D("37.76") + D("0.0001") * n,
                longitude=D("-122.44"),
            )
            for n in range(40)
        )


def _fleet_queries(client, store) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(fleet_url(store))
    assert response.status_code == 200
    return len(queries), response.json()


def test_the_fleet_reads_a_fixed_number_of_queries(clock, road, store, manager, product, package):
    clock.move_to(local(14, 30))
    send(road["user"], "position", trip=road["trip"], latitude="37.764650", longitude="-122.434650")
    client = signed_in(manager)
    client.get(fleet_url(store))  # warm the per-process caches
    few, small = _fleet_queries(client, store)
    clock.move_to(local(12))  # orders are placed before their windows
    _more_trips(store, product, 4)
    clock.move_to(local(14, 30))
    TrackingAlert.objects.create(
        organization=store.organization,
        store=store,
        trip=road["trip"],
        kind="stopped",
        condition="stopped",
        message="Dana has not moved.",
        raised_at=local(14, 30),
    )
    many, large = _fleet_queries(client, store)
    assert (len(small["drivers"]), len(large["drivers"])) == (1, 5)
    assert few == many <= 12
