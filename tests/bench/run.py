"""`make bench`: measures the transactional outbox and prints the figures (this is not a timed test).

It needs DATABASE_URL pointing at a PostgreSQL server whose role may create databases: it works in a fresh
throwaway database that it creates and drops. Without one it says so and measures SQLite instead, labelled.
Deliveries run in this process (no broker), so the figures are the database's and the outbox code's cost,
not Celery's. Ratios to a plain single-row insert on the same database make runs on different machines
comparable.

    BENCH_OUTBOX_EVENTS=2000 BENCH_BATCH=100 python -m tests.bench.run
"""

import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dispensary.settings")

import django  # noqa: E402 - the settings module must be chosen first

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from dispensary import events  # noqa: E402
from dispensary.models import AuditRecord, EventDelivery, OutboxEvent  # noqa: E402

EVENTS = int(os.environ.get("BENCH_OUTBOX_EVENTS", "2000"))
BATCH = int(os.environ.get("BENCH_BATCH", "100"))  # events per transaction when publishing


@dataclass(frozen=True)
class BenchOrderPlaced(events.Event):
    name = "bench.order_placed"
    number: int


def _effect(action: str, event: BenchOrderPlaced) -> None:
    AuditRecord.objects.create(
        actor_label="bench", action=action, object_type="bench", object_id=event.number
    )


# Two handlers per event, each leaving one row, as a typical reaction (a receipt, a sync record) does.
@events.handles(BenchOrderPlaced)
def on_bench_order_placed_receipt(event: BenchOrderPlaced) -> None:
    _effect("bench.receipt", event)


@events.handles(BenchOrderPlaced)
def on_bench_order_placed_report(event: BenchOrderPlaced) -> None:
    _effect("bench.report", event)


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def in_batches(count: int, batch: int, body: Callable[[int], None]) -> None:
    for first in range(0, count, batch):
        with transaction.atomic():
            for number in range(first, min(first + batch, count)):
                body(number)


def database_label() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        return f"PostgreSQL {version}"
    return f"SQLite {sqlite3.sqlite_version}"


def insert_plain(number: int) -> None:
    AuditRecord.objects.create(
        actor_label="bench", action="bench.baseline", object_type="bench", object_id=number
    )


def bench_outbox() -> None:
    # Plain single-row inserts, batched as the publishes are and committed one by one as the deliveries are:
    # the units the outbox figures are compared with.
    single = max(EVENTS // 4, 1)
    insert_seconds = timed(lambda: in_batches(EVENTS, BATCH, insert_plain))
    committed_insert_seconds = timed(lambda: in_batches(single, 1, insert_plain))

    # Publish with dispatch held back, so that publishing and delivering are measured apart.
    dispatched: list[int] = []
    real_dispatch = events.dispatch
    events.dispatch = dispatched.extend
    try:
        publish_seconds = timed(
            lambda: in_batches(EVENTS, BATCH, lambda number: events.publish(BenchOrderPlaced(number=number)))
        )
    finally:
        events.dispatch = real_dispatch
    deliveries = len(dispatched)
    deliver_seconds = timed(lambda: [events.deliver(delivery_id) for delivery_id in dispatched])

    # The figures count only if the work was done: every event, every delivery once, every effect once.
    assert OutboxEvent.objects.count() == EVENTS
    assert deliveries == 2 * EVENTS
    assert (
        EventDelivery.objects.filter(status=EventDelivery.Status.SUCCEEDED, attempts=1).count() == deliveries
    )
    assert AuditRecord.objects.filter(action__in=["bench.receipt", "bench.report"]).count() == deliveries

    # The embedded default's path: one event per transaction, delivered in process right after its commit.
    OutboxEvent.objects.all().delete()
    end_to_end_seconds = timed(
        lambda: in_batches(single, 1, lambda number: events.publish(BenchOrderPlaced(number=number)))
    )
    assert EventDelivery.objects.filter(status=EventDelivery.Status.SUCCEEDED).count() == 2 * single

    label = database_label()
    per_insert = insert_seconds / EVENTS
    per_committed_insert = committed_insert_seconds / single
    print(
        f"outbox: published {EVENTS} events in {publish_seconds:.2f} s = {EVENTS / publish_seconds:,.0f} events/s; "
        f"delivered {deliveries} deliveries in {deliver_seconds:.2f} s = "
        f"{deliveries / deliver_seconds:,.0f} deliveries/s ({label}, in process)"
    )
    print(
        f"outbox: one event per transaction, published and delivered after commit: {single} events in "
        f"{end_to_end_seconds:.2f} s = {single / end_to_end_seconds:,.0f} events/s ({label}, in process)"
    )
    print(
        f"baseline: plain row inserts {EVENTS / insert_seconds:,.0f}/s in transactions of {BATCH}, "
        f"{single / committed_insert_seconds:,.0f}/s committed one by one ({label})"
    )
    print(
        f"ratios: one publish costs {publish_seconds / EVENTS / per_insert:.1f} batched inserts; "
        f"one delivery (its own transaction) {deliver_seconds / deliveries / per_committed_insert:.1f} "
        f"committed inserts; one event end to end {end_to_end_seconds / single / per_committed_insert:.1f} "
        "committed inserts"
    )


def main(only: list[Callable[[str], None]] | None = None) -> int:
    # Deliveries run here: a broker configured in the environment is not what is measured.
    settings.CELERY_BROKER_URL = ""
    # As in production: with DEBUG on, Django keeps every query's text, which is a cost no server pays.
    # Query counts are taken with CaptureQueriesContext, which does not need it.
    settings.DEBUG = False
    database = settings.DATABASES["default"]
    scratch = None
    if connection.vendor == "postgresql":
        database.setdefault("TEST", {})["NAME"] = f"bench_{os.getpid()}"
    else:
        print(
            "bench: needs DATABASE_URL pointing at a PostgreSQL server (a role that may create databases) for "
            "the figures that count; measuring SQLite instead, labelled as such."
        )
        scratch = tempfile.TemporaryDirectory(prefix="bench-")
        database.setdefault("TEST", {})["NAME"] = os.path.join(scratch.name, "bench.sqlite3")
    started = time.perf_counter()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        print(f"bench: fresh database ready in {time.perf_counter() - started:.1f} s ({database_label()})")
        if only:  # one part alone prints its figures; bench-results.json is written by the whole run
            for bench in only:
                bench(database_label())
            return 0
        bench_outbox()
        from tests.bench.inventory import bench_inventory

        bench_inventory(database_label())
        from tests.bench.compliance import bench_compliance

        bench_compliance(database_label())
        from tests.bench.limits_bench import bench_limits

        bench_limits(database_label())
        from tests.bench.compliance_reports import bench_compliance_reports

        bench_compliance_reports(database_label())
        from tests.bench.state_reports import bench_state_reports

        bench_state_reports(database_label())
        from tests.bench.checkout import bench_checkout

        bench_checkout(database_label())
        if connection.vendor == "postgresql":
            from tests.bench.report_bench import bench_reports

            bench_reports(database_label())
        else:
            print("reports: the year of history is measured on PostgreSQL only (set DATABASE_URL).")
        from tests.bench.routing import bench_routing

        bench_routing(database_label())
        from tests.bench.messaging import bench_messaging

        bench_messaging(database_label())
        from tests.bench.segments import bench_segments

        bench_segments(database_label())
        from tests.bench import results

        results.write(database_label())
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
        if scratch is not None:
            scratch.cleanup()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["reports"]:
        from tests.bench.report_bench import bench_reports

        sys.exit(main(only=[bench_reports]))
    if sys.argv[1:] == ["routing"]:
        from tests.bench.routing import bench_routing

        sys.exit(main(only=[bench_routing]))
    if sys.argv[1:] == ["messaging"]:
        from tests.bench.messaging import bench_messaging

        sys.exit(main(only=[bench_messaging]))
    if sys.argv[1:] == ["segments"]:
        from tests.bench.segments import bench_segments

        sys.exit(main(only=[bench_segments]))
    if sys.argv[1:] == ["checkout"]:  # BENCH_CHECKOUT_HTTP=0: the service layer alone
        from tests.bench.checkout import bench_checkout

        sys.exit(main(only=[bench_checkout]))
    sys.exit(main())
