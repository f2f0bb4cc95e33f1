"""The order events (pos.events.OrderPlaced, OrderConfirmed, OrderReady, OrderCancelled) built from an order as it stands,
published through the outbox in the caller's transaction. A delivery order's facts are read through the order's
`delivery` row (delivery.DeliveryOrder, one to one) when it has one."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist

from dispensary.events import publish
from dispensary.models import ApiClient
from inventory.models import quantity_text
from pos.events import OrderCancelled, OrderConfirmed, OrderPlaced, OrderReady
from pos.models import PickupOrder

CANCELLED_BY_CUSTOMER, CANCELLED_BY_STAFF, CANCELLED_EXPIRED = "customer", "staff", "expired"


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else ""


def order_facts(order: PickupOrder) -> dict:
    """The fields of OrderFacts for this order (two queries: its lines with their products, its delivery)."""
    lines: dict[int, dict] = {}
    for line in order.lines.select_related("product").order_by("pk"):
        entry = lines.setdefault(
            line.product_id,
            {
                "product_id": line.product_id,
                "product_name": line.product.name,
                "quantity": Decimal("0"),
                "unit": line.product.sold_by,
            },
        )
        entry["quantity"] += line.quantity
    for entry in lines.values():
        entry["quantity"] = quantity_text(entry["quantity"])
    try:
        delivery = order.delivery
    except ObjectDoesNotExist:
        delivery = None
    fee = delivery.fee if delivery is not None else Decimal("0.00")
    facts = {
        "order_id": order.pk,
        "organization_id": order.store.organization_id,
        "store_id": order.store_id,
        "customer_id": order.customer_id,
        "customer_type": order.customer_type,
        "fulfilment": order.fulfilment,
        "channel": order.channel,
        "status": order.status,
        "placed_at": _utc(order.placed_at),
        "expires_at": _utc(order.expires_at),
        "estimated_total": f"{order.estimated_total:.2f}",
        "delivery_fee": f"{fee:.2f}",
        "total": f"{order.estimated_total + fee:.2f}",
        "lines": list(lines.values()),
        "pickup_after": _utc(order.pickup_after) if delivery is None else "",
    }
    if delivery is not None:
        facts.update(
            window_start=_utc(delivery.window_start),
            window_end=_utc(delivery.window_end),
            zone_id=delivery.zone_id,
            zone_name=delivery.zone.name,
            estimated_minutes=delivery.estimated_minutes,
            address_text=delivery.address_text,
        )
    return facts


def order_placed_publish(order: PickupOrder) -> None:
    """OrderPlaced then OrderConfirmed: every order the rules let in is confirmed at placing (its packages are
    allocated in the same transaction), see OrderConfirmed."""
    facts = order_facts(order)
    publish(OrderPlaced(**facts), organization_id=facts["organization_id"])
    publish(
        OrderConfirmed(**facts, confirmed_at=facts["placed_at"]), organization_id=facts["organization_id"]
    )


def cancelled_by(actor) -> str:
    """Who cancelled: an API client cancels on the customer's behalf, anyone else signed in is staff."""
    return CANCELLED_BY_CUSTOMER if isinstance(actor, ApiClient) else CANCELLED_BY_STAFF


def order_cancelled_publish(order: PickupOrder, *, reason: str, reason_text: str, at: dt.datetime) -> None:
    facts = order_facts(order)
    publish(
        OrderCancelled(**facts, cancelled_at=_utc(at), reason=reason, reason_text=reason_text[:500]),
        organization_id=facts["organization_id"],
    )


def order_ready_publish(order: PickupOrder, *, at: dt.datetime) -> None:
    facts = order_facts(order)
    publish(OrderReady(**facts, ready_at=_utc(at)), organization_id=facts["organization_id"])
