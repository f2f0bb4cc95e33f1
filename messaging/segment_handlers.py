"""Segments kept current as events arrive: each event about a customer recomputes their metrics
(messaging.metrics) and judges their memberships of the organization's saved segments
(messaging.segment_members), in the delivery's transaction. Both are computed from the source rows, so a
redelivered event changes nothing and publishes no second entry."""

from dispensary.event_types import CustomerCreated, CustomerUpdated, MarketingConsentRecorded
from dispensary.events import handles
from messaging.events import MessageEngaged
from messaging.metrics import customer_metrics_refresh
from messaging.segment_members import customer_segments_update
from pos.events import (
    OrderCancelled,
    OrderPlaced,
    PointsEarned,
    RewardRedeemed,
    SaleCompleted,
    SaleRefunded,
    SaleVoided,
    TierChanged,
)
from pos.models import Sale


def customer_activity(*, customer_id: int | None, organization_id: int, metrics: bool = True) -> None:
    """The metrics, then the memberships, of one customer of the organization (nothing for another's)."""
    if not customer_id:
        return
    if metrics:
        row = customer_metrics_refresh(customer_id=customer_id)
        if row is None or row.organization_id != organization_id:
            return
    customer_segments_update(customer_id=customer_id, organization_id=organization_id)


def _sale_customer(sale_id: int, organization_id: int) -> int | None:
    return (
        Sale.objects.filter(pk=sale_id, store__organization_id=organization_id)
        .values_list("customer_id", flat=True)
        .first()
    )


@handles(SaleCompleted)
def on_sale_completed(event: SaleCompleted) -> None:
    customer_activity(customer_id=event.customer_id, organization_id=event.organization_id)


@handles(SaleVoided)
def on_sale_voided(event: SaleVoided) -> None:
    customer = _sale_customer(event.sale_id, event.organization_id)
    customer_activity(customer_id=customer, organization_id=event.organization_id)


@handles(SaleRefunded)
def on_sale_refunded(event: SaleRefunded) -> None:
    customer = _sale_customer(event.sale_id, event.organization_id)
    customer_activity(customer_id=customer, organization_id=event.organization_id)


@handles(PointsEarned, TierChanged, RewardRedeemed)
def on_loyalty_changed(event: PointsEarned | TierChanged | RewardRedeemed) -> None:
    customer_activity(customer_id=event.customer_id, organization_id=event.organization_id)


@handles(CustomerCreated, CustomerUpdated)
def on_customer_changed(event: CustomerCreated | CustomerUpdated) -> None:
    customer_activity(customer_id=event.customer_id, organization_id=event.organization_id)


@handles(MessageEngaged)
def on_message_engaged(event: MessageEngaged) -> None:
    customer_activity(customer_id=event.customer_id, organization_id=event.organization_id)


@handles(OrderPlaced, OrderCancelled)
def on_order_changed(event: OrderPlaced | OrderCancelled) -> None:
    """Delivery zones are read from the orders: memberships only, the metrics count sales."""
    customer_activity(customer_id=event.customer_id, organization_id=event.organization_id, metrics=False)


@handles(MarketingConsentRecorded)
def on_marketing_consent_recorded(event: MarketingConsentRecorded) -> None:
    """Consent conditions read the ledger: memberships only (a STOP leaves "texts allowed" segments at once)."""
    customer_activity(customer_id=event.customer_id, organization_id=event.organization_id, metrics=False)
