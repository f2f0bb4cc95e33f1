"""The outbox's events that API clients may subscribe to, handed to the core's webhook deliveries. Here on the
top floor because only it may import every app's events."""

from delivery.events import OrderDelivered
from dispensary import events
from dispensary.event_types import CustomerCreated
from dispensary.webhooks import webhook_deliveries_create
from pos.events import PointsEarned, SaleCompleted


@events.handles(CustomerCreated, SaleCompleted, OrderDelivered, PointsEarned)
def on_webhook_event(event: events.Event) -> None:
    """Idempotent: a second run for the same event finds its deliveries made."""
    event_id = events.delivering_event_uuid()
    if event_id is None:
        return
    webhook_deliveries_create(
        event_type=event.name,
        event_id=event_id,
        payload=event.to_payload(),
        organization_id=event.organization_id,
    )
