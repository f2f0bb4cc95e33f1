"""Thin Celery entry points of the point of sale."""

from celery import shared_task

from pos.services.abandoned import cart_abandoned_publish


@shared_task(name="pos.tasks.cart_abandoned_publish_task", ignore_result=True)
def cart_abandoned_publish_task() -> int:
    return cart_abandoned_publish()
