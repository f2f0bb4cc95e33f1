"""Reads of inventory: sellable stock in first-expiring-first-out order, and the ledger check."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from dispensary.clock import store_local_date
from dispensary.models import Store
from inventory.models import ZERO, Package, Recall, StockMovement

SELLING_LOCATIONS = (Package.Location.SALES_FLOOR,)
EXPIRING_DAYS = 30


def package_sellable_list(
    *, store: Store, product_id: int, locations: Sequence[str] = SELLING_LOCATIONS
) -> QuerySet[Package]:
    """Packages that may be sold now, first-expiring first out, then first received. Skips expired, on-hold,
    recalled, finished and failed-lab packages, and those with nothing available."""
    today = store_local_date(store)
    return (
        Package.objects.filter(
            store=store,
            product_id=product_id,
            status=Package.Status.ACTIVE,
            location__in=locations,
            quantity_on_hand__gt=F("quantity_allocated"),
        )
        .exclude(lab_status=Package.LabStatus.FAILED)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .order_by(F("expires_on").asc(nulls_last=True), "received_at", "pk")
    )


@dataclass(frozen=True)
class LedgerMismatch:
    package_id: int
    tag: str
    on_hand: Decimal
    movements_on_hand: Decimal
    allocated: Decimal
    movements_allocated: Decimal


def ledger_mismatch_list(*, store: Store) -> list[LedgerMismatch]:
    """Packages whose on-hand or allocated totals differ from the sum of their movements.

    One query: the store's movements are summed once per package (a single grouped scan) and joined to the
    packages, which stays linear at a million movements where a correlated subquery per package would not.
    Quantities have three decimals, so a difference under half a thousandth is SQLite's float arithmetic, not
    a mismatch (PostgreSQL sums exact decimals)."""
    package = Package._meta.db_table
    movement = StockMovement._meta.db_table
    sql = f"""
        SELECT p.id, p.tag, p.quantity_on_hand, COALESCE(m.on_hand, 0), p.quantity_allocated, COALESCE(m.allocated, 0)
        FROM {package} p
        LEFT JOIN (
            SELECT package_id, SUM(quantity) AS on_hand, SUM(allocated_delta) AS allocated
            FROM {movement} WHERE store_id = %s GROUP BY package_id
        ) m ON m.package_id = p.id
        WHERE p.store_id = %s
          AND (ABS(p.quantity_on_hand - COALESCE(m.on_hand, 0)) > 0.0005
               OR ABS(p.quantity_allocated - COALESCE(m.allocated, 0)) > 0.0005)
        ORDER BY p.id
    """  # noqa: S608 - table names come from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, store.pk])
        rows = cursor.fetchall()
    return [
        LedgerMismatch(
            pk, tag, _decimal(on_hand), _decimal(moved), _decimal(allocated), _decimal(moved_allocated)
        )
        for pk, tag, on_hand, moved, allocated, moved_allocated in rows
    ]


def _decimal(value) -> Decimal:
    # SQLite hands sums back as int, float or str; PostgreSQL as Decimal.
    return Decimal(str(value)).quantize(Decimal("0.001"))


def recall_package_queryset(*, organization, criterion: str, value: str) -> QuerySet[Package]:
    packages = Package.objects.filter(store__organization=organization)
    if criterion == "tag":
        return packages.filter(tag=value.upper())
    if criterion == "harvest_batch":
        return packages.filter(harvest_batch=value)
    if criterion == "product":
        return packages.filter(product__sku=value)
    if criterion == "supplier":
        return packages.filter(supplier_license=value)
    return packages.none()


@dataclass(frozen=True)
class RecalledStock:
    package_id: int
    tag: str
    store: str
    product: str
    location: str
    status: str
    on_hand: Decimal


@dataclass(frozen=True)
class SoldUnit:
    package_id: int
    tag: str
    store: str
    quantity: Decimal
    at: object
    reference_type: str
    reference_id: str
    customer_id: int | None
    customer_name: str
    customer_phone: str
    delivery_id: int | None


def recall_stock_list(*, recall) -> list[RecalledStock]:
    rows = recall.packages.select_related("store", "product").order_by("store__name", "tag")
    return [
        RecalledStock(
            p.pk,
            p.tag,
            p.store.name,
            p.product.name,
            p.get_location_display(),
            p.get_status_display(),
            p.quantity_on_hand,
        )
        for p in rows
    ]


SOLD_KINDS = (StockMovement.Kind.SOLD, StockMovement.Kind.DELIVERED, StockMovement.Kind.RETURNED)
SOLD_PAGE_SIZE = 100


def _recall_sold_movements(recall) -> QuerySet[StockMovement]:
    """Movements out of (and back into) the recalled packages through sales or deliveries, in time order. The
    packages are read through the recall's link table (a subquery), so the index on (package, id) serves it."""
    links = Recall.packages.through.objects.filter(recall_id=recall.pk).values("package_id")
    return StockMovement.objects.filter(package_id__in=links, kind__in=SOLD_KINDS).order_by(
        "created_at", "id"
    )


def _sold_units(movements: list[StockMovement]) -> list[SoldUnit]:
    """The movements with their customers, where the app owning the reference has registered a resolver (one
    query per reference type)."""
    from inventory.recall_parties import resolve_parties

    by_type: dict[str, set[str]] = {}
    for movement in movements:
        by_type.setdefault(movement.reference_type, set()).add(movement.reference_id)
    parties = {kind: resolve_parties(kind, ids) for kind, ids in by_type.items()}
    units = []
    for movement in movements:
        party = parties.get(movement.reference_type, {}).get(movement.reference_id)
        units.append(
            SoldUnit(
                movement.package_id,
                movement.package.tag,
                movement.store.name,
                -movement.quantity,
                movement.created_at,
                movement.reference_type,
                movement.reference_id,
                party.customer_id if party else None,
                party.customer_name if party else "",
                party.customer_phone if party else "",
                party.delivery_id if party else None,
            )
        )
    return units


def recall_sold_unit_list(*, recall) -> list[SoldUnit]:
    """Units of recalled packages that left through sales or deliveries, with the customers where the app
    owning the reference has registered a resolver (a bounded number of queries: one per reference type)."""
    return _sold_units(list(_recall_sold_movements(recall).select_related("package", "store")))


def recall_sold_unit_page(*, recall, page_number, per_page: int | None = None) -> tuple[Page, list[SoldUnit]]:
    """One page of `recall_sold_unit_list` (the recall page shows a page; the CSV holds them all): a count, the
    page's movements and their customers, however many units a batch sold."""
    movements = _recall_sold_movements(recall).select_related("package", "store")
    page = Paginator(movements, per_page or SOLD_PAGE_SIZE).get_page(page_number)
    return page, _sold_units(list(page.object_list))


def package_stock_list(*, store: Store, filters: dict, today: dt.date) -> QuerySet[Package]:
    """The store's packages with the product's available quantity at the store (active packages), for the
    low-stock test, in one query however many rows."""
    zero = Value(ZERO, output_field=DecimalField(max_digits=14, decimal_places=3))
    product_available = (
        Package.objects.filter(store=store, product=OuterRef("product"), status=Package.Status.ACTIVE)
        .values("product")
        .annotate(total=Sum(F("quantity_on_hand") - F("quantity_allocated")))
        .values("total")
    )
    packages = (
        Package.objects.filter(store=store)
        .select_related("product")
        .annotate(product_available=Coalesce(Subquery(product_available), zero))
    )
    search = (filters.get("q") or "").strip()
    if search:
        packages = packages.filter(
            Q(product__name__icontains=search)
            | Q(product__sku__icontains=search)
            | Q(tag__icontains=search)
            | Q(harvest_batch__icontains=search)
        )
    if filters.get("category"):
        packages = packages.filter(product__category=filters["category"])
    if filters.get("location"):
        packages = packages.filter(location=filters["location"])
    status = filters.get("status") or ""
    if status == "":
        packages = packages.exclude(status=Package.Status.FINISHED)
    elif status != "all":
        packages = packages.filter(status=status)
    if filters.get("low"):
        packages = packages.filter(
            product__reorder_point__gt=0, product_available__lt=F("product__reorder_point")
        )
    if filters.get("expiring"):
        # Expired ones too: they need the same attention, sooner.
        packages = packages.filter(expires_on__lte=today + dt.timedelta(days=EXPIRING_DAYS))
    return packages.order_by("product__name", "tag")
