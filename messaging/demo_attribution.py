"""Attribution demo data: a welcome flow and a spring campaign (with an A/B test) whose marketing texts reached
the demo's buyers a day before their purchases; personal coupons sent with them, some redeemed; clicks on their
links; and the sales credited to the messages (by code or by click), so the results page has something in every
chart. Written directly (seeded, relative to the demo's sales); loading again adds nothing."""

import datetime as dt
import random

from django.db import transaction

from messaging.attribution import sale_revenue
from messaging.models import (
    Campaign,
    Category,
    Flow,
    FlowStep,
    MessageConversion,
    MessageOrigin,
    MessageStatusEvent,
    OutboundMessage,
    Segment,
)
from messaging.retention import retention_key
from pos.models import CouponRedemption, Promotion, Sale
from pos.services.coupons import coupon_issue_personal

SEED = 1515
CAMPAIGN = "Spring edibles (demo)"
SALES = 16


def _setup(organization):
    segment, _ = Segment.objects.get_or_create(
        organization=organization,
        name="Bought in the last 90 days (demo)",
        defaults={"rules": [{"field": "days_since_last_purchase", "op": "lte", "value": 90}]},
    )
    flow = Flow.objects.create(
        organization=organization,
        name="Welcome (demo)",
        status=Flow.Status.LIVE,
        trigger={"type": "event", "event": "pos.sale_completed"},
    )
    step = FlowStep.objects.create(
        flow=flow, kind=FlowStep.Kind.SEND_SMS, name="Thank-you text", config={"body": "Thanks for visiting!"}
    )
    campaign = Campaign.objects.create(
        organization=organization,
        name=CAMPAIGN,
        segment=segment,
        channel="sms",
        topic="spring edibles",
        body="20% off edibles this weekend. 21+ only.",
        variant_b_body="Edibles: 20% off until Sunday. 21+ only.",
        test_share=20,
        status=Campaign.Status.SENT,
    )
    promotion, _ = Promotion.objects.get_or_create(
        organization=organization,
        name="Welcome back 10% (demo)",
        defaults={"kind": "percent", "value": 10},
    )
    return step, campaign, promotion


@transaction.atomic
def attribution_demo(organization, stores, customers=None) -> dict[str, int]:
    """`stores`: the demo's stores (a dict by code, or a list); `customers` is not needed (the buyers are those of
    the demo's sales)."""
    added = {"messages": 0, "coupons": 0, "conversions": 0}
    if Campaign.objects.filter(organization=organization, name=CAMPAIGN).exists():
        return added
    store_list = list(stores.values()) if isinstance(stores, dict) else list(stores)
    sales = list(
        Sale.objects.filter(
            store__in=store_list,
            status=Sale.Status.COMPLETED,
            customer__isnull=False,
            message_conversion__isnull=True,
        )
        .select_related("customer", "store")
        .order_by("-completed_at", "-id")[:SALES]
    )
    if not sales:
        return added
    random.seed(SEED)
    step, campaign, promotion = _setup(organization)
    for index, sale in enumerate(sales):
        customer = sale.customer
        sent_at = sale.completed_at - dt.timedelta(days=1, hours=random.randint(0, 6))
        origin = (
            {"flow": step.flow, "flow_step": step}
            if index % 3 == 0
            else {"campaign": campaign, "variant": "ab"[index % 2] if index < 8 else ""}
        )
        key = retention_key("demo-attribution", sale.pk)
        message = OutboundMessage.objects.create(
            organization=organization,
            store=sale.store,
            customer=customer,
            channel="sms",
            category=Category.MARKETING,
            purpose="flow" if "flow" in origin else "campaign",
            topic="spring edibles",
            key=key,
            to=customer.phone or "+14155550100",
            body=campaign.body,
            status=OutboundMessage.Status.DELIVERED if index % 5 else OutboundMessage.Status.SENT,
        )
        OutboundMessage.objects.filter(pk=message.pk).update(
            created_at=sent_at, sent_at=sent_at, status_changed_at=sent_at
        )
        coupon = None
        if index % 2 == 0:
            coupon = coupon_issue_personal(
                promotion=promotion,
                customer_id=customer.pk,
                message_key=str(key),
                valid_until=sent_at + dt.timedelta(days=14),
            )
            added["coupons"] += 1
        MessageOrigin.objects.create(message=message, coupon=coupon, **origin)
        added["messages"] += 1
        kind = None
        if coupon is not None and index % 4 == 0:
            CouponRedemption.objects.create(
                coupon=coupon,
                sale=sale,
                customer=customer,
                amount=sale.discount_total,
                message_id=str(key),
                redeemed_at=sale.completed_at,
            )
            type(coupon).objects.filter(pk=coupon.pk).update(uses=1)
            kind = MessageConversion.Kind.CODE
        elif index % 3 != 2:
            MessageStatusEvent.objects.create(
                message=message,
                status=MessageStatusEvent.Engagement.CLICKED,
                source="demo",
                occurred_at=sent_at + dt.timedelta(minutes=random.randint(5, 300)),
            )
            kind = MessageConversion.Kind.CLICK
        if kind is not None:
            MessageConversion.objects.create(
                message=message,
                sale=sale,
                customer=customer,
                kind=kind,
                revenue=sale_revenue(sale),
                occurred_at=sale.completed_at,
            )
            added["conversions"] += 1
    return added
