"""Inventory reconciliation and three-way reconciliation: exact arithmetic on a known ledger, discrepancies,
the state's quantities (chosen, simulated, unreachable), and a bounded number of queries."""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.reporting.reports.inventory import (
    Period,
    inventory_reconciliation,
    reconciliation_document,
    three_way_reconciliation,
)
from compliance.traceability import registry
from inventory.models import Package
from inventory.services import Reference, StockRequest, package_adjust, stock_sell
from inventory.services.counts import count_approve, count_enter, count_open
from inventory.services.waste import package_waste
from tests.compliance.reports.conftest import LA, at
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory, receive

OCTOBER = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def sell(store, package, quantity, actor):
    stock_sell(
        store=store,
        requests=[StockRequest(package.product_id, Decimal(quantity), package_id=package.pk)],
        actor=actor,
        reference=Reference("sale", "1"),
    )


@pytest.fixture
def ledger(store, manager, product):
    """A: 100 received in September; in October 10 sold, 2 adjusted out, 3 wasted; 5 sold in November.
    B: 50 received in October. C: received and sold out in August (nothing in October)."""
    with at(2026, 8, 2):
        old = receive(store, product, 4, actor=manager)
        sell(store, old, 4, manager)
    with at(2026, 9, 20):
        a = receive(store, product, 100, actor=manager)
    with at(2026, 10, 5):
        sell(store, a, 10, manager)
    with at(2026, 10, 10):
        package_adjust(package=a, quantity=-2, reason="damaged", actor=manager)
    with at(2026, 10, 15):
        package_waste(package=a, quantity=3, reason="expired", actor=manager)
    with at(2026, 10, 31, 23, 30):  # still October in Los Angeles, November in UTC
        b = receive(store, product, 50, actor=manager)
    with at(2026, 11, 3):
        sell(store, a, 5, manager)
    return a, b


def row_for(report, package):
    return next(row for row in report.rows if row.package_id == package.pk)


def test_reconciliation_adds_up_per_package_on_the_store_local_days(store, ledger):
    a, b = ledger
    report = inventory_reconciliation(store=store, period=OCTOBER)
    assert [row.package_id for row in report.rows] == sorted(
        [a.pk, b.pk], key=lambda pk: Package.objects.get(pk=pk).tag
    )
    first = row_for(report, a)
    assert (first.opening, first.received, first.sold, first.adjusted, first.wasted, first.closing) == (
        Decimal("100"),
        Decimal("0"),
        Decimal("10"),
        Decimal("-2"),
        Decimal("3"),
        Decimal("85"),
    )
    assert first.computed_closing == first.closing
    assert first.on_hand is None and first.flags == []  # October is over: on hand now is not its closing
    second = row_for(report, b)
    assert (second.opening, second.received, second.closing) == (Decimal("0"), Decimal("50"), Decimal("50"))
    assert report.totals["closing"] == Decimal("135")
    assert report.discrepancy_count == 0


def test_a_period_ending_now_matches_on_hand_and_flags_a_package_that_does_not(store, ledger, state):
    a, b = ledger
    state(packages={a.tag: Decimal("80"), b.tag: Decimal("49")})
    Package.objects.filter(pk=a.pk).update(quantity_on_hand=Decimal("79"))  # the row drifted from its ledger
    with at(2026, 11, 22):
        report = inventory_reconciliation(
            store=store, period=Period(dt.date(2026, 11, 1), dt.date(2026, 11, 22))
        )
    first, second = row_for(report, a), row_for(report, b)
    assert (first.opening, first.sold, first.closing, first.on_hand) == (
        Decimal("85"),
        Decimal("5"),
        Decimal("80"),
        Decimal("79"),
    )
    assert first.flags == ["On hand 79 ≠ ledger 80"]  # the state agrees with the ledger
    assert second.flags == ["State has 49"]
    assert report.discrepancy_count == 2


def test_a_count_in_the_period_that_found_the_books_wrong_is_flagged(store, manager, product, organization):
    counter = UserFactory(organization=organization, roles=["inventory_manager"], stores=[store])
    with at(2026, 9, 20):
        a = receive(store, product, 100, actor=manager)
        b = receive(store, product, 30, actor=manager)
    with at(2026, 10, 5):
        sell(store, a, 10, manager)
    with at(2026, 10, 20, 9):
        count = count_open(store=store, scope="full", actor=counter)
        count_enter(count=count, tag=a.tag, quantity=88, actor=counter)
        count_enter(count=count, tag=b.tag, quantity=30, actor=counter)
    with at(2026, 10, 20, 10):
        count_approve(count=count, actor=manager)
    with at(2026, 10, 25):
        sell(store, a, 1, manager)
    report = inventory_reconciliation(store=store, period=OCTOBER)
    first = row_for(report, a)
    assert (first.opening, first.sold, first.adjusted, first.closing) == (
        Decimal("100"),
        Decimal("11"),
        Decimal("-2"),
        Decimal("87"),
    )
    assert first.flags == ["Count on 2026-10-20 found 88, books said 90"]
    assert row_for(report, b).flags == []  # counted as the books said
    only = inventory_reconciliation(store=store, period=OCTOBER, discrepancies_only=True)
    assert [row.package_id for row in only.rows] == [a.pk]
    november = inventory_reconciliation(
        store=store, period=Period(dt.date(2026, 11, 1), dt.date(2026, 11, 2))
    )
    assert all(not row.flags for row in november.rows)  # the count belongs to October's report


def test_reconciliation_reads_in_three_queries_however_many_packages(
    store, manager, product, django_assert_num_queries, clock
):
    clock.move_to(dt.datetime(2026, 11, 22, 12, tzinfo=LA))
    for _ in range(3):
        receive(store, product, 5, actor=manager)
    with django_assert_num_queries(3):
        small = inventory_reconciliation(store=store, period=OCTOBER, with_state=False)
    for _ in range(20):
        other = ProductFactory(organization=store.organization)
        receive(store, other, 5, actor=manager)
    with django_assert_num_queries(3):
        large = inventory_reconciliation(store=store, period=OCTOBER, with_state=False)
    assert len(small.rows) == 0 and len(large.rows) == 0  # received in November, not in October
    today = dt.date(2026, 11, 22)
    with django_assert_num_queries(3):
        now = inventory_reconciliation(store=store, period=Period(today, today), with_state=False)
    assert len(now.rows) == 23


def test_three_way_against_the_simulator_shows_what_the_state_has_not_been_told(store, manager, product):
    registry.reset_shared_simulator()
    try:
        a = receive(store, product, 20, actor=manager)
        b = receive(store, product, 7, actor=manager)
        sell(store, a, 3, manager)  # not reported: the sync queue runs after commit, which tests never reach
        report = three_way_reconciliation(store=store)
    finally:
        registry.reset_shared_simulator()
    assert report.state.available
    rows = {row.tag: row for row in report.rows}
    assert (rows[a.tag].platform, rows[a.tag].state_quantity) == (Decimal("17"), Decimal("20"))
    assert rows[a.tag].flags == ["State 20, platform 17"]
    assert rows[b.tag].flags == []
    assert report.mismatch_count == 1


def test_three_way_compares_the_last_count_carried_forward(store, manager, product, organization, state):
    counter = UserFactory(organization=organization, roles=["inventory_manager"], stores=[store])
    a = receive(store, product, 10, actor=manager)
    count = count_open(store=store, scope="full", actor=counter)
    count_enter(count=count, tag=a.tag, quantity=9, actor=counter)
    count_approve(count=count, actor=manager)
    sell(store, a, 2, manager)
    Package.objects.filter(pk=a.pk).update(quantity_on_hand=Decimal("6"))
    state(packages={a.tag: Decimal("7"), "1A4FF0100000022099999999": Decimal("4")})
    report = three_way_reconciliation(store=store)
    rows = {row.tag: row for row in report.rows}
    assert (rows[a.tag].count.counted, rows[a.tag].count.implied_now, rows[a.tag].platform) == (
        Decimal("9"),
        Decimal("7"),
        Decimal("6"),
    )
    assert rows[a.tag].flags == ["Count implies 7, platform 6", "State 7, platform 6"]
    assert rows["1A4FF0100000022099999999"].flags == ["At the state, not in the platform's stock"]


def test_an_unreachable_state_is_a_notice_not_an_error(
    store, manager, product, state, django_assert_num_queries, clock
):
    clock.move_to(dt.datetime(2026, 11, 22, 12, tzinfo=LA))
    a = receive(store, product, 10, actor=manager)
    state(unreachable=True)
    with django_assert_num_queries(2):
        report = three_way_reconciliation(store=store)
    assert not report.state.available
    assert "could not be read" in report.state.error
    assert report.rows[0].tag == a.tag and report.rows[0].flags == []
    today = dt.date(2026, 11, 22)
    document = reconciliation_document(inventory_reconciliation(store=store, period=Period(today, today)))
    assert document.notices == ["The state's system could not be read: Metrc did not answer in 10 s"]
