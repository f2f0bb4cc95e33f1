"""Two registers selling the last unit at once, and a double-submitted checkout, on PostgreSQL with real
concurrent connections."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connections

from compliance.identity import id_verify
from inventory.errors import InsufficientStock
from inventory.selectors import ledger_mismatch_list
from pos.models import Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import checkout

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("shipped_rules"),
]


def compete(work, threads=2):
    barrier = threading.Barrier(threads)
    results, errors, lock = [], [], threading.Lock()

    def run(index):
        try:
            barrier.wait()
            result = work(index)
            with lock:
                results.append(result)
        except InsufficientStock as error:
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results, errors


@pytest.fixture
def counter():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    staff = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    product = ProductFactory(organization=organization, price=D("10.00"))
    package = receive(store, product, 1)
    registers = [register_with_drawer(store, staff, name=f"R{i}") for i in range(2)]
    verification = id_verify(
        store=store, staff=staff, minimum_age=21, date_of_birth=dt.date(1990, 1, 1)
    ).verification
    return store, staff, product, package, registers, verification


def sell(counter, index, key):
    store, staff, product, _, registers, verification = counter
    return checkout(
        store=store,
        register=registers[index],
        staff=staff,
        customer=None,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("1"))],
        tenders=[TenderInput("cash", D("20"))],
        idempotency_key=key,
        id_verification=verification,
    )


def test_two_registers_selling_the_last_unit_one_wins(counter):
    sales, errors = compete(lambda index: sell(counter, index, f"key-{index}"))
    assert len(sales) == 1 and len(errors) == 1
    assert Sale.objects.count() == 1
    counter[3].refresh_from_db()
    assert counter[3].quantity_on_hand == 0
    assert ledger_mismatch_list(store=counter[0]) == []


def test_double_submit_with_one_key_makes_one_sale(counter):
    sales, errors = compete(lambda index: sell(counter, index, "same-key"))
    assert errors == []
    assert len({sale.pk for sale in sales}) == 1
    assert Sale.objects.count() == 1
