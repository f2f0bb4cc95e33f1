"""runserver that, in the embedded default (no Celery broker), also runs the outbox sweeper in a thread, so
failed deliveries are retried and lost dispatches recovered just as Celery beat does in production."""

import logging
import threading

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver
from django.db import close_old_connections

logger = logging.getLogger(__name__)


def _sweep_forever(stop: threading.Event) -> None:
    from dispensary.events import outbox_sweep

    interval = settings.OUTBOX["SWEEP_INTERVAL_SECONDS"]
    while not stop.wait(interval):
        close_old_connections()
        try:
            outbox_sweep()
        except Exception:  # noqa: BLE001 - keep sweeping; the next round tries again
            logger.exception("Outbox sweep failed")
        finally:
            close_old_connections()


class Command(StaticfilesRunserver):
    def inner_run(self, *args, **options):
        if not settings.CELERY_BROKER_URL:
            stop = threading.Event()
            threading.Thread(target=_sweep_forever, args=(stop,), name="outbox-sweeper", daemon=True).start()
            self.stdout.write("Outbox sweeper running in process (no CELERY_BROKER_URL).")
        super().inner_run(*args, **options)
