"""Thin Celery entry points of messaging: load by id, call the service."""

from celery import shared_task

from messaging.alerts import deliverability_alerts_raise
from messaging.campaigns import campaigns_send_due
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


@shared_task(name="messaging.tasks.klaviyo_backfill_task", ignore_result=True)
def klaviyo_backfill_task(backfill_id: int) -> None:
    from messaging.klaviyo_backfill import BackfillStopped, klaviyo_backfill_run

    try:
        klaviyo_backfill_run(backfill_id=backfill_id)
    except BackfillStopped:
        pass  # the reason is on the backfill row, shown on the settings page


@shared_task(name="messaging.tasks.flows_run_due_task", ignore_result=True)
def flows_run_due_task() -> int:
    from messaging.flows import flows_run_due

    return flows_run_due()


@shared_task(name="messaging.tasks.flows_dates_enrol_task", ignore_result=True)
def flows_dates_enrol_task() -> int:
    from messaging.flows import flows_dates_enrol

    return flows_dates_enrol()


@shared_task(name="messaging.tasks.loyalty_pull_task", ignore_result=True)
def loyalty_pull_task() -> int:
    return loyalty_pull_all()


@shared_task(name="messaging.tasks.segments_refresh_task", ignore_result=True)
def segments_refresh_task() -> int:
    """Metrics for customers who have none yet, RFM scores again for everyone, then every saved segment
    judged in full (time-relative conditions, consent)."""
    from messaging.metrics import metrics_rebuild, metrics_rfm_refresh
    from messaging.models import CustomerMetrics
    from messaging.segment_members import segments_refresh

    metrics_rebuild(missing_only=True)
    for organization_id in CustomerMetrics.objects.values_list("organization_id", flat=True).distinct():
        metrics_rfm_refresh(organization_id=organization_id)
    return segments_refresh()


@shared_task(name="messaging.tasks.campaigns_send_due_task", ignore_result=True)
def campaigns_send_due_task() -> int:
    return campaigns_send_due()
