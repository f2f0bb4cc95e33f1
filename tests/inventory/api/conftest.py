"""Callers of the API (shared with the core's API tests) and a small stock in two stores of one organization
and one store of another."""

import datetime as dt

import pytest
from django.core.cache import cache

from dispensary.clock import store_local_date
from inventory.models import LabResult
from tests.dispensary.api.conftest import *  # noqa: F403 - the API callers' fixtures
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive


def local_day(store, offset: int) -> dt.date:
    """A day relative to the store's local today, which expiry is judged against."""
    return store_local_date(store) + dt.timedelta(days=offset)


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    # Throttle counters live in the cache; no test may inherit another's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def product(organization):
    product = ProductFactory(organization=organization, name="Blue Dream 3.5g", sku="BD-35")
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount="3.5")
    return product


@pytest.fixture
def package(store, product):
    package = receive(store, product, 10, expires_on=local_day(store, 30))
    LabResult.objects.create(
        package=package,
        lab_name="SC Labs",
        tested_on=local_day(store, -10),
        thc_percent="24.50",
        tests={"pesticides": "pass"},
        passed=True,
    )
    return package


@pytest.fixture
def other_package(other_store, product):
    """A package of the same organization at the store the default API client does not reach."""
    return receive(other_store, product, 5)


@pytest.fixture
def foreign_product(other_organization):
    return ProductFactory(organization=other_organization, sku="BD-35")


@pytest.fixture
def foreign_package(foreign_store, foreign_product):
    return receive(foreign_store, foreign_product, 7)
