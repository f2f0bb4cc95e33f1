"""Which message a sale is credited to (issue 15, part 4): the message whose personal coupon the sale redeemed
(kind "code"), else the marketing message whose link the customer last clicked within the attribution window
before the sale (kind "click", MESSAGING_ATTRIBUTION_CLICK_DAYS, 5 by default). One sale, one conversion at most
(the unique sale decides), so a redelivered event changes nothing.

Revenue is what the sale sold before taxes: its subtotal less its discounts, less the net (before taxes) of its
refunds. Taxes are not the store's revenue, and the same figure is used for every conversion and every report."""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from dispensary import events
from messaging.events import MessageEngaged
from messaging.models import Category, MessageConversion, MessageStatusEvent, OutboundMessage
from pos.models import CouponRedemption, Refund, Sale

ZERO = Decimal("0.00")
DEFAULT_CLICK_DAYS = 5


def click_window() -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, "MESSAGING_ATTRIBUTION_CLICK_DAYS", DEFAULT_CLICK_DAYS)))


def sale_revenue(sale: Sale) -> Decimal:
    """Subtotal less discounts less the net of the refunds, never below zero."""
    refunded = Refund.objects.filter(sale_id=sale.pk).aggregate(net=Sum("net_amount"))["net"] or ZERO
    return max(ZERO, (sale.subtotal - sale.discount_total - refunded).quantize(Decimal("0.01")))


def _message_keys(values) -> list[uuid.UUID]:
    keys = []
    for value in values:
        try:
            keys.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return keys


def message_by_code(*, sale: Sale, organization_id: int) -> OutboundMessage | None:
    """The message that carried a coupon this sale redeemed (the redemption's message id, else its coupon's)."""
    rows = (
        CouponRedemption.objects.filter(sale_id=sale.pk, reversed_at__isnull=True)
        .order_by("id")
        .values_list("message_id", "coupon__message_id")
    )
    keys = _message_keys(redeemed or coupon for redeemed, coupon in rows if redeemed or coupon)
    if not keys:
        return None
    found = {
        message.key: message
        for message in OutboundMessage.objects.filter(organization_id=organization_id, key__in=keys)
    }
    return next((found[key] for key in keys if key in found), None)


def message_by_click(*, sale: Sale, organization_id: int) -> OutboundMessage | None:
    """The marketing message to this customer whose link was clicked last, within the window before the sale
    (both ends included)."""
    if sale.customer_id is None:
        return None
    click = (
        MessageStatusEvent.objects.filter(
            status=MessageStatusEvent.Engagement.CLICKED,
            message__organization_id=organization_id,
            message__customer_id=sale.customer_id,
            message__category=Category.MARKETING,
            occurred_at__gte=sale.completed_at - click_window(),
            occurred_at__lte=sale.completed_at,
        )
        .select_related("message")
        .order_by("-occurred_at", "-id")
        .first()
    )
    return click.message if click else None


@transaction.atomic
def conversion_record(*, sale_id: int) -> MessageConversion | None:
    """Credit the sale to a message, once: by code, else by click; None when no message earned it."""
    existing = MessageConversion.objects.filter(sale_id=sale_id).first()
    if existing is not None:
        return existing
    sale = Sale.objects.select_related("store").filter(pk=sale_id).first()
    if sale is None or sale.status == Sale.Status.VOIDED:
        return None
    organization_id = sale.store.organization_id
    kind = MessageConversion.Kind.CODE
    message = message_by_code(sale=sale, organization_id=organization_id)
    if message is None:
        kind = MessageConversion.Kind.CLICK
        message = message_by_click(sale=sale, organization_id=organization_id)
    if message is None:
        return None
    conversion, _ = MessageConversion.objects.get_or_create(
        sale=sale,
        defaults={
            "message": message,
            "customer_id": sale.customer_id,
            "kind": kind,
            "revenue": sale_revenue(sale),
            "occurred_at": sale.completed_at,
        },
    )
    return conversion


@transaction.atomic
def conversion_reverse(*, sale_id: int, at: dt.datetime | None = None) -> int:
    """The sale was voided: its conversion no longer counts (the first void's time is kept)."""
    return MessageConversion.objects.filter(sale_id=sale_id, reversed_at__isnull=True).update(
        reversed_at=at or timezone.now()
    )


@transaction.atomic
def conversion_revenue_update(*, sale_id: int) -> Decimal | None:
    """Some of the sale was refunded: its conversion's revenue is computed again from the sale and its refunds
    (so applying it twice gives the same figure)."""
    conversion = MessageConversion.objects.select_for_update().filter(sale_id=sale_id).first()
    if conversion is None:
        return None
    sale = Sale.objects.get(pk=sale_id)
    revenue = sale_revenue(sale)
    if revenue != conversion.revenue:
        MessageConversion.objects.filter(pk=conversion.pk).update(revenue=revenue)
    return revenue


def engagement_publish(*, message: OutboundMessage, engagement: str, at: dt.datetime) -> None:
    """Tell flows and segments a marketing message was opened or clicked (nothing for other messages)."""
    if message.category != Category.MARKETING:
        return
    events.publish(
        MessageEngaged(
            message_id=message.pk,
            customer_id=message.customer_id,
            organization_id=message.organization_id,
            engagement=engagement,
            occurred_at=at.astimezone(dt.UTC).isoformat(),
        ),
        organization_id=message.organization_id,
    )


@transaction.atomic
def link_click_record(*, message: OutboundMessage, at: dt.datetime, detail: str = "") -> None:
    """A short link of this message was opened: a "clicked" event on its timeline (what results and the click
    window read) and, for a marketing message, MessageEngaged."""
    MessageStatusEvent.objects.create(
        message=message,
        status=MessageStatusEvent.Engagement.CLICKED,
        source="link",
        detail=detail[:500],
        occurred_at=at,
    )
    engagement_publish(message=message, engagement=MessageStatusEvent.Engagement.CLICKED, at=at)
