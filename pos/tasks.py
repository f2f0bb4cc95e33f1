"""Thin Celery entry points of the point of sale: load by id, call the service."""

from celery import shared_task

from pos.services.pickup import pickup_orders_expire


@shared_task(name="pos.tasks.pickup_orders_expire_task", ignore_result=True)
def pickup_orders_expire_task() -> int:
    return pickup_orders_expire()
