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
