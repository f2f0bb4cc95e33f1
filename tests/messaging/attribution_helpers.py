"""Helpers of the attribution tests: a marketing message to a customer, its personal coupon, a sale through the
real checkout, and the attribution handlers delivered as the outbox would."""

import datetime as dt
import itertools
from decimal import Decimal as D

from dispensary import events
from dispensary.models import EventDelivery
from messaging.models import Category, MessageStatusEvent, OutboundMessage
from pos.models import Promotion, Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.coupons import coupon_issue_personal
from tests.pos.sale_helpers import checkout

NOON = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)  # a Tuesday, noon in California
_keys = itertools.count(1)
HANDLERS = "messaging.attribution_handlers."


def marketing_message(store, customer, *, at=NOON, status="delivered", category=Category.MARKETING):
    message = OutboundMessage.objects.create(
        organization=store.organization,
        store=store,
        customer=customer,
        channel="sms",
        category=category,
        purpose="campaign",
        topic="offers",
        to=customer.phone or "+14155550134",
        body="Ten off this week",
        status=status,
    )
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=at, sent_at=at)
    message.refresh_from_db()
    return message


def click(message, at):
    return MessageStatusEvent.objects.create(message=message, status="clicked", source="link", occurred_at=at)


def ten_off(store):
    return Promotion.objects.create(organization=store.organization, name="Ten off", kind="percent", value=10)


def personal_coupon(store, customer, message, **extra):
    return coupon_issue_personal(
        promotion=extra.pop("promotion", None) or ten_off(store),
        customer_id=customer.pk,
        message_key=str(message.key),
        **extra,
    )


def sell(ctx, customer, *, coupon_codes=(), quantity="2", verification=None):
    return checkout(
        store=ctx["store"],
        register=ctx["register"],
        staff=ctx["budtender"],
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(ctx["product"].pk, D(quantity), package_id=ctx["package"].pk)],
        tenders=[TenderInput("cash", D("200"))],
        idempotency_key=f"attr-{next(_keys)}",
        id_verification=verification or ctx["adult_id"](customer),
        coupon_codes=coupon_codes,
    )


def deliver(*event_names: str) -> int:
    """Deliver the pending attribution handlers of these events; how many ran."""
    pending = EventDelivery.objects.filter(
        event__name__in=event_names, handler__startswith=HANDLERS, status=EventDelivery.Status.PENDING
    ).order_by("pk")
    ran = 0
    for delivery in pending:
        events.deliver(delivery.pk)
        ran += 1
    return ran


def redeliver(*event_names: str) -> int:
    EventDelivery.objects.filter(event__name__in=event_names, handler__startswith=HANDLERS).update(
        status=EventDelivery.Status.PENDING
    )
    return deliver(*event_names)


def bare_sale(store, register, staff, customer, subtotal, discount="0.00", *, voided=False, at=NOON):
    number = next(_keys)
    return Sale.objects.create(
        store=store,
        register=register,
        customer=customer,
        customer_type="adult_use",
        staff=staff,
        local_date=at.astimezone(store.tz).date(),
        completed_at=at,
        receipt_number=f"R-{number}",
        idempotency_key=f"results-{number}",
        subtotal=D(subtotal),
        discount_total=D(discount),
        total=D(subtotal) - D(discount),
        status=Sale.Status.VOIDED if voided else Sale.Status.COMPLETED,
    )
