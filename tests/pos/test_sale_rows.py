"""The rows a completed sale writes, as PostgreSQL writes them in one statement (dispensary.writes) and SQLite
one table at a time: the sale's row with its final receipt number, totals and points; lines split by package
with their taxes and discounts; the event's lines, which are the stored lines."""

from decimal import Decimal as D

import pytest

from dispensary.models import AuditRecord, EventDelivery, OutboxEvent
from inventory.models import StockMovement
from inventory.selectors import ledger_mismatch_list
from pos.models import LoyaltyProgram, PointsEntry, Sale, SaleLineDiscount, SaleLineTax, Tender
from pos.selectors.quote import CartInput, QuoteLineInput, quote
from pos.services import TenderInput, line_event, sale_complete
from tests.factories import CustomerFactory
from tests.inventory.factories import days, receive
from tests.pos.sale_helpers import cash, checkout

pytestmark = pytest.mark.django_db


def test_a_line_split_across_packages_stores_each_part_with_its_taxes_discount_and_event_line(
    store, register, budtender, product, adult_id
):
    later = receive(store, product, 5, expires_on=days(60))
    sooner = receive(store, product, 1, expires_on=days(10))
    sale = checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=None,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("2"), discount_percent=D("10"))],
        tenders=[cash(200)],
        idempotency_key="split",
        id_verification=adult_id(),
    )
    stored = Sale.objects.get(pk=sale.pk)
    assert stored.receipt_number == sale.receipt_number == f"{store.code}-{sale.pk}"
    assert (stored.subtotal, stored.discount_total, stored.total) == (sale.subtotal, D("9.00"), sale.total)
    lines = list(stored.lines.order_by("id"))
    assert [(line.package_id, line.quantity, line.discount_amount) for line in lines] == [
        (sooner.pk, D("1"), D("4.50")),
        (later.pk, D("1"), D("4.50")),
    ]
    assert sum(line.total for line in lines) == stored.total
    # Each tax is split by quantity on its own, so the parts of each add up to the quoted line's.
    assert (
        sum(SaleLineTax.objects.filter(line__sale=stored).values_list("amount", flat=True))
        == stored.tax_total
    )
    assert [line.limit_amounts for line in lines] == [{"flower_g": "3.5"}, {"flower_g": "3.5"}]
    for line in lines:
        taxes = list(SaleLineTax.objects.filter(line=line).order_by("id"))
        assert [tax.field for tax in taxes] == ["excise_tax", "sales_tax"]
        discounts = list(SaleLineDiscount.objects.filter(line=line))
        assert [(d.source, d.amount) for d in discounts] == [("override", D("4.50"))]
    assert list(Tender.objects.filter(sale=stored).values_list("kind", "amount", "applied")) == [
        ("cash", D("200.00"), stored.total)
    ]
    event = OutboxEvent.objects.get(name="pos.sale_completed")
    assert event.payload["lines"] == [line_event(line) for line in lines]
    assert event.payload["receipt_number"] == stored.receipt_number
    assert EventDelivery.objects.filter(event=event).count() == len(event.deliveries.all()) > 0
    audit = AuditRecord.objects.get(action="sale.completed", object_id=str(sale.pk))
    assert (audit.actor_id, audit.store_id, audit.object_repr) == (
        budtender.pk,
        store.pk,
        f"Sale {stored.receipt_number}",
    )
    assert audit.after["lines"] == 2
    assert list(
        StockMovement.objects.filter(reference_type="sale", reference_id=str(sale.pk))
        .order_by("id")
        .values_list("package_id", "quantity", "actor_id")
    ) == [(sooner.pk, D("-1"), budtender.pk), (later.pk, D("-1"), budtender.pk)]
    assert ledger_mismatch_list(store=store) == []


def test_points_that_moved_since_the_quote_are_the_ones_stored(store, register, budtender, product, adult_id):
    """The sale's row is inserted with the quote's points; when the cart is quoted again under the locks (the
    loyalty program changed) with the same total, the row is corrected to what the customer earned."""
    receive(store, product, 5)
    program = LoyaltyProgram.objects.create(organization=store.organization)
    customer = CustomerFactory(organization=store.organization)
    priced = quote(
        CartInput(
            store=store,
            customer_type="adult_use",
            lines=(QuoteLineInput(product.pk, D("1")),),
            customer=customer,
            id_verification=adult_id(customer),
        )
    )
    program.points_per_currency_unit = D("3")
    program.save()
    sale = sale_complete(
        quote=priced,
        tenders=[TenderInput("cash", D("100"))],
        register=register,
        staff=budtender,
        idempotency_key="points",
    )
    earned = PointsEntry.objects.get(sale=sale, kind="earned").points
    assert earned == 3 * priced.points_to_earn
    assert Sale.objects.get(pk=sale.pk).points_earned == sale.points_earned == earned
    assert Sale.objects.get(pk=sale.pk).total == priced.total


def test_a_retried_key_returns_the_first_sale_with_its_rows_once(
    store, register, budtender, product, adult_id
):
    receive(store, product, 5)
    priced = quote(
        CartInput(
            store=store,
            customer_type="adult_use",
            lines=(QuoteLineInput(product.pk, D("1")),),
            id_verification=adult_id(),
        )
    )

    def complete():
        return sale_complete(
            quote=priced, tenders=[cash(100)], register=register, staff=budtender, idempotency_key="again"
        )

    first, second = complete(), complete()
    assert second.pk == first.pk and second.receipt_number == first.receipt_number
    assert Sale.objects.count() == 1
    assert OutboxEvent.objects.filter(name="pos.sale_completed").count() == 1
    assert StockMovement.objects.filter(kind="sold").count() == 1
    assert Tender.objects.count() == 1
