"""Registers competing for the last units, with real concurrent connections on PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from inventory.errors import InsufficientStock
from inventory.models import Package, StockMovement
from inventory.selectors import ledger_mismatch_list
from inventory.services import Reference, StockRequest, stock_allocate, stock_sell
from tests.factories import OrganizationFactory, StoreFactory
from tests.inventory.factories import ProductFactory, receive

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def compete(threads: int, work) -> tuple[list, list]:
    barrier = threading.Barrier(threads)
    wins, losses, lock = [], [], threading.Lock()

    def run(index):
        try:
            barrier.wait()
            result = work(index)
            with lock:
                wins.append(result)
        except InsufficientStock as error:
            with lock:
                losses.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return wins, losses


def test_many_registers_never_sell_more_than_exists():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    product = ProductFactory(organization=organization)
    # 7 units over three packages; 12 registers each want 1, and 4 more want 2.
    packages = [receive(store, product, n) for n in (3, 2, 2)]

    def sell(index):
        quantity = Decimal(1 if index < 12 else 2)
        return stock_sell(
            store=store,
            requests=[StockRequest(product.pk, quantity)],
            actor=None,
            reference=Reference("sale", str(index)),
        )

    wins, losses = compete(16, sell)
    sold = sum(take.quantity for takes in wins for take in takes)
    assert sold == Decimal(7)
    assert len(wins) + len(losses) == 16
    assert losses, "someone must have been told the stock ran out"
    for package in packages:
        package.refresh_from_db()
        assert package.quantity_on_hand == 0
    assert StockMovement.objects.filter(kind="sold").count() >= len(wins)
    assert ledger_mismatch_list(store=store) == []


def test_allocations_and_sales_together_never_oversell():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    product = ProductFactory(organization=organization)
    receive(store, product, 10)

    def work(index):
        request = [StockRequest(product.pk, Decimal(1))]
        reference = Reference("order" if index % 2 else "sale", str(index))
        if index % 2:
            return stock_allocate(store=store, requests=request, actor=None, reference=reference)
        return stock_sell(store=store, requests=request, actor=None, reference=reference)

    wins, losses = compete(20, work)
    assert len(wins) == 10 and len(losses) == 10
    sold = StockMovement.objects.filter(kind="sold").count()
    allocated = StockMovement.objects.filter(kind="allocated").count()
    assert sold + allocated == 10
    package = Package.objects.get(store=store)
    assert (package.quantity_on_hand, package.quantity_allocated) == (Decimal(10 - sold), Decimal(allocated))
    assert package.quantity_available == 0
    assert ledger_mismatch_list(store=store) == []
