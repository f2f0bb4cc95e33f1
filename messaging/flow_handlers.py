"""The events that put customers in flows or take them out (messaging.flows), and the one outside call a flow
makes, its webhook. Each handler is idempotent: enrolment is unique per flow, customer and trigger key (derived
from the event's facts), so a redelivered event enrols nobody twice; the webhook carries its idempotency key."""

import json
import logging

import httpx
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from delivery.events import OrderDelivered
from dispensary.event_types import CustomerCreated
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Customer
from messaging.events import CustomerEnteredSegment, FlowWebhookRequested
from messaging.flows import (
    customer_spend,
    flows_goal_check,
    flows_trigger,
    sunset_lift,
    webhook_signature,
)
from messaging.models import Flow, FlowStepRun
from pos.events import CartAbandoned, SaleCompleted, TierChanged

logger = logging.getLogger(__name__)


def _event(name: str):
    return lambda trigger: trigger.get("event") == name


@handles(CustomerCreated)
def on_customer_created_flows(event: CustomerCreated) -> None:
    flows_trigger(
        organization_id=event.organization_id,
        customer_id=event.customer_id,
        trigger_type="event",
        trigger_key="created",
        store_id=event.home_store_id,
        accepts=_event("customer.created"),
    )


def _first_purchase(customer_id: int, sale_id: int) -> bool:
    from pos.models import Sale

    sale = Sale.objects.filter(pk=sale_id).values_list("completed_at", flat=True).first()
    earlier = Sale.objects.filter(customer_id=customer_id, status=Sale.Status.COMPLETED).exclude(pk=sale_id)
    return (
        sale is not None
        and not earlier.filter(Q(completed_at__lt=sale) | Q(completed_at=sale, pk__lt=sale_id)).exists()
    )


@handles(SaleCompleted)
def on_sale_completed_flows(event: SaleCompleted) -> None:
    """A purchase: the goal of the customer's flows (they leave them), the end of a win-back's suppression, and
    the trigger of post-purchase, first-purchase and spend-threshold flows."""
    if not event.customer_id:
        return
    from pos.models import Sale

    flows_goal_check(customer_id=event.customer_id, organization_id=event.organization_id)
    customer = Customer.objects.filter(pk=event.customer_id, organization_id=event.organization_id).first()
    if customer is None:
        return
    sunset_lift(customer=customer, reason=f"Bought again (sale {event.sale_id}).")
    first = None

    def accepts(trigger: dict) -> bool:
        nonlocal first
        if trigger.get("event") != "pos.sale_completed":
            return False
        if trigger.get("first_purchase"):
            if first is None:
                first = _first_purchase(event.customer_id, event.sale_id)
            return first
        return True

    context = {"sale_id": event.sale_id, "receipt_number": event.receipt_number}
    flows_trigger(
        organization_id=event.organization_id,
        customer_id=event.customer_id,
        trigger_type="event",
        trigger_key=f"sale:{event.sale_id}",
        store_id=event.store_id,
        context=context,
        accepts=accepts,
    )
    spend_flows = [
        flow
        for flow in Flow.objects.filter(organization_id=event.organization_id, status=Flow.Status.LIVE)
        if isinstance(flow.trigger, dict) and flow.trigger.get("type") == "spend"
    ]
    if not spend_flows:
        return
    spend = customer_spend(event.customer_id)
    sale_total = Sale.objects.filter(pk=event.sale_id).values_list("total", flat=True).first() or 0
    for flow in spend_flows:
        amount = flow.trigger.get("amount")
        threshold = type(spend)(str(amount))
        if spend - sale_total < threshold <= spend:
            flows_trigger(
                organization_id=event.organization_id,
                customer_id=event.customer_id,
                trigger_type="spend",
                trigger_key=f"spend:{threshold}",
                store_id=event.store_id,
                context={"spend": f"{spend:.2f}", **context},
                accepts=lambda trigger, amount=amount: trigger.get("amount") == amount,
            )


@handles(CartAbandoned)
def on_cart_abandoned_flows(event: CartAbandoned) -> None:
    flows_trigger(
        organization_id=event.organization_id,
        customer_id=event.customer_id,
        trigger_type="event",
        trigger_key=f"cart:{event.cart_id}:{event.last_activity_at}"[:80],
        store_id=event.store_id,
        context={"cart_id": event.cart_id, "cart_total": event.total_estimate},
        accepts=_event("pos.cart_abandoned"),
    )


@handles(OrderDelivered)
def on_order_delivered_flows(event: OrderDelivered) -> None:
    if not event.customer_id:
        return
    flows_trigger(
        organization_id=event.organization_id,
        customer_id=event.customer_id,
        trigger_type="event",
        trigger_key=f"order:{event.order_id}",
        store_id=event.store_id,
        context={"order_id": event.order_id, "sale_id": event.sale_id},
        accepts=_event("delivery.order_delivered"),
    )


@handles(TierChanged)
def on_tier_changed_flows(event: TierChanged) -> None:
    """A higher tier (reaching the tier the flow names, or any higher tier when it names none)."""
    from pos.models import LoyaltyTier

    if not event.to_tier:
        return
    spends = dict(
        LoyaltyTier.objects.filter(
            organization_id=event.organization_id, name__in=[n for n in (event.from_tier, event.to_tier) if n]
        ).values_list("name", "min_spend")
    )
    if (
        event.from_tier in spends
        and event.to_tier in spends
        and spends[event.to_tier] <= spends[event.from_tier]
    ):
        return
    flows_trigger(
        organization_id=event.organization_id,
        customer_id=event.customer_id,
        trigger_type="event",
        trigger_key=f"tier:{event.to_tier}:{delivering_event_uuid() or ''}"[:80],
        context={"tier": event.to_tier},
        accepts=lambda trigger: (
            trigger.get("event") == "pos.tier_changed" and trigger.get("tier", "") in ("", event.to_tier)
        ),
    )


@handles(CustomerEnteredSegment)
def on_customer_entered_segment_flows(event: CustomerEnteredSegment) -> None:
    flows_trigger(
        organization_id=event.organization_id,
        customer_id=event.customer_id,
        trigger_type="segment",
        trigger_key=f"segment:{event.segment_id}:{event.entered_at}"[:80],
        context={"segment_id": event.segment_id},
        accepts=lambda trigger: str(trigger.get("segment")) == str(event.segment_id),
    )


# --- The webhook ------------------------------------------------------------------------------------------


class WebhookFailed(Exception):
    """The receiver did not accept the post: the outbox retries it (with the same idempotency key)."""


def webhook_body(event: FlowWebhookRequested) -> bytes:
    customer = Customer.objects.filter(pk=event.customer_id).first()
    flow = Flow.objects.filter(pk=event.flow_id).values_list("name", flat=True).first()
    payload = {
        "id": event.key,
        "type": "flow.step",
        "occurred_at": event.occurred_at,
        "flow": {"id": event.flow_id, "name": flow or "", "step_id": event.step_id},
        "customer": {
            "id": event.customer_id,
            "first_name": customer.first_name if customer else "",
            "last_name": customer.last_name if customer else "",
            "email": customer.email if customer else "",
            "phone": customer.phone if customer else "",
        },
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


@handles(FlowWebhookRequested)
def on_flow_webhook_requested(event: FlowWebhookRequested) -> None:
    """POST the step's JSON, signed (X-Signature: sha256=HMAC of the body), with the Idempotency-Key header.
    A 2xx marks the step's run "posted" (a later redelivery posts nothing); anything else raises, and the outbox
    retries with backoff. A receiver that got the post but whose answer was lost sees the same key again."""
    run = (
        FlowStepRun.objects.select_for_update(of=("self",))
        .filter(enrollment_id=event.enrollment_id, step_id=event.step_id)
        .first()
    )
    if run is not None and run.outcome == "posted":
        return
    body = webhook_body(event)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": event.key,
        "X-Signature": f"sha256={webhook_signature(body)}",
        "User-Agent": "dispensary-flows/1",
    }
    timeout = settings.MESSAGING_FLOW_WEBHOOK_TIMEOUT_SECONDS
    try:
        response = httpx.post(event.url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        raise WebhookFailed(f"The webhook at {event.url} did not answer: {error}") from error
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"The webhook at {event.url} answered {response.status_code}.")
    if run is not None:
        run.outcome = "posted"
        run.detail = f"Posted: {response.status_code} at {timezone.now():%Y-%m-%d %H:%M} UTC"
        run.save(update_fields=["outcome", "detail"])
