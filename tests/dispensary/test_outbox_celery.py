"""The outbox through a real Redis broker and a real Celery worker process: the properties of test_outbox.py,
with every handler run by the worker (its processes write the effects) rather than by this test process.

Runs when TEST_CELERY_BROKER_URL is set and the database is PostgreSQL (the worker must see the test database).
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection, transaction
from django.test import override_settings

from dispensary import events
from dispensary.celery import app as celery_app
from dispensary.models import AuditRecord, EventDelivery, OutboxEvent
from tests.dispensary.outbox_handlers import ProbePublished, effects

pytestmark = [pytest.mark.celery_live, pytest.mark.django_db(transaction=True)]

RECORD = "tests.dispensary.outbox_handlers.on_probe_published_record"
FLAKY = "tests.dispensary.outbox_handlers.on_probe_published_flaky"
REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0


def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> object:
    """Poll until condition() is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def database_url_of_test_database() -> str:
    """The URL of the database pytest-django created, for the worker (which reads DATABASE_URL)."""
    config = connection.settings_dict
    host = config["HOST"] or "localhost"
    return (
        f"postgres://{quote(config['USER'] or '', safe='')}:{quote(config['PASSWORD'] or '', safe='')}"
        f"@{quote(host, safe='')}:{config['PORT'] or 5432}/{quote(config['NAME'], safe='')}"
    )


def reset_broker_connections() -> None:
    # The app caches its connection pools; drop them so the next publish connects to the broker now configured.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class LiveWorker:
    def __init__(self, name: str, process: subprocess.Popen, log_path: Path, broker_url: str):
        self.name = name
        self.process = process
        self.log_path = log_path
        self.broker = redis.Redis.from_url(broker_url)

    def inspect(self):
        # Addressed to this worker and done at its first reply, rather than waiting out the timeout.
        return celery_app.control.inspect(destination=[self.name], limit=1, timeout=5.0)

    def ping(self) -> bool:
        return bool(celery_app.control.ping(destination=[self.name], limit=1, timeout=1.0))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def process_ids(self) -> set[int]:
        """The worker's main process and its pool processes, as the worker reports them."""
        stats = self.inspect().stats() or {}
        ids = set()
        for worker in stats.values():
            ids.add(worker["pid"])
            ids.update(worker["pool"]["processes"])
        return ids

    def is_idle(self) -> bool:
        """No message waits in the queue and the worker holds none (neither running nor prefetched)."""
        if self.broker.llen("celery"):
            return False
        inspect = self.inspect()
        active, reserved = inspect.active(), inspect.reserved()
        if active is None or reserved is None:
            return False
        return not any(active.values()) and not any(reserved.values()) and not self.broker.llen("celery")

    def wait_idle(self) -> None:
        # Twice in a row: a message could be between the queue and the worker at the first look.
        wait_for(lambda: self.is_idle() and self.is_idle(), "the worker to finish every task")


@pytest.fixture(scope="module")
def live_worker(django_db_setup, django_db_blocker) -> Iterator[LiveWorker]:
    broker_url = os.environ["TEST_CELERY_BROKER_URL"]
    previous_broker_url = celery_app.conf.broker_url
    celery_app.conf.broker_url = broker_url
    reset_broker_connections()
    # Messages left by an earlier, interrupted run would refer to rows of another test database.
    celery_app.control.purge()

    name = f"outbox-tests-{os.getpid()}@localhost"
    log_file = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    environment = {
        **os.environ,
        "DATABASE_URL": database_url_of_test_database(),
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_SETTINGS_MODULE": "dispensary.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dispensary",
            "worker",
            "--concurrency=2",
            "--pool=prefork",
            "--include=tests.dispensary.outbox_handlers",
            f"--hostname={name}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=REPO_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    worker = LiveWorker(name, process, log_path, broker_url)
    try:
        deadline = time.monotonic() + 60
        while not worker.ping():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not start (exit {process.poll()}):\n{worker.log()}")
        with override_settings(CELERY_BROKER_URL=broker_url):
            yield worker
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown: finish running tasks, then exit
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        celery_app.conf.broker_url = previous_broker_url
        reset_broker_connections()
        log_path.unlink(missing_ok=True)


def delivery_state(delivery_id: int) -> tuple[str, int]:
    return tuple(EventDelivery.objects.filter(pk=delivery_id).values_list("status", "attempts").get())


def wait_succeeded(*deliveries: EventDelivery) -> None:
    ids = [delivery.pk for delivery in deliveries]
    wait_for(
        lambda: (
            EventDelivery.objects.filter(pk__in=ids, status=EventDelivery.Status.SUCCEEDED).count()
            == len(ids)
        ),
        f"deliveries {ids} to succeed",
    )


def publish_probe(marker: str, fail_times: int = 0) -> OutboxEvent:
    with transaction.atomic():
        return events.publish(ProbePublished(marker=marker, fail_times=fail_times))


def test_rolled_back_transaction_publishes_nothing(live_worker):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        events.publish(ProbePublished(marker="rolled-back"))
        raise Boom
    assert live_worker.broker.llen("celery") == 0
    # An event committed afterwards is delivered; by then the worker has nothing else to do.
    later = publish_probe("after-rollback")
    wait_succeeded(*later.deliveries.all())
    live_worker.wait_idle()
    assert OutboxEvent.objects.filter(payload__marker="rolled-back").count() == 0
    assert effects("probe.recorded", "rolled-back") == 0
    assert effects("probe.flaky_succeeded", "rolled-back") == 0
    assert effects("probe.recorded", "after-rollback") == 1


def test_committed_event_is_delivered_once_to_each_handler_by_the_worker(live_worker):
    # The overridden broker reached the app: dispatch() publishes to Redis, not in this process.
    assert celery_app.connection_for_write().as_uri().startswith("redis://")
    row = publish_probe("committed")
    deliveries = {delivery.handler: delivery for delivery in row.deliveries.all()}
    assert set(deliveries) == {RECORD, FLAKY}
    wait_succeeded(*deliveries.values())
    live_worker.wait_idle()
    assert {delivery_state(delivery.pk) for delivery in deliveries.values()} == {("succeeded", 1)}
    assert effects("probe.recorded", "committed") == 1
    assert effects("probe.flaky_succeeded", "committed") == 1
    # Written by the worker's processes, not by this one.
    worker_pids = live_worker.process_ids()
    for label in AuditRecord.objects.filter(object_id="committed").values_list("actor_label", flat=True):
        assert label != f"pid:{os.getpid()}"
        assert int(label.removeprefix("pid:")) in worker_pids


def test_failing_handler_is_retried_by_the_worker_while_the_other_completes(live_worker):
    row = publish_probe("flaky", fail_times=2)
    record = row.deliveries.get(handler=RECORD)
    flaky = row.deliveries.get(handler=FLAKY)
    wait_succeeded(record)
    wait_for(lambda: delivery_state(flaky.pk) == ("pending", 1), "the first failed attempt")
    flaky.refresh_from_db()
    assert "flaky handler failing on attempt 1" in flaky.last_error
    assert effects("probe.flaky_partial_write", "flaky") == 0

    # Not yet due: the sweeper sends nothing.
    assert events.outbox_sweep(now=flaky.next_attempt_at - dt.timedelta(seconds=1)) == 0
    # Due: the sweeper sends it to the worker, where it fails a second time, then succeeds on the third.
    for attempt, expected in [(2, ("pending", 2)), (3, ("succeeded", 3))]:
        flaky.refresh_from_db()
        assert events.outbox_sweep(now=flaky.next_attempt_at) == 1
        wait_for(lambda expected=expected: delivery_state(flaky.pk) == expected, f"attempt {attempt}")
    live_worker.wait_idle()

    flaky.refresh_from_db()
    assert flaky.succeeded_at is not None
    assert effects("probe.flaky_succeeded", "flaky") == 1
    assert effects("probe.flaky_partial_write", "flaky") == 0
    # The other handler ran exactly once throughout.
    assert effects("probe.recorded", "flaky") == 1
    assert delivery_state(record.pk) == ("succeeded", 1)
    assert AuditRecord.objects.filter(object_id="flaky", actor_label=f"pid:{os.getpid()}").count() == 0


def test_duplicate_dispatch_of_one_delivery_has_one_effect(live_worker):
    row = publish_probe("duplicate")
    record = row.deliveries.get(handler=RECORD)
    # Three more messages for the same delivery, racing the first on the worker's two processes.
    events.dispatch([record.pk, record.pk, record.pk])
    wait_succeeded(*row.deliveries.all())
    live_worker.wait_idle()
    assert effects("probe.recorded", "duplicate") == 1
    assert delivery_state(record.pk) == ("succeeded", 1)
    # And once more after it succeeded: still one effect.
    events.dispatch([record.pk])
    live_worker.wait_idle()
    assert effects("probe.recorded", "duplicate") == 1
    assert delivery_state(record.pk) == ("succeeded", 1)
