"""A delivery order and a walk-in sale racing for the last eighth on PostgreSQL, on two real connections: exactly
one wins, the other is refused for the stock, and the ledger balances."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connections

from compliance.identity import id_verify
from delivery.models import DeliveryAddress, DeliveryOrder
from delivery.services import delivery_zone_create
from delivery.services_orders import delivery_order_create
from inventory.errors import InsufficientStock
from inventory.models import Package
from inventory.selectors import ledger_mismatch_list
from pos.models import PickupOrder, Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.delivery.helpers import square
from tests.delivery.order_fixtures import INSIDE, NOW, local
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import checkout

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("shipped_rules"),
]


def compete(works):
    barrier = threading.Barrier(len(works))
    results, errors, lock = {}, {}, threading.Lock()

    def run(name, work):
        try:
            barrier.wait()
            result = work()
            with lock:
                results[name] = result
        except InsufficientStock as error:
            with lock:
                errors[name] = error
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=item) for item in works.items()]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results, errors


def _shop():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    staff = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    delivery_zone_create(
        store=store,
        actor=staff,
        name="City",
        geometry=square(37.70, -122.52, 37.82, -122.35),
        minimum_order="0",
        fee="4.99",
        estimated_minutes=35,
    )
    product = ProductFactory(organization=organization, price=D("45.00"))
    package = receive(store, product, 5)
    customer = CustomerFactory(organization=organization, date_of_birth=dt.date(1990, 5, 17))
    home = DeliveryAddress.objects.create(
        customer=customer,
        line1="1 Market St",
        city="SF",
        region="CA",
        postal_code="94105",
        source="client",
        **INSIDE,
    )
    return store, staff, product, package, customer, home


def test_one_key_sent_twice_at_once_places_one_delivery_order(clock):
    clock.move_to(NOW, tick=True)
    store, staff, product, package, customer, home = _shop()

    def place():
        return delivery_order_create(
            store=store,
            customer=customer,
            customer_type="adult_use",
            lines=[(product.pk, D("1"))],
            idempotency_key="same",
            window_start=local(16),
            window_end=local(17),
            address=home,
            created_by=staff,
        )

    results, errors = compete({"first": place, "second": place})

    assert errors == {}
    assert results["first"].pk == results["second"].pk
    assert (PickupOrder.objects.count(), DeliveryOrder.objects.count()) == (1, 1)
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("1")
    assert ledger_mismatch_list(store=store) == []


@pytest.mark.parametrize("round_", range(3))
def test_a_delivery_order_and_a_walk_in_sale_for_the_last_eighth_one_wins(clock, round_):
    clock.move_to(NOW, tick=True)
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    staff = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    delivery_zone_create(
        store=store,
        actor=staff,
        name="City",
        geometry=square(37.70, -122.52, 37.82, -122.35),
        minimum_order="0",
        fee="4.99",
        estimated_minutes=35,
    )
    product = ProductFactory(organization=organization, price=D("45.00"))
    package = receive(store, product, 1)
    register = register_with_drawer(store, staff)
    ordering = CustomerFactory(organization=organization, date_of_birth=dt.date(1990, 5, 17))
    walking_in = CustomerFactory(organization=organization, date_of_birth=dt.date(1985, 1, 2))
    home = DeliveryAddress.objects.create(
        customer=ordering,
        line1="1 Market St",
        city="SF",
        region="CA",
        postal_code="94105",
        source="client",
        **INSIDE,
    )
    verification = id_verify(
        store=store, staff=staff, minimum_age=21, date_of_birth=dt.date(1985, 1, 2), customer=walking_in
    ).verification

    results, errors = compete(
        {
            "order": lambda: delivery_order_create(
                store=store,
                customer=ordering,
                customer_type="adult_use",
                lines=[(product.pk, D("1"))],
                idempotency_key="race",
                window_start=local(16),
                window_end=local(17),
                address=home,
                created_by=staff,
            ),
            "sale": lambda: checkout(
                store=store,
                register=register,
                staff=staff,
                customer=walking_in,
                customer_type="adult_use",
                lines=[QuoteLineInput(product.pk, D("1"))],
                tenders=[TenderInput("cash", D("100"))],
                idempotency_key="race",
                id_verification=verification,
            ),
        }
    )

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    package = Package.objects.get(pk=package.pk)
    if "order" in results:
        assert (PickupOrder.objects.count(), DeliveryOrder.objects.count(), Sale.objects.count()) == (1, 1, 0)
        assert (package.quantity_on_hand, package.quantity_allocated) == (D("1"), D("1"))
    else:
        assert (PickupOrder.objects.count(), DeliveryOrder.objects.count(), Sale.objects.count()) == (0, 0, 1)
        assert (package.quantity_on_hand, package.quantity_allocated) == (D("0"), D("0"))
    assert ledger_mismatch_list(store=store) == []
