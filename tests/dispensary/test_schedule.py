import datetime as dt
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from dispensary import events
from dispensary.management.commands.runserver import run_schedule_in_process
from dispensary.models import EventDelivery, IdempotencyKey
from dispensary.schedule import BEAT_SCHEDULE
from dispensary.services import idempotency_key_purge
from tests.dispensary.outbox_handlers import ProbePublished, effects

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_scheduled_task_is_registered():
    from dispensary.celery import app

    app.loader.import_default_modules()
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_idempotency_keys_older_than_the_window_are_purged(settings):
    settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 72
    old = IdempotencyKey.objects.create(principal="user:1", endpoint="POST /x", key="a", request_hash="h")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=73))
    fresh = IdempotencyKey.objects.create(principal="user:1", endpoint="POST /x", key="b", request_hash="h")
    assert idempotency_key_purge() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_in_process_schedule_retries_a_failed_delivery(monkeypatch, settings):
    # The embedded default's runserver thread: a delivery that failed once is retried when its time comes.
    settings.OUTBOX = {**settings.OUTBOX, "BACKOFF_BASE_SECONDS": 0.2, "BACKOFF_MAX_SECONDS": 0.2}
    monkeypatch.setitem(BEAT_SCHEDULE["outbox-sweep"], "schedule", 0.2)
    with transaction.atomic():
        row = events.publish(ProbePublished(marker="scheduled", fail_times=1))
    flaky = row.deliveries.get(handler__endswith="flaky")
    assert flaky.status == EventDelivery.Status.PENDING
    stop = threading.Event()
    thread = threading.Thread(
        target=run_schedule_in_process, args=(stop,), kwargs={"tick": 0.05}, daemon=True
    )
    thread.start()
    try:
        deadline = timezone.now() + dt.timedelta(seconds=10)
        while timezone.now() < deadline:
            flaky.refresh_from_db()
            if flaky.status == EventDelivery.Status.SUCCEEDED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert flaky.status == EventDelivery.Status.SUCCEEDED
    assert effects("probe.flaky_succeeded", "scheduled") == 1
