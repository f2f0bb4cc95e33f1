import datetime as dt
from decimal import Decimal as D

import pytest
from django.apps import apps

from dispensary.models import OutboxEvent
from inventory.models import StockMovement, WasteRecord
from inventory.recall_parties import resolve_parties
from inventory.selectors import ledger_mismatch_list
from pos.errors import ApprovalRequired, VoidNotAllowed
from pos.models import Sale
from pos.selectors import customer_limit_history
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund, sale_void
from tests.factories import CustomerFactory
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(store, register, budtender, product, package, adult_id):
    customer = CustomerFactory(organization=store.organization)
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("3"), package_id=package.pk)],
        tenders=[TenderInput("cash", D("200"))],
        idempotency_key="v-1",
        id_verification=adult_id(customer),
    )


def test_void_restores_stock_and_publishes(sale, package, budtender, manager, store):
    sale_void(sale=sale, actor=budtender, approver=manager)
    sale.refresh_from_db()
    package.refresh_from_db()
    assert sale.status == Sale.Status.VOIDED and sale.void_approved_by == manager
    assert package.quantity_on_hand == D("10")
    assert StockMovement.objects.filter(kind="returned", reference_id=str(sale.pk)).count() == 1
    assert ledger_mismatch_list(store=store) == []
    assert OutboxEvent.objects.get(name="pos.sale_voided").payload["sale_id"] == sale.pk
    assert (
        customer_limit_history(customer=sale.customer, since=sale.completed_at - dt.timedelta(days=1)) == []
    )
    with pytest.raises(VoidNotAllowed):
        sale_void(sale=sale, actor=budtender, approver=manager)


def test_void_needs_a_manager_and_the_same_local_day(sale, budtender, manager, package):
    with pytest.raises(ApprovalRequired):
        sale_void(sale=sale, actor=budtender, approver=budtender)
    with pytest.raises(VoidNotAllowed):
        sale_void(sale=sale, actor=budtender, approver=manager, now=sale.completed_at + dt.timedelta(days=1))
    package.refresh_from_db()
    assert package.quantity_on_hand == D("7")
    assert Sale.objects.get(pk=sale.pk).status == Sale.Status.COMPLETED


def test_refund_restock_and_waste_with_exact_amounts(sale, budtender, manager, package, store):
    line = sale.lines.get()
    # Line: 135.00 net, excise 20.25, sales tax 9.79 (9.7875), total 165.04
    assert (line.net_amount, line.total) == (D("135.00"), D("165.04"))
    first = sale_refund(
        sale=sale, lines=[(line, D("1"), True)], reason="Wrong strain", actor=budtender, approver=manager
    )
    # a third of each part, rounded: 45.00 net, 6.75 + 3.26 tax, 55.01 total
    assert (first.net_amount, first.tax_amount, first.total) == (D("45.00"), D("10.01"), D("55.01"))
    second = sale_refund(
        sale=sale, lines=[(line, D("2"), False)], reason="Damaged", actor=budtender, approver=manager
    )
    assert second.total == D("110.03")
    assert first.total + second.total == line.total
    package.refresh_from_db()
    assert package.quantity_on_hand == D("8")  # 10 - 3 sold + 1 restocked; 2 returned and wasted
    assert WasteRecord.objects.get(package=package).quantity == D("2")
    assert ledger_mismatch_list(store=store) == []
    sale.refresh_from_db()
    assert sale.refunded_total == D("165.04")
    events = OutboxEvent.objects.filter(name="pos.sale_refunded").order_by("id")
    assert events[0].payload["remaining_lines"] == [
        {
            "package_id": package.pk,
            "package_label": package.tag,
            "quantity": "2",
            "unit": "each",
            "total_amount": "90.00",
            "discount_amount": "0.00",
            "excise_tax": "13.50",
            "sales_tax": "6.53",
        }
    ]
    assert events[1].payload["remaining_lines"] == []
    assert (
        customer_limit_history(customer=sale.customer, since=sale.completed_at - dt.timedelta(days=1))[
            0
        ].lines
        == ()
    )


def test_refund_needs_approval_and_writes_nothing_without(sale, budtender, package):
    line = sale.lines.get()
    with pytest.raises(ApprovalRequired):
        sale_refund(sale=sale, lines=[(line, D("1"), True)], reason="x", actor=budtender, approver=budtender)
    package.refresh_from_db()
    assert package.quantity_on_hand == D("7")


def test_recall_resolver_finds_the_customer(sale):
    # Other tests may register their own "sale" resolver; PosConfig.ready() registers ours.
    apps.get_app_config("pos").ready()
    party = resolve_parties("sale", [str(sale.pk)])[str(sale.pk)]
    assert party.customer_id == sale.customer_id
