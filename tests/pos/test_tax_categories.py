"""A sale of flower with rolling papers and a pipe in California: cannabis excise on the flower only, sales tax
on every line, as the tax rows' categories say (the quote and the stored sale agree)."""

from decimal import Decimal as D

import pytest

from pos.models import SaleLineTax
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.sale_helpers import checkout, priced

pytestmark = pytest.mark.django_db


def test_accessories_are_sold_without_cannabis_excise(store, register, budtender, product, package, adult_id):
    papers = ProductFactory(
        organization=store.organization, name="Rolling papers", category="accessory", price=D("3.00")
    )
    pipe = ProductFactory(
        organization=store.organization, name="Glass pipe", category="accessory", price=D("24.00")
    )
    receive(store, papers, 20)
    receive(store, pipe, 5)
    customer = CustomerFactory(organization=store.organization)
    wanted = [(product, D("1")), (papers, D("2")), (pipe, D("1"))]

    quote = priced(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(item.pk, quantity) for item, quantity in wanted],
        age=36,
    )
    assert [{tax.tax.field: tax.amount for tax in line.taxes} for line in quote.lines] == [
        {"excise_tax": D("6.75"), "sales_tax": D("3.26")},
        {"sales_tax": D("0.44")},
        {"sales_tax": D("1.74")},
    ]
    sale = checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(item.pk, quantity) for item, quantity in wanted],
        tenders=[TenderInput("cash", D("100"))],
        idempotency_key="tax-categories-1",
        id_verification=adult_id(customer),
    )
    assert (sale.excise_tax_total, sale.sales_tax_total, sale.total) == (D("6.75"), D("5.44"), D("87.19"))
    assert sale.total == quote.total
    excised = SaleLineTax.objects.filter(line__sale=sale, level="excise").values_list(
        "line__product__name", flat=True
    )
    assert list(excised) == [product.name]
