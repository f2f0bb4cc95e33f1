"""Thin Celery entry points of the point of sale: each calls its service."""

from celery import shared_task

from pos.services.abandoned import cart_abandoned_publish
from pos.services.loyalty import loyalty_points_expire
from pos.services.pickup import pickup_orders_expire


@shared_task(name="pos.tasks.cart_abandoned_publish_task", ignore_result=True)
def cart_abandoned_publish_task() -> int:
    return cart_abandoned_publish()


@shared_task(name="pos.tasks.loyalty_points_expire_task", ignore_result=True)
def loyalty_points_expire_task() -> int:
    return loyalty_points_expire()


@shared_task(name="pos.tasks.pickup_orders_expire_task", ignore_result=True)
def pickup_orders_expire_task() -> int:
    return pickup_orders_expire()
