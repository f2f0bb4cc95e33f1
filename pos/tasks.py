"""Thin Celery entry points of the point of sale: call the service."""

from celery import shared_task

from pos.services.loyalty import loyalty_points_expire


@shared_task(name="pos.tasks.loyalty_points_expire_task", ignore_result=True)
def loyalty_points_expire_task() -> int:
    return loyalty_points_expire()
