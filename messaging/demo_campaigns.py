"""Campaign demo data: one text campaign sent three days ago with an A/B test (B won on clicks) and its results
(delivered, opened, clicked, a few refused by smart sending, sales credited to it), and one email campaign
scheduled for the day after tomorrow at 10:00 in each store's local time. Through the campaign services (the
recipients, keys and origins are the real ones); the outcomes are written as the carriers and the register
would have reported them. Idempotent: a campaign of the same name is left alone."""

import datetime as dt
import random

from django.utils import timezone

from dispensary.clock import store_local_date
from dispensary.models import User
from messaging.campaigns import campaign_save, campaign_schedule, campaigns_send_due
from messaging.models import (
    Campaign,
    MessageConversion,
    MessageStatusEvent,
    OutboundMessage,
    Segment,
)

SEED = 1515
SENT_NAME = "Weekend edibles, 20% off"
SCHEDULED_NAME = "New menu this Friday"
SMART_SENDING = (
    "smart_sending: a marketing text went to this customer shortly before; the next may go 24 h after it."
)


def _segment(organization, name: str, channel: str) -> Segment:
    segment, _ = Segment.objects.get_or_create(
        organization=organization,
        name=name,
        defaults={
            "description": f"Customers who agreed to marketing {'texts' if channel == 'sms' else 'emails'}.",
            "rules": [{"field": f"consent_{channel}", "op": "is", "value": True}],
        },
    )
    return segment


def _outcomes(campaign: Campaign, sent_at: dt.datetime, rng: random.Random) -> None:
    """Delivered mostly, a few refused by smart sending; B's texts clicked more than A's; some sales credited."""
    messages = list(
        OutboundMessage.objects.filter(origin__campaign=campaign).select_related("origin").order_by("pk")
    )
    events, conversions = [], []
    taken = set(MessageConversion.objects.values_list("sale_id", flat=True))
    from pos.models import Sale

    for index, message in enumerate(messages):
        at = sent_at + dt.timedelta(seconds=index)
        if index % 11 == 5:
            message.status, message.gate_reasons, message.status_changed_at = "refused", [SMART_SENDING], at
            events.append(
                MessageStatusEvent(message=message, status="refused", source="gate", occurred_at=at)
            )
            continue
        message.status, message.sent_at, message.status_changed_at = "delivered", at, at
        events.append(MessageStatusEvent(message=message, status="sent", source="provider", occurred_at=at))
        events.append(
            MessageStatusEvent(
                message=message,
                status="delivered",
                source="callback",
                occurred_at=at + dt.timedelta(seconds=5),
            )
        )
        if index % (2 if message.origin.variant == "b" else 4) == 0:  # B is clicked more: it wins
            events.append(
                MessageStatusEvent(
                    message=message,
                    status="clicked",
                    source="webhook",
                    occurred_at=at + dt.timedelta(hours=1),
                )
            )
            sale = (
                Sale.objects.filter(customer_id=message.customer_id, status=Sale.Status.COMPLETED)
                .exclude(pk__in=taken)
                .order_by("-completed_at")
                .first()
            )
            if sale is not None and rng.random() < 0.5:
                taken.add(sale.pk)
                conversions.append(
                    MessageConversion(
                        message=message,
                        sale=sale,
                        customer_id=message.customer_id,
                        kind=MessageConversion.Kind.CLICK,
                        revenue=sale.total,
                        occurred_at=at + dt.timedelta(hours=3),
                    )
                )
    OutboundMessage.objects.bulk_update(messages, ["status", "sent_at", "status_changed_at", "gate_reasons"])
    MessageStatusEvent.objects.bulk_create(events)
    MessageConversion.objects.bulk_create(conversions)


def campaigns_demo(organization, stores: dict, customers: dict) -> int:
    """The two demo campaigns; returns how many were added. `customers` is messaging.demo's people per store
    (the campaigns reach whoever of them agreed, through the segment)."""
    if not stores:
        return 0
    actor = (
        User.objects.filter(username="manager").first() or User.objects.filter(username="budtender").first()
    )
    now = timezone.now()
    added = 0
    rng = random.Random(SEED)
    if not Campaign.objects.filter(organization=organization, name=SENT_NAME).exists():
        started = now - dt.timedelta(days=3)
        campaign = campaign_save(
            organization=organization,
            actor=actor,
            name=SENT_NAME,
            segment=_segment(organization, "Agreed to texts", "sms"),
            channel="sms",
            topic="weekend sale",
            body="{store_name}: {first_name}, 20% off edibles this weekend. 21+ only. {shop_link}",
            variant_b_body="{store_name}: this weekend only, 20% off every edible for you, {first_name}. 21+.",
            test_share=40,
            winner_metric="clicked",
            winner_after_hours=4,
        )
        campaign_schedule(campaign=campaign, actor=actor, now=started)
        campaigns_send_due(started)
        campaign.refresh_from_db()
        _outcomes(campaign, started, rng)
        campaigns_send_due(started + dt.timedelta(hours=4))
        rest = OutboundMessage.objects.filter(origin__campaign=campaign, status="queued")
        campaign.refresh_from_db()
        _outcomes_rest(campaign, rest, started + dt.timedelta(hours=4), rng)
        added += 1
    if not Campaign.objects.filter(organization=organization, name=SCHEDULED_NAME).exists():
        first = next(iter(stores.values()))
        campaign = campaign_save(
            organization=organization,
            actor=actor,
            name=SCHEDULED_NAME,
            segment=_segment(organization, "Agreed to emails", "email"),
            channel="email",
            topic="new menu",
            subject="{store_name}: the new menu is in",
            body="Hi {first_name},\n\nOur new menu arrives on Friday. See it first: {shop_link}",
            send_on=store_local_date(first, at=now) + dt.timedelta(days=2),
            send_at=dt.time(10),
        )
        campaign_schedule(campaign=campaign, actor=actor, now=now)
        added += 1
    return added


def _outcomes_rest(campaign: Campaign, rest, at: dt.datetime, rng: random.Random) -> None:
    """The rest's texts (the winner's words), delivered."""
    ids = set(rest.values_list("pk", flat=True))
    if not ids:
        return
    messages = OutboundMessage.objects.filter(pk__in=ids)
    events = []
    for index, message in enumerate(messages.order_by("pk")):
        moment = at + dt.timedelta(seconds=index)
        events.append(
            MessageStatusEvent(message=message, status="delivered", source="callback", occurred_at=moment)
        )
        if rng.random() < 0.4:
            events.append(
                MessageStatusEvent(
                    message=message,
                    status="clicked",
                    source="webhook",
                    occurred_at=moment + dt.timedelta(hours=1),
                )
            )
    messages.update(status="delivered", sent_at=at, status_changed_at=at)
    MessageStatusEvent.objects.bulk_create(events)
