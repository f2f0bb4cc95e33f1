"""Every periodic job of the platform, in one place (Celery beat in production; the in-process sweeper
thread of `runserver` in the embedded default)."""

from django.conf import settings

BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "dispensary.tasks.outbox_sweep_task",
        "schedule": settings.OUTBOX["SWEEP_INTERVAL_SECONDS"],
    },
    "idempotency-key-purge": {
        "task": "dispensary.tasks.idempotency_key_purge_task",
        "schedule": 3600,
    },
}
