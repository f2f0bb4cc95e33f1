"""The daily sales report: totals by category and customer type net of refunds, voids left out, each tax by
name, a fixed number of queries, and its page in HTML, CSV and PDF."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.reporting.reports.sales import TOTAL, daily_sales, daily_sales_document
from dispensary.clock import store_local_date
from pos.models import Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund, sale_void
from tests.compliance.reports.conftest import grant
from tests.factories import CustomerFactory
from tests.pos.conftest import adult_id, package, product, register  # noqa: F401 - fixtures
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def sell(store, register, budtender, product, package, adult_id):  # noqa: F811
    counter = iter(range(1, 1000))

    def make(quantity, customer_type="adult_use"):
        customer = CustomerFactory(organization=store.organization)
        sale = checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type="adult_use",
            lines=[QuoteLineInput(product.pk, D(quantity), package_id=package.pk)],
            tenders=[TenderInput("cash", D("1000"))],
            idempotency_key=f"report-{next(counter)}",
            id_verification=adult_id(customer),
        )
        if (
            customer_type != "adult_use"
        ):  # a medical sale needs a registry card: its grouping is what is tested
            Sale.objects.filter(pk=sale.pk).update(customer_type=customer_type)
        return sale

    return make


def test_totals_by_category_and_customer_type_net_of_refunds_without_voids(sell, store, manager, budtender):
    sell("3")  # net 135.00, excise 20.25, sales tax 9.79, total 165.04
    refunded = sell("3")
    line = refunded.lines.get()
    sale_refund(sale=refunded, lines=[(line, D("1"), True)], reason="r", actor=budtender, approver=manager)
    voided = sell("2")
    sale_void(sale=voided, actor=budtender, approver=manager)
    sell("1", customer_type="medical")  # 45.00, excise 6.75, sales tax 3.26, total 55.01
    taxes = {tax.name: tax.field for tax in line.taxes.all()}
    excise = next(name for name, field in taxes.items() if field == "excise_tax")
    sales_tax = next(name for name, field in taxes.items() if field == "sales_tax")
    today = store_local_date(store)

    report = daily_sales(store=store, start=today, end=today)

    adult, medical = report.rows
    assert (adult.customer_type, medical.customer_type) == ("adult_use", "medical")
    assert adult.sales == 2 and adult.units == D("5")
    assert (adult.gross, adult.discounts, adult.net) == (D("225.00"), D("0.00"), D("225.00"))
    # the refund took 45.00 net, 6.75 excise and 3.26 sales tax (55.01) off the second sale
    assert adult.taxes == {excise: D("33.75"), sales_tax: D("16.32")}
    assert (adult.total, adult.refunded) == (D("275.07"), D("55.01"))
    assert medical.sales == 1 and medical.net == D("45.00")
    assert medical.taxes == {excise: D("6.75"), sales_tax: D("3.26")}
    assert (report.totals.sales, report.totals.net, report.totals.total) == (3, D("270.00"), D("330.08"))
    assert report.tax_names == sorted([excise, sales_tax])
    table = daily_sales_document(report).tables[0]
    assert table.rows[-1][0] == TOTAL and table.rows[-1][2] == "3"
    assert (
        daily_sales(
            store=store, start=today.replace(year=today.year - 1), end=today.replace(year=today.year - 1)
        ).rows
        == []
    )


def _queries(store) -> int:
    today = store_local_date(store)
    with CaptureQueriesContext(connection) as queries:
        daily_sales_document(daily_sales(store=store, start=today, end=today))
    return len(queries)


def test_a_fixed_number_of_queries(sell, store):
    for _ in range(2):
        sell("1")
    two = _queries(store)
    for _ in range(8):
        sell("1")
    assert _queries(store) == two == 5  # lines and taxes summed in the database, refunded ones read apart


def test_page_csv_pdf_and_permissions(client, sell, store, officer, budtender):
    sell("3")
    client.force_login(officer)
    url = reverse("compliance:reports:sales")
    assert client.get(url).status_code == 403  # the officer lacks pos.view_sale
    client.force_login(grant(officer, "pos.view_sale"))
    page = client.get(url)
    assert page.status_code == 200 and "165.04" in page.content.decode()
    csv = client.get(url, {"format": "csv"})
    assert csv["Content-Type"].startswith("text/csv") and "135.00" in csv.content.decode()
    pdf = client.get(url, {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "Daily sales" in client.get(reverse("compliance:reports:index")).content.decode()
    client.force_login(budtender)
    assert client.get(url).status_code == 403


def test_purchase_history_in_the_patient_record_and_its_page(
    client,
    sell,
    store,
    officer,
    manager,
    budtender,
    package,  # noqa: F811
):
    kept = sell("3")
    customer = kept.customer
    voided = sell("1")
    refunded = sell("2")
    Sale.objects.filter(pk__in=[voided.pk, refunded.pk]).update(customer=customer)
    sale_void(sale=voided, actor=budtender, approver=manager)
    line = refunded.lines.get()
    sale_refund(sale=refunded, lines=[(line, D("1"), True)], reason="r", actor=budtender, approver=manager)
    other = sell("1")  # another customer's: not in the history

    from compliance.reporting.audit_center import patient_record

    with CaptureQueriesContext(connection) as queries:
        record = patient_record(customer=customer, actor=officer, store=store)
    sales = next(table for table in record.tables if table.title == "Sales")
    assert {row[2] for row in sales.rows} == {
        kept.receipt_number,
        voided.receipt_number,
        refunded.receipt_number,
    }
    assert other.receipt_number not in {row[2] for row in sales.rows}
    by_receipt = {row[2]: (row, flags) for row, flags in zip(sales.rows, sales.flags, strict=True)}
    row, flags = by_receipt[kept.receipt_number]
    assert row[5:] == [package.tag, "3 each", "165.04", "completed"] and flags == []
    assert by_receipt[voided.receipt_number][1] == ["Voided"]
    assert by_receipt[voided.receipt_number][0][-1] == "voided"
    assert by_receipt[refunded.receipt_number][0][-2:] == ["110.03", "refunded 1"]
    assert by_receipt[refunded.receipt_number][1] == ["Partly refunded"]
    assert row[0] == f"{store_local_date(store):%Y-%m-%d}"
    bounded = len(queries)

    sell("1")  # more sales of others change nothing
    Sale.objects.filter(pk=sell("1").pk).update(customer=customer)
    with CaptureQueriesContext(connection) as queries:
        patient_record(customer=customer, actor=officer, store=store)
    assert len(queries) == bounded

    url = reverse("compliance:reports:purchase_history", args=[customer.pk])
    client.force_login(officer)
    assert client.get(url).status_code == 403  # needs pos.view_sale
    client.force_login(grant(officer, "pos.view_sale", "dispensary.view_auditrecord"))
    from dispensary.models import AuditRecord

    before = AuditRecord.objects.filter(action="customer.viewed").count()
    page = client.get(url)
    assert page.status_code == 200 and kept.receipt_number in page.content.decode()
    csv = client.get(url, {"format": "csv"}).content.decode()
    assert kept.receipt_number in csv and "165.04" in csv and other.receipt_number not in csv
    assert client.get(url, {"format": "pdf"}).content.startswith(b"%PDF")
    viewed = AuditRecord.objects.filter(action="customer.viewed").order_by("-id")
    assert viewed.count() == before + 3
    assert viewed[0].after == {"via": "audit_center"} and viewed[0].object_id == str(customer.pk)
