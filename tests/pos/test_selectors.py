from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.models import Store
from pos.selectors import customer_purchase_list, sale_list
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import CustomerFactory
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db


def make_sales(store, register, budtender, product, adult_id, count, customer=None):
    for number in range(count):
        checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type="adult_use",
            lines=[QuoteLineInput(product.pk, D("1"))],
            tenders=[TenderInput("cash", D("100"))],
            idempotency_key=f"{customer and customer.pk}-{number}",
            id_verification=adult_id(customer),
        )


def read_all(queryset):
    return [
        (
            sale.store.code,
            [(line.package.tag, [t.amount for t in line.taxes.all()]) for line in sale.lines.all()],
            list(sale.tenders.all()),
        )
        for sale in queryset
    ]


def test_sale_list_query_count_does_not_grow_with_sales(
    store, register, budtender, product, package, adult_id
):
    make_sales(store, register, budtender, product, adult_id, 1)
    with CaptureQueriesContext(connection) as one:
        read_all(sale_list(stores=Store.objects.filter(pk=store.pk)))
    make_sales(
        store,
        register,
        budtender,
        product,
        adult_id,
        2,
        customer=CustomerFactory(organization=store.organization),
    )
    with CaptureQueriesContext(connection) as three:
        rows = read_all(sale_list(stores=Store.objects.filter(pk=store.pk)))
    assert len(rows) == 3
    assert len(three) == len(one) == 5  # sales, lines, taxes, tenders, refunds


def test_filters_and_customer_history(store, register, budtender, product, package, adult_id):
    customer = CustomerFactory(organization=store.organization)
    make_sales(store, register, budtender, product, adult_id, 1)
    make_sales(store, register, budtender, product, adult_id, 2, customer=customer)
    stores = Store.objects.filter(pk=store.pk)
    assert sale_list(stores=stores, filters={"customer": customer.pk}).count() == 2
    today = sale_list(stores=stores).first().local_date
    assert sale_list(stores=stores, filters={"date_from": today, "date_to": today}).count() == 3
    assert sale_list(stores=Store.objects.none()).count() == 0
    assert customer_purchase_list(customer=customer).count() == 2
