"""Callers of the API (shared with the core's API tests) and sales to read."""

from decimal import Decimal as D

import pytest

from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.dispensary.api.conftest import *  # noqa: F403 - the API callers' fixtures
from tests.pos.sale_helpers import checkout


@pytest.fixture
def make_sale(store, register, budtender, product, package, adult_id):
    """A completed sale of `quantity` eighths (45.00 each) to `customer`."""

    def make(customer=None, *, key, quantity=1, discount_percent=None):
        return checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type="adult_use",
            lines=[QuoteLineInput(product.pk, D(quantity), discount_percent=discount_percent)],
            tenders=[TenderInput("cash", D("500"))],
            idempotency_key=key,
            id_verification=adult_id(customer),
        )

    return make
