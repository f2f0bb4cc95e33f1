"""The transactional outbox: events are rows written in the caller's transaction and delivered after commit,
one delivery per (event, handler), retried with backoff and jitter, idempotent, swept when a dispatch is lost.

Apps declare events as frozen dataclasses subclassing `Event` and register handlers with `@handles(...)` in
their `handlers.py`, imported from `AppConfig.ready()`.
"""

import contextlib
import contextvars
import dataclasses
import datetime as dt
import json
import logging
import random
import traceback
from collections.abc import Callable, Iterable
from typing import ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dispensary import writes
from dispensary.models import EventDelivery, OutboxEvent

logger = logging.getLogger(__name__)

_EVENT_TYPES: dict[str, type["Event"]] = {}
_DELIVERING: contextvars.ContextVar[str | None] = contextvars.ContextVar("delivering_event", default=None)
_HANDLERS: dict[str, dict[str, Callable[["Event"], None]]] = {}


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of domain events: named in the past tense, versioned, JSON-native fields only (money as str)."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            known = _EVENT_TYPES.get(cls.name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise ValueError(
                    f"Event name {cls.name!r} is taken by {known.__module__}.{known.__qualname__}"
                )
            _EVENT_TYPES[cls.name] = cls

    def to_payload(self) -> dict:
        """The event's fields as a JSON-native copy (the JSON round trip copies in C what asdict copies in
        Python, on every sale). Fails loudly on Decimal, datetime or model instances: events carry JSON-native
        values only."""
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        try:
            text = json.dumps(fields)
        except TypeError:
            text = json.dumps(dataclasses.asdict(self))  # nested dataclasses become dicts, as asdict does
        return json.loads(text)

    @classmethod
    def from_payload(cls, payload: dict) -> "Event":
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in payload.items() if key in names})


def handler_name(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def handles(*event_types: type[Event]):
    """Register the decorated function as a handler of the given events."""

    def register(function: Callable[[Event], None]):
        for event_type in event_types:
            if not event_type.name:
                raise ValueError(f"{event_type.__qualname__} has no event name")
            _HANDLERS.setdefault(event_type.name, {})[handler_name(function)] = function
        return function

    return register


def unregister(function: Callable) -> None:
    """Remove a handler from every event (used by tests that register temporary handlers)."""
    name = handler_name(function)
    for handlers in _HANDLERS.values():
        handlers.pop(name, None)


def handlers_for(event_name: str) -> dict[str, Callable[[Event], None]]:
    return dict(_HANDLERS.get(event_name, {}))


def event_types() -> dict[str, type[Event]]:
    return dict(_EVENT_TYPES)


def delivering_event_uuid() -> str | None:
    """The uuid of the outbox event whose handler is running (None outside a delivery): handlers that write
    rows of their own can key them by it."""
    return _DELIVERING.get()


class _Pending(list):
    """The events published inside a `batch()` and not yet written."""

    def take(self) -> list[OutboxEvent]:
        """Hand the events to a caller that writes them in a statement of its own (`outbox_add`): the batch
        then writes only what is published after."""
        rows = list(self)
        self.clear()
        return rows


_BATCH: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar("outbox_batch", default=None)


def publish(event: Event, *, organization_id: int | None = None) -> OutboxEvent:
    """Write the event and one delivery per registered handler in the caller's transaction.

    Nothing is dispatched unless and until that transaction commits. Inside `batch()`, the row is written with
    the batch's other events when the batch ends (its pk is set then).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() must be called inside the transaction that makes the event true.")
    if organization_id is None:
        organization_id = getattr(event, "organization_id", None)
    row = OutboxEvent(
        name=event.name, version=event.version, organization_id=organization_id, payload=event.to_payload()
    )
    pending = _BATCH.get()
    if pending is not None:
        pending.append(row)
        return row
    _outbox_write([row])
    return row


def _outbox_write(rows: list[OutboxEvent]) -> None:
    if writes.in_one_statement():
        statement = writes.Statement()
        outbox_written(rows, statement.execute(outbox_add(statement, rows)))
        return
    if len(rows) == 1:
        rows[0].save()
    else:
        OutboxEvent.objects.bulk_create(rows)
    _deliveries_create(rows)


def _deliveries_create(rows: list[OutboxEvent]) -> None:
    now = timezone.now()
    deliveries = EventDelivery.objects.bulk_create(
        [
            EventDelivery(event=row, handler=name, next_attempt_at=now)
            for row in rows
            for name in handlers_for(row.name)
        ]
    )
    _dispatch_on_commit([delivery.pk for delivery in deliveries])


def _dispatch_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: dispatch(ids), robust=True)


def outbox_add(statement: writes.Statement, rows: list[OutboxEvent]) -> str:
    """Add the events and their deliveries (one per registered handler, in the order of the events, then of
    the handlers) to a statement (PostgreSQL); the final SELECT that returns what `outbox_written` needs."""
    now = timezone.now()
    event_table, delivery_table = OutboxEvent._meta.db_table, EventDelivery._meta.db_table
    event_rows, delivery_rows = [], []
    for row in rows:
        row.created_at = now
        event_rows.append((row.uuid, row.name, row.version, row.organization_id, row.payload))
        delivery_rows += [(len(delivery_rows), row.uuid, name) for name in handlers_for(row.name)]
    sql, params = writes.records(
        event_rows,
        (
            ("uuid", "uuid"),
            ("name", "varchar"),
            ("version", "int"),
            ("organization_id", "bigint"),
            ("payload", "jsonb"),
        ),
    )
    statement.add(
        "outbox_events",
        f"INSERT INTO {event_table} (uuid, name, version, organization_id, payload, created_at) "  # noqa: S608
        f"SELECT v.uuid, v.name, v.version, v.organization_id, v.payload, %s::timestamptz FROM {sql} "
        "RETURNING id, uuid",
        [now, *params],
    )
    if not delivery_rows:
        return "SELECT id, uuid FROM outbox_events"
    sql, params = writes.records(delivery_rows, (("n", "int"), ("uuid", "uuid"), ("handler", "varchar")), "d")
    statement.add(
        "outbox_deliveries",
        f"INSERT INTO {delivery_table} (event_id, handler, status, attempts, next_attempt_at, last_error, "  # noqa: S608
        f"created_at) SELECT e.id, d.handler, %s, 0, %s::timestamptz, '', %s::timestamptz "
        f"FROM {sql} JOIN outbox_events AS e ON e.uuid = d.uuid ORDER BY d.n RETURNING id",
        [EventDelivery.Status.PENDING, now, now, *params],
    )
    return "SELECT id, uuid FROM outbox_events UNION ALL SELECT id, NULL FROM outbox_deliveries"


def outbox_written(rows: list[OutboxEvent], results: list[tuple]) -> None:
    """After the statement of `outbox_add` ran: the events' pks, and their deliveries dispatched after commit."""
    by_uuid = {uuid_: pk for pk, uuid_ in results if uuid_ is not None}
    for row in rows:
        row.pk = by_uuid[row.uuid]
        row._state.adding = False
        row._state.db = transaction.get_connection().alias
    _dispatch_on_commit(sorted(pk for pk, uuid_ in results if uuid_ is None))


@contextlib.contextmanager
def batch():
    """Events published inside are written together when the block ends without an error (one statement on
    PostgreSQL, two elsewhere, for any number of events: a sale's completion, its points and its tier), in the
    order they were published. The block gets the pending events: a caller may `take()` them to write them in
    a statement of its own."""
    outer = _BATCH.get()
    if outer is not None:  # already batching: the outer batch writes them
        yield outer
        return
    pending = _Pending()
    token = _BATCH.set(pending)
    try:
        yield pending
    finally:
        _BATCH.reset(token)
    if pending:
        _outbox_write(list(pending))


def dispatch(delivery_ids: Iterable[int]) -> None:
    """Send each delivery to a Celery worker, or run it here when no broker is configured."""
    if settings.CELERY_BROKER_URL:
        from dispensary.tasks import deliver_event_task

        for delivery_id in delivery_ids:
            deliver_event_task.apply_async(args=[delivery_id])
    else:
        for delivery_id in delivery_ids:
            deliver(delivery_id)


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: str  # "succeeded", "retry", "dead", "skipped"
    retry_at: dt.datetime | None = None


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: somewhere in [d/2, d], d = base * 2^(attempts-1), capped."""
    config = settings.OUTBOX
    ceiling = min(config["BACKOFF_MAX_SECONDS"], config["BACKOFF_BASE_SECONDS"] * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def deliver(delivery_id: int) -> Outcome:
    """Run one handler for one event, once.

    The handler runs inside the same transaction that marks the delivery succeeded, with the delivery row
    locked: a duplicate or concurrent delivery finds it done and does nothing. A failing handler's writes roll
    back to a savepoint, and the failure is recorded with the next retry time or as a dead letter.
    """
    with transaction.atomic():
        delivery = (
            EventDelivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != EventDelivery.Status.PENDING:
            return Outcome("skipped")
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        handler = handlers_for(delivery.event.name).get(delivery.handler)
        event_type = _EVENT_TYPES.get(delivery.event.name)
        try:
            if handler is None or event_type is None:
                raise LookupError(f"No handler {delivery.handler} is registered for {delivery.event.name}.")
            event = event_type.from_payload(delivery.event.payload)
            token = _DELIVERING.set(str(delivery.event.uuid))
            try:
                with transaction.atomic():
                    handler(event)
            finally:
                _DELIVERING.reset(token)
        except Exception as error:  # noqa: BLE001 - any handler failure is recorded and retried, never lost
            delivery.last_error = "".join(traceback.format_exception(error))[-4000:]
            if delivery.attempts >= settings.OUTBOX["MAX_ATTEMPTS"]:
                delivery.status = EventDelivery.Status.DEAD
                delivery.next_attempt_at = None
                outcome = Outcome("dead")
                logger.error("Dead letter: %s after %s attempts", delivery, delivery.attempts)
            else:
                delivery.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(delivery.attempts))
                outcome = Outcome("retry", delivery.next_attempt_at)
                logger.warning("Delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, error)
        else:
            delivery.status = EventDelivery.Status.SUCCEEDED
            delivery.succeeded_at = now
            delivery.next_attempt_at = None
            outcome = Outcome("succeeded")
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "last_attempt_at",
                "last_error",
                "next_attempt_at",
                "succeeded_at",
            ]
        )
    return outcome


def outbox_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Dispatch pending deliveries that are due: retries whose time has come, and first attempts older than
    the grace period (their dispatch after commit was lost). The sweeper is the one retry mechanism, in
    process and on Celery beat alike. Returns how many were dispatched."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.OUTBOX["SWEEP_GRACE_SECONDS"])
    due = Q(attempts=0, next_attempt_at__lte=cutoff) | Q(attempts__gt=0, next_attempt_at__lte=now)
    ids = list(
        EventDelivery.objects.filter(due, status=EventDelivery.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        dispatch(ids)
    return len(ids)
