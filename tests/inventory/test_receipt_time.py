"""A receipt entered after the fact keeps its time of receipt (the package's and the ledger's), never a future
or naive one."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from dispensary.errors import ValidationFailed
from inventory.models import Package, StockMovement
from inventory.services.stock import package_receive
from tests.inventory.factories import ProductFactory, next_tag

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 10, 18, 0, tzinfo=dt.UTC)


def test_a_receipt_keeps_its_time_of_receipt(store, clock):
    clock.move_to(NOW)
    product = ProductFactory(organization=store.organization)
    earlier = NOW - dt.timedelta(days=14)
    package = package_receive(
        store=store, product=product, tag=next_tag(), quantity=D(5), actor=None, received_at=earlier
    )
    movement = StockMovement.objects.get(package=package)
    assert (package.received_at, movement.created_at) == (earlier, earlier)
    now = package_receive(store=store, product=product, tag=next_tag(), quantity=D(5), actor=None)
    assert now.received_at == timezone.now() == NOW


NAIVE = dt.datetime(2026, 6, 1, 12, 0)  # noqa: DTZ001 - naive on purpose


@pytest.mark.parametrize("at", [NOW + dt.timedelta(minutes=1), NAIVE])
def test_a_future_or_naive_time_of_receipt_is_refused_and_nothing_is_written(store, clock, at):
    clock.move_to(NOW)
    product = ProductFactory(organization=store.organization)
    with pytest.raises(ValidationFailed, match="cannot be in the future"):
        package_receive(
            store=store, product=product, tag=next_tag(), quantity=D(5), actor=None, received_at=at
        )
    assert not Package.objects.exists() and not StockMovement.objects.exists()
