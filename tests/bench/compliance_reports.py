"""The reconciliation report over one year of one store's synthetic data (`generate_synthetic_year`): the time
to generate it, and the report's time and query count for the whole year and for its last month. Figures are
printed; nothing here is a timed test.

    BENCH_SALES_PER_DAY=250 python -m tests.bench.run
"""

import datetime as dt
import os
import time

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.reporting.reports.inventory import Period, inventory_reconciliation
from dispensary.clock import store_local_date
from dispensary.models import Organization, Store
from inventory.models import StockMovement

SALES_PER_DAY = int(os.environ.get("BENCH_SALES_PER_DAY", "250"))


def bench_compliance_reports(database_label: str) -> None:
    organization = Organization.objects.create(name="Bench reports", slug=f"bench-reports-{os.getpid()}")
    store = Store.objects.create(
        organization=organization,
        name="Bench reports store",
        code="bench-reports",
        license_adult_use="BENCH-REPORTS-1",
        jurisdiction="US-CA",
        time_zone="America/Los_Angeles",
        address_line1="1 Bench St",
        city="Oakland",
        region="CA",
        postal_code="94607",
    )
    started = time.perf_counter()
    call_command(
        "generate_synthetic_year", store=store.code, sales_per_day=SALES_PER_DAY, stdout=open(os.devnull, "w")
    )
    generated = time.perf_counter() - started
    movements = StockMovement.objects.filter(store=store).count()
    today = store_local_date(store)
    for label, period in (
        ("one year", Period(today - dt.timedelta(days=365), today)),
        ("last month", Period(today - dt.timedelta(days=30), today)),
    ):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            report = inventory_reconciliation(store=store, period=period, with_state=False)
            seconds = time.perf_counter() - started
        print(
            f"compliance: reconciliation over {label} of synthetic data ({SALES_PER_DAY} sales/day): "
            f"{len(report.rows):,} packages in {seconds:.2f} s, {len(queries.captured_queries)} queries, "
            f"{report.discrepancy_count} discrepancies ({database_label})"
        )
    print(
        f"compliance: generating the synthetic year ({movements:,} movements) took {generated:.1f} s "
        f"({database_label})"
    )
