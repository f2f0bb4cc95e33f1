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
