"""Abandoned baskets: a known customer's cart with lines and no activity for POS_CART_ABANDONED_MINUTES
publishes CartAbandoned once (messaging may follow up). Run every minute by the periodic schedule."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from dispensary.events import publish
from inventory.models import quantity_text
from pos.events import CartAbandoned
from pos.models import Cart, CartLine
from pos.pricing import ZERO, money

BATCH_SIZE = 200


def _estimate(lines) -> Decimal:
    """List price of the lines (an approved override price where there is one), before discounts and taxes."""
    return sum(
        (
            money(
                (line.price_override if line.price_override is not None else line.product.price)
                * line.quantity
            )
            for line in lines
        ),
        ZERO,
    )


def cart_abandoned_publish(*, now: dt.datetime | None = None) -> int:
    """Publish CartAbandoned for each open cart with lines and a customer, idle for the configured minutes
    and not published before; marks it abandoned in the same transaction. Carts locked by a register at
    work are skipped (their next run decides). Returns how many were published."""
    now = now or timezone.now()
    idle_since = now - dt.timedelta(minutes=settings.POS_CART_ABANDONED_MINUTES)
    with transaction.atomic():
        carts = list(
            Cart.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                Exists(CartLine.objects.filter(cart=OuterRef("pk"))),
                status=Cart.Status.OPEN,
                customer__isnull=False,
                abandoned_at__isnull=True,
                updated_at__lte=idle_since,
            )
            .select_related("store")
            .prefetch_related(
                Prefetch("lines", queryset=CartLine.objects.select_related("product").order_by("id"))
            )
            .order_by("pk")[:BATCH_SIZE]
        )
        for cart in carts:
            lines = list(cart.lines.all())
            publish(
                CartAbandoned(
                    cart_id=cart.pk,
                    organization_id=cart.store.organization_id,
                    store_id=cart.store_id,
                    customer_id=cart.customer_id,
                    lines=[
                        {"product_id": line.product_id, "quantity": quantity_text(line.quantity)}
                        for line in lines
                    ],
                    total_estimate=str(_estimate(lines)),
                    last_activity_at=cart.updated_at.astimezone(dt.UTC).isoformat(),
                )
            )
        Cart.objects.filter(pk__in=[cart.pk for cart in carts]).update(abandoned_at=now)
    return len(carts)
