"""Thin Celery entry points: load by id, call the service."""

from celery import shared_task

from dispensary import events


@shared_task(name="dispensary.tasks.deliver_event_task", ignore_result=True)
def deliver_event_task(delivery_id: int) -> str:
    return events.deliver(delivery_id).status


@shared_task(name="dispensary.tasks.outbox_sweep_task", ignore_result=True)
def outbox_sweep_task() -> int:
    return events.outbox_sweep()
