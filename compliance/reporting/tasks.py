"""Thin Celery entry points of the sync queue."""

from celery import shared_task

from compliance.reporting import sync


@shared_task(name="compliance.reporting.tasks.sync_send_store_task", ignore_result=True)
def sync_send_store_task(store_id: int) -> dict:
    return sync.sync_send_store(store_id=store_id)


@shared_task(name="compliance.reporting.tasks.sync_send_due_task", ignore_result=True)
def sync_send_due_task() -> int:
    return sync.sync_send_due()


@shared_task(name="compliance.reporting.tasks.sync_alert_overdue_task", ignore_result=True)
def sync_alert_overdue_task() -> int:
    return sync.sync_alert_overdue()
