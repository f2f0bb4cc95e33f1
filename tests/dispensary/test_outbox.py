import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from dispensary import events
from dispensary.models import EventDelivery, OutboxEvent
from dispensary.services import event_delivery_retry
from tests.dispensary.outbox_handlers import ProbePublished, effects

RECORD = "tests.dispensary.outbox_handlers.on_probe_published_record"
FLAKY = "tests.dispensary.outbox_handlers.on_probe_published_flaky"

pytestmark = pytest.mark.django_db(transaction=True)


def publish_probe(marker: str, fail_times: int = 0) -> OutboxEvent:
    with transaction.atomic():
        return events.publish(ProbePublished(marker=marker, fail_times=fail_times))


def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.publish(ProbePublished(marker="loose"))
    assert OutboxEvent.objects.count() == 0


def test_rolled_back_transaction_publishes_nothing():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        events.publish(ProbePublished(marker="rolled-back"))
        raise Boom
    assert OutboxEvent.objects.count() == 0
    assert EventDelivery.objects.count() == 0
    assert effects("probe.recorded") == 0


def test_committed_event_is_delivered_once_to_each_handler_after_commit():
    with transaction.atomic():
        row = events.publish(ProbePublished(marker="committed"))
        # Nothing runs before the commit.
        assert effects("probe.recorded", "committed") == 0
    deliveries = {d.handler: d for d in row.deliveries.all()}
    assert set(deliveries) == {RECORD, FLAKY}
    assert all(d.status == EventDelivery.Status.SUCCEEDED for d in deliveries.values())
    assert all(d.attempts == 1 for d in deliveries.values())
    assert effects("probe.recorded", "committed") == 1
    assert effects("probe.flaky_succeeded", "committed") == 1


def test_failing_handler_is_retried_with_backoff_and_does_not_hold_back_others():
    before = timezone.now()
    row = publish_probe("flaky", fail_times=2)
    record = row.deliveries.get(handler=RECORD)
    flaky = row.deliveries.get(handler=FLAKY)
    assert record.status == EventDelivery.Status.SUCCEEDED
    assert effects("probe.recorded", "flaky") == 1
    assert flaky.status == EventDelivery.Status.PENDING
    assert flaky.attempts == 1
    assert "flaky handler failing on attempt 1" in flaky.last_error
    # First retry waits between base/2 and base seconds (jitter), base = 10 s.
    wait = (flaky.next_attempt_at - before).total_seconds()
    assert 5 <= wait <= 10.5
    # The failed attempt's own writes rolled back.
    assert effects("probe.flaky_partial_write", "flaky") == 0

    # Not yet due: the sweeper leaves it alone.
    assert events.outbox_sweep(now=flaky.next_attempt_at - dt.timedelta(seconds=1)) == 0
    # Due: the sweeper retries it; it fails again with a longer wait (attempt 2: 10..20 s).
    assert events.outbox_sweep(now=flaky.next_attempt_at) == 1
    flaky.refresh_from_db()
    assert flaky.attempts == 2
    assert flaky.status == EventDelivery.Status.PENDING
    second_wait = (flaky.next_attempt_at - flaky.last_attempt_at).total_seconds()
    assert 10 <= second_wait <= 20
    assert events.outbox_sweep(now=flaky.next_attempt_at) == 1
    flaky.refresh_from_db()
    assert flaky.status == EventDelivery.Status.SUCCEEDED
    assert flaky.attempts == 3
    assert effects("probe.flaky_succeeded", "flaky") == 1
    # The other handler ran exactly once throughout.
    assert effects("probe.recorded", "flaky") == 1


def test_backoff_grows_exponentially_and_is_capped():
    with override_settings(
        OUTBOX={**events.settings.OUTBOX, "BACKOFF_BASE_SECONDS": 10, "BACKOFF_MAX_SECONDS": 60}
    ):
        for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
            samples = [events.backoff_seconds(attempts) for _ in range(200)]
            assert min(samples) >= ceiling / 2
            assert max(samples) <= ceiling
            assert len(set(samples)) > 1  # jittered


def test_exhausted_delivery_becomes_a_dead_letter_and_can_be_retried(manager):
    with override_settings(OUTBOX={**events.settings.OUTBOX, "MAX_ATTEMPTS": 2}):
        row = publish_probe("dead", fail_times=5)
        flaky = row.deliveries.get(handler=FLAKY)
        events.outbox_sweep(now=flaky.next_attempt_at)
        flaky.refresh_from_db()
        assert flaky.status == EventDelivery.Status.DEAD
        assert flaky.attempts == 2
        assert flaky.next_attempt_at is None
        # The sweeper never picks up dead letters.
        assert events.outbox_sweep(now=timezone.now() + dt.timedelta(days=30)) == 0

        retried = event_delivery_retry(delivery=flaky, actor=manager)
        # Dispatched on commit: this attempt is number 1 of a fresh round and fails again (fail_times=5).
        retried.refresh_from_db()
        assert retried.attempts == 1
        assert retried.status == EventDelivery.Status.PENDING
    assert effects("event_delivery.retried") == 1


def test_duplicate_delivery_has_one_effect():
    row = publish_probe("duplicate")
    record = row.deliveries.get(handler=RECORD)
    # A redelivery of the same (event, handler), as when a worker dies after running the handler but before
    # acknowledging the message, or the sweeper re-dispatches while the first dispatch is in flight.
    assert events.deliver(record.pk).status == "skipped"
    events.dispatch([record.pk, record.pk])
    assert effects("probe.recorded", "duplicate") == 1
    record.refresh_from_db()
    assert record.attempts == 1


def test_lost_dispatch_is_recovered_by_the_sweeper(monkeypatch):
    # Simulate a lost dispatch: the broker was down when the transaction committed.
    monkeypatch.setattr(events, "dispatch", lambda ids: None)
    row = publish_probe("lost")
    monkeypatch.undo()
    assert effects("probe.recorded", "lost") == 0
    record = row.deliveries.get(handler=RECORD)
    # Within the grace period the sweeper assumes the dispatch is still on its way.
    assert events.outbox_sweep(now=record.next_attempt_at + dt.timedelta(seconds=30)) == 0
    assert events.outbox_sweep(now=record.next_attempt_at + dt.timedelta(seconds=61)) == 2
    assert effects("probe.recorded", "lost") == 1
    assert effects("probe.flaky_succeeded", "lost") == 1


def test_event_payload_must_be_json_native():
    from dataclasses import dataclass
    from decimal import Decimal

    @dataclass(frozen=True)
    class PriceNoted(events.Event):
        name = "test.price_noted"
        amount: object

    with pytest.raises(TypeError), transaction.atomic():
        events.publish(PriceNoted(amount=Decimal("1.50")))
    assert OutboxEvent.objects.count() == 0


def test_event_payload_is_a_json_copy_and_a_batch_writes_every_event_with_its_deliveries():
    """The payload is the event's fields as JSON gives them back (tuples as lists, nested dataclasses as
    dicts), a copy the event's lists do not share; a batch writes its events and their deliveries together
    (one statement on PostgreSQL), in the order they were published, pks set."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Part:
        sku: str

    @dataclass(frozen=True)
    class LinesNoted(events.Event):
        name = "test.lines_noted"
        lines: tuple
        part: object = None

    lines = ({"sku": "A", "quantity": "1"},)
    noted = LinesNoted(lines=lines, part=Part("B"))
    assert noted.to_payload() == {"lines": [{"sku": "A", "quantity": "1"}], "part": {"sku": "B"}}
    assert noted.to_payload()["lines"][0] is not lines[0]

    with transaction.atomic(), events.batch() as pending:
        first = events.publish(ProbePublished(marker="first"))
        second = events.publish(ProbePublished(marker="second"))
        assert list(pending) == [first, second] and first.pk is None
    assert [row.pk for row in OutboxEvent.objects.order_by("id")] == [first.pk, second.pk]
    assert OutboxEvent.objects.get(pk=second.pk).payload["marker"] == "second"
    handlers = len(events.handlers_for(ProbePublished.name))
    assert EventDelivery.objects.filter(event_id__in=[first.pk, second.pk]).count() == 2 * handlers > 0
    assert effects("probe.recorded", "first") == effects("probe.recorded", "second") == 1
