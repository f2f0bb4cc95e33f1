"""How a refund's money goes back: cash from a register's open drawer (recorded on the refund), or to the card;
a refund that cannot pay back as asked writes nothing."""

from decimal import Decimal as D

import pytest

from inventory.models import StockMovement
from pos.errors import RefundInvalid, TenderInvalid
from pos.models import DrawerSession, Refund, Register
from pos.services import sale_refund
from tests.factories import StoreFactory
from tests.pos.sale_helpers import sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(store, register, budtender, product, package):
    return sell(store, register, budtender, product, package, quantity=2)


def refund(sale, budtender, manager, **kwargs):
    return sale_refund(
        sale=sale,
        lines=[(sale.lines.get(), D("1"), True)],
        reason="Wrong item",
        actor=budtender,
        approver=manager,
        **kwargs,
    )


def nothing_written(sale) -> bool:
    sale.refresh_from_db()
    return (
        not Refund.objects.exists()
        and sale.refunded_total == D("0")
        and not StockMovement.objects.filter(reference_type="refund").exists()
    )


def test_cash_by_default_from_the_sales_own_register(sale, register, budtender, manager):
    row = refund(sale, budtender, manager)
    assert row.tender_kind == "cash"
    assert row.drawer_session == DrawerSession.objects.get(register=register, status="open")


def test_card_refunds_need_no_drawer(sale, register, budtender, manager):
    DrawerSession.objects.filter(register=register).update(status="closed")
    row = refund(sale, budtender, manager, tender_kind="card")
    assert (row.tender_kind, row.drawer_session) == ("card", None)


def test_unknown_tender_kind_writes_nothing(sale, budtender, manager):
    with pytest.raises(RefundInvalid, match="cash or to the card"):
        refund(sale, budtender, manager, tender_kind="check")
    assert nothing_written(sale)


def test_a_register_without_an_open_drawer_writes_nothing(sale, store, budtender, manager):
    idle = Register.objects.create(store=store, name="Idle")
    with pytest.raises(TenderInvalid, match="Open the drawer of Idle"):
        refund(sale, budtender, manager, register=idle)
    assert nothing_written(sale)


def test_another_stores_register_writes_nothing(sale, organization, budtender, manager):
    elsewhere = Register.objects.create(store=StoreFactory(organization=organization), name="Far")
    DrawerSession.objects.create(
        register=elsewhere,
        store=elsewhere.store,
        opened_by=budtender,
        opened_at=sale.completed_at,
        opening_amount=D("50"),
    )
    with pytest.raises(RefundInvalid, match="sale's store"):
        refund(sale, budtender, manager, register=elsewhere)
    assert nothing_written(sale)
