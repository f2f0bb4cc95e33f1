"""Fixtures of the delivery order tests: a California store (09:00-21:00) with one zone around the city and a
school excluded inside it, a customer with an address in the zone, an eighth in stock, and a window this afternoon."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from compliance.identity import id_verify
from delivery.models import DeliveryAddress
from delivery.services import delivery_exclusion_create, delivery_zone_create
from tests.delivery.helpers import square
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.factories import register_with_drawer

# 11:00 in Los Angeles (daylight time began on March 8).
NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)
LA = dt.timezone(dt.timedelta(hours=-7))
INSIDE = {"latitude": D("37.750000"), "longitude": D("-122.450000")}
OUTSIDE = {"latitude": D("38.500000"), "longitude": D("-122.450000")}
SCHOOL = {"latitude": D("37.780000"), "longitude": D("-122.420000")}


def local(hour: int, minute: int = 0, day: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=LA)


@pytest.fixture
def now(clock, shipped_rules):
    return clock.move_to(NOW)


@pytest.fixture
def zone(store, manager):
    return delivery_zone_create(
        store=store,
        actor=manager,
        name="City",
        geometry=square(37.70, -122.52, 37.82, -122.35),
        minimum_order="40",
        fee="4.99",
        estimated_minutes=35,
    )


@pytest.fixture
def school(store, manager, zone):
    return delivery_exclusion_create(
        store=store, actor=manager, name="Lincoln High", kind="school", radius_m=300, **SCHOOL
    )


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, date_of_birth=dt.date(1990, 5, 17))


@pytest.fixture
def home(customer):
    return DeliveryAddress.objects.create(
        customer=customer,
        line1="1 Market St",
        city="San Francisco",
        region="CA",
        postal_code="94105",
        source="client",
        **INSIDE,
    )


@pytest.fixture
def product(organization):
    """An eighth: 45.00, counts 3.5 g of flower (55.01 with the taxes)."""
    product = ProductFactory(organization=organization, price=D("45.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("3.5"))
    return product


@pytest.fixture
def package(store, product):
    return receive(store, product, 10)


@pytest.fixture
def register(store, budtender):
    return register_with_drawer(store, budtender)


@pytest.fixture
def door_id(store):
    def check(customer, staff):
        return id_verify(
            store=store,
            staff=staff,
            minimum_age=21,
            date_of_birth=dt.date(1990, 5, 17),
            expires_on=timezone.now().date() + dt.timedelta(days=800),
            customer=customer,
        ).verification

    return check
