"""Inventory reports from the stock ledger: reconciliation for a period, three-way reconciliation (counted,
platform, state) and the waste and destruction log. Each reads in a fixed number of queries however many
packages and movements the store has: movements are summed in one grouped query, never per package."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from compliance.models import SyncRecord
from compliance.reporting.reports.document import Document, Table
from compliance.traceability.base import Operation, StatePackage, TraceabilityError
from compliance.traceability.metrc import platform_quantity
from dispensary.clock import store_local_day_bounds
from dispensary.models import Store
from inventory.models import (
    ZERO,
    CountLine,
    InventoryCount,
    Package,
    StockMovement,
    WasteRecord,
    quantity_text,
)
from inventory.services.stock import AdjustmentReason

Kind = StockMovement.Kind
MILLI = Decimal("0.001")
REASON_LABELS = dict(AdjustmentReason.CHOICES)


def _decimal(value) -> Decimal:
    # SQLite hands sums back as int, float or str; PostgreSQL as Decimal.
    return Decimal(str(value or 0)).quantize(MILLI)


def _datetime(value) -> dt.datetime:
    if isinstance(value, str):  # SQLite, raw SQL
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


@dataclass(frozen=True)
class Period:
    """Store-local calendar days, both inclusive."""

    start: dt.date
    end: dt.date

    def bounds(self, store: Store) -> tuple[dt.datetime, dt.datetime]:
        return store_local_day_bounds(store, self.start)[0], store_local_day_bounds(store, self.end)[1]


# --- The state's quantities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateSnapshot:
    """The state's active packages by label, or why they could not be read."""

    packages: dict[str, StatePackage] = field(default_factory=dict)
    error: str = ""

    @property
    def available(self) -> bool:
        return not self.error


def state_snapshot(store: Store) -> StateSnapshot:
    """The state's active packages for the store, read now. An unreachable or refusing state is a notice on the
    report, not a failed page."""
    from compliance.traceability.registry import provider_for_store

    try:
        packages = provider_for_store(store).active_packages()
    except TraceabilityError as error:
        return StateSnapshot(error=f"The state's system could not be read: {error}")
    except ImproperlyConfigured as error:
        return StateSnapshot(error=f"The store's state reporting is not configured: {error}")
    return StateSnapshot(packages={package.label: package for package in packages})


# --- The last approved count of each package ----------------------------------------------------------------


@dataclass(frozen=True)
class CountSnapshot:
    count_id: int
    approved_at: dt.datetime
    counted: Decimal
    book: Decimal  # the ledger when the count was approved, before the count's own variance adjustment
    moved_after: Decimal  # movements after the approval and before the cutoff

    @property
    def variance(self) -> Decimal:
        return self.counted - self.book

    @property
    def implied_now(self) -> Decimal:
        """What the count says the package should hold at the cutoff."""
        return self.counted + self.moved_after


def last_count_map(
    *, store: Store, before: dt.datetime, since: dt.datetime | None = None
) -> dict[int, CountSnapshot]:
    """Per package, its last approved count line approved before `before` (and, when given, from `since`),
    with the ledger's balance at that count and the movements after it. One query."""
    line, count, movement = (
        CountLine._meta.db_table,
        InventoryCount._meta.db_table,
        StockMovement._meta.db_table,
    )
    adapt = connection.ops.adapt_datetimefield_value
    since_clause = "AND c.approved_at >= %s" if since else ""
    sql = f"""
        SELECT cl.package_id, c.id, c.approved_at, cl.counted_quantity,
               SUM(CASE WHEN m.created_at <= c.approved_at AND (cl.movement_id IS NULL OR m.id <> cl.movement_id)
                        THEN m.quantity ELSE 0 END),
               SUM(CASE WHEN m.created_at > c.approved_at THEN m.quantity ELSE 0 END)
        FROM {line} cl
        JOIN {count} c ON c.id = cl.count_id
        LEFT JOIN {movement} m ON m.package_id = cl.package_id AND m.created_at < %s
        WHERE c.store_id = %s AND c.status = %s AND c.approved_at < %s {since_clause}
          AND cl.counted_quantity IS NOT NULL
          AND NOT EXISTS (
            SELECT 1 FROM {line} l2 JOIN {count} c2 ON c2.id = l2.count_id
            WHERE l2.package_id = cl.package_id AND c2.store_id = c.store_id AND c2.status = c.status
              AND c2.approved_at < %s AND l2.counted_quantity IS NOT NULL
              AND (c2.approved_at > c.approved_at OR (c2.approved_at = c.approved_at AND c2.id > c.id))
          )
        GROUP BY cl.package_id, c.id, c.approved_at, cl.counted_quantity
    """  # noqa: S608 - table names come from the models, values are parameters
    cutoff = adapt(before)
    params = [cutoff, store.pk, InventoryCount.Status.APPROVED, cutoff]
    if since:
        params.append(adapt(since))
    params.append(cutoff)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        package_id: CountSnapshot(
            count_id, _datetime(approved_at), _decimal(counted), _decimal(book), _decimal(after)
        )
        for package_id, count_id, approved_at, counted, book, after in rows
    }


# --- Inventory reconciliation for a period ------------------------------------------------------------------


@dataclass
class ReconciliationRow:
    package_id: int
    tag: str
    product: str
    category: str
    unit: str
    status: str
    opening: Decimal
    received: Decimal
    returned: Decimal
    sold: Decimal  # positive: what left
    delivered: Decimal  # positive
    adjusted: Decimal  # signed
    wasted: Decimal  # positive
    other: Decimal  # signed; zero unless a kind that moves no stock ever did
    closing: Decimal
    on_hand: Decimal | None = None  # when the period ends now
    count: CountSnapshot | None = None  # an approved count in the period
    state_quantity: Decimal | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def computed_closing(self) -> Decimal:
        return (
            self.opening
            + self.received
            + self.returned
            - self.sold
            - self.delivered
            + self.adjusted
            - self.wasted
            + self.other
        )


@dataclass
class Reconciliation:
    store: Store
    period: Period
    rows: list[ReconciliationRow]
    ends_now: bool
    state: StateSnapshot | None
    totals: dict[str, Decimal]

    @property
    def discrepancy_count(self) -> int:
        return sum(1 for row in self.rows if row.flags)


SUMMED = ("opening", "received", "returned", "sold", "delivered", "adjusted", "wasted", "other", "closing")


def inventory_reconciliation(
    *,
    store: Store,
    period: Period,
    category: str = "",
    search: str = "",
    discrepancies_only: bool = False,
    with_state: bool = True,
) -> Reconciliation:
    """Per package: opening + received + returned - sold - delivered + adjusted - wasted = closing over the
    period's local days. Flags a closing that differs from the package's on hand (when the period ends now),
    from the state's quantity (likewise: the state only tells its quantity now), and a count in the period
    that found the ledger wrong. Three queries and, with the state, one call to it."""
    start, end = period.bounds(store)
    now = timezone.now()
    ends_now = end > now
    in_period = Q(created_at__gte=start, created_at__lt=end)
    sums = (
        StockMovement.objects.filter(store=store, created_at__lt=end)
        .values("package_id")
        .order_by()
        .annotate(
            opening=Sum("quantity", filter=Q(created_at__lt=start)),
            received=Sum("quantity", filter=in_period & Q(kind=Kind.RECEIVED)),
            returned=Sum("quantity", filter=in_period & Q(kind=Kind.RETURNED)),
            sold=Sum("quantity", filter=in_period & Q(kind=Kind.SOLD)),
            delivered=Sum("quantity", filter=in_period & Q(kind=Kind.DELIVERED)),
            adjusted=Sum("quantity", filter=in_period & Q(kind=Kind.ADJUSTED)),
            wasted=Sum("quantity", filter=in_period & Q(kind=Kind.WASTED)),
            other=Sum(
                "quantity",
                filter=in_period
                & ~Q(
                    kind__in=[
                        Kind.RECEIVED,
                        Kind.RETURNED,
                        Kind.SOLD,
                        Kind.DELIVERED,
                        Kind.ADJUSTED,
                        Kind.WASTED,
                    ]
                ),
            ),
            closing=Sum("quantity"),
        )
    )
    by_package = {entry["package_id"]: entry for entry in sums}
    packages = Package.objects.filter(store=store).select_related("product").order_by("product__name", "tag")
    if category:
        packages = packages.filter(product__category=category)
    if search:
        packages = packages.filter(
            Q(tag__icontains=search) | Q(product__name__icontains=search) | Q(harvest_batch__icontains=search)
        )
    counts = last_count_map(store=store, before=end, since=start)
    state = state_snapshot(store) if (with_state and ends_now) else None
    rows = []
    for package in packages.only(
        "id", "tag", "unit", "status", "quantity_on_hand", "product__name", "product__category"
    ):
        entry = by_package.get(package.pk)
        if entry is None and not (ends_now and package.quantity_on_hand):
            continue  # nothing happened to it before the period's end
        entry = entry or {}
        row = ReconciliationRow(
            package_id=package.pk,
            tag=package.tag,
            product=package.product.name,
            category=package.product.get_category_display(),
            unit=package.unit,
            status=package.get_status_display(),
            opening=_decimal(entry.get("opening")),
            received=_decimal(entry.get("received")),
            returned=_decimal(entry.get("returned")),
            sold=-_decimal(entry.get("sold")),
            delivered=-_decimal(entry.get("delivered")),
            adjusted=_decimal(entry.get("adjusted")),
            wasted=-_decimal(entry.get("wasted")),
            other=_decimal(entry.get("other")),
            closing=_decimal(entry.get("closing")),
            count=counts.get(package.pk),
        )
        active = (
            row.opening
            or row.closing
            or any((row.received, row.returned, row.sold, row.delivered, row.adjusted, row.wasted, row.other))
        )
        if ends_now:
            row.on_hand = package.quantity_on_hand
            if row.on_hand != row.closing:
                row.flags.append(
                    f"On hand {quantity_text(row.on_hand)} ≠ ledger {quantity_text(row.closing)}"
                )
        if not active and not row.flags:
            continue
        if row.computed_closing != row.closing:
            row.flags.append("Movements do not add up to the closing")
        if row.count is not None and row.count.variance:
            row.flags.append(
                f"Count on {timezone.localtime(row.count.approved_at, store.tz):%Y-%m-%d} found "
                f"{quantity_text(row.count.counted)}, books said {quantity_text(row.count.book)}"
            )
        if state is not None and state.available and package.status != Package.Status.FINISHED:
            known = state.packages.get(package.tag)
            if known is None:
                if row.closing:
                    row.flags.append("Not among the state's active packages")
            else:
                row.state_quantity = platform_quantity(known.quantity, known.unit_of_measure, package.unit)
                if row.state_quantity != row.closing:
                    row.flags.append(f"State has {quantity_text(row.state_quantity)}")
        if discrepancies_only and not row.flags:
            continue
        rows.append(row)
    totals = {name: sum((getattr(row, name) for row in rows), ZERO) for name in SUMMED}
    return Reconciliation(store, period, rows, ends_now, state, totals)


def reconciliation_document(report: Reconciliation) -> Document:
    table = Table(
        "Packages",
        [
            "Tag",
            "Product",
            "Unit",
            "Opening",
            "Received",
            "Returned",
            "Sold",
            "Delivered",
            "Adjusted",
            "Wasted",
            "Closing",
            "On hand now",
            "State",
        ],
        numeric=frozenset(range(3, 13)),
        empty_text="No package held stock or moved in this period.",
    )
    for row in report.rows:
        table.add(
            [
                row.tag,
                row.product,
                row.unit,
                *(
                    quantity_text(value)
                    for value in (
                        row.opening,
                        row.received,
                        row.returned,
                        row.sold,
                        row.delivered,
                        row.adjusted,
                        row.wasted,
                        row.closing,
                    )
                ),
                quantity_text(row.on_hand) if row.on_hand is not None else "",
                quantity_text(row.state_quantity) if row.state_quantity is not None else "",
            ],
            row.flags,
        )
    if report.rows:
        totals = report.totals
        table.add(
            [
                "Total",
                f"{len(report.rows)} packages",
                "",
                *(
                    quantity_text(totals[name])
                    for name in (
                        "opening",
                        "received",
                        "returned",
                        "sold",
                        "delivered",
                        "adjusted",
                        "wasted",
                        "closing",
                    )
                ),
                "",
                "",
            ]
        )
    table.note = "Opening + received + returned − sold − delivered ± adjusted − wasted = closing."
    document = Document(
        "Inventory reconciliation",
        facts=[
            (
                "Store",
                f"{report.store.name} ({report.store.license_adult_use or report.store.license_medical})",
            ),
            (
                "Period",
                f"{report.period.start:%Y-%m-%d} to {report.period.end:%Y-%m-%d} ({report.store.time_zone})",
            ),
            ("Discrepancies", str(report.discrepancy_count)),
        ],
        tables=[table],
    )
    if report.state is not None and not report.state.available:
        document.notices.append(report.state.error)
    return document


# --- Three-way reconciliation --------------------------------------------------------------------------------


@dataclass
class ThreeWayRow:
    package_id: int | None
    tag: str
    product: str
    unit: str
    status: str
    count: CountSnapshot | None
    platform: Decimal | None
    state: StatePackage | None
    flags: list[str] = field(default_factory=list)

    @property
    def state_quantity(self) -> Decimal | None:
        if self.state is None:
            return None
        return platform_quantity(self.state.quantity, self.state.unit_of_measure, self.unit)


@dataclass
class ThreeWay:
    store: Store
    rows: list[ThreeWayRow]
    state: StateSnapshot

    @property
    def mismatch_count(self) -> int:
        return sum(1 for row in self.rows if row.flags)


def three_way_reconciliation(*, store: Store, category: str = "", mismatches_only: bool = False) -> ThreeWay:
    """Per package still in stock: its last approved count (carried forward by the movements since), the
    platform's on hand and the state's quantity. Two queries and one call to the state."""
    now = timezone.now()
    counts = last_count_map(store=store, before=now)
    state = state_snapshot(store)
    packages = (
        Package.objects.filter(store=store)
        .exclude(status=Package.Status.FINISHED, quantity_on_hand=0)
        .select_related("product")
        .order_by("product__name", "tag")
    )
    if category:
        packages = packages.filter(product__category=category)
    rows, seen = [], set()
    for package in packages:
        seen.add(package.tag)
        row = ThreeWayRow(
            package.pk,
            package.tag,
            package.product.name,
            package.unit,
            package.get_status_display(),
            counts.get(package.pk),
            package.quantity_on_hand,
            state.packages.get(package.tag),
        )
        if row.count is not None and row.count.implied_now != row.platform:
            row.flags.append(
                f"Count implies {quantity_text(row.count.implied_now)}, platform {quantity_text(row.platform)}"
            )
        if state.available:
            if row.state is None:
                row.flags.append("Not among the state's active packages")
            elif row.state_quantity != row.platform:
                row.flags.append(
                    f"State {quantity_text(row.state_quantity)}, platform {quantity_text(row.platform)}"
                )
        rows.append(row)
    if state.available and not category:
        for label, known in sorted(state.packages.items()):
            if label not in seen and not known.is_finished and _decimal(known.quantity):
                rows.append(
                    ThreeWayRow(
                        None,
                        label,
                        known.item_name,
                        known.unit_of_measure,
                        "—",
                        None,
                        None,
                        known,
                        ["At the state, not in the platform's stock"],
                    )
                )
    if mismatches_only:
        rows = [row for row in rows if row.flags]
    return ThreeWay(store, rows, state)


def three_way_document(report: ThreeWay) -> Document:
    table = Table(
        "Packages",
        [
            "Tag",
            "Product",
            "Unit",
            "Status",
            "Counted",
            "Count date",
            "Count implies now",
            "Platform",
            "State",
        ],
        numeric=frozenset({4, 6, 7, 8}),
        empty_text="No packages in stock.",
    )
    for row in report.rows:
        count = row.count
        table.add(
            [
                row.tag,
                row.product,
                row.unit,
                row.status,
                quantity_text(count.counted) if count else "",
                f"{timezone.localtime(count.approved_at, report.store.tz):%Y-%m-%d %H:%M}"
                if count
                else "never",
                quantity_text(count.implied_now) if count else "",
                quantity_text(row.platform) if row.platform is not None else "",
                quantity_text(row.state_quantity) if row.state is not None else "",
            ],
            row.flags,
        )
    document = Document(
        "Three-way reconciliation",
        facts=[
            ("Store", report.store.name),
            ("As of", f"{timezone.localtime(timezone.now(), report.store.tz):%Y-%m-%d %H:%M %Z}"),
            ("Mismatches", str(report.mismatch_count)),
        ],
        tables=[table],
    )
    if not report.state.available:
        document.notices.append(report.state.error + " The state column is empty; compare again later.")
    return document


# --- Waste and destruction log --------------------------------------------------------------------------------

NOT_REPORTED = "not reported"
# A report to the state is created when the waste's event is handled, after its commit: never before.
REPORT_WINDOW_BEFORE = dt.timedelta(minutes=1)


@dataclass
class WasteRow:
    record: WasteRecord
    report: SyncRecord | None

    @property
    def state_status(self) -> str:
        if self.report is None:
            return NOT_REPORTED
        return self.report.get_status_display()

    @property
    def state_accepted(self) -> bool:
        return self.report is not None and self.report.status in (
            SyncRecord.Status.ACCEPTED,
            SyncRecord.Status.MANUAL,
        )


@dataclass
class WasteLog:
    store: Store
    period: Period
    rows: list[WasteRow]

    @property
    def total_by_unit(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for row in self.rows:
            unit = row.record.package.unit
            totals[unit] = totals.get(unit, ZERO) + row.record.quantity
        return totals


def waste_log(*, store: Store, period: Period, reason: str = "", flagged_only: bool = False) -> WasteLog:
    """The period's waste with its state report: the package's adjustment report ("package.adjust" with
    reference ("package", id)) closest in time after the waste, each report matched once. Two queries."""
    start, end = period.bounds(store)
    records = (
        WasteRecord.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
        .select_related("package__product", "witness", "actor")
        .order_by("created_at", "id")
    )
    if reason:
        records = records.filter(reason=reason)
    if flagged_only:
        records = records.filter(report_to_state=True)
    records = list(records)
    reports: dict[str, list[SyncRecord]] = {}
    if records:
        candidates = SyncRecord.objects.filter(
            store=store,
            kind=Operation.PACKAGE_ADJUST.value,
            reference_type="package",
            reference_id__in={str(record.package_id) for record in records},
            created_at__gte=records[0].created_at - REPORT_WINDOW_BEFORE,
        ).order_by("created_at", "id")
        for report in candidates:
            reports.setdefault(report.reference_id, []).append(report)
    used: set[int] = set()
    rows = []
    for record in records:
        best = None
        for report in reports.get(str(record.package_id), []):
            if report.pk in used or report.created_at < record.created_at - REPORT_WINDOW_BEFORE:
                continue
            if best is None or abs(report.created_at - record.created_at) < abs(
                best.created_at - record.created_at
            ):
                best = report
        if best is not None:
            used.add(best.pk)
        rows.append(WasteRow(record, best))
    return WasteLog(store, period, rows)


def waste_document(log: WasteLog) -> Document:
    table = Table(
        "Waste and destruction",
        [
            "When",
            "Tag",
            "Product",
            "Reason",
            "Quantity",
            "Unit",
            "Method",
            "Waste weight (g)",
            "Staff",
            "Witness",
            "Flagged for state",
            "State report",
            "Note",
        ],
        numeric=frozenset({4, 7}),
        empty_text="No waste recorded in this period.",
    )
    for row in log.rows:
        record = row.record
        flags = []
        if record.report_to_state and not row.state_accepted:
            flags.append("Flagged for the state, not accepted")
        if row.report is not None and row.report.status == SyncRecord.Status.FAILED:
            flags.append(f"State refused: {row.report.last_error[:120]}")
        state = row.state_status
        if row.report is not None:
            state = f"{state} (#{row.report.pk})"
        table.add(
            [
                f"{timezone.localtime(record.created_at, log.store.tz):%Y-%m-%d %H:%M}",
                record.package.tag,
                record.package.product.name,
                REASON_LABELS.get(record.reason, record.reason),
                quantity_text(record.quantity),
                record.package.unit,
                record.get_method_display() if record.method else "",
                quantity_text(record.waste_weight_g) if record.waste_weight_g is not None else "",
                _person(record.actor),
                _person(record.witness),
                "yes" if record.report_to_state else "no",
                state,
                record.note,
            ],
            flags,
        )
    totals = ", ".join(f"{quantity_text(value)} {unit}" for unit, value in sorted(log.total_by_unit.items()))
    return Document(
        "Waste and destruction log",
        facts=[
            ("Store", f"{log.store.name} ({log.store.license_adult_use or log.store.license_medical})"),
            ("Period", f"{log.period.start:%Y-%m-%d} to {log.period.end:%Y-%m-%d} ({log.store.time_zone})"),
            ("Records", str(len(log.rows))),
            ("Total wasted", totals or "0"),
        ],
        tables=[table],
    )


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
