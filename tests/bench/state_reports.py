"""Reports to the state under faults: 1,000 sales, voids and refunds through the point of sale's services
against the Metrc simulator answering about 20% of calls 429 (Retry-After) or 500, losing writes before and
after applying them (timeouts, dropped connections, 504), with the sender killed mid-send now and then. Prints
how many sales reached the state exactly once, duplicates, never reported, still pending, refused, and the
packages whose quantity at the state differs from the ledger (tests/compliance/state_report_faults.py).

    BENCH_STATE_REPORT_OPERATIONS=1000 python -m tests.bench.run
"""

import datetime as dt
import os

import time_machine

from tests.compliance import state_report_faults

OPERATIONS = int(os.environ.get("BENCH_STATE_REPORT_OPERATIONS", "1000"))


def bench_state_reports(database_label: str) -> None:
    # Midday in the store's zone, so that voids (same local day) and opening hours never depend on the clock.
    # Waits for Retry-After and leases move the clock instead of sleeping.
    with time_machine.travel(dt.datetime(2026, 3, 11, 20, 0, tzinfo=dt.UTC), tick=True) as clock:
        figures = state_report_faults.run(count=OPERATIONS, seed=10, deadline_seconds=1200, wait=clock.shift)
    print(f"state reports under faults ({database_label}): {figures.line()}")
    for refusal in figures.refusals[:5]:
        print(f"  refused: {refusal}")
