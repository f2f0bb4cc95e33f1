# ruff: noqa: F811 - the fixtures imported from the conftest modules are parameters of the tests
"""Delivery orders through the API: create with an address and coordinates, a window and an idempotency key;
read; cancel. Bad input is a 400 with field errors and writes nothing; a refusal says which rule refused it."""

import pytest

from delivery.models import DeliveryAddress, DeliveryOrder
from inventory.models import Package
from pos.models import PickupOrder
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    INSIDE,
    OUTSIDE,
    customer,  # noqa: E402,F401 - with a date of birth
    local,
    now,
    package,
    product,
    zone,
)
from tests.dispensary.api.conftest import *  # noqa: F403 - the API callers' fixtures

pytestmark = pytest.mark.django_db

URL = "/api/v1/delivery-orders"
ADDRESS = {"line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105"}


def body(store, customer, product, **changes):
    return {
        "store": store.pk,
        "customer": customer.pk,
        "customer_type": "adult_use",
        "lines": [{"product": product.pk, "quantity": "2"}],
        "address": {**ADDRESS, "latitude": str(INSIDE["latitude"]), "longitude": str(INSIDE["longitude"])},
        "window_start": local(14).isoformat(),
        "window_end": local(15).isoformat(),
        "age_verification": {"method": "online", "reference": "VER-1", "verified_by": "IDme"},
        **changes,
    }


def test_a_client_creates_reads_and_cancels_a_delivery_order(
    now, make_api_client, store, customer, zone, product, package
):
    client, caller = make_api_client(scopes=["orders:write", "orders:read"])

    response = caller.post(URL, body(store, customer, product), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 201, response.json()
    created = response.json()
    order = PickupOrder.objects.get()
    assert (created["id"], created["zone"]["name"], created["fee"], created["total_with_fee"]) == (
        order.pk,
        "City",
        "4.99",
        "115.02",
    )
    assert (created["window_start"], created["estimated_minutes"], created["latitude"]) == (
        "2026-03-10T21:00:00Z",
        35,
        "37.750000",
    )
    assert (created["order"]["fulfilment"], created["order"]["channel"], created["order"]["status"]) == (
        "delivery",
        "api",
        "reserved",
    )
    assert created["order"]["age_verification"] == {
        "method": "online",
        "method_label": "Verified online by the ordering channel",
        "verified_by": "IDme",
        "verified_at": "2026-03-10T18:00:00Z",
        "reference": "VER-1",
    }
    assert (order.api_client_id, order.idempotency_key) == (client.pk, "k-1")
    replay = caller.post(URL, body(store, customer, product), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (replay.status_code, replay.json()["id"]) == (201, created["id"])
    assert (DeliveryOrder.objects.count(), DeliveryAddress.objects.count()) == (1, 1)

    read = caller.get(f"{URL}/{order.pk}")
    assert (read.status_code, read.json()) == (200, created)

    cancelled = caller.post(
        f"{URL}/{order.pk}/cancel", {"reason": "Customer called"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert (cancelled.status_code, cancelled.json()["order"]["status"]) == (200, "cancelled")
    assert Package.objects.get(pk=package.pk).quantity_allocated == 0
    again = caller.post(
        f"{URL}/{order.pk}/cancel", {"reason": "Again"}, format="json", HTTP_IDEMPOTENCY_KEY="c-2"
    )
    assert (again.status_code, again.json()["code"]) == (409, "pickup_order_closed")


def test_bad_input_is_a_400_with_field_errors_and_writes_nothing(
    now, make_api_client, store, customer, zone, product, package
):
    _, caller = make_api_client(scopes=["orders:write", "orders:read"])
    bad = body(store, customer, product, window_start="tomorrow")
    bad["address"] = {"line1": "1 Market St", "latitude": "91"}

    response = caller.post(URL, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 400
    details = response.json()["details"]
    assert set(details) == {"window_start", "address"}
    assert "latitude" in details["address"]
    assert (PickupOrder.objects.count(), DeliveryAddress.objects.count()) == (0, 0)


def test_a_refusal_is_a_422_with_the_rules_reasons(
    now, make_api_client, store, customer, zone, product, package
):
    _, caller = make_api_client(scopes=["orders:write", "orders:read"])
    outside = body(
        store,
        customer,
        product,
        window_start=local(21, 30).isoformat(),
        window_end=local(22, 30).isoformat(),
    )
    outside["address"].update(latitude=str(OUTSIDE["latitude"]), longitude=str(OUTSIDE["longitude"]))

    response = caller.post(URL, outside, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "delivery_refused"
    reasons = error["details"]["reasons"]
    assert reasons[0]["rule"] == "zone" and {r["rule"] for r in reasons[1:]} == {"hours"}, reasons
    assert (
        error["details"]["reasons"][0]["message"]
        == f"The address is outside every delivery zone of {store.name}."
    )
    assert (PickupOrder.objects.count(), DeliveryAddress.objects.count()) == (0, 0)
    assert Package.objects.get(pk=package.pk).quantity_allocated == 0


def test_a_limit_refusal_names_the_limit(now, make_api_client, store, customer, zone, product, package):
    _, caller = make_api_client(scopes=["orders:write", "orders:read"])

    response = caller.post(
        URL,
        body(store, customer, product, lines=[{"product": product.pk, "quantity": "9"}]),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "purchase_limit_exceeded"
    assert response.json()["details"]["violations"][0]["limit"] == "non-concentrated cannabis"
    assert PickupOrder.objects.count() == 0


def test_another_stores_order_is_not_found_and_reading_needs_the_scope(
    now, make_api_client, store, other_store, customer, zone, product, package
):
    _, caller = make_api_client(scopes=["orders:write", "orders:read"])
    created = caller.post(
        URL, body(store, customer, product), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    ).json()
    _, elsewhere = make_api_client(scopes=["orders:read", "orders:write"], stores=[other_store])
    _, unscoped = make_api_client(scopes=["inventory:read"])

    assert elsewhere.get(f"{URL}/{created['id']}").status_code == 404
    assert unscoped.get(f"{URL}/{created['id']}").status_code == 403
    assert (
        elsewhere.post(
            URL, body(store, customer, product), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        ).status_code
        == 400
    )
    assert DeliveryOrder.objects.count() == 1
