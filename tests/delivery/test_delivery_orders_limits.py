# ruff: noqa: F811 - the fixtures imported from order_fixtures are parameters of the tests
"""Purchase limits across channels on one local day: an open delivery order counts at the counter, and the
counter's sales count for a delivery order (California: 28.5 g of flower a day; an eighth counts 3.5 g)."""

from decimal import Decimal as D

import pytest

from delivery.models import DeliveryOrder
from delivery.services_orders import delivery_order_cancel, delivery_order_create
from inventory.models import Package
from pos.errors import PurchaseLimitExceeded
from pos.models import PickupOrder, Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    door_id,
    home,
    local,
    now,
    product,
    register,
    zone,
)
from tests.inventory.factories import receive
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def package(store, product):
    return receive(store, product, 20)


def deliver(store, customer, home, product, quantity, *, staff, key="d-1"):
    return delivery_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D(quantity))],
        idempotency_key=key,
        window_start=local(16),
        window_end=local(17),
        address=home,
        created_by=staff,
        channel="phone",
    )


def walk_in(store, register, staff, customer, product, quantity, verification, key="s-1"):
    return checkout(
        store=store,
        register=register,
        staff=staff,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D(quantity))],
        tenders=[TenderInput("cash", D("1000"))],
        idempotency_key=key,
        id_verification=verification,
    )


def test_an_open_delivery_order_counts_at_the_counter_the_same_day(
    now, store, customer, home, zone, product, package, budtender, register, door_id
):
    deliver(store, customer, home, product, "8", staff=budtender)  # 28 g of 28.5
    verification = door_id(customer, budtender)

    with pytest.raises(PurchaseLimitExceeded) as refused:
        walk_in(store, register, budtender, customer, product, "1", verification)

    assert refused.value.details["violations"][0]["limit"] == "non-concentrated cannabis"
    assert Sale.objects.count() == 0
    # Once the order is cancelled, its grams are free again.
    delivery_order_cancel(delivery=DeliveryOrder.objects.get(), actor=budtender, reason="Customer called")
    sale = walk_in(store, register, budtender, customer, product, "1", verification, key="s-2")
    assert sale.pk is not None


def test_the_counters_sales_count_for_a_delivery_order_the_same_day(
    now, store, customer, home, zone, product, package, budtender, register, door_id
):
    walk_in(store, register, budtender, customer, product, "7", door_id(customer, budtender))  # 24.5 g

    with pytest.raises(PurchaseLimitExceeded) as refused:
        deliver(store, customer, home, product, "2", staff=budtender)  # 7 g more

    assert "28.5 g daily limit" in refused.value.message
    assert (PickupOrder.objects.count(), DeliveryOrder.objects.count()) == (0, 0)
    assert Package.objects.get(pk=package.pk).quantity_allocated == 0
    assert deliver(store, customer, home, product, "1", staff=budtender, key="d-2").order.status == "reserved"


def test_two_open_orders_of_two_channels_share_one_allowance(
    now, store, customer, home, zone, product, package, budtender
):
    from pos.services.pickup import pickup_order_create

    pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("6"))],
        idempotency_key="p-1",
        created_by=budtender,
    )  # 21 g for pickup

    with pytest.raises(PurchaseLimitExceeded):
        deliver(store, customer, home, product, "3", staff=budtender)  # 10.5 g more for delivery

    assert DeliveryOrder.objects.count() == 0
    assert (
        deliver(store, customer, home, product, "2", staff=budtender, key="d-2").order.fulfilment
        == "delivery"
    )


def test_an_order_placed_between_the_quote_and_the_sale_refuses_the_sale(
    now, store, customer, home, zone, product, package, budtender, register, door_id
):
    from pos.selectors.quote import CartInput, quote
    from pos.services import sale_complete

    verification = door_id(customer, budtender)
    priced = quote(
        CartInput(
            store=store,
            customer_type="adult_use",
            lines=(QuoteLineInput(product.pk, D("2")),),
            customer=customer,
            id_verification=verification,
        )
    )
    assert priced.limit_violations == ()
    deliver(store, customer, home, product, "7", staff=budtender)  # 24.5 g: 7 g more is over 28.5

    with pytest.raises(PurchaseLimitExceeded):
        sale_complete(
            quote=priced,
            tenders=[TenderInput("cash", D("200"))],
            register=register,
            staff=budtender,
            idempotency_key="s-1",
        )
    assert Sale.objects.count() == 0
