"""The receipt of a sale: what a state requires (licence, address, excise on its own line), lines with their
discounts, tenders and change, loyalty, void and refund marks; in a fixed number of queries; and its text."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.models import Store
from pos.models import LoyaltyAccount, LoyaltyTier, Sale, SaleLine, SaleLineDiscount
from pos.receipts import SMS_LIMIT, receipt_get, receipt_text
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund, sale_void
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(store):
    return CustomerFactory(organization=store.organization, phone="+14155550134", email="ada@example.com")


@pytest.fixture
def sell(store, register, budtender, adult_id):
    def make(lines, *, customer=None, tenders=None, key="r-1", customer_type="adult_use"):
        return checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type=customer_type,
            lines=lines,
            tenders=tenders or [TenderInput("cash", D("200"))],
            idempotency_key=key,
            id_verification=adult_id(customer),
        )

    return make


def test_receipt_has_what_the_state_requires_and_every_amount(
    store, sell, product, package, customer, budtender
):
    store.phone = "+14155550100"
    store.save()
    sale = sell(
        [QuoteLineInput(product.pk, D("2"), package_id=package.pk, discount_percent=D("10"))],
        customer=customer,
        tenders=[TenderInput("card", D("50.00"), reference="AUTH-1"), TenderInput("cash", D("60"))],
    )
    # The sale records the 10% as a named line discount (SaleLineDiscount) that the receipt shows.
    assert SaleLineDiscount.objects.filter(line__sale=sale).count() == 1
    tier = LoyaltyTier.objects.create(organization=store.organization, name="Gold", min_spend=D("500"))
    LoyaltyAccount.objects.create(customer=customer, balance=120, tier=tier)
    Sale.objects.filter(pk=sale.pk).update(points_earned=81, points_redeemed=0)

    receipt = receipt_get(sale_id=sale.pk)

    assert (receipt.store_name, receipt.address_lines, receipt.store_phone) == (
        store.name,
        ("1 Market St", "San Francisco, CA 94105"),
        "+14155550100",
    )
    assert (receipt.licence_number, receipt.receipt_number) == (
        store.license_adult_use,
        f"{store.code}-{sale.pk}",
    )
    assert receipt.local_time == sale.completed_at.astimezone(store.tz)
    assert receipt.local_time.tzinfo.key == "America/Los_Angeles"
    assert (receipt.budtender, receipt.customer_type_label) == ("Sam", "Adult use")
    [receipt_line] = receipt.lines
    assert (
        receipt_line.product_name,
        receipt_line.package_tag,
        receipt_line.quantity_label,
        receipt_line.list_amount,
        [(d.name, d.amount) for d in receipt_line.discounts],
        receipt_line.net_amount,
    ) == (product.name, package.tag, "2 x $45.00", D("90.00"), [("10% off", D("9.00"))], D("81.00"))
    assert (receipt.subtotal, receipt.discount_total, receipt.tax_total, receipt.total) == (
        D("90.00"),
        D("9.00"),
        D("18.02"),
        D("99.02"),
    )
    assert [(t.field, t.amount, t.included_in_price) for t in receipt.excise_taxes] == [
        ("excise_tax", D("12.15"), False)
    ]
    assert [(t.field, t.amount) for t in receipt.other_taxes] == [("sales_tax", D("5.87"))]
    assert [(t.label, t.amount, t.change_due, t.reference) for t in receipt.tenders] == [
        ("Card or debit", D("50.00"), D("0.00"), "AUTH-1"),
        ("Cash", D("60.00"), D("10.98"), ""),
    ]
    assert receipt.change_due == D("10.98")
    assert (receipt.points_earned, receipt.points_balance, receipt.loyalty_tier) == (81, 120, "Gold")
    assert (receipt.voided, receipt.refunds, receipt.net_total) == (False, (), D("99.02"))
    assert (receipt.customer_phone, receipt.customer_email) == ("+14155550134", "ada@example.com")


def test_a_counter_discount_is_named_and_one_without_its_row_still_shows(sell, product, package):
    sale = sell([QuoteLineInput(product.pk, D("1"), package_id=package.pk, discount_amount=D("5"))])
    [line] = receipt_get(sale_id=sale.pk).lines
    assert [(d.name, d.amount) for d in line.discounts] == [("Amount off", D("5.00"))]
    SaleLineDiscount.objects.filter(line__sale=sale).delete()  # as sales made before discounts were named
    [line] = receipt_get(sale_id=sale.pk).lines
    assert [(d.name, d.amount) for d in line.discounts] == [("Discount", D("5.00"))]


def test_medical_sale_shows_the_medical_licence_and_anonymous_has_no_loyalty(store, sell, product, package):
    store.license_medical = "M10-0000001-LIC"
    store.save()
    receipt = receipt_get(sale_id=sell([QuoteLineInput(product.pk, D("1"))]).pk)
    assert receipt.licence_number == store.license_adult_use
    assert (receipt.has_loyalty_account, receipt.points_balance, receipt.customer_id) == (False, None, None)
    assert "Points" not in receipt_text(receipt)


def test_receipt_of_another_store_is_not_found(store, sell, product, package, organization):
    sale = sell([QuoteLineInput(product.pk, D("1"))])
    elsewhere = Store.objects.filter(pk=store.pk).none()
    assert receipt_get(sale_id=sale.pk, stores=elsewhere) is None
    assert receipt_get(sale_id=sale.pk, stores=[store]).sale_id == sale.pk


def test_void_and_refund_marks(sell, product, package, customer, budtender, manager, store):
    sale = sell([QuoteLineInput(product.pk, D("3"), package_id=package.pk)], customer=customer)
    line = SaleLine.objects.get(sale=sale)
    refund = sale_refund(
        sale=sale, lines=[(line, D("1"), True)], reason="Wrong strain", actor=budtender, approver=manager
    )
    receipt = receipt_get(sale_id=sale.pk)
    assert receipt.lines[0].refunded_label == "Refunded 1"
    assert [(r.refund_id, r.total, r.tender_label) for r in receipt.refunds] == [
        (refund.pk, refund.total, "Cash")
    ]
    assert receipt.net_total == sale.total - refund.total
    text = receipt_text(receipt)
    assert "Refunded 1" in text and "Net after refunds" in text

    sale_void(sale=sale, actor=budtender, approver=manager)
    receipt = receipt_get(sale_id=sale.pk)
    assert receipt.voided is True
    assert receipt.voided_local_time.tzinfo.key == "America/Los_Angeles"
    assert "*** VOIDED" in receipt_text(receipt)
    assert receipt_text(receipt, short=True).splitlines()[2] == "VOIDED"


def test_receipt_reads_in_six_queries_whatever_its_size(
    store, sell, organization, customer, product, package
):
    small = sell([QuoteLineInput(product.pk, D("1"))], customer=customer, key="small")
    products = []
    for number in range(4):
        other = ProductFactory(organization=organization, price=D("10.00"), name=f"Gummies {number}")
        ProductLimitAmountFactory(product=other, bucket="flower_g", amount=D("0.1"))
        receive(store, other, 5)
        products.append(other)
    big = sell(
        [QuoteLineInput(p.pk, D("1"), discount_percent=D("5")) for p in products],
        customer=customer,
        key="big",
        tenders=[TenderInput("card", D("10"), reference="A"), TenderInput("cash", D("100"))],
    )
    for line in SaleLine.objects.filter(sale=big):
        SaleLineDiscount.objects.create(
            line=line, source="promotion", name="Promo", amount=line.discount_amount
        )
    LoyaltyAccount.objects.create(customer=customer, balance=5)
    with CaptureQueriesContext(connection) as one:
        receipt_text(receipt_get(sale_id=small.pk))
    with CaptureQueriesContext(connection) as many:
        receipt = receipt_get(sale_id=big.pk)
        receipt_text(receipt)
    assert len(receipt.lines) == 4
    assert (
        len(one) == len(many) == 6
    )  # sale (with store, staff, customer, loyalty), lines, taxes, discounts, tenders, refunds


def test_text_forms(sell, product, package, customer, store):
    sale = sell(
        [QuoteLineInput(product.pk, D("2"), package_id=package.pk, discount_percent=D("10"))],
        customer=customer,
    )
    receipt = receipt_get(sale_id=sale.pk)
    full = receipt_text(receipt)
    assert full.splitlines()[:3] == [store.name, "1 Market St", "San Francisco, CA 94105"]
    assert f"Licence {store.license_adult_use}" in full
    assert all(len(row) <= 42 for row in full.splitlines() if not row.startswith(product.name))
    assert "Discount" in full and package.tag in full
    rows = full.splitlines()
    excise = next(row for row in rows if row.startswith("Cannabis excise tax 15%"))
    assert (excise.endswith(" $12.15"), len(excise)) == (True, 42)
    assert rows.index(excise) < next(i for i, row in enumerate(rows) if row.startswith("Sales and use tax"))
    assert rows[-1] == "Change due" + " " * 25 + "$100.98"
    short = receipt_text(receipt, short=True)
    assert short.splitlines()[0] == f"{store.name} receipt {receipt.receipt_number}"
    assert f"2 x {product.name} $81.00" in short
    assert "Total $99.02" in short
    assert short.splitlines()[-1] == f"Lic {store.license_adult_use}"


def test_short_text_stays_under_the_sms_limit(store, sell, organization):
    products = []
    for number in range(30):
        product = ProductFactory(
            organization=organization, price=D("1.00"), name=f"A rather long product name number {number:02d}"
        )
        receive(store, product, 5)
        products.append(product)
    sale = sell([QuoteLineInput(p.pk, D("1")) for p in products])
    short = receipt_text(receipt_get(sale_id=sale.pk), short=True)
    assert len(short) <= SMS_LIMIT
    assert short.count("A rather long product name") < 30
    hidden = 30 - short.count("A rather long product name")
    assert f"+{hidden} more items" in short
    assert "Total $" in short


def test_times_are_the_stores_local_time(store, sell, product, package):
    sale = sell([QuoteLineInput(product.pk, D("1"))])
    Sale.objects.filter(pk=sale.pk).update(completed_at=dt.datetime(2026, 1, 15, 3, 30, tzinfo=dt.UTC))
    receipt = receipt_get(sale_id=sale.pk)
    # 03:30 UTC is the evening before in Los Angeles.
    assert receipt_text(receipt).splitlines()[6] == "Jan 14, 2026 7:30 PM PST"
