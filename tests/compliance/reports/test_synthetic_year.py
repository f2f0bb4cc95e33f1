"""generate_synthetic_year: a balanced ledger, history spread over the days asked for, reports that add up."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max, Min

from compliance.reporting.reports.inventory import Period, inventory_reconciliation
from dispensary.clock import store_local_date
from inventory.models import Package, StockMovement, WasteRecord
from inventory.selectors import ledger_mismatch_list


def test_a_short_synthetic_history_balances_and_reconciles(store):
    out = StringIO()
    call_command("generate_synthetic_year", store=store.code, days=20, sales_per_day=30, stdout=out)
    assert "the ledger balances" in out.getvalue()
    assert ledger_mismatch_list(store=store) == []
    span = StockMovement.objects.filter(store=store).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    assert dt.timedelta(days=18) < span["last"] - span["first"] < dt.timedelta(days=21)
    assert StockMovement.objects.filter(store=store, kind="sold").count() > 400
    assert (
        WasteRecord.objects.filter(store=store).count()
        == StockMovement.objects.filter(store=store, kind="wasted").count()
    )
    today = store_local_date(store)
    report = inventory_reconciliation(
        store=store, period=Period(today - dt.timedelta(days=30), today), with_state=False
    )
    assert report.discrepancy_count == 0
    assert sum(row.closing for row in report.rows) == sum(
        Package.objects.filter(store=store).values_list("quantity_on_hand", flat=True)
    )
    # A second run adds to the history with new tags.
    before = Package.objects.filter(store=store).count()
    call_command("generate_synthetic_year", store=store.code, days=2, sales_per_day=5, stdout=StringIO())
    assert Package.objects.filter(store=store).count() > before
    assert ledger_mismatch_list(store=store) == []


def test_an_unknown_store_is_an_error(db):
    with pytest.raises(CommandError, match="No store has the code"):
        call_command("generate_synthetic_year", store="nowhere", stdout=StringIO())
