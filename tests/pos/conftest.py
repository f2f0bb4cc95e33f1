import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.identity import id_verify
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.factories import register_with_drawer


@pytest.fixture
def register(store, budtender):
    return register_with_drawer(store, budtender)


@pytest.fixture
def product(organization):
    """An eighth: 45.00, counts 3.5 g of flower."""
    product = ProductFactory(organization=organization, price=Decimal("45.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=Decimal("3.5"))
    return product


@pytest.fixture
def package(store, product):
    return receive(store, product, 10)


@pytest.fixture
def adult_id(store, budtender):
    return lambda customer=None: (
        id_verify(
            store=store,
            staff=budtender,
            minimum_age=21,
            date_of_birth=dt.date(1990, 5, 17),
            expires_on=timezone.now().date() + dt.timedelta(days=800),
            customer=customer,
        ).verification
    )


@pytest.fixture(autouse=True)
def wrong_pins_forgotten():
    """Wrong manager PINs are counted in the cache, which outlives a test's database: start each test clean."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
