# ruff: noqa: F811 - the fixtures imported from order_fixtures are parameters of the tests
"""The order events as contracts: OrderPlaced then OrderConfirmed in the placing transaction (every order is
confirmed at placing), OrderCancelled with who cancelled, for pickup and delivery orders, with the facts a consumer
needs; a replayed key and a refused order publish nothing; the old PickupOrderPlaced/Closed keep being published."""

import datetime as dt
from decimal import Decimal as D

import pytest

from delivery.services_orders import DeliveryRefused, delivery_order_cancel, delivery_order_create
from dispensary.events import event_types
from dispensary.models import ApiClient, OutboxEvent
from pos.events import OrderCancelled, OrderConfirmed, OrderPlaced
from pos.services.pickup import pickup_order_cancel, pickup_order_create, pickup_orders_expire
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    NOW,
    customer,
    home,
    local,
    now,
    package,
    product,
    zone,
)

pytestmark = pytest.mark.django_db

ORDER_EVENTS = ["pos.order_placed", "pos.order_confirmed", "pos.order_cancelled"]


def order_events():
    return list(
        OutboxEvent.objects.filter(name__in=ORDER_EVENTS).order_by("pk").values_list("name", "payload")
    )


def pickup(store, customer, product, *, key="p-1", **kw):
    return pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("2"))],
        idempotency_key=key,
        **kw,
    )


def test_a_pickup_order_is_placed_then_confirmed_in_order_with_its_facts(
    now, store, customer, product, package, budtender
):
    order = pickup(store, customer, product, created_by=budtender, channel="phone")

    (placed_name, placed), (confirmed_name, confirmed) = order_events()
    assert (placed_name, confirmed_name) == ("pos.order_placed", "pos.order_confirmed")
    assert placed == {
        "order_id": order.pk,
        "organization_id": store.organization_id,
        "store_id": store.pk,
        "customer_id": customer.pk,
        "customer_type": "adult_use",
        "fulfilment": "pickup",
        "channel": "phone",
        "status": "reserved",
        "placed_at": "2026-03-10T18:00:00+00:00",
        "expires_at": "2026-03-11T18:00:00+00:00",
        "estimated_total": "110.03",
        "delivery_fee": "0.00",
        "total": "110.03",
        "lines": [{"product_id": product.pk, "product_name": product.name, "quantity": "2", "unit": "each"}],
        "pickup_after": "",
        "window_start": "",
        "window_end": "",
        "zone_id": None,
        "zone_name": "",
        "estimated_minutes": None,
        "address_text": "",
    }
    assert confirmed == {**placed, "confirmed_at": "2026-03-10T18:00:00+00:00"}
    # The old event stays for its subscribers.
    assert OutboxEvent.objects.filter(name="pos.pickup_order_placed").count() == 1
    # The payload reads back into the contract's class.
    assert OrderConfirmed.from_payload(confirmed).order_id == order.pk
    assert {name: event_types()[name] for name in ORDER_EVENTS} == {
        "pos.order_placed": OrderPlaced,
        "pos.order_confirmed": OrderConfirmed,
        "pos.order_cancelled": OrderCancelled,
    }


def test_a_delivery_order_carries_its_window_zone_fee_and_address_once(
    now, store, customer, home, zone, product, package, budtender
):
    def place():
        return delivery_order_create(
            store=store,
            customer=customer,
            customer_type="adult_use",
            lines=[(product.pk, D("2"))],
            idempotency_key="d-1",
            window_start=local(14),
            window_end=local(15),
            address=home,
            created_by=budtender,
            channel="phone",
        )

    delivery = place()
    place()  # a retry with the same key publishes nothing more

    events = order_events()
    assert [name for name, _ in events] == ["pos.order_placed", "pos.order_confirmed"]
    placed = events[0][1]
    assert (placed["order_id"], placed["fulfilment"], placed["channel"]) == (
        delivery.order_id,
        "delivery",
        "phone",
    )
    assert {key: placed[key] for key in ("window_start", "window_end", "zone_id", "zone_name")} == {
        "window_start": "2026-03-10T21:00:00+00:00",
        "window_end": "2026-03-10T22:00:00+00:00",
        "zone_id": zone.pk,
        "zone_name": "City",
    }
    assert (placed["delivery_fee"], placed["estimated_total"], placed["total"]) == (
        "4.99",
        "110.03",
        "115.02",
    )
    assert (placed["estimated_minutes"], placed["address_text"], placed["pickup_after"]) == (
        35,
        "1 Market St, San Francisco, CA 94105",
        "",
    )

    delivery_order_cancel(delivery=delivery, actor=budtender, reason="Customer called to cancel")
    name, cancelled = order_events()[-1]
    assert name == "pos.order_cancelled"
    assert {
        key: cancelled[key] for key in ("status", "reason", "reason_text", "cancelled_at", "zone_name")
    } == {
        "status": "cancelled",
        "reason": "staff",
        "reason_text": "Customer called to cancel",
        "cancelled_at": "2026-03-10T18:00:00+00:00",
        "zone_name": "City",
    }


def test_a_refused_delivery_order_publishes_no_order_event(
    now, store, customer, home, zone, product, package
):
    with pytest.raises(DeliveryRefused):
        delivery_order_create(
            store=store,
            customer=customer,
            customer_type="adult_use",
            lines=[(product.pk, D("2"))],
            idempotency_key="d-late",
            window_start=local(22),
            window_end=local(23),
            address=home,
        )
    assert order_events() == []


def test_cancel_reasons_customer_staff_and_expired(clock, now, store, customer, product, package, budtender):
    client = ApiClient.objects.create(
        organization=store.organization, name="Menu", key_prefix="k1", secret_hash="x" * 64
    )
    by_client = pickup(store, customer, product, key="c", api_client=client)
    pickup_order_cancel(order=by_client, actor=client, reason="Changed my mind")
    by_staff = pickup(store, customer, product, key="s", created_by=budtender)
    pickup_order_cancel(order=by_staff, actor=budtender, reason="Out of stock on the shelf")
    said = pickup(store, customer, product, key="t", created_by=budtender)
    pickup_order_cancel(order=said, actor=budtender, reason="Customer asked by phone", by="customer")
    lapsing = pickup(store, customer, product, key="e", created_by=budtender)
    clock.advance(dt.timedelta(hours=25))
    assert pickup_orders_expire() == 1

    cancelled = [payload for name, payload in order_events() if name == "pos.order_cancelled"]
    assert [(p["order_id"], p["reason"], p["status"], p["channel"]) for p in cancelled] == [
        (by_client.pk, "customer", "cancelled", "api"),
        (by_staff.pk, "staff", "cancelled", "staff"),
        (said.pk, "customer", "cancelled", "staff"),
        (lapsing.pk, "expired", "expired", "staff"),
    ]
    assert cancelled[-1]["reason_text"] == "The hold expired."
    assert cancelled[-1]["cancelled_at"] == (NOW + dt.timedelta(hours=25)).isoformat()
