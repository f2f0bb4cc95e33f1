"""Inventory at scale: the ledger check and first-expiring-first-out allocation over 100,000 packages and
1,000,000 movements, and the stock list's query count. Figures are printed; nothing here is a timed test.

    BENCH_PACKAGES=100000 BENCH_MOVEMENTS_PER_PACKAGE=10 python -m tests.bench.run
"""

import datetime as dt
import os
import random
import time
from decimal import Decimal

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.models import Organization, Store
from inventory.models import Package, Product, StockMovement
from inventory.selectors import ledger_mismatch_list
from inventory.services import Reference, StockRequest, stock_allocate

PACKAGES = int(os.environ.get("BENCH_PACKAGES", "100000"))
PER_PACKAGE = int(os.environ.get("BENCH_MOVEMENTS_PER_PACKAGE", "10"))
PRODUCTS = max(PACKAGES // 100, 1)
ALLOCATIONS = int(os.environ.get("BENCH_ALLOCATIONS", "300"))
CHUNK = 20_000

# One package's history: received 20, five sales, two allocations, one release, one adjustment (and more sales
# when more movements per package are asked for): on hand 14, allocated 1.
HISTORY = (
    [("received", 20, 0)]
    + [("sold", -1, 0)] * 5
    + [("allocated", 0, 1)] * 2
    + [("released", 0, -1)]
    + [("adjusted", -1, 0)]
)


def _history(length: int) -> list[tuple[str, int, int]]:
    steps = list(HISTORY[:length])
    while len(steps) < length:
        steps.append(("sold", -1, 0))
    return steps


def _insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY on PostgreSQL (an order of magnitude faster than INSERTs), executemany on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)  # noqa: S608


def build(store: Store) -> tuple[float, int]:
    """Write the packages and their movements straight into the tables (the services would take hours at this
    size); the ledger stays balanced by construction, which the check then verifies."""
    started = time.perf_counter()
    rng = random.Random(7)
    products = Product.objects.bulk_create(
        [
            Product(
                organization=store.organization,
                name=f"Bench product {n}",
                category="flower",
                price=Decimal("30"),
                sku=f"BENCH-{n:06d}",
            )
            for n in range(PRODUCTS)
        ]
    )
    history = _history(PER_PACKAGE)
    on_hand = sum(step[1] for step in history)
    allocated = sum(step[2] for step in history)
    now = timezone.now()
    today = timezone.localdate()
    first_id = (Package.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    package_rows, movement_rows = [], []
    movements = 0
    for number in range(PACKAGES):
        package_id = first_id + number
        product = products[number % PRODUCTS]
        expires = today + dt.timedelta(days=rng.randint(-20, 400))
        package_rows.append(
            (
                package_id,
                store.pk,
                product.pk,
                f"1A4FF0B{number:017d}",
                "each",
                "",
                "",
                f"HB-{number % 500}",
                None,
                None,
                expires,
                "active",
                "sales_floor",
                "",
                "passed",
                on_hand,
                allocated,
                now,
                now,
            )
        )
        for kind, quantity, allocated_delta in history:
            movement_rows.append(
                (
                    package_id,
                    store.pk,
                    kind,
                    quantity,
                    allocated_delta,
                    None,
                    "bench",
                    "",
                    "",
                    "bench",
                    str(number),
                    now,
                )
            )
        if len(package_rows) >= CHUNK // PER_PACKAGE or number == PACKAGES - 1:
            _insert(
                "inventory_package",
                [
                    "id",
                    "store_id",
                    "product_id",
                    "tag",
                    "unit",
                    "supplier_license",
                    "supplier_name",
                    "harvest_batch",
                    "harvest_date",
                    "packaged_on",
                    "expires_on",
                    "status",
                    "location",
                    "location_detail",
                    "lab_status",
                    "quantity_on_hand",
                    "quantity_allocated",
                    "received_at",
                    "created_at",
                ],
                package_rows,
            )
            _insert(
                "inventory_stockmovement",
                [
                    "package_id",
                    "store_id",
                    "kind",
                    "quantity",
                    "allocated_delta",
                    "actor_id",
                    "actor_label",
                    "reason",
                    "note",
                    "reference_type",
                    "reference_id",
                    "created_at",
                ],
                movement_rows,
            )
            movements += len(movement_rows)
            package_rows, movement_rows = [], []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('inventory_package', 'id'), MAX(id)) FROM inventory_package"
            )
            cursor.execute("ANALYZE inventory_package")
            cursor.execute("ANALYZE inventory_stockmovement")
    return time.perf_counter() - started, movements


def bench_inventory(database_label: str) -> None:
    organization = Organization.objects.create(name="Bench", slug=f"bench-{os.getpid()}")
    store = Store.objects.create(
        organization=organization,
        name="Bench store",
        code="bench",
        license_adult_use="BENCH-1",
        jurisdiction="US-CA",
        time_zone="America/Los_Angeles",
        address_line1="1 Bench St",
        city="Oakland",
        region="CA",
        postal_code="94607",
    )
    build_seconds, movements = build(store)
    print(
        f"inventory: built {PACKAGES:,} packages and {movements:,} movements in {build_seconds:.1f} s ({database_label})"
    )

    reset_queries()  # the query log is bounded (9,000): a full log would hide what is captured next
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        mismatches = ledger_mismatch_list(store=store)
    check_seconds = time.perf_counter() - started
    assert mismatches == [], "the built ledger balances by construction"
    print(
        f"inventory: ledger check of {PACKAGES:,} packages / {movements:,} movements: {check_seconds:.2f} s, "
        f"{len(queries)} SQL statement(s), {PACKAGES / check_seconds:,.0f} packages/s ({database_label})"
    )

    # Tamper with one package: the check must find exactly it.
    tampered = Package.objects.filter(store=store).order_by("?").values_list("pk", flat=True).first()
    Package.objects.filter(pk=tampered).update(quantity_on_hand=Decimal("999"))
    found = ledger_mismatch_list(store=store)
    assert [m.package_id for m in found] == [tampered]
    Package.objects.filter(pk=tampered).update(
        quantity_on_hand=Decimal(sum(step[1] for step in _history(PER_PACKAGE)))
    )

    rng = random.Random(11)
    product_ids = list(Product.objects.filter(organization=organization).values_list("pk", flat=True))
    reset_queries()
    durations = []
    with CaptureQueriesContext(connection) as queries:
        for number in range(ALLOCATIONS):
            product_id = rng.choice(product_ids)
            begin = time.perf_counter()
            stock_allocate(
                store=store,
                requests=[StockRequest(product_id, Decimal(3))],
                actor=None,
                reference=Reference("bench", str(number)),
            )
            durations.append(time.perf_counter() - begin)
    durations.sort()
    per_call = len(queries) / ALLOCATIONS
    print(
        f"inventory: FEFO allocation of 3 units among ~{PACKAGES // PRODUCTS} packages of a product, {ALLOCATIONS} "
        f"calls: median {durations[len(durations) // 2] * 1000:.1f} ms, p95 {durations[int(len(durations) * 0.95)] * 1000:.1f} ms, "
        f"{per_call:.1f} queries per call ({database_label})"
    )
    assert ledger_mismatch_list(store=store) == []
    assert StockMovement.objects.filter(kind="allocated", reference_type="bench").count() >= ALLOCATIONS

    bench_stock_list(store, database_label)


def bench_stock_list(store: Store, database_label: str) -> None:
    """The manager's stock list over the whole store: queries per page and time to render, first page and a
    filtered search (a bounded count, whatever the number of packages: tests/inventory/web asserts it)."""
    from django.test import Client
    from django.urls import reverse

    from dispensary.roles import Role
    from dispensary.services import staff_create

    manager = staff_create(
        organization=store.organization,
        actor=None,
        username=f"bench-manager-{os.getpid()}",
        password="bench-password-0",
        roles=[Role.MANAGER],
        stores=[store],
    )
    client = Client()
    client.force_login(manager)
    for label, query in [("first page", {}), ("search 'HB-42' + low stock", {"q": "HB-42", "low": "1"})]:
        client.get(reverse("inventory:stock_index"), query)  # warm the session and caches
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("inventory:stock_index"), query)
        seconds = time.perf_counter() - started
        assert response.status_code == 200
        print(
            f"inventory: stock list, {label}, over {PACKAGES:,} packages: {len(queries)} queries, "
            f"{seconds * 1000:.0f} ms ({database_label})"
        )
