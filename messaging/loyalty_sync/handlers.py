"""Outward sync: the register's events sent to each enabled loyalty vendor of the organization (Alpine IQ,
Springbig). Each runs in its outbox delivery's transaction; a vendor error raises, so the delivery rolls back
and the outbox retries it with backoff (429, 5xx, timeouts), and every write is keyed by our ids, so a retry
after a lost answer does nothing twice (messaging.loyalty_sync.sync)."""

from dispensary.event_types import CustomerCreated, CustomerUpdated
from dispensary.events import handles
from dispensary.models import Customer
from messaging.loyalty_sync import sync
from pos.events import PointsEarned, RewardRedeemed, SaleCompleted, SaleRefunded, SaleVoided


def _each(organization_id: int, action) -> None:
    for settings in sync.settings_active(organization_id):
        with sync.provider_for(settings) as provider:
            action(settings, provider)


@handles(CustomerCreated, CustomerUpdated)
def on_customer_changed(event: CustomerCreated | CustomerUpdated) -> None:
    customer = Customer.objects.filter(pk=event.customer_id, organization_id=event.organization_id).first()
    if customer is None:
        return
    _each(
        event.organization_id,
        lambda settings, provider: sync.member_push(settings=settings, provider=provider, customer=customer),
    )


@handles(SaleCompleted)
def on_sale_completed(event: SaleCompleted) -> None:
    if event.customer_id is None:
        return
    _each(
        event.organization_id,
        lambda settings, provider: sync.sale_push(
            settings=settings, provider=provider, sale_id=event.sale_id
        ),
    )


@handles(SaleVoided)
def on_sale_voided(event: SaleVoided) -> None:
    _each(
        event.organization_id,
        lambda settings, provider: sync.void_push(
            settings=settings, provider=provider, sale_id=event.sale_id
        ),
    )


@handles(SaleRefunded)
def on_sale_refunded(event: SaleRefunded) -> None:
    _each(
        event.organization_id,
        lambda settings, provider: sync.refund_push(
            settings=settings, provider=provider, refund_id=event.refund_id
        ),
    )


@handles(PointsEarned, RewardRedeemed)
def on_points_changed(event: PointsEarned | RewardRedeemed) -> None:
    _each(
        event.organization_id,
        lambda settings, provider: sync.points_push(
            settings=settings, provider=provider, customer_id=event.customer_id
        ),
    )
