# ruff: noqa: F811 - the fixtures imported from the conftest modules are parameters of the tests
"""The delivery quote, the zones map and an order's status through the API: answers with the zone's terms, the
bookable windows, the customer's limits remaining and each refusal's rule; writes nothing; bad input a 400 with
field errors; another organization's store or order is not found."""

import datetime as dt
from decimal import Decimal as D

import pytest

from delivery.models import DeliveryOrder, Trip, TripStop
from delivery.services import delivery_zone_create
from delivery.services_orders import delivery_order_cancel, delivery_order_create
from dispensary.models import AuditRecord, OutboxEvent
from pos.models import PickupOrder
from pos.services.pickup import pickup_order_create
from tests.delivery.fleet import make_driver, make_shift, make_vehicle
from tests.delivery.helpers import square
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    INSIDE,
    OUTSIDE,
    SCHOOL,
    customer,  # noqa: E402,F401 - with a date of birth
    home,
    local,
    now,
    package,
    product,
    school,
    zone,
)
from tests.dispensary.api.conftest import *  # noqa: F403 - the API callers' fixtures

pytestmark = pytest.mark.django_db

QUOTE, ZONES = "/api/v1/delivery-quotes", "/api/v1/delivery-zones"


def point(where):
    return {"latitude": str(where["latitude"]), "longitude": str(where["longitude"])}


def body(store, product, *, where=INSIDE, quantity="2", **changes):
    return {
        "store": store.pk,
        "address": {"line1": "1 Market St", "city": "San Francisco", **point(where)},
        "lines": [{"product": product.pk, "quantity": quantity}],
        **changes,
    }


def test_a_quote_answers_the_zone_fee_windows_and_the_customers_limits_and_writes_nothing(
    now, make_api_client, store, customer, zone, product, package
):
    _, caller = make_api_client(scopes=["orders:read"])
    before = (OutboxEvent.objects.count(), AuditRecord.objects.count())

    response = caller.post(QUOTE, body(store, product, customer=customer.pk), format="json")

    assert response.status_code == 200, response.json()
    quote = response.json()
    assert (quote["allowed"], quote["reasons"], quote["zone"]) == (True, [], {"id": zone.pk, "name": "City"})
    assert (quote["fee"], quote["minimum_order"], quote["estimated_minutes"]) == ("4.99", "40.00", 35)
    assert (quote["order_total"], quote["total_with_fee"]) == ("110.03", "115.02")
    # 11:00 in Los Angeles + 35 minutes: the first window on a half hour is 12:00-13:00; the last today ends at
    # 21:00 (the store closes; California's legal hours end at 22:00); tomorrow opens at 9:00.
    assert quote["earliest_window"] == {"start": "2026-03-10T19:00:00Z", "end": "2026-03-10T20:00:00Z"}
    starts = [window["start"] for window in quote["windows"]]
    assert (starts[0], starts[1]) == ("2026-03-10T19:00:00Z", "2026-03-10T19:30:00Z")
    assert "2026-03-11T03:00:00Z" in starts and "2026-03-11T03:30:00Z" not in starts  # 20:00-21:00 today
    assert "2026-03-11T16:00:00Z" in starts  # 9:00 tomorrow
    assert starts[-1] == "2026-03-12T03:00:00Z" and len(starts) == 17 + 23
    flower = next(bucket for bucket in quote["limits"]["buckets"] if bucket["bucket"] == "flower_g")
    assert (flower["used"], flower["limit"], flower["remaining"]) == ("7", "28.5", "21.5")
    assert quote["limits"]["allowed"] is True
    assert (OutboxEvent.objects.count(), AuditRecord.objects.count()) == before
    assert PickupOrder.objects.count() == 0


def test_the_quote_counts_the_customers_open_orders_and_names_each_refusal(
    now, make_api_client, store, customer, home, zone, school, product, package, budtender
):
    # An open order of 7 g already: 14 g more in the cart leaves 7.5 g of the 28.5 g; 28 g more is over.
    pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("2"))],
        idempotency_key="first",
        created_by=budtender,
    )
    _, caller = make_api_client(scopes=["orders:read"])

    fits = caller.post(QUOTE, body(store, product, customer=customer.pk, quantity="4"), format="json").json()
    flower = next(bucket for bucket in fits["limits"]["buckets"] if bucket["bucket"] == "flower_g")
    assert (fits["allowed"], flower["remaining"]) == (True, "7.5")

    over = caller.post(
        QUOTE, body(store, product, where=SCHOOL, customer=customer.pk, quantity="8"), format="json"
    ).json()
    assert over["allowed"] is False
    assert [reason["rule"] for reason in over["reasons"]] == ["excluded_place", "limit"]
    assert over["reasons"][1]["code"] == "limit_exceeded"
    assert "28.5" in over["reasons"][1]["message"]

    outside = caller.post(
        QUOTE,
        body(
            store,
            product,
            where=OUTSIDE,
            window_start=local(21).isoformat(),
            window_end=local(22).isoformat(),
        ),
        format="json",
    ).json()
    assert outside["zone"] is None and outside["windows"] == [] and outside["limits"] is None
    assert [reason["rule"] for reason in outside["reasons"]] == ["zone", "hours"]
    assert outside["reasons"][0]["message"] == f"The address is outside every delivery zone of {store.name}."


def test_the_quote_names_the_zone_minimum(now, make_api_client, store, manager, product, package):
    delivery_zone_create(
        store=store,
        actor=manager,
        name="Hills",
        geometry=square(37.70, -122.52, 37.82, -122.35),
        minimum_order="150",
        fee="9.00",
        estimated_minutes=60,
    )
    _, caller = make_api_client(scopes=["orders:read"])

    quote = caller.post(QUOTE, body(store, product), format="json").json()

    assert quote["reasons"] == [
        {
            "rule": "minimum_order",
            "message": "The Hills zone has a minimum order of $150.00; this order is $110.03.",
        }
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"product": 1, "quantity": "-1"}]}, "lines"),
        ({"address": {"line1": "", "latitude": "37.75"}}, "address"),
        ({"address": {"latitude": "91", "longitude": "0"}}, "address"),
        ({"window_start": "2026-03-10T14:00:00-07:00"}, "window_end"),
        ({"customer_type": "tourist"}, "customer_type"),
    ],
)
def test_bad_quote_input_is_a_400_with_field_errors(
    now, make_api_client, store, zone, product, change, field
):
    _, caller = make_api_client(scopes=["orders:read"])

    response = caller.post(QUOTE, {**body(store, product), **change}, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]


def test_a_quote_without_coordinates_and_no_geocoder_asks_for_them(
    now, make_api_client, store, zone, product
):
    _, caller = make_api_client(scopes=["orders:read"])
    address = {"line1": "1 Market St", "city": "San Francisco"}

    response = caller.post(QUOTE, {**body(store, product), "address": address}, format="json")

    assert response.status_code == 400
    assert response.json()["details"] == {"address": {"latitude": ["Required: no geocoder is configured."]}}


def test_unknown_products_and_other_organizations_stores_and_customers_are_refused(
    now, make_api_client, store, zone, product, foreign_store, foreign_customer
):
    _, caller = make_api_client(scopes=["orders:read"])

    unknown = caller.post(
        QUOTE, body(store, product, lines=[{"product": 10**9, "quantity": "1"}]), format="json"
    )
    foreign = caller.post(QUOTE, body(foreign_store, product), format="json")
    stranger = caller.post(QUOTE, body(store, product, customer=foreign_customer.pk), format="json")

    assert (unknown.status_code, list(unknown.json()["details"])) == (400, ["lines"])
    assert (foreign.status_code, list(foreign.json()["details"])) == (400, ["store"])
    assert (stranger.status_code, list(stranger.json()["details"])) == (400, ["customer"])
    assert (
        make_api_client(scopes=["menu:read"])[1].post(QUOTE, body(store, product), format="json").status_code
        == 403
    )


def test_zones_are_a_geojson_feature_collection_of_the_callers_stores(
    now, make_api_client, store, other_store, foreign_store, manager, zone
):
    square_ = square(37.70, -122.52, 37.82, -122.35)
    delivery_zone_create(
        store=foreign_store,
        actor=None,
        name="Theirs",
        geometry=square_,
        minimum_order="0",
        fee="0",
        estimated_minutes=5,
    )
    _, caller = make_api_client(scopes=["orders:read"], stores=[store, other_store])

    every = caller.get(ZONES)
    one = caller.get(ZONES, {"store": store.pk})

    assert every.status_code == 200
    assert (
        every.json()
        == one.json()
        == {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": zone.pk,
                    "geometry": zone.geometry,
                    "properties": {
                        "store": store.pk,
                        "name": "City",
                        "fee": "4.99",
                        "minimum_order": "40.00",
                        "estimated_minutes": 35,
                    },
                }
            ],
        }
    )
    assert caller.get(ZONES, {"store": foreign_store.pk}).status_code == 404
    assert caller.get(ZONES, {"store": "abc"}).status_code == 400
    assert caller.get(ZONES, {"store": other_store.pk}).json()["features"] == []


def status_of(caller, order_id):
    response = caller.get(f"/api/v1/orders/{order_id}/status")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_pickup_orders_status_in_plain_words(
    now, make_api_client, store, customer, product, package, budtender
):
    order = pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("1"))],
        idempotency_key="p",
        created_by=budtender,
    )
    _, caller = make_api_client(scopes=["orders:read"])

    answer = status_of(caller, order.pk)

    assert answer == {
        "id": order.pk,
        "fulfilment": "pickup",
        "status": "reserved",
        "code": "ready_for_pickup",
        "message": f"Your order is confirmed and held for you at {store.name} until 11:00 AM tomorrow. "
        "Bring your ID.",
        "window": {"start": "2026-03-10T18:00:00Z", "end": "2026-03-11T18:00:00Z"},
        "trip": None,
    }


def test_a_delivery_orders_status_follows_its_trip(
    now, clock, make_api_client, store, customer, home, zone, product, package, budtender
):
    delivery = delivery_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("2"))],
        idempotency_key="d",
        window_start=local(14),
        window_end=local(15),
        address=home,
        created_by=budtender,
    )
    _, caller = make_api_client(scopes=["orders:read"])
    confirmed = status_of(caller, delivery.order_id)
    assert (confirmed["code"], confirmed["message"], confirmed["trip"]) == (
        "confirmed",
        "Your order is confirmed for delivery between 2:00 PM and 3:00 PM today. Have your ID ready.",
        None,
    )
    assert confirmed["window"] == {"start": "2026-03-10T21:00:00Z", "end": "2026-03-10T22:00:00Z"}

    driver, vehicle = make_driver(store), make_vehicle(store)
    shift = make_shift(store, driver, vehicle, dt.date(2026, 3, 10), start=12, end=18)
    trip = Trip.objects.create(
        organization=store.organization,
        store=store,
        day=dt.date(2026, 3, 10),
        shift=shift,
        driver=driver,
        vehicle=vehicle,
        planned_start=local(13, 30),
        planned_end=local(15, 30),
        planned_at=now,
    )
    stop = TripStop.objects.create(
        trip=trip,
        order=delivery,
        sequence=1,
        planned_arrival=local(14, 20),
        planned_departure=local(14, 25),
    )
    scheduled = status_of(caller, delivery.order_id)
    assert (scheduled["code"], scheduled["message"]) == (
        "scheduled",
        "Your delivery is scheduled: expected around 2:20 PM today (between 2:00 PM and 3:00 PM today).",
    )
    assert scheduled["trip"] == {
        "status": "planned",
        "status_label": "Planned",
        "stop_status": "pending",
        "stop_sequence": 1,
        "planned_arrival": "2026-03-10T21:20:00Z",
        "departed_at": None,
    }
    Trip.objects.filter(pk=trip.pk).update(status="departed", departed_at=local(13, 35))
    moving = status_of(caller, delivery.order_id)
    assert (moving["code"], moving["message"], moving["trip"]["departed_at"]) == (
        "on_the_way",
        "Your order is on the way: expected around 2:20 PM today.",
        "2026-03-10T20:35:00Z",
    )
    TripStop.objects.filter(pk=stop.pk).update(status="returned")
    assert status_of(caller, delivery.order_id)["code"] == "not_delivered"
    # A cancelled trip is no trip: the order waits again.
    Trip.objects.filter(pk=trip.pk).update(status="cancelled")
    assert status_of(caller, delivery.order_id)["code"] == "confirmed"
    delivery_order_cancel(delivery=DeliveryOrder.objects.get(pk=delivery.pk), actor=budtender, reason="Asked")
    assert status_of(caller, delivery.order_id)["code"] == "cancelled"


def test_another_organizations_order_is_not_found_and_status_needs_the_scope(
    now, make_api_client, store, customer, product, package, budtender, other_store
):
    order = pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("1"))],
        idempotency_key="p",
        created_by=budtender,
    )
    _, elsewhere = make_api_client(scopes=["orders:read"], stores=[other_store])
    _, menu = make_api_client(scopes=["menu:read"])

    assert elsewhere.get(f"/api/v1/orders/{order.pk}/status").status_code == 404
    assert elsewhere.get("/api/v1/orders/999999/status").status_code == 404
    assert menu.get(f"/api/v1/orders/{order.pk}/status").status_code == 403


def test_the_quote_and_the_zones_read_a_bounded_number_of_queries(
    now, make_api_client, store, customer, zone, product, package, manager, django_assert_max_num_queries
):
    for n in range(5):
        delivery_zone_create(
            store=store,
            actor=manager,
            name=f"Ring {n}",
            geometry=square(37.60 - n / 100, -122.60, 37.90, -122.30),
            minimum_order="0",
            fee="1",
            estimated_minutes=30,
        )
    _, caller = make_api_client(scopes=["orders:read"])
    caller.post(QUOTE, body(store, product, customer=customer.pk), format="json")  # warm the kept reads

    with django_assert_max_num_queries(25):
        assert (
            caller.post(QUOTE, body(store, product, customer=customer.pk), format="json").status_code == 200
        )
    with django_assert_max_num_queries(6):
        assert len(caller.get(ZONES).json()["features"]) == 6
