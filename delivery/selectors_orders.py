"""Reads of delivery orders: one order's delivery facts with the order itself, scoped by the caller's stores."""

from django.db.models import Prefetch

from delivery.models import DeliveryOrder
from pos.models import PickupOrderLine


def delivery_order_get(*, stores, order_id: int) -> DeliveryOrder | None:
    """The delivery order whose pos order is `order_id`, at one of `stores` (the caller's reach). Two queries."""
    return (
        DeliveryOrder.objects.filter(order__store__in=stores, order_id=order_id)
        .select_related("order", "order__store", "order__customer", "order__sale", "zone")
        .prefetch_related(
            Prefetch(
                "order__lines",
                queryset=PickupOrderLine.objects.select_related("product", "package").order_by("id"),
            )
        )
        .first()
    )


def phone_order_products(*, store) -> list:
    """Products with stock available at the store (on hand, not allocated), by name: what staff can offer on
    the phone. One query."""
    from django.db.models import F

    from inventory.models import Product

    return list(
        Product.objects.filter(
            organization_id=store.organization_id,
            packages__store=store,
            packages__quantity_on_hand__gt=F("packages__quantity_allocated"),
        )
        .distinct()
        .order_by("name", "id")
        .only("id", "name", "price", "sold_by")[:300]
    )
