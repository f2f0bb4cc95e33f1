"""The send queue: queued once per key, sent after the commit through the gate, from the sender that may carry
the message, at the sender's rate whatever the number of workers, retried on outages with backoff and jitter,
and never sent twice, not even when a worker dies after claiming a message."""

import datetime as dt
import os
import random
import uuid
from collections import Counter

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from dispensary.schedule import BEAT_SCHEDULE
from messaging import queue
from messaging.gate import Verdict
from messaging.models import MessageStatusEvent, OutboundMessage, Sender, SenderPace
from messaging.providers import ProviderAnswerLost, ProviderRejected, ProviderUnavailable, SendResult
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 11, 18, 0, tzinfo=dt.UTC)


class WorkerKilled(BaseException):
    """The worker process dies (not an error the queue could catch)."""


class CountingBackend:
    """An SMS backend with the same `send` as the real ones: counts each key's sends and the sends of each
    second of the (fake) clock, and fails the test on any second send of a key."""

    name = "counting"

    def __init__(self) -> None:
        self.sent: Counter = Counter()
        self.per_second: Counter = Counter()
        self.calls: list[dict] = []
        self.before_send = None  # a hook: another worker runs, a worker dies, the provider fails

    def send(self, *, to, body, from_number=None, idempotency_key=None, status_callback=None) -> SendResult:
        self.calls.append({"to": to, "from": from_number, "key": idempotency_key})
        if self.before_send is not None:
            self.before_send(idempotency_key)
        self.sent[idempotency_key] += 1
        if self.sent[idempotency_key] > 1:
            pytest.fail(f"message {idempotency_key} sent twice")
        self.per_second[timezone.now().replace(microsecond=0)] += 1
        return SendResult(self.name, f"CB{len(self.calls)}")


@pytest.fixture
def backend(monkeypatch, settings):
    settings.SMS_DEFAULT_RATE_PER_SECOND = 0
    counting = CountingBackend()
    monkeypatch.setattr(queue, "sms_backend", lambda: counting)
    return counting


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sender(store, *, rate=1, use_case=Sender.UseCase.NOTIFICATIONS, own_store=True, address="+14155550001"):
    return Sender.objects.create(
        organization=store.organization,
        store=store if own_store else None,
        channel="sms",
        address=address,
        registration=Sender.Registration.TEN_DLC,
        use_case=use_case,
        brand_id="B1",
        campaign_id="C1",
        rate_per_second=rate,
    )


def enqueue(store, number=0, **options):
    return queue.message_enqueue(
        organization_id=store.organization_id,
        store_id=store.pk,
        channel=options.pop("channel", "sms"),
        to=options.pop("to", f"+1415555{3000 + number:04d}"),
        body=options.pop("body", f"Your order {number} is ready."),
        purpose=options.pop("purpose", "pickup"),
        **options,
    )


def status(message) -> str:
    return OutboundMessage.objects.values_list("status", flat=True).get(pk=message.pk)


# --- Queueing -----------------------------------------------------------------------------------------------


def test_the_same_key_queues_once_and_the_commit_sends_it(store, backend, django_capture_on_commit_callbacks):
    key = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            first = enqueue(store, 1, key=key)
            again = enqueue(store, 1, key=key, body="Another body")
            enqueue(store, 2)
    assert first.pk == again.pk and OutboundMessage.objects.count() == 2
    assert len(callbacks) == 1  # one kick for the transaction, however many messages it queued
    first.refresh_from_db()
    assert (first.status, first.provider, first.provider_message_id, first.attempts) == (
        "sent",
        "counting",
        "CB1",
        1,
    )
    assert backend.calls[0] == {"to": "+14155553001", "from": None, "key": str(key)}
    assert list(first.status_events.values_list("status", "source")) == [
        ("queued", "queue"),
        ("sent", "provider"),
    ]


def test_the_commit_sends_at_most_the_in_process_limit_and_the_drain_the_rest(
    store, backend, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_QUEUE = {**settings.MESSAGING_QUEUE, "IN_PROCESS_LIMIT": 3}
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            for number in range(5):
                enqueue(store, number)
    assert OutboundMessage.objects.filter(status="sent").count() == 3
    assert queue.queue_drain() == 2
    assert OutboundMessage.objects.filter(status="sent").count() == 5


def test_the_drain_runs_every_second_on_beat_and_in_runserver():
    assert BEAT_SCHEDULE["messaging-queue-drain"] == {
        "task": "messaging.tasks.queue_drain_task",
        "schedule": 1.0,
        "options": {"expires": 5},
    }


# --- Senders ------------------------------------------------------------------------------------------------


def test_the_store_sender_goes_first_then_the_organization_one(store, backend, frozen):
    organization_wide = sender(store, own_store=False, address="+14155550009", rate=5)
    mine = sender(store, address="+14155550001", rate=5)
    other_store = StoreFactory(organization=store.organization)
    here, there = enqueue(store, 1), enqueue(other_store, 2)
    assert queue.queue_drain() == 2
    here.refresh_from_db()
    there.refresh_from_db()
    assert (here.sender_id, there.sender_id) == (mine.pk, organization_wide.pk)
    assert {call["to"]: call["from"] for call in backend.calls} == {
        here.to: "+14155550001",
        there.to: "+14155550009",
    }


def test_marketing_never_goes_through_a_notifications_sender(store, backend, frozen):
    notifications = sender(store)
    offer = enqueue(store, 1, category="marketing", purpose="campaign")
    receipt = enqueue(store, 2)
    queue.queue_drain()
    offer.refresh_from_db()
    assert offer.status == "refused" and backend.sent[str(offer.key)] == 0
    assert offer.gate_reasons == [
        "sender_use_case: no active text message sender of this store is registered for marketing "
        "(only for notifications)."
    ]
    assert offer.status_events.last().detail == offer.gate_reasons[0]
    assert status(receipt) == "sent"
    # A message pinned to a notifications sender is refused as well, not sent through it.
    pinned = enqueue(store, 3, category="marketing", purpose="campaign")
    OutboundMessage.objects.filter(pk=pinned.pk).update(sender=notifications)
    assert queue.message_send(pinned.pk) == "refused"
    pinned.refresh_from_db()
    assert pinned.gate_reasons == [
        "sender_use_case: +14155550001 is registered for notifications only, not for marketing."
    ]


def test_marketing_takes_the_organization_marketing_sender_over_the_store_notifications_one(store):
    notifications = sender(store)
    marketing = sender(store, own_store=False, use_case=Sender.UseCase.MARKETING, address="+18005550100")
    senders = [notifications, marketing]
    choose = {"senders": senders, "channel": "sms", "store_id": store.pk}
    assert queue.route_choose(category="marketing", **choose).sender_id == marketing.pk
    assert queue.route_choose(category="transactional", **choose).sender_id == notifications.pk
    # Switched off: not chosen; an organization without a sender of the channel uses the settings' one.
    marketing.active = False
    assert queue.route_choose(category="marketing", **{**choose, "senders": [notifications]}).startswith(
        "sender_use_case: "
    )
    default = queue.route_choose(category="marketing", senders=[], channel="email", store_id=store.pk)
    assert (default.pace_key, default.sender_id, default.address) == ("default:email", None, None)


def test_the_default_sender_is_the_settings_number_at_the_settings_rate(store, backend, settings, frozen):
    settings.SMS_FROM_NUMBER = "+14155550077"
    settings.SMS_DEFAULT_RATE_PER_SECOND = 2
    for number in range(3):
        enqueue(store, number)
    assert queue.queue_drain() == 2
    assert [call["from"] for call in backend.calls] == ["+14155550077"] * 2
    assert SenderPace.objects.get(key="default:sms").next_slot_at == START + dt.timedelta(seconds=1)
    frozen.shift(1)
    assert queue.queue_drain() == 1


# --- Pacing -------------------------------------------------------------------------------------------------


def test_workers_together_send_at_most_the_rate_each_second(store, backend, frozen):
    sender(store, rate=3)
    messages = [enqueue(store, number) for number in range(8)]
    # Three workers in the same second: three messages between them.
    assert [queue.queue_drain(limit=2), queue.queue_drain(), queue.queue_drain()] == [2, 1, 0]
    frozen.shift(0.5)
    assert queue.queue_drain() == 0  # still the same second
    frozen.shift(0.5)
    assert queue.queue_drain() == 3
    frozen.shift(1)
    assert queue.queue_drain() == 2
    assert set(backend.per_second.values()) == {3, 2} and len(backend.calls) == 8
    assert {status(message) for message in messages} == {"sent"}


def test_slots_not_used_are_given_back(store, backend, frozen, monkeypatch):
    paced = sender(store, rate=4)
    route = queue.sender_route(paced)
    taken = queue.pace_reserve(route=route, wanted=3, now=timezone.now())
    assert taken.count == 3
    queue.pace_release(route=route, reservation=taken, used=1)
    assert queue.pace_reserve(route=route, wanted=10, now=timezone.now()).count == 3
    # Another worker reserved after us: our unused slots stay spent (never more than the rate).
    frozen.shift(1)
    first = queue.pace_reserve(route=route, wanted=2, now=timezone.now())
    second = queue.pace_reserve(route=route, wanted=1, now=timezone.now())
    queue.pace_release(route=route, reservation=first, used=0)
    assert (first.count, second.count) == (2, 1)
    assert queue.pace_reserve(route=route, wanted=10, now=timezone.now()).count == 1


def test_a_slow_sender_sends_one_message_every_other_second(store, backend, frozen):
    sender(store, rate="0.5")
    for number in range(3):
        enqueue(store, number)
    sent = []
    for _ in range(5):
        sent.append(queue.queue_drain())
        frozen.shift(1)
    assert sent == [1, 0, 1, 0, 1]


# --- Failures -----------------------------------------------------------------------------------------------


def test_an_outage_waits_with_backoff_and_jitter_then_gives_up(store, backend, settings, frozen):
    settings.MESSAGING_QUEUE = {**settings.MESSAGING_QUEUE, "MAX_ATTEMPTS": 3}
    message = enqueue(store, 1)
    other = enqueue(store, 2)

    def unavailable(key):
        raise ProviderUnavailable("SMS provider answered 429: slow down")

    backend.before_send = unavailable
    random.seed(7)
    waits = []
    for attempt in (1, 2):
        assert queue.queue_drain() == 1  # the rest of the sender's batch waits too
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("queued", attempt)
        waits.append((message.send_after - timezone.now()).total_seconds())
        frozen.move_to(message.send_after)
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60
    assert status(other) == "queued"
    queue.queue_drain(limit=1)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert "429" in message.error and message.status_events.last().detail == "Gave up after 3 attempts."
    backend.before_send = None
    assert queue.queue_drain() == 1 and status(other) == "sent"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (ProviderRejected("SMS provider refused (400): not a mobile number"), "not a mobile number"),
        (ProviderAnswerLost("SMS provider's answer lost: ReadTimeout"), "may have been sent"),
    ],
)
def test_a_refusal_or_a_lost_answer_fails_and_is_never_sent_again(store, backend, frozen, error, text):
    message = enqueue(store, 1)

    def fail(key):
        raise error

    backend.before_send = fail
    queue.queue_drain()
    message.refresh_from_db()
    assert message.status == "failed" and text in message.error
    frozen.shift(3600)
    assert queue.queue_drain() == 0 and len(backend.calls) == 1


def test_news_too_late_to_matter_expires_unsent(store, backend, frozen):
    message = enqueue(store, 1, send_before=START - dt.timedelta(minutes=1))
    queue.queue_drain()
    message.refresh_from_db()
    assert (message.status, backend.calls) == ("expired", [])
    assert message.status_events.last().detail == "Too late to be useful."


def test_a_message_held_by_the_gate_waits_until_it_may_go(store, backend, frozen, monkeypatch):
    morning = START + dt.timedelta(hours=8)
    monkeypatch.setattr(
        queue,
        "message_verdict",
        lambda message, at: (
            Verdict(False, ("quiet_hours: 9 PM to 8 AM in US-CA",), morning)
            if at < morning
            else Verdict(True)
        ),
    )
    message = enqueue(store, 1)
    assert queue.queue_drain() == 1
    message.refresh_from_db()
    assert (message.status, message.send_after, message.gate_reasons) == (
        "queued",
        morning,
        ["quiet_hours: 9 PM to 8 AM in US-CA"],
    )
    frozen.shift(3600)
    assert queue.queue_drain() == 0 and backend.calls == []
    frozen.move_to(morning)
    assert queue.queue_drain() == 1 and status(message) == "sent"


def test_a_worker_killed_after_claiming_is_resent_after_the_lease_with_the_same_key(
    store, backend, settings, frozen
):
    message = enqueue(store, 1)

    def killed(key):
        raise WorkerKilled

    backend.before_send = killed
    with pytest.raises(WorkerKilled):
        queue.queue_drain()
    assert status(message) == "sending"
    backend.before_send = None
    # Within the lease nothing is sent again (the worker may just be slow).
    frozen.shift(settings.MESSAGING_QUEUE["LEASE_SECONDS"] - 1)
    assert queue.queue_drain() == 0 and status(message) == "sending"
    frozen.shift(2)
    assert queue.queue_drain() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert [call["key"] for call in backend.calls] == [str(message.key)] * 2  # the same idempotency key
    assert MessageStatusEvent.objects.filter(message=message, source="queue", status="queued").count() == 2


def test_two_workers_never_send_the_same_message(store, backend, frozen):
    """Worker B runs in the middle of worker A's batch (between A's reading its candidates and claiming them):
    each message is claimed by one of them only."""
    messages = [enqueue(store, number) for number in range(20)]
    nested = {"running": False}

    def other_worker(key):
        if not nested["running"]:
            nested["running"] = True
            queue.queue_drain(limit=5)
            nested["running"] = False

    backend.before_send = other_worker
    queue.queue_drain()
    assert {status(message) for message in messages} == {"sent"}
    assert sorted(backend.sent.values()) == [1] * 20


# --- 50,000 messages ----------------------------------------------------------------------------------------


@pytest.mark.skipif(
    "postgres" in os.environ.get("DATABASE_URL", ""),
    reason="long, so run once, in the SQLite run: it travels to its own fixed moment, and its workers take turns "
    "in one thread, so another database adds nothing",
)
def test_fifty_thousand_messages_at_the_rate_once_each_through_worker_restarts(
    store, backend, settings, monkeypatch
):
    """50,000 messages, a sender allowed 100 per second, three workers draining every (fake) second, one of
    them now and then killed after claiming a message; a fourth worker runs in the middle of another's batch.
    Every message is sent exactly once, and never more than 100 in one second."""
    total, rate = int(os.environ.get("QUEUE_TEST_TOTAL", "50000")), 100
    settings.MESSAGING_QUEUE = {**settings.MESSAGING_QUEUE, "LEASE_SECONDS": 30}
    paced = sender(store, rate=rate)
    now = timezone.now()
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                organization_id=store.organization_id,
                store_id=store.pk,
                channel="sms",
                purpose="pickup",
                to=f"+1415{number:07d}",
                body="Your order is ready.",
                status_changed_at=now,
            )
            for number in range(total)
        ],
        batch_size=2000,
    )
    killed, nested = [], {"running": False}

    def faults(key):
        calls = len(backend.calls)
        if calls % 997 == 0:
            killed.append(key)
            raise WorkerKilled
        if calls % 301 == 0 and not nested["running"]:
            nested["running"] = True
            try:
                queue.queue_drain(limit=7)
            finally:
                nested["running"] = False

    backend.before_send = faults
    # The gate's own cost is the bench's business (tests/bench/messaging.py): here every message may go.
    monkeypatch.setattr(queue, "message_verdict", lambda message, at: Verdict(True))
    with time_machine.travel(START, tick=False) as clock:
        for _second in range(total // rate + 200):
            for limit in (40, 35, 500):
                try:
                    queue.queue_drain(limit=limit)
                except WorkerKilled:
                    pass  # the worker is restarted by its supervisor; its claimed message stays "sending"
            if len(backend.sent) == total:
                break
            clock.shift(1)
    assert len(backend.sent) == total and set(backend.sent.values()) == {1}
    assert max(backend.per_second.values()) == rate
    assert len(killed) >= total // 1250
    assert OutboundMessage.objects.filter(status="sent", sender=paced).count() == total
    # The killed workers' messages went with their own key once the lease was over.
    resent = OutboundMessage.objects.filter(key__in=killed)
    assert resent.count() == len(set(killed)) and min(message.attempts for message in resent) >= 2
