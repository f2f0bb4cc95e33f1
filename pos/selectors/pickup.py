"""Reads of pickup orders: lists and details for the API and the staff page, and a customer's reserved
orders as purchases the limit engine counts."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet

from compliance.rules import CartLine, Purchase
from dispensary.clock import store_local_day_bounds
from dispensary.models import Customer, Store
from inventory.models import ProductLimitAmount
from pos.models import Fulfilment, PickupOrder, PickupOrderLine

OPEN_STATUSES = (PickupOrder.Status.RESERVED, PickupOrder.Status.CHECKED_IN)


def pickup_reserved_purchases(
    *, customer: Customer, at: dt.datetime, exclude_order_id: int | None = None
) -> list[Purchase]:
    """The customer's open pickup orders as purchases made `at` (they will be bought, and must not leave room
    for a second order over the limit). Two queries."""
    lines = (
        PickupOrderLine.objects.filter(order__customer=customer, order__status__in=OPEN_STATUSES)
        .exclude(order_id=exclude_order_id)
        .select_related("order")
        .prefetch_related(
            Prefetch("product__limit_amounts", queryset=ProductLimitAmount.objects.order_by("id"))
        )
        .only("quantity", "order__customer_type", "product__id")
        .order_by("order_id", "id")
    )
    by_order: dict[int, tuple[str, list[CartLine]]] = {}
    for line in lines:
        _, cart = by_order.setdefault(line.order_id, (line.order.customer_type, []))
        amounts = {
            row.bucket: row.amount * Decimal(line.quantity) for row in line.product.limit_amounts.all()
        }
        cart.append(CartLine(amounts=amounts))
    return [
        Purchase(at=at, lines=tuple(cart), customer_type=customer_type)
        for customer_type, cart in by_order.values()
    ]


def _with_details(queryset: QuerySet[PickupOrder]) -> QuerySet[PickupOrder]:
    return queryset.select_related("store", "customer", "sale").prefetch_related(
        Prefetch(
            "lines",
            queryset=PickupOrderLine.objects.select_related("product", "package").order_by("id"),
        )
    )


def pickup_order_list(
    *, stores: Iterable[Store] | QuerySet[Store], filters: dict | None = None
) -> QuerySet[PickupOrder]:
    """Pickup orders at `stores` (the caller's reach), newest first. filters: store (id), customer (id),
    status."""
    filters = filters or {}
    queryset = PickupOrder.objects.filter(store__in=stores)
    if filters.get("store") is not None:
        queryset = queryset.filter(store_id=filters["store"])
    if filters.get("customer") is not None:
        queryset = queryset.filter(customer_id=filters["customer"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    return _with_details(queryset).order_by("-placed_at", "-id")


def pickup_order_get(*, stores, order_id: int) -> PickupOrder | None:
    return _with_details(PickupOrder.objects.filter(store__in=stores, pk=order_id)).first()


def pickup_orders_for_day(*, store: Store, day: dt.date) -> QuerySet[PickupOrder]:
    """What the counter has to prepare or has handled on the store's local `day`: pickup orders placed or due
    that day, and every pickup order still open, soonest to expire first (delivery orders leave by car)."""
    start, end = store_local_day_bounds(store, day)
    due = Q(pickup_after__gte=start, pickup_after__lt=end)
    placed = Q(placed_at__gte=start, placed_at__lt=end)
    queryset = PickupOrder.objects.filter(store=store, fulfilment=Fulfilment.PICKUP).filter(
        due | placed | Q(status__in=OPEN_STATUSES)
    )
    return _with_details(queryset).order_by("expires_at", "id")
