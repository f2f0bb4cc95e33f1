"""Helpers of the recommendation tests: products in stock and completed sales written straight to the tables
(the recommendations read sales; how a sale is made is the point of sale's tests' business)."""

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from inventory.models import Product
from pos.models import Sale, SaleLine
from tests.inventory.factories import ProductFactory, receive

_NUMBERS = itertools.count(1)


def stocked(
    store, name: str, category: str = "flower", *, price: str = "20.00", quantity: int = 10
) -> Product:
    product = ProductFactory(
        organization=store.organization, name=name, category=category, price=Decimal(price)
    )
    product.stock = receive(store, product, quantity)
    return product


def sell(register, staff, products, *, customer=None, days_ago: int = 1, amount: str = "10.00") -> Sale:
    """One completed sale of one unit of each product, `days_ago` days ago."""
    number = next(_NUMBERS)
    at = timezone.now() - dt.timedelta(days=days_ago)
    sale = Sale.objects.create(
        store=register.store,
        register=register,
        customer=customer,
        customer_type="adult_use",
        staff=staff,
        local_date=at.date(),
        completed_at=at,
        receipt_number=f"R-{number}",
        idempotency_key=f"sale-{number}",
        subtotal=Decimal(amount) * len(products),
        total=Decimal(amount) * len(products),
    )
    for product in products:
        SaleLine.objects.create(
            sale=sale,
            product=product,
            package=product.stock,
            quantity=Decimal("1"),
            unit="each",
            unit_price=Decimal(amount),
            list_amount=Decimal(amount),
            net_amount=Decimal(amount),
            total=Decimal(amount),
        )
    return sale
