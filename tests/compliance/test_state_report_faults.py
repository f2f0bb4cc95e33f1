"""Every report to the state exactly once, whatever fails: sales, voids and refunds through the point of sale
while the state refuses one call in five (429 with Retry-After, 500), loses writes before and after applying
them, and the sender is killed mid-send. At the end every sale is on the state's books exactly once, nothing
is left pending, and the state's package quantities equal the ledger. `make bench` runs the same with 1,000."""

import datetime as dt

import pytest
import time_machine

from tests.compliance import state_report_faults

pytestmark = pytest.mark.django_db(transaction=True)


def test_sales_voids_and_refunds_reach_the_state_exactly_once_under_faults(shipped_rules):
    # Midday in the store's zone (California): within opening hours and far from midnight (voids are same-day).
    with time_machine.travel(dt.datetime(2026, 3, 11, 20, 0, tzinfo=dt.UTC), tick=True) as clock:
        # Waits for Retry-After and leases move the clock instead of sleeping.
        figures = state_report_faults.run(count=150, seed=3, deadline_seconds=240, wait=clock.shift)
    assert figures.operations["sales"] >= 100 and figures.operations["voids"] >= 5
    assert figures.operations["refunds to stock"] + figures.operations["refunds to waste"] >= 5
    # The faults really happened: lost answers settled by reading the state, and killed senders.
    assert figures.answers_lost >= 5 and figures.kills >= 2 and figures.settled_by_reading >= 3
    assert (figures.reported_once, figures.duplicates, figures.never_reported) == (figures.sales, 0, 0)
    assert (figures.pending, figures.refused, figures.quantity_mismatches) == (0, 0, 0), figures.refusals
