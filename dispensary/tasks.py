"""Thin Celery entry points: load by id, call the service."""

from celery import shared_task

from dispensary import events
from dispensary.services import idempotency_key_purge


@shared_task(name="dispensary.tasks.deliver_event_task", ignore_result=True)
def deliver_event_task(delivery_id: int) -> str:
    return events.deliver(delivery_id).status


@shared_task(name="dispensary.tasks.outbox_sweep_task", ignore_result=True)
def outbox_sweep_task() -> int:
    return events.outbox_sweep()


@shared_task(name="dispensary.tasks.idempotency_key_purge_task", ignore_result=True)
def idempotency_key_purge_task() -> int:
    return idempotency_key_purge()


@shared_task(name="dispensary.tasks.webhook_delivery_send_task", ignore_result=True)
def webhook_delivery_send_task(delivery_id: int) -> str:
    from dispensary.webhooks import webhook_delivery_send

    return webhook_delivery_send(delivery_id=delivery_id)


@shared_task(name="dispensary.tasks.webhook_deliveries_send_due_task", ignore_result=True)
def webhook_deliveries_send_due_task() -> int:
    from dispensary.webhooks import webhook_deliveries_send_due

    return webhook_deliveries_send_due()
