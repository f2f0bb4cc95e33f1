"""runserver that, in the embedded default (no Celery broker), also runs the periodic schedule in a thread
(the outbox sweeper, purges), so failed deliveries are retried and lost dispatches recovered just as Celery
beat does in production."""

import logging
import threading
import time

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver
from django.db import close_old_connections

logger = logging.getLogger(__name__)


def run_schedule_in_process(stop: threading.Event, *, tick: float = 1.0) -> None:
    """Call each task of dispensary.schedule.BEAT_SCHEDULE in this process at its interval."""
    from dispensary.celery import app
    from dispensary.schedule import BEAT_SCHEDULE

    app.loader.import_default_modules()
    due = {name: time.monotonic() + float(entry["schedule"]) for name, entry in BEAT_SCHEDULE.items()}
    while not stop.wait(tick):
        now = time.monotonic()
        for name, entry in BEAT_SCHEDULE.items():
            if now < due[name]:
                continue
            due[name] = now + float(entry["schedule"])
            close_old_connections()
            try:
                app.tasks[entry["task"]]()
            except Exception:  # noqa: BLE001 - keep the schedule running; the next round tries again
                logger.exception("Periodic task %s failed", name)
            finally:
                close_old_connections()


class Command(StaticfilesRunserver):
    def inner_run(self, *args, **options):
        if not settings.CELERY_BROKER_URL:
            stop = threading.Event()
            threading.Thread(
                target=run_schedule_in_process, args=(stop,), name="periodic-schedule", daemon=True
            ).start()
            self.stdout.write(
                "Periodic schedule (outbox sweeper, purges) running in process: no CELERY_BROKER_URL."
            )
        super().inner_run(*args, **options)
