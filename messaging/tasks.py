"""Thin Celery entry points of messaging: load by id, call the service."""

from celery import shared_task

from messaging.alerts import deliverability_alerts_raise
from messaging.loyalty_sync.sync import loyalty_pull_all
from messaging.queue import queue_drain
from messaging.transactional_handlers import medical_card_notices_queue


@shared_task(name="messaging.tasks.queue_drain_task", ignore_result=True)
def queue_drain_task() -> int:
    return queue_drain()


@shared_task(name="messaging.tasks.medical_card_notices_task", ignore_result=True)
def medical_card_notices_task() -> int:
    return medical_card_notices_queue()


@shared_task(name="messaging.tasks.deliverability_alerts_raise_task", ignore_result=True)
def deliverability_alerts_raise_task() -> int:
    return deliverability_alerts_raise()


@shared_task(name="messaging.tasks.loyalty_pull_task", ignore_result=True)
def loyalty_pull_task() -> int:
    return loyalty_pull_all()
