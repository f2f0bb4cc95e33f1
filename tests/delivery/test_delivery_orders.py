# ruff: noqa: F811 - the fixtures imported from order_fixtures are parameters of the tests
"""Delivery orders: placed through the pickup order service after the zone, excluded places, legal and store hours
and the zone's minimum allow them; a refusal names its rule and writes nothing; cancelling releases the stock;
completing at the door is a sale through the counter's path."""

import datetime as dt
from decimal import Decimal as D

import pytest

from delivery.models import DeliveryAddress, DeliveryOrder
from delivery.services_orders import (
    DeliveryRefused,
    delivery_order_cancel,
    delivery_order_complete,
    delivery_order_create,
)
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord, OutboxEvent
from inventory.models import Package, StockMovement
from inventory.selectors import ledger_mismatch_list
from pos.models import PickupOrder, Sale, SaleLine
from pos.services import TenderInput
from pos.services.pickup import AgeVerificationInput
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    INSIDE,
    NOW,
    OUTSIDE,
    SCHOOL,
    customer,
    door_id,
    home,
    local,
    now,
    package,
    product,
    register,
    school,
    zone,
)

pytestmark = pytest.mark.django_db


def place(store, customer, lines, *, key="d-1", start=None, end=None, **kw):
    return delivery_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=lines,
        idempotency_key=key,
        window_start=start or local(14),
        window_end=end or local(15),
        **kw,
    )


def nothing_written(package):
    assert PickupOrder.objects.count() == 0
    assert DeliveryOrder.objects.count() == 0
    assert Package.objects.get(pk=package.pk).quantity_allocated == 0
    assert not AuditRecord.objects.filter(
        action__in=["pickup_order.placed", "delivery_order.placed"]
    ).exists()
    assert not OutboxEvent.objects.filter(name="pos.pickup_order_placed").exists()


def test_a_delivery_order_allocates_stock_and_keeps_zone_fee_window_and_address(
    now, store, customer, home, zone, product, package, budtender
):
    delivery = place(
        store, customer, [(product.pk, D("2"))], address=home, created_by=budtender, channel="phone"
    )

    order = delivery.order
    assert (order.fulfilment, order.channel, order.status, order.pickup_after, order.estimated_total) == (
        "delivery",
        "phone",
        "reserved",
        local(14),
        D("110.03"),
    )
    assert (
        delivery.zone_id,
        delivery.fee,
        delivery.minimum_order,
        delivery.estimated_minutes,
        delivery.window_start,
        delivery.window_end,
        delivery.latitude,
        delivery.longitude,
        delivery.address_text,
    ) == (
        zone.pk,
        D("4.99"),
        D("40.00"),
        35,
        local(14),
        local(15),
        INSIDE["latitude"],
        INSIDE["longitude"],
        "1 Market St, San Francisco, CA 94105",
    )
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("2")
    movement = StockMovement.objects.get(kind="allocated")
    assert (movement.reference_type, movement.reference_id) == ("pickup", str(order.pk))
    assert ledger_mismatch_list(store=store) == []
    audit = AuditRecord.objects.get(action="delivery_order.placed")
    assert (audit.after["order_id"], audit.after["zone"], audit.after["fee"]) == (order.pk, "City", "4.99")


def test_the_same_key_returns_the_first_delivery_order_even_after_the_window_passed(
    clock, now, store, customer, home, zone, product, package, budtender
):
    first = place(store, customer, [(product.pk, D("1"))], address=home, created_by=budtender)
    clock.move_to(NOW + dt.timedelta(hours=6))

    again = place(store, customer, [(product.pk, D("1"))], address=home, created_by=budtender)

    assert again.pk == first.pk
    assert (DeliveryOrder.objects.count(), PickupOrder.objects.count()) == (1, 1)
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("1")


def test_a_pickup_orders_key_cannot_become_a_delivery_order(
    now, store, customer, home, zone, product, package, budtender
):
    from pos.services.pickup import pickup_order_create

    pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("1"))],
        idempotency_key="d-1",
        created_by=budtender,
    )
    with pytest.raises(Conflict):
        place(store, customer, [(product.pk, D("1"))], address=home, created_by=budtender)
    assert DeliveryOrder.objects.count() == 0


def test_a_new_address_with_coordinates_is_saved_with_the_order(
    now, store, customer, zone, product, package, budtender
):
    delivery = place(
        store,
        customer,
        [(product.pk, D("1"))],
        new_address={
            "line1": "9 Oak St",
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94102",
            **INSIDE,
        },
        created_by=budtender,
    )

    address = DeliveryAddress.objects.get()
    assert (delivery.address_id, address.customer_id, address.line1, address.source) == (
        address.pk,
        customer.pk,
        "9 Oak St",
        "staff",
    )


@pytest.mark.parametrize(
    ("where", "rule", "message"),
    [
        (OUTSIDE, "zone", "The address is outside every delivery zone of {store}."),
        (
            SCHOOL,
            "excluded_place",
            "The address is within 300 m of Lincoln High, a school (K-12), where the store may not deliver.",
        ),
    ],
)
def test_an_address_outside_the_zones_or_at_an_excluded_place_is_refused_and_writes_nothing(
    now, store, customer, zone, school, product, package, budtender, where, rule, message
):
    new_address = {
        "line1": "2 Elm St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94110",
        **where,
    }
    with pytest.raises(DeliveryRefused) as refused:
        place(store, customer, [(product.pk, D("1"))], new_address=new_address, created_by=budtender)

    assert refused.value.details == {"reasons": [{"rule": rule, "message": message.format(store=store.name)}]}
    assert refused.value.status == 422
    assert DeliveryAddress.objects.count() == 0
    nothing_written(package)


def test_a_window_outside_the_legal_and_store_hours_is_refused_with_each_reason(
    now, store, customer, home, zone, product, package, budtender
):
    with pytest.raises(DeliveryRefused) as refused:
        place(
            store,
            customer,
            [(product.pk, D("1"))],
            address=home,
            created_by=budtender,
            start=local(21, 30),
            end=local(22, 30),
        )

    reasons = refused.value.details["reasons"]
    assert {reason["rule"] for reason in reasons} == {"hours"}
    assert any("10:00 PM" in reason["message"] for reason in reasons)
    assert any(
        f"{store.name} is open 9:00 AM – 9:00 PM on Tuesdays" in reason["message"] for reason in reasons
    )
    nothing_written(package)


def test_an_order_under_the_zones_minimum_is_refused_after_pricing_and_writes_nothing(
    now, store, manager, customer, home, zone, product, package, budtender
):
    zone.minimum_order = D("60.00")
    zone.save(update_fields=["minimum_order"])

    with pytest.raises(DeliveryRefused) as refused:
        place(store, customer, [(product.pk, D("1"))], address=home, created_by=budtender)

    assert refused.value.details == {
        "reasons": [
            {
                "rule": "minimum_order",
                "message": "The City zone has a minimum order of $60.00; this order is $55.01.",
            }
        ]
    }
    nothing_written(package)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"start": local(15), "end": local(14)}, "window_end"),
        ({"start": dt.datetime(2026, 3, 10, 14, 0)}, "window_start"),  # noqa: DTZ001 - the naive input refused
        ({"start": local(10, day=9), "end": local(11, day=9)}, "window_start"),
    ],
)
def test_bad_windows_are_field_errors(
    now, store, customer, home, zone, product, package, budtender, fields, problem
):
    with pytest.raises(ValidationFailed) as refused:
        place(store, customer, [(product.pk, D("1"))], address=home, created_by=budtender, **fields)
    assert problem in refused.value.details
    nothing_written(package)


def test_an_address_of_another_customer_or_none_is_a_field_error(
    now, store, organization, customer, home, zone, product, package, budtender
):
    from tests.factories import CustomerFactory

    other = CustomerFactory(organization=organization, date_of_birth=dt.date(1980, 1, 1))
    with pytest.raises(ValidationFailed) as refused:
        place(store, other, [(product.pk, D("1"))], address=home, created_by=budtender)
    assert list(refused.value.details) == ["address"]
    with pytest.raises(ValidationFailed):
        place(store, customer, [(product.pk, D("1"))], created_by=budtender)
    with pytest.raises(ValidationFailed):
        place(
            store,
            customer,
            [(product.pk, D("1"))],
            new_address={"line1": "x", "city": "y"},
            created_by=budtender,
        )
    nothing_written(package)


def test_cancelling_releases_the_allocation(
    now, store, customer, home, zone, product, package, manager, budtender
):
    delivery = place(store, customer, [(product.pk, D("2"))], address=home, created_by=budtender)

    delivery_order_cancel(delivery=delivery, actor=manager, reason="Customer called")

    assert PickupOrder.objects.get().status == "cancelled"
    assert Package.objects.get(pk=package.pk).quantity_allocated == 0
    assert ledger_mismatch_list(store=store) == []


def test_completing_at_the_door_is_a_sale_with_the_door_check_recorded(
    clock, now, store, customer, home, zone, product, package, budtender, register, door_id
):
    delivery = place(
        store,
        customer,
        [(product.pk, D("2"))],
        address=home,
        created_by=budtender,
        age_verification=AgeVerificationInput(method="online", reference="V-1", verified_by_name="IDme"),
    )
    at_door = clock.move_to(local(14, 20))
    verification = door_id(customer, budtender)

    sale = delivery_order_complete(
        delivery=delivery,
        register=register,
        driver=budtender,
        id_verification=verification,
        tenders=[TenderInput("cash", D("120"))],
        idempotency_key="door-1",
    )

    order = PickupOrder.objects.get()
    assert (order.status, order.closed_at, Sale.objects.get().pickup_order_id) == (
        "completed",
        at_door,
        order.pk,
    )
    assert (order.age_verification_method, order.id_verification_id, order.age_verified_by_id) == (
        "door_check",
        verification.pk,
        budtender.pk,
    )
    assert list(SaleLine.objects.filter(sale=sale).values_list("package_id", "quantity")) == [
        (package.pk, D("2"))
    ]
    package.refresh_from_db()
    assert (package.quantity_on_hand, package.quantity_allocated) == (D("8"), D("0"))
    assert ledger_mismatch_list(store=store) == []
    assert OutboxEvent.objects.filter(name="pos.sale_completed").count() == 1
    # The same key again returns the same sale (the driver's app retrying).
    again = delivery_order_complete(
        delivery=delivery,
        register=register,
        driver=budtender,
        id_verification=verification,
        tenders=[TenderInput("cash", D("120"))],
        idempotency_key="door-1",
    )
    assert again.pk == sale.pk


def test_a_delivery_order_is_not_on_the_counters_pickup_list_nor_arrives_at_the_door(
    now, store, customer, home, zone, product, package, budtender
):
    from dispensary.clock import store_local_date
    from pos.selectors.pickup import pickup_orders_for_day
    from pos.selectors.queue import pickup_arrival_get, pickup_arrival_list
    from pos.services.pickup import pickup_order_create

    delivery = place(store, customer, [(product.pk, D("1"))], address=home, created_by=budtender)
    pickup = pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("1"))],
        idempotency_key="p-1",
        created_by=budtender,
    )

    today = store_local_date(store)
    assert [order.pk for order in pickup_orders_for_day(store=store, day=today)] == [pickup.pk]
    assert [order.pk for order in pickup_arrival_list(store=store)] == [pickup.pk]
    assert pickup_arrival_get(store=store, order_id=delivery.order_id) is None
