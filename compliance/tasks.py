"""Celery discovers each app's `tasks` module; compliance's tasks live with the reporting they run."""

from compliance.reporting.tasks import sync_alert_overdue_task, sync_send_due_task, sync_send_store_task

__all__ = ["sync_alert_overdue_task", "sync_send_due_task", "sync_send_store_task"]
