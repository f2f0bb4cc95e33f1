"""Factories for inventory rows. Packages get their stock through package_receive so the ledger balances."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from inventory.models import Product, ProductLimitAmount
from inventory.services import package_receive
from tests.factories import OrganizationFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Blue Dream 3.5g #{n}")
    brand = "Coastal Farms"
    category = Product.Category.FLOWER
    strain = "Blue Dream"
    sold_by = Product.SoldBy.EACH
    net_amount = Decimal("3.5")
    net_unit = Product.NetUnit.GRAM
    thc_percent = Decimal("24.5")
    price = Decimal("45.00")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")


class ProductLimitAmountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLimitAmount

    product = factory.SubFactory(ProductFactory)
    bucket = "flower_g"
    amount = Decimal("3.5")


_tags = iter(range(1, 10**9))


def next_tag() -> str:
    return f"1A4FF01000000220{next(_tags):08d}"


def receive(store, product, quantity, *, actor=None, tag=None, **details):
    """A package on the sales floor with `quantity` received through the ledger."""
    details.setdefault("location", "sales_floor")
    return package_receive(
        store=store, product=product, tag=tag or next_tag(), quantity=quantity, actor=actor, **details
    )


def days(n: int) -> dt.date:
    return timezone.now().date() + dt.timedelta(days=n)
