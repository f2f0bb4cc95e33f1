"""What only PostgreSQL can show: the audit trigger refuses changes however they are issued, and the outbox
holds under real concurrent connections (threads, each with its own connection and transactions)."""

import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Count

from dispensary import events
from dispensary.models import AuditRecord, EventDelivery, OutboxEvent
from tests.dispensary.outbox_handlers import ProbePublished, effects

pytestmark = pytest.mark.postgres

RECORD = "tests.dispensary.outbox_handlers.on_probe_published_record"


@pytest.fixture
def audit_row(db) -> AuditRecord:
    return AuditRecord.objects.create(
        actor_label="tester", action="customer.created", object_type="customer", object_id="1"
    )


def assert_unchanged(row: AuditRecord) -> None:
    assert AuditRecord.objects.filter(pk=row.pk, action="customer.created", actor_label="tester").count() == 1


def test_audit_trigger_refuses_update_through_raw_sql(audit_row):
    with pytest.raises(DatabaseError, match=r"append-only \(UPDATE refused\)"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE dispensary_auditrecord SET action = 'forged' WHERE id = %s", [audit_row.pk]
            )
    assert_unchanged(audit_row)


def test_audit_trigger_refuses_delete_through_raw_sql(audit_row):
    with pytest.raises(DatabaseError, match=r"append-only \(DELETE refused\)"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM dispensary_auditrecord WHERE id = %s", [audit_row.pk])
    assert_unchanged(audit_row)


def test_audit_trigger_refuses_queryset_update(audit_row):
    # QuerySet.update() bypasses the model's save(), so only the database stands in the way.
    with pytest.raises(DatabaseError, match=r"append-only \(UPDATE refused\)"), transaction.atomic():
        AuditRecord.objects.filter(pk=audit_row.pk).update(action="forged")
    assert_unchanged(audit_row)


def test_audit_trigger_refuses_queryset_delete(audit_row):
    # QuerySet.delete() bypasses the model's delete().
    with pytest.raises(DatabaseError, match=r"append-only \(DELETE refused\)"), transaction.atomic():
        AuditRecord.objects.filter(pk=audit_row.pk).delete()
    assert_unchanged(audit_row)


def run_in_threads(count: int, target) -> list[object]:
    """Run target(index) in `count` threads released together; each closes its own connection at the end.
    Returns what each returned; re-raises the first exception of any thread."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, which re-raises it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish in time"
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_lose_nothing():
    threads, per_thread = 8, 50

    def publish_many(index: int) -> None:
        for number in range(per_thread):
            # One transaction per event; each is delivered in process right after its commit.
            with transaction.atomic():
                events.publish(ProbePublished(marker=f"t{index}-{number}"))

    run_in_threads(threads, publish_many)

    total = threads * per_thread
    assert OutboxEvent.objects.count() == total
    assert EventDelivery.objects.count() == 2 * total
    assert (
        EventDelivery.objects.filter(status=EventDelivery.Status.SUCCEEDED, attempts=1).count() == 2 * total
    )
    for action in ("probe.recorded", "probe.flaky_succeeded"):
        per_marker = dict(
            AuditRecord.objects.filter(action=action).values_list("object_id").annotate(n=Count("id"))
        )
        assert len(per_marker) == total
        assert set(per_marker.values()) == {1}
    expected = {f"t{index}-{number}" for index in range(threads) for number in range(per_thread)}
    assert set(OutboxEvent.objects.values_list("payload__marker", flat=True)) == expected


@dataclass(frozen=True)
class SlowProbePublished(events.Event):
    name = "test.slow_probe_published"
    marker: str


def on_slow_probe_published(event: SlowProbePublished) -> None:
    # Holds the delivery's row lock long enough that the other threads queue up behind it.
    time.sleep(0.3)
    AuditRecord.objects.create(
        actor_label="slow-probe", action="probe.slow_recorded", object_type="probe", object_id=event.marker
    )


@pytest.fixture
def slow_handler():
    events.handles(SlowProbePublished)(on_slow_probe_published)
    yield events.handler_name(on_slow_probe_published)
    events.unregister(on_slow_probe_published)


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_delivery_have_one_effect(slow_handler, monkeypatch):
    # Keep the delivery pending: no dispatch after commit, the threads below are the only deliverers.
    monkeypatch.setattr(events, "dispatch", lambda ids: None)
    with transaction.atomic():
        row = events.publish(SlowProbePublished(marker="contended"))
    delivery = row.deliveries.get(handler=slow_handler)

    outcomes = run_in_threads(6, lambda index: events.deliver(delivery.pk).status)

    assert Counter(outcomes) == {"succeeded": 1, "skipped": 5}
    assert effects("probe.slow_recorded", "contended") == 1
    delivery.refresh_from_db()
    assert delivery.status == EventDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_every_handler_have_one_effect(monkeypatch):
    # The same property for both probe handlers at once, as when workers and the sweeper race on one event.
    monkeypatch.setattr(events, "dispatch", lambda ids: None)
    with transaction.atomic():
        row = events.publish(ProbePublished(marker="raced"))
    monkeypatch.undo()
    ids = list(row.deliveries.values_list("pk", flat=True))

    def deliver_all(index: int) -> list[str]:
        return [events.deliver(delivery_id).status for delivery_id in ids]

    outcomes = Counter(status for statuses in run_in_threads(4, deliver_all) for status in statuses)

    assert outcomes == {"succeeded": 2, "skipped": 6}
    assert effects("probe.recorded", "raced") == 1
    assert effects("probe.flaky_succeeded", "raced") == 1
    assert set(row.deliveries.values_list("status", "attempts")) == {(EventDelivery.Status.SUCCEEDED, 1)}
