"""The recall page lists the sold units a page at a time (a batch sold for weeks has thousands), in a number of
queries that does not grow with them; the CSV export holds them all."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import inventory.selectors
from inventory.recall_parties import Party, register_party_resolver
from inventory.services import Reference, StockRequest, stock_sell
from inventory.services.recalls import recall_open
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db


def _recall_with_sales(store, organization, manager, sales: int):
    product = ProductFactory(organization=organization, name="Batch Gummies", sku="GUM-B")
    receive(store, product, 100, harvest_batch="HB-PAGES")
    for number in range(sales):
        stock_sell(
            store=store,
            requests=[StockRequest(product_id=product.pk, quantity=Decimal(1))],
            actor=manager,
            reference=Reference("pages-test-sale", f"S-{number}"),
        )
    register_party_resolver(
        "pages-test-sale", lambda ids: {i: Party(int(i[2:]) + 1, f"Buyer {i}", "+14155550134") for i in ids}
    )
    return recall_open(
        organization=organization, criterion="harvest_batch", value="HB-PAGES", reason="Mould", actor=manager
    )


def test_sold_units_are_shown_a_page_at_a_time(login, staff, store, organization, manager, monkeypatch):
    monkeypatch.setattr(inventory.selectors, "SOLD_PAGE_SIZE", 2)
    recall = _recall_with_sales(store, organization, manager, 3)
    client = login(staff("manager"))
    first = client.get(f"/inventory/recalls/{recall.pk}/").content.decode()
    assert "3 movements out through sales or deliveries" in first
    assert "Buyer S-0" in first and "Buyer S-1" in first and "Buyer S-2" not in first
    assert "Page 1 of 2" in first
    second = client.get(f"/inventory/recalls/{recall.pk}/?page=2").content.decode()
    assert "Buyer S-2" in second and "Buyer S-0" not in second
    rows = list(
        csv.reader(io.StringIO(client.get(f"/inventory/recalls/{recall.pk}/sold.csv").content.decode()))
    )
    assert [row[5] for row in rows[1:]] == ["Buyer S-0", "Buyer S-1", "Buyer S-2"]


def test_the_recall_page_reads_as_many_queries_for_many_sold_units(
    login, staff, store, organization, manager
):
    recall = _recall_with_sales(store, organization, manager, 3)
    client = login(staff("manager"))
    client.get(f"/inventory/recalls/{recall.pk}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/inventory/recalls/{recall.pk}/")
    product = recall.packages.get().product
    for number in range(3, 40):
        stock_sell(
            store=store,
            requests=[StockRequest(product_id=product.pk, quantity=Decimal(1))],
            actor=manager,
            reference=Reference("pages-test-sale", f"S-{number}"),
        )
    with CaptureQueriesContext(connection) as many:
        content = client.get(f"/inventory/recalls/{recall.pk}/").content.decode()
    assert "40 movements" in content
    assert len(many.captured_queries) == len(few.captured_queries)
