"""Reads of inventory: sellable stock in first-expiring-first-out order, and the ledger check."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from dispensary.clock import store_local_date
from dispensary.models import Store
from inventory.models import Package, StockMovement

SELLING_LOCATIONS = (Package.Location.SALES_FLOOR,)


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
    """Packages whose on-hand or allocated totals differ from the sum of their movements (one query)."""
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=3))
    sums = StockMovement.objects.filter(package=OuterRef("pk")).values("package")
    rows = (
        Package.objects.filter(store=store)
        .annotate(
            moved_on_hand=Coalesce(Subquery(sums.annotate(s=Sum("quantity")).values("s")), zero),
            moved_allocated=Coalesce(Subquery(sums.annotate(s=Sum("allocated_delta")).values("s")), zero),
        )
        .exclude(quantity_on_hand=F("moved_on_hand"), quantity_allocated=F("moved_allocated"))
        .values_list(
            "pk", "tag", "quantity_on_hand", "moved_on_hand", "quantity_allocated", "moved_allocated"
        )
        .order_by("pk")
    )
    return [LedgerMismatch(*row) for row in rows]


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


def recall_sold_unit_list(*, recall) -> list[SoldUnit]:
    """Units of recalled packages that left through sales or deliveries, with the customers where the app
    owning the reference has registered a resolver (a bounded number of queries: one per reference type)."""
    from inventory.recall_parties import resolve_parties

    movements = list(
        StockMovement.objects.filter(
            package__in=recall.packages.all(),
            kind__in=[StockMovement.Kind.SOLD, StockMovement.Kind.DELIVERED, StockMovement.Kind.RETURNED],
        )
        .select_related("package", "store")
        .order_by("created_at", "id")
    )
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
