"""The reports on a year of three busy stores (`generate_history`, about a million sale lines), opened as a
manager opens them: the dashboard, a recall's trace of a harvest batch (who bought it), the audit center's
record of that batch, the reconciliation of the whole year and of the last month, and the year's sales report,
each through Django's test client signed in, median of several runs after one warm-up. Figures are printed
with the goal beside them and recorded as `report_ms`; nothing here is a timed test.

    BENCH_HISTORY_LINES=1000000 BENCH_REPORT_RUNS=5 python -m tests.bench.run   # within make bench
    BENCH_HISTORY_LINES=100000 python -m tests.bench.run reports                # this bench alone
"""

import datetime as dt
import logging
import os
import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dispensary.clock import store_local_date
from dispensary.middleware import SESSION_KEY
from inventory.models import Package
from inventory.services.recalls import recall_open
from pos.history import history_generate, stderr_progress
from tests.bench.results import record
from tests.factories import UserFactory

LINES = int(os.environ.get("BENCH_HISTORY_LINES", "1000000"))
RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "5"))
# The goals, in milliseconds (reports without a goal are printed for comparison).
GOALS = {"dashboard": 300, "recall_trace": 200, "reconciliation": 3000}


def _busiest_batch(store) -> str:
    """A harvest batch sold in every store, with many packages: the recall a manager dreads."""
    from django.db.models import Count

    row = (
        Package.objects.filter(store__organization=store.organization)
        .values("harvest_batch")
        .annotate(packages=Count("id"), stores=Count("store", distinct=True))
        .order_by("-stores", "-packages", "harvest_batch")
        .first()
    )
    return row["harvest_batch"]


def seed_state_as_reported(store) -> None:
    """The in-process Metrc simulator holds what the state would after accepting every report of the history
    (quantities as the ledger has them, finished packages finished), as a real Metrc would; seeded as received,
    it would list every package of the year as active and page through all of them on each reconciliation."""
    from compliance.traceability import registry
    from compliance.traceability.metrc import metrc_unit
    from compliance.traceability.seeding import store_licenses

    simulator = registry.shared_simulator()
    licenses = store_licenses(store)
    for number in licenses:
        simulator.add_facility(
            number, jurisdiction=store.jurisdiction, name=store.name, user_keys=(registry.DEFAULT_USER_KEY,)
        )
    for number in licenses[1:]:
        simulator.share_packages(number, licenses[0])
    for package in Package.objects.filter(store=store).select_related("product"):
        simulator.seed_package(
            licenses[0],
            package.tag,
            quantity=package.quantity_on_hand,
            unit=metrc_unit(package.unit),
            item=package.product.name,
            item_category=package.product.category,
            lab_testing_state="NotRequired" if package.product.category == "accessory" else "TestPassed",
            on_hold=False,
            finished=package.status == Package.Status.FINISHED,
        )
    registry._seeded_licenses.update(licenses)


def time_page(client: Client, url: str) -> tuple[float, int, int]:
    """Median milliseconds of RUNS requests after one warm-up, the queries of one request, and its size."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(timings), len(queries.captured_queries), len(response.content)


def bench_reports(database_label: str) -> None:
    # The in-process Metrc simulator answers the reconciliation's read of the state page by page: not news.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    end = timezone.localdate(timezone=dt.UTC)
    started = time.perf_counter()
    summary = history_generate(
        organization_slug=f"bench-history-{os.getpid()}",
        stores=3,
        days=365,
        lines=LINES,
        seed=1,
        end=end,
        progress=stderr_progress,
    )
    seconds = time.perf_counter() - started
    print(
        f"reports: generate_history made {summary.sales:,} sales with {summary.lines:,} lines, "
        f"{summary.movements:,} movements and {summary.packages:,} packages in 3 stores over 365 days in "
        f"{seconds:.0f} s = {summary.lines / seconds:,.0f} sale lines/s ({database_label})"
    )
    store = summary.stores[0]
    seed_state_as_reported(store)
    manager = UserFactory(organization=summary.organization, roles=["manager"], stores=summary.stores)
    client = Client()
    client.force_login(manager)
    session = client.session
    session[SESSION_KEY] = store.pk
    session.save()
    today = store_local_date(store)
    batch = _busiest_batch(store)
    recall = recall_open(
        organization=summary.organization,
        criterion="harvest_batch",
        value=batch,
        reason="Bench: a failed retest of the batch.",
        actor=manager,
    )
    year = f"start={today - dt.timedelta(days=364):%Y-%m-%d}&end={today:%Y-%m-%d}"
    month = f"start={today - dt.timedelta(days=29):%Y-%m-%d}&end={today:%Y-%m-%d}"
    pages = [
        ("dashboard", reverse("dashboard")),
        ("recall_trace", reverse("inventory:recall_detail", args=[recall.pk])),
        ("batch_record", f"{reverse('compliance:reports:audit_batch')}?value={batch}"),
        ("reconciliation", f"{reverse('compliance:reports:reconciliation')}?{year}"),
        ("reconciliation_month", f"{reverse('compliance:reports:reconciliation')}?{month}"),
        ("sales_report_year", f"{reverse('compliance:reports:sales')}?{year}"),
    ]
    for name, url in pages:
        median, queries, size = time_page(client, url)
        record("report_ms", median, by=name)
        goal = GOALS.get(name)
        verdict = f"goal under {goal} ms: {'met' if median < goal else 'NOT met'}" if goal else "no goal"
        print(
            f"reports: {name} {median:,.0f} ms median of {RUNS} ({queries} queries, {size / 1024:,.0f} KiB; "
            f"{verdict}) on {summary.lines:,} sale lines ({database_label})"
        )
