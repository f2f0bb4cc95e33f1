# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""Delivery analytics (issue 13, part 8): each figure from the routes of tests/delivery/analytics_fixtures.py,
worked out by hand in each test."""

import datetime as dt
from decimal import Decimal as D

import pytest

from delivery.selectors_analytics import AnalyticsFilters, delivery_analytics_get
from tests.delivery.analytics_fixtures import deliveries, hills, pat, sam  # noqa: F401 - fixtures
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

MARCH_10, MARCH_11 = dt.date(2026, 3, 10), dt.date(2026, 3, 11)


def report(store, start=MARCH_10, end=MARCH_11, driver=None):
    return delivery_analytics_get(AnalyticsFilters(store=store, start=start, end=end, driver=driver))


def test_smoke(store, deliveries):
    result = report(store)
    print(result)
