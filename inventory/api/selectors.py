"""The API's reads of inventory, scoped to the stores a caller reaches. "Sellable now" follows the rules of
inventory.selectors.package_sellable_list, written as one filter so lists and the menu need no query per row."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import DecimalField, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum

from dispensary.clock import store_local_date
from dispensary.models import Organization, Store
from inventory.models import QUANTITY, IncomingTransfer, Package, Product, StockMovement, TransferLine
from inventory.selectors import SELLING_LOCATIONS


def package_sellable_q(stores: Iterable[Store]) -> Q:
    """Packages of these stores that package_sellable_list would offer now: active, on the sales floor, not
    failed at the lab, not expired on the store's local date, with something available."""
    stores_by_day: dict = defaultdict(list)
    for store in stores:
        stores_by_day[store_local_date(store)].append(store.pk)
    not_expired = Q(expires_on__isnull=True)
    for day, store_ids in stores_by_day.items():
        not_expired |= Q(store_id__in=store_ids, expires_on__gte=day)
    return (
        Q(
            store_id__in=[pk for ids in stores_by_day.values() for pk in ids],
            status=Package.Status.ACTIVE,
            location__in=SELLING_LOCATIONS,
            quantity_on_hand__gt=F("quantity_allocated"),
        )
        & ~Q(lab_status=Package.LabStatus.FAILED)
        & not_expired
    )


def product_list(*, organization: Organization | None, search: str = "") -> QuerySet[Product]:
    """The organization's catalog with each product's limit amounts (one extra query per page)."""
    if organization is None:
        return Product.objects.none()
    products = Product.objects.filter(organization=organization).prefetch_related("limit_amounts")
    search = search.strip()
    if search:
        products = products.filter(
            Q(name__icontains=search)
            | Q(brand__icontains=search)
            | Q(strain__icontains=search)
            | Q(sku__iexact=search)
            | Q(barcode=search)
        )
    return products.order_by("name", "id")


def package_list(*, stores: QuerySet[Store]) -> QuerySet[Package]:
    return (
        Package.objects.filter(store__in=stores).select_related("product").order_by("store_id", "tag", "id")
    )


def package_get(*, stores: QuerySet[Store], package_id: int) -> Package | None:
    """A package of a reached store with its lab results, or None (another store's is as unknown as none)."""
    return package_list(stores=stores).filter(pk=package_id).prefetch_related("lab_results").first()


def stock_movement_list(*, stores: QuerySet[Store]) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(store__in=stores).select_related("package").order_by("id")


def menu_item_list(*, store: Store) -> QuerySet[Product]:
    """Active products with something sellable at the store, each annotated with `quantity_available` (the
    sum over its sellable packages): one query, however many products."""
    sellable = (
        Package.objects.filter(package_sellable_q([store]), product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(total=Sum(F("quantity_on_hand") - F("quantity_allocated")))
        .values("total")
    )
    return (
        Product.objects.filter(organization_id=store.organization_id, is_active=True)
        .annotate(quantity_available=Subquery(sellable, output_field=DecimalField(**QUANTITY)))
        .filter(quantity_available__gt=0)
        .order_by("category", "name", "id")
    )


def transfer_get(*, stores: QuerySet[Store], transfer_id: int) -> IncomingTransfer | None:
    """A transfer of a reached store with its lines and discrepancies, or None."""
    return (
        IncomingTransfer.objects.filter(store__in=stores, pk=transfer_id)
        .prefetch_related(
            Prefetch("lines", queryset=TransferLine.objects.select_related("product").order_by("id")),
            "discrepancies__line",
        )
        .first()
    )


def transfer_line_get(*, transfer: IncomingTransfer, line_id: int) -> TransferLine | None:
    return TransferLine.objects.filter(transfer=transfer, pk=line_id).select_related("transfer").first()
