"""`python manage.py generate_synthetic_year --store CODE`: one year of one store's synthetic stock history
(packages received every day, sales through the day, returns, adjustments and waste) for the reports' bench
and for trying the reports on realistic volumes.

Rows go straight into the tables in bulk (COPY on PostgreSQL), with the times they happened: the services
would take hours and stamp every row "now". Each package's on hand is the sum of its movements by construction,
and `ledger_mismatch_list` checks it at the end. Nothing is reported to the state and no events are published:
this is history for reports, not activity."""

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from dispensary.models import Store
from inventory.models import Package, Product, StockMovement, WasteRecord
from inventory.selectors import ledger_mismatch_list

CHUNK = 20_000
PACKAGE_SIZE = 50
PRODUCTS = 40
ACTOR = "synthetic"
PACKAGE_COLUMNS = [
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
]
MOVEMENT_COLUMNS = [
    "id",
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
]
WASTE_COLUMNS = [
    "package_id",
    "store_id",
    "movement_id",
    "quantity",
    "reason",
    "method",
    "waste_weight_g",
    "witness_id",
    "actor_id",
    "note",
    "report_to_state",
    "created_at",
]


@dataclass
class _Package:
    id: int
    product_id: int
    tag: str
    batch: str
    received_at: dt.datetime
    on_hand: int = 0
    movements: list = field(default_factory=list)


class Command(BaseCommand):
    help = "Generate one year of one store's synthetic packages and balanced stock ledger."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The store's code.")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--sales-per-day", type=int, default=250, help="Sale lines per day.")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, store: str, days: int, sales_per_day: int, seed: int, **options):
        stores = list(Store.objects.filter(code=store).select_related("organization"))
        if len(stores) != 1:
            raise CommandError(f"{'No' if not stores else 'More than one'} store has the code {store!r}.")
        if days < 1 or sales_per_day < 0:
            raise CommandError("--days must be at least 1 and --sales-per-day not negative.")
        started = time.perf_counter()
        with transaction.atomic():
            packages, movements, wastes = generate(
                stores[0], days=days, sales_per_day=sales_per_day, seed=seed
            )
        mismatches = ledger_mismatch_list(store=stores[0])
        if mismatches:
            raise CommandError(f"The ledger does not balance for {len(mismatches)} packages.")
        self.stdout.write(
            f"{stores[0].code}: {packages:,} packages, {movements:,} movements, {wastes:,} waste records over "
            f"{days} days in {time.perf_counter() - started:.1f} s; the ledger balances."
        )


def generate(store: Store, *, days: int, sales_per_day: int, seed: int) -> tuple[int, int, int]:
    rng = random.Random(seed)
    products = _products(store)
    prefix = f"1A4{store.pk % 100000:05d}SY"
    next_number = Package.objects.filter(store=store, tag__startswith=prefix).count()
    package_id = _next_id(Package)
    movement_id = _next_id(StockMovement)
    tz = store.tz
    today = timezone.localtime(timezone.now(), tz).date()
    first_day = today - dt.timedelta(days=days)
    # A sale line takes 1.67 units on average: receive a little more than that each day.
    receipts_per_day = max(1, -(-sales_per_day * 9 // (PACKAGE_SIZE * 5)))
    stock: list[_Package] = []  # packages with something on hand
    finished: list[_Package] = []
    waste_rows: list[tuple] = []
    movement_total = 0

    def moment(day: dt.date, hour: int, minute: int, second: int) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz).astimezone(dt.UTC)

    def move(package: _Package, kind: str, quantity: int, at: dt.datetime, **extra) -> int:
        nonlocal movement_id
        movement_id += 1
        package.on_hand += quantity
        package.movements.append((movement_id, kind, quantity, at, extra))
        return movement_id

    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for number in range(receipts_per_day):
            package_id += 1
            next_number += 1
            product = products[rng.randrange(len(products))]
            package = _Package(
                package_id,
                product,
                f"{prefix}{next_number:014d}",
                f"SYN-{day:%Y%m%d}",
                moment(day, 9, number, 0),
            )
            move(
                package,
                "received",
                PACKAGE_SIZE,
                package.received_at,
                reference=("manifest", f"SYN{day:%Y%m%d}"),
            )
            stock.append(package)
        seconds = sorted(rng.randrange(10 * 3600) for _ in range(sales_per_day))
        for index, second in enumerate(seconds):
            if not stock:
                break
            at = moment(day, 10 + second // 3600, second // 60 % 60, second % 60)
            package = stock[rng.randrange(min(len(stock), 12))]  # older packages sell first, roughly
            if package.on_hand == 0:
                continue
            quantity = min(package.on_hand, rng.choice((1, 1, 1, 2, 2, 3)))
            move(package, "sold", -quantity, at, reference=("synthetic_sale", f"{day:%Y%m%d}-{index}"))
            if rng.random() < 0.005:
                move(package, "returned", 1, at + dt.timedelta(minutes=30), reason="", note="Customer return")
        if stock and rng.random() < 0.3:
            package = stock[rng.randrange(len(stock))]
            delta = -1 if package.on_hand > 1 and rng.random() < 0.7 else 1
            move(package, "adjusted", delta, moment(day, 20, 30, 0), reason="scale_variance")
        if stock and rng.random() < 0.4 and (package := stock[rng.randrange(len(stock))]).on_hand:
            quantity = min(package.on_hand, rng.randint(1, 3))
            at = moment(day, 20, 45, 0)
            reason = rng.choice(("damaged", "expired"))
            movement = move(package, "wasted", -quantity, at, reason=reason)
            waste_rows.append(
                (package.id, store.pk, movement, quantity, reason, "", None, None, None, "", False, at)
            )
        still = []
        for package in stock:
            (finished if package.on_hand == 0 else still).append(package)
        stock = still
    package_rows, movement_rows = [], []
    for package in finished + stock:
        package_rows.append(
            (
                package.id,
                store.pk,
                package.product_id,
                package.tag,
                "each",
                "C11-0000001-LIC",
                "Synthetic Farms",
                package.batch,
                None,
                None,
                None,
                "finished" if package.on_hand == 0 else "active",
                "sales_floor",
                "",
                "passed",
                Decimal(package.on_hand),
                Decimal(0),
                package.received_at,
                package.received_at,
            )
        )
        for pk, kind, quantity, at, extra in package.movements:
            reference_type, reference_id = extra.get("reference", ("", ""))
            movement_rows.append(
                (
                    pk,
                    package.id,
                    store.pk,
                    kind,
                    Decimal(quantity),
                    Decimal(0),
                    None,
                    ACTOR,
                    extra.get("reason", ""),
                    extra.get("note", ""),
                    reference_type,
                    reference_id,
                    at,
                )
            )
        if len(movement_rows) >= CHUNK:
            _flush(package_rows, movement_rows)
            movement_total += len(movement_rows)
            package_rows, movement_rows = [], []
    _flush(package_rows, movement_rows)
    movement_total += len(movement_rows)
    _insert(WasteRecord._meta.db_table, WASTE_COLUMNS, waste_rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Package, StockMovement):
                table = model._meta.db_table
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"  # noqa: S608
                cursor.execute(sql)
                cursor.execute(f"ANALYZE {table}")
    return len(finished) + len(stock), movement_total, len(waste_rows)


def _products(store: Store) -> list[int]:
    organization = store.organization
    existing = {
        sku: pk
        for sku, pk in Product.objects.filter(organization=organization, sku__startswith="SYN-").values_list(
            "sku", "pk"
        )
    }
    missing = [
        Product(
            organization=organization,
            name=f"Synthetic {category.label} {number}",
            category=category.value,
            price=Decimal("25.00") + number,
            sku=f"SYN-{number:03d}",
        )
        for number, category in ((number, list(Product.Category)[number % 8]) for number in range(PRODUCTS))
        if f"SYN-{number:03d}" not in existing
    ]
    Product.objects.bulk_create(missing)
    return list(
        Product.objects.filter(organization=organization, sku__startswith="SYN-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _next_id(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _flush(package_rows: list[tuple], movement_rows: list[tuple]) -> None:
    _insert(Package._meta.db_table, PACKAGE_COLUMNS, package_rows)
    _insert(StockMovement._meta.db_table, MOVEMENT_COLUMNS, movement_rows)


def _insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY on PostgreSQL (an order of magnitude faster than INSERTs), executemany on SQLite with values
    adapted as Django stores them, so times compare correctly with rows the application writes."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        operations = connection.ops
        adapted = [
            tuple(
                operations.adapt_datetimefield_value(value)
                if isinstance(value, dt.datetime)
                else str(value)
                if isinstance(value, Decimal)
                else value
                for value in row
            )
            for row in rows
        ]
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", adapted)  # noqa: S608
