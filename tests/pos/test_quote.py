from decimal import Decimal as D

import pytest

from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import CustomerFactory
from tests.pos.sale_helpers import checkout, priced

pytestmark = pytest.mark.django_db


def test_quote_prices_like_the_sale_and_meters_the_limits(
    store, register, budtender, product, package, adult_id
):
    customer = CustomerFactory(organization=store.organization)
    quote = priced(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("2"), discount_percent=D("10"))],
        age=36,
    )
    sale = checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("2"), discount_percent=D("10"))],
        tenders=[TenderInput("cash", D("200"))],
        idempotency_key="q-1",
        id_verification=adult_id(customer),
    )
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        sale.subtotal,
        sale.discount_total,
        sale.tax_total,
        sale.total,
    )
    assert [(d.source, d.amount) for d in quote.lines[0].discounts] == [("override", D("9.00"))]
    assert quote.tax_fields == {"excise_tax": D("12.15"), "sales_tax": D("5.87")}
    flower = next(usage for usage in quote.limits if "flower_g" in usage.buckets)
    assert (flower.in_cart, flower.over) == (D("7.0"), False)

    after = priced(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("1"))],
        age=36,
    )
    flower = next(usage for usage in after.limits if "flower_g" in usage.buckets)
    assert (flower.used_before, flower.in_cart, flower.remaining) == (D("7.0"), D("3.5"), D("18.0"))


def test_quote_reports_the_line_that_breaks_a_limit(store, product, package):
    quote = priced(
        store=store,
        customer=None,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("9"))],
        age=30,
    )
    assert not quote.verdict.allowed
    [violation] = quote.limit_violations
    assert violation.line == 1 and violation.over == D("3")
