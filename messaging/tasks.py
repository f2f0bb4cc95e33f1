"""Thin Celery entry points of messaging: load by id, call the service."""

from celery import shared_task

from messaging.alerts import deliverability_alerts_raise
from messaging.campaigns import campaigns_send_due
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


@shared_task(name="messaging.tasks.campaigns_send_due_task", ignore_result=True)
def campaigns_send_due_task() -> int:
    return campaigns_send_due()
