"""Cash drawers: one open session per register, drops and paid in/out (paying out needs a manager), the blind
close with expected and over/short from sales, refunds and movements; failures write nothing."""

from decimal import Decimal as D

import pytest

from dispensary.models import AuditRecord
from pos.errors import ApprovalRequired, DrawerAlreadyOpen, DrawerInvalid, DrawerNotOpen, TenderInvalid
from pos.models import DrawerMovement, DrawerSession, Refund, Register
from pos.selectors.drawers import drawer_expected
from pos.services import sale_refund, sale_void
from pos.services.drawers import drawer_close, drawer_movement_add, drawer_open
from tests.factories import StoreFactory, UserFactory
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import card, cash, sell

pytestmark = pytest.mark.django_db


def open_session(register) -> DrawerSession:
    return DrawerSession.objects.get(register=register, status="open")


def written() -> tuple[int, int, int, int]:
    return (
        DrawerSession.objects.count(),
        DrawerMovement.objects.count(),
        AuditRecord.objects.filter(action__startswith="drawer.").count(),
        DrawerSession.objects.filter(status="closed").count(),
    )


# --- Opening ----------------------------------------------------------------------------------------------


def test_open_records_the_count_and_audits(store, budtender):
    register = Register.objects.create(store=store, name="Register 2")
    session = drawer_open(register=register, staff=budtender, opening_amount=D("150.50"))
    assert (session.status, session.opening_amount, session.opened_by, session.store) == (
        "open",
        D("150.50"),
        budtender,
        store,
    )
    record = AuditRecord.objects.get(action="drawer.opened")
    assert record.after == {"register": "Register 2", "opening_amount": "150.50"}
    assert (record.store, record.actor) == (store, budtender)


def test_a_register_has_one_open_drawer_the_constraint_decides(store, budtender, manager):
    register = Register.objects.create(store=store, name="Register 2")
    drawer_open(register=register, staff=budtender, opening_amount=D("100"))
    before = written()
    with pytest.raises(DrawerAlreadyOpen, match="already open"):
        drawer_open(register=register, staff=manager, opening_amount=D("100"))
    assert written() == before


@pytest.mark.parametrize("amount", ["-1", "abc", "1.234", "NaN", "", None, "1000000"])
def test_bad_opening_amounts_write_nothing(store, budtender, amount):
    register = Register.objects.create(store=store, name="Register 2")
    before = written()
    with pytest.raises(DrawerInvalid):
        drawer_open(register=register, staff=budtender, opening_amount=amount)
    assert written() == before


def test_an_inactive_register_is_not_opened(store, budtender):
    register = Register.objects.create(store=store, name="Old", active=False)
    with pytest.raises(DrawerInvalid, match="not in use"):
        drawer_open(register=register, staff=budtender, opening_amount=D("0"))
    assert not DrawerSession.objects.filter(register=register).exists()


def test_a_closed_drawer_opens_again(store, register, budtender):
    drawer_close(session=open_session(register), counted_amount=D("200"), actor=budtender)
    again = drawer_open(register=register, staff=budtender, opening_amount=D("0"))
    assert again.opening_amount == D("0.00")
    assert DrawerSession.objects.filter(register=register).count() == 2


# --- Movements --------------------------------------------------------------------------------------------


def test_drop_paid_in_and_paid_out(store, register, budtender, manager):
    session = open_session(register)
    drop = drawer_movement_add(session=session, kind="drop", amount=D("100"), reason="", actor=budtender)
    assert (drop.kind, drop.amount, drop.reason, drop.approved_by) == (
        "drop",
        D("100.00"),
        "Cash drop to the safe",
        None,
    )
    drawer_movement_add(session=session, kind="paid_in", amount="25.5", reason="Change fund", actor=budtender)
    out = drawer_movement_add(
        session=session, kind="paid_out", amount=D("12.25"), reason="Ice", actor=budtender, approver=manager
    )
    assert out.approved_by == manager
    assert [
        (r.action, r.after["amount"], r.after["approved_by"])
        for r in AuditRecord.objects.filter(
            action__in=["drawer.drop", "drawer.paid_in", "drawer.paid_out"]
        ).order_by("id")
    ] == [
        ("drawer.drop", "100.00", None),
        ("drawer.paid_in", "25.50", None),
        ("drawer.paid_out", "12.25", manager.get_username()),
    ]
    parts = drawer_expected(session=session)
    assert (parts.drops, parts.paid_in, parts.paid_out, parts.expected) == (
        D("100.00"),
        D("25.50"),
        D("12.25"),
        D("113.25"),  # 200 - 100 + 25.50 - 12.25
    )


def test_paying_out_needs_a_manager_of_this_store(store, register, budtender, organization):
    session = open_session(register)
    elsewhere = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    before = written()
    for approver in (None, budtender, elsewhere):
        with pytest.raises(ApprovalRequired, match="approve paying cash out"):
            drawer_movement_add(
                session=session,
                kind="paid_out",
                amount=D("5"),
                reason="Ice",
                actor=budtender,
                approver=approver,
            )
    assert written() == before


@pytest.mark.parametrize(
    "kind,amount,reason,message",
    [
        ("refund", "5", "x", "cash drop, paid in or paid out"),
        ("paid_in", "0", "x", "more than zero"),
        ("paid_in", "-5", "x", "more than zero"),
        ("paid_in", "5.001", "x", "whole cents"),
        ("paid_in", "5", "  ", "what the cash was for"),
        ("paid_in", "5", "x" * 301, "under 300"),
        ("drop", "200.01", "", "more cash than the drawer should hold"),
    ],
)
def test_bad_movements_write_nothing(register, budtender, kind, amount, reason, message):
    session = open_session(register)
    before = written()
    with pytest.raises(DrawerInvalid, match=message):
        drawer_movement_add(session=session, kind=kind, amount=amount, reason=reason, actor=budtender)
    assert written() == before


def test_no_paid_out_beyond_what_the_drawer_should_hold_and_the_figure_is_not_told(
    register, budtender, manager
):
    session = open_session(register)
    with pytest.raises(DrawerInvalid) as refused:
        drawer_movement_add(
            session=session,
            kind="paid_out",
            amount=D("250"),
            reason="Vendor",
            actor=budtender,
            approver=manager,
        )
    assert "200" not in refused.value.message and "200" not in str(refused.value.details)
    assert not DrawerMovement.objects.exists()


def test_a_closed_drawer_takes_no_movement(register, budtender):
    session = drawer_close(session=open_session(register), counted_amount=D("200"), actor=budtender)
    before = written()
    with pytest.raises(DrawerNotOpen):
        drawer_movement_add(session=session, kind="paid_in", amount=D("5"), reason="x", actor=budtender)
    assert written() == before


# --- Expected cash and the blind close --------------------------------------------------------------------


def test_expected_and_over_short_from_sales_refunds_and_movements(
    store, register, budtender, manager, product, package
):
    """Opening 200. Cash sale of 3 (165.04), card sale (not cash), a cash sale voided (counts nothing), a
    split sale (20 card + 35.01 cash), a cash refund of one unit (55.01 out), a card refund (not cash),
    paid in 50, paid out 30, a drop of 100."""
    session = open_session(register)
    big = sell(store, register, budtender, product, package, quantity=3, tenders=[cash(200)])
    assert (big.total, big.tenders.get().applied, big.tenders.get().change_due) == (
        D("165.04"),
        D("165.04"),
        D("34.96"),
    )
    sell(store, register, budtender, product, package, tenders=[card("55.01")])
    voided = sell(store, register, budtender, product, package, tenders=[cash(60)])
    sale_void(sale=voided, actor=budtender, approver=manager)
    split = sell(store, register, budtender, product, package, tenders=[card(20), cash(40)])
    assert [(t.kind, t.applied) for t in split.tenders.order_by("id")] == [
        ("card", D("20")),
        ("cash", D("35.01")),
    ]
    line = big.lines.get()
    cash_refund = sale_refund(
        sale=big, lines=[(line, D("1"), True)], reason="Wrong strain", actor=budtender, approver=manager
    )
    assert (cash_refund.tender_kind, cash_refund.drawer_session, cash_refund.total) == (
        "cash",
        session,
        D("55.01"),
    )
    sale_refund(
        sale=big,
        lines=[(line, D("1"), False)],
        reason="Damaged",
        actor=budtender,
        approver=manager,
        tender_kind="card",
    )
    drawer_movement_add(session=session, kind="paid_in", amount=D("50"), reason="Change", actor=budtender)
    drawer_movement_add(
        session=session, kind="paid_out", amount=D("30"), reason="Ice", actor=budtender, approver=manager
    )
    drawer_movement_add(session=session, kind="drop", amount=D("100"), reason="", actor=budtender)

    parts = drawer_expected(session=session)
    assert parts == type(parts)(
        opening=D("200.00"),
        cash_sales=D("200.05"),  # 165.04 + 35.01
        cash_refunds=D("55.01"),
        paid_in=D("50.00"),
        paid_out=D("30.00"),
        drops=D("100.00"),
    )
    assert parts.expected == D("265.04")

    closed = drawer_close(session=session, counted_amount=D("260.00"), actor=budtender, note=" Short a five ")
    assert (closed.status, closed.expected_amount, closed.counted_amount, closed.over_short) == (
        "closed",
        D("265.04"),
        D("260.00"),
        D("-5.04"),
    )
    assert (closed.closed_by, closed.note) == (budtender, "Short a five")
    record = AuditRecord.objects.get(action="drawer.closed")
    assert record.after == {
        "status": "closed",
        "counted_amount": "260.00",
        "expected_amount": "265.04",
        "over_short": "-5.04",
        "note": "Short a five",
    }
    session.refresh_from_db()
    assert session.over_short == D("-5.04")


def test_a_refunded_then_voided_sale_leaves_the_drawer_as_it_was(
    store, register, budtender, manager, product, package
):
    session = open_session(register)
    sale = sell(store, register, budtender, product, package, quantity=2, tenders=[cash(200)])
    sale_refund(
        sale=sale, lines=[(sale.lines.get(), D("1"), True)], reason="x", actor=budtender, approver=manager
    )
    sale_void(sale=sale, actor=budtender, approver=manager)  # hands back what is left
    assert drawer_expected(session=session).expected == D("200.00")
    over = drawer_close(session=session, counted_amount=D("201"), actor=budtender)
    assert over.over_short == D("1.00")


def test_cash_refunded_from_another_registers_drawer_counts_there(
    store, register, budtender, manager, product, package
):
    first = open_session(register)
    other = register_with_drawer(store, budtender, name="Register 2", opening=D("100"))
    sale = sell(store, register, budtender, product, package, tenders=[cash(100)])
    refund = sale_refund(
        sale=sale,
        lines=[(sale.lines.get(), D("1"), True)],
        reason="x",
        actor=budtender,
        approver=manager,
        register=other,
    )
    assert refund.drawer_session == open_session(other)
    assert drawer_expected(session=first).expected == D("255.01")
    assert drawer_expected(session=open_session(other)).expected == D("44.99")


def test_close_twice_and_bad_counts_write_nothing(register, budtender):
    session = open_session(register)
    before = written()
    for counted in ("-0.01", "x", "1.001"):
        with pytest.raises(DrawerInvalid):
            drawer_close(session=session, counted_amount=counted, actor=budtender)
    assert written() == before
    drawer_close(session=session, counted_amount=D("200"), actor=budtender)
    after = written()
    with pytest.raises(DrawerNotOpen):
        drawer_close(session=session, counted_amount=D("200"), actor=budtender)
    assert written() == after
    assert DrawerSession.objects.get(pk=session.pk).over_short == D("0.00")


def test_no_cash_sale_or_cash_refund_once_the_drawer_is_closed(
    store, register, budtender, manager, product, package
):
    sale = sell(store, register, budtender, product, package, tenders=[cash(100)])
    drawer_close(session=open_session(register), counted_amount=D("255.01"), actor=budtender)
    with pytest.raises(TenderInvalid, match="Open the drawer"):
        sell(store, register, budtender, product, package, tenders=[cash(100)])
    package.refresh_from_db()
    on_hand = package.quantity_on_hand
    with pytest.raises(TenderInvalid, match="before refunding cash"):
        sale_refund(
            sale=sale, lines=[(sale.lines.get(), D("1"), True)], reason="x", actor=budtender, approver=manager
        )
    package.refresh_from_db()
    assert package.quantity_on_hand == on_hand
    assert not Refund.objects.exists()
    sale.refresh_from_db()
    assert sale.refunded_total == D("0")
    # To the card it still can be refunded, with no drawer.
    refund = sale_refund(
        sale=sale,
        lines=[(sale.lines.get(), D("1"), True)],
        reason="x",
        actor=budtender,
        approver=manager,
        tender_kind="card",
    )
    assert (refund.tender_kind, refund.drawer_session, refund.total) == ("card", None, D("55.01"))
