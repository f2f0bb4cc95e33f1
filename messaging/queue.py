"""The send queue: messages are queued inside the business transaction that causes them (by an event's
handler), and sent after it, by workers, through the gate and the provider, once each, at each sender's rate.

`message_enqueue` writes one QUEUED message (idempotent on its key); `queue_drain` sends what is due, sender by
sender, within the sender's rate; `message_send` sends one message now (within its sender's rate too).

Once, never twice:
- A worker claims a message before sending it with one conditional UPDATE (status queued -> sending, on both
  SQLite and PostgreSQL): of two workers that try, exactly one gets the row.
- A worker killed after claiming leaves the message "sending". It is not resent blindly: after LEASE_SECONDS
  (longer than any send can take) `lease_recover` puts it back in the queue, and it is sent again with the same
  idempotency key, its `key`: the SMS provider drops a second request with the same I-Twilio-Idempotency-Token
  and answers with the first message's id, and an email keeps its Message-ID, so mailboxes keep one copy. The
  console and file backends of development do not deduplicate.
- A lost answer (the request went out, the answer did not come back) may mean it was sent: the message is
  recorded as failed and never sent again; the provider's status callback settles it.
- 429 and 5xx (ProviderUnavailable) are retried with exponential backoff and jitter, up to MAX_ATTEMPTS.

Pacing: a token bucket per sender kept in the database (SenderPace: the sender's next free slot, spaced
1/rate apart). A worker reserves slots under a row lock, only within the current second, so every worker
together sends at most `rate` messages in any second; slots it did not use are given back when nobody reserved
after it. In production Celery beat drains every DRAIN_INTERVAL_SECONDS (dispensary/schedule.py); without a
broker a commit drains at most IN_PROCESS_LIMIT messages in its own process and runserver's schedule thread
drains the rest.

Senders: a message goes out from the store's (or else the organization's) active sender of its channel that
may carry its category; marketing never goes through a sender registered for notifications only. An
organization with no sender of a channel sends from the settings' number or address (SMS_FROM_NUMBER,
DEFAULT_FROM_EMAIL) at SMS_DEFAULT_RATE_PER_SECOND / EMAIL_DEFAULT_RATE_PER_SECOND. One with senders but none
that may carry the message refuses it ("sender_use_case: ...")."""

import datetime as dt
import functools
import logging
import random
import threading
import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from messaging.email_compose import email_headers_and_footer
from messaging.gate import message_verdict
from messaging.links import links_shorten
from messaging.models import Category, Channel, MessageStatusEvent, OutboundMessage, Sender, SenderPace
from messaging.providers import (
    ProviderAnswerLost,
    ProviderRejected,
    ProviderUnavailable,
    email_domain,
    email_send,
    sms_backend,
)
from messaging.sms import sms_segments

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status
SENDER_USE_CASE = "sender_use_case"


def status_record(message: OutboundMessage, status: str, *, source: str, at=None, error_code="", detail=""):
    """Move the message to `status` and add it to its timeline."""
    at = at or timezone.now()
    message.status = status
    message.status_changed_at = at
    MessageStatusEvent.objects.create(
        message=message,
        status=status,
        error_code=error_code,
        detail=detail[:500],
        source=source,
        occurred_at=at,
    )


def message_enqueue(
    *,
    organization_id: int,
    channel: str,
    to: str,
    body: str,
    purpose: str,
    category: str = Category.TRANSACTIONAL,
    store_id: int | None = None,
    customer_id: int | None = None,
    subject: str = "",
    html_body: str = "",
    reference: str = "",
    topic: str = "",
    key: uuid.UUID | str | None = None,
    source_event: uuid.UUID | str | None = None,
    send_after: dt.datetime | None = None,
    send_before: dt.datetime | None = None,
    template_key: str = "",
    language: str = "en",
) -> OutboundMessage:
    """Queue one message; the same key (or the same causing event and channel) twice queues it once and returns
    the first. Sending happens after the commit, never inside the caller's transaction."""
    key = uuid.UUID(str(key)) if key else uuid.uuid4()
    existing = OutboundMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    message = OutboundMessage(
        organization_id=organization_id,
        store_id=store_id,
        customer_id=customer_id,
        channel=channel,
        category=category,
        purpose=purpose,
        topic=topic,
        reference=reference,
        key=key,
        to=to,
        subject=subject,
        body=body,
        html_body=html_body,
        template_key=template_key,
        language=language,
        segments=sms_segments(body) if channel == Channel.SMS else 0,
        send_after=send_after,
        send_before=send_before,
        source_event=source_event,
        status_changed_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            message.save()
            links_shorten(message)
            MessageStatusEvent.objects.create(
                message=message, status=Status.QUEUED, source="queue", occurred_at=message.status_changed_at
            )
    except IntegrityError:
        found = OutboundMessage.objects.filter(key=key).first()
        if found is None and source_event:
            found = OutboundMessage.objects.filter(source_event=source_event, channel=channel).first()
        if found is None:
            raise
        return found
    _kick_after_commit()
    return message


class _Kick:
    """The after-commit kick of one transaction (so that one kick serves every message it queued)."""

    def __init__(self) -> None:
        self.done = False

    def __call__(self) -> None:
        self.done = True
        queue_kick()


_kicks = threading.local()


def _kick_after_commit() -> None:
    # One kick per transaction, however many messages it queued (a campaign queues thousands at once): the
    # transaction's kick is reused while it is still waiting for the commit (not run, not rolled back).
    pending = getattr(_kicks, "pending", None)
    if (
        pending is not None
        and not pending.done
        and connection.in_atomic_block
        and any(entry[1] is pending for entry in reversed(connection.run_on_commit))
    ):
        return
    _kicks.pending = _Kick()
    transaction.on_commit(_kicks.pending, robust=True)


def queue_kick() -> None:
    """Have the due messages sent: by a worker when Celery is configured; here otherwise, at most
    IN_PROCESS_LIMIT of them (the periodic drain sends the rest)."""
    if settings.CELERY_BROKER_URL:
        from messaging.tasks import queue_drain_task

        queue_drain_task.apply_async()
    else:
        queue_drain(limit=settings.MESSAGING_QUEUE["IN_PROCESS_LIMIT"])


def status_callback_url() -> str:
    return _status_callback_url(settings.PUBLIC_SITE_URL.rstrip("/"))


@functools.lru_cache(maxsize=8)
def _status_callback_url(base: str) -> str:
    try:
        return f"{base}{reverse('messaging:sms-status')}" if base else ""
    except NoReverseMatch:  # the callback endpoint is not mounted
        return ""


# --- Senders ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """The sender a message goes out from: a Sender row, or the settings' default of the channel."""

    pace_key: str
    sender_id: int | None
    address: str | None  # None: the backend's own default
    rate: Decimal  # messages per second; 0: no limit

    @property
    def label(self) -> str:
        return self.address or "the default sender"


def default_route(channel: str) -> Route:
    if channel == Channel.SMS:
        rate, address = settings.SMS_DEFAULT_RATE_PER_SECOND, settings.SMS_FROM_NUMBER or None
    else:
        rate, address = settings.EMAIL_DEFAULT_RATE_PER_SECOND, None  # email_send uses DEFAULT_FROM_EMAIL
    return Route(f"default:{channel}", None, address, Decimal(str(rate or 0)))


def sender_route(sender: Sender) -> Route:
    return Route(f"sender:{sender.pk}", sender.pk, sender.address, Decimal(sender.rate_per_second))


def route_choose(
    *,
    senders: list[Sender],
    channel: str,
    category: str,
    store_id: int | None,
    sender_id: int | None = None,
) -> Route | str:
    """The route of a message among its organization's active senders, or the reason none may carry it.
    The store's own senders come before the organization's; marketing needs a sender registered for it."""
    marketing = category == Category.MARKETING
    if sender_id is not None:
        chosen = next((sender for sender in senders if sender.pk == sender_id), None)
        if chosen is not None:
            if marketing and not chosen.may_send_marketing:
                return (
                    f"{SENDER_USE_CASE}: {chosen.address} is registered for notifications only, "
                    "not for marketing."
                )
            return sender_route(chosen)
        # Its sender was switched off: another one of the store takes it.
    mine = [
        sender
        for sender in senders
        if sender.channel == channel and sender.active and sender.store_id in (store_id, None)
    ]
    if not mine:
        return default_route(channel)
    allowed = [sender for sender in mine if not marketing or sender.may_send_marketing]
    if not allowed:
        return (
            f"{SENDER_USE_CASE}: no active {Channel(channel).label.lower()} sender of this store is "
            "registered for marketing (only for notifications)."
        )
    allowed.sort(key=lambda sender: (sender.store_id is None, sender.pk))
    return sender_route(allowed[0])


def _senders_of(organization_ids) -> dict[int, list[Sender]]:
    found: dict[int, list[Sender]] = {}
    for sender in Sender.objects.filter(organization_id__in=set(organization_ids), active=True).order_by(
        "pk"
    ):
        found.setdefault(sender.organization_id, []).append(sender)
    return found


# --- Pacing -------------------------------------------------------------------------------------------------


def _spacing(rate: Decimal) -> dt.timedelta:
    # Rounded up: never more than `rate` slots in one second.
    return dt.timedelta(
        microseconds=int((Decimal(1_000_000) / rate).to_integral_value(rounding=ROUND_CEILING))
    )


@dataclass(frozen=True)
class Reservation:
    count: int
    end: dt.datetime | None  # the sender's next free slot after these; None: no limit


def pace_reserve(*, route: Route, wanted: int, now: dt.datetime) -> Reservation:
    """Up to `wanted` of the sender's slots within the current second, taken for this worker."""
    if route.rate <= 0 or wanted <= 0:
        return Reservation(max(wanted, 0), None)
    spacing = _spacing(route.rate)
    second = now.replace(microsecond=0)
    end_of_second = second + dt.timedelta(seconds=1)
    with transaction.atomic():
        pace = SenderPace.objects.select_for_update().filter(key=route.pace_key).first()
        if pace is None:
            try:
                with transaction.atomic():
                    pace = SenderPace.objects.create(key=route.pace_key, next_slot_at=second)
            except IntegrityError:  # another worker made it first
                pace = SenderPace.objects.select_for_update().get(key=route.pace_key)
        start = max(pace.next_slot_at, second)
        if start >= end_of_second:
            return Reservation(0, pace.next_slot_at)
        free = -(
            -(end_of_second - start) // spacing
        )  # slots start, start + spacing, ... before the next second
        count = min(wanted, free)
        pace.next_slot_at = start + count * spacing
        pace.save(update_fields=["next_slot_at"])
    return Reservation(count, pace.next_slot_at)


def pace_release(*, route: Route, reservation: Reservation, used: int) -> None:
    """Give back the slots not used, unless another worker has reserved after them."""
    unused = reservation.count - used
    if reservation.end is None or unused <= 0:
        return
    SenderPace.objects.filter(key=route.pace_key, next_slot_at=reservation.end).update(
        next_slot_at=reservation.end - unused * _spacing(route.rate)
    )


# --- Sending ------------------------------------------------------------------------------------------------


def _due(now: dt.datetime):
    return OutboundMessage.objects.filter(status=Status.QUEUED).filter(
        Q(send_after__isnull=True) | Q(send_after__lte=now)
    )


def _claim(message_id: int, *, now: dt.datetime, sender_id: int | None) -> bool:
    """Take the message for this worker; False when another took it first (or it is not due any more). One
    conditional UPDATE, atomic on every database (on PostgreSQL a select_for_update(skip_locked=True) would do
    as well; this needs no transaction of its own)."""
    return bool(
        _due(now)
        .filter(pk=message_id)
        .update(
            status=Status.SENDING,
            status_changed_at=now,
            attempts=F("attempts") + 1,
            sender_id=sender_id,
        )
    )


def _claim_batch(message_ids: list[int], *, now: dt.datetime, sender_id: int | None) -> list[OutboundMessage]:
    """Take these messages for this worker in one UPDATE, marked with a token of this batch, and read back
    those the worker got (another worker may have taken some first): two queries for a whole batch."""
    if not message_ids:
        return []
    token = uuid.uuid4()
    _due(now).filter(pk__in=message_ids).update(
        status=Status.SENDING,
        status_changed_at=now,
        attempts=F("attempts") + 1,
        sender_id=sender_id,
        claim=token,
    )
    return list(
        OutboundMessage.objects.filter(pk__in=message_ids, claim=token, status=Status.SENDING).order_by(
            "created_at", "id"
        )
    )


def _unclaim(messages: list[OutboundMessage]) -> None:
    """Put back claimed messages this worker will not send now (the provider asked it to wait)."""
    if messages:
        OutboundMessage.objects.filter(
            pk__in=[message.pk for message in messages], claim=messages[0].claim, status=Status.SENDING
        ).update(status=Status.QUEUED, attempts=F("attempts") - 1, claim=None)


def _backoff_seconds(attempts: int) -> float:
    """Exponential (30 s, 1, 2, 4 min ... capped at an hour), with jitter so that a provider that comes back
    is not hit by every waiting message at once."""
    ceiling = min(3600, 30 * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret


def _refuse(message: OutboundMessage, reasons, *, now: dt.datetime, source: str) -> str:
    message.gate_reasons = list(reasons)
    status_record(message, Status.REFUSED, source=source, at=now, detail="; ".join(reasons))
    message.save(update_fields=["status", "status_changed_at", "gate_reasons"])
    return message.status


@dataclass(frozen=True)
class Outcome:
    status: str
    provider_called: bool = False
    provider_unavailable: bool = False


def _deliver(
    message: OutboundMessage,
    route: Route,
    *,
    now: dt.datetime,
    callback: str | None = None,
    timeline: list[MessageStatusEvent] | None = None,
) -> Outcome:
    """Judge and send one claimed message, and record what came of it. A drain passes the status callback's
    address once for all and collects the "sent" steps of the timeline in `timeline`, to write them at once."""
    if message.send_before and message.send_before < now:
        message.error = "Not sent: its news was out of date by the time it could be sent."
        status_record(message, Status.EXPIRED, source="queue", at=now, detail="Too late to be useful.")
        message.save(update_fields=["status", "status_changed_at", "error"])
        return Outcome(message.status)
    verdict = message_verdict(message, at=now)
    if not verdict.allowed:
        if verdict.send_after is not None:  # held (quiet hours): back in the queue until then
            message.gate_reasons = list(verdict.reasons)
            message.status = Status.QUEUED
            message.send_after = verdict.send_after
            message.save(update_fields=["status", "send_after", "gate_reasons"])
            return Outcome(message.status)
        return Outcome(_refuse(message, verdict.reasons, now=now, source="gate"))
    try:
        if message.channel == Channel.SMS:
            backend = sms_backend()
            message.provider = backend.name
            callback = callback if callback is not None else status_callback_url()
            result = backend.send(
                to=message.to,
                body=message.body,
                from_number=route.address,
                idempotency_key=str(message.key),
                # The message's key rides on its callback address: if the send's answer is lost, the provider's
                # first callback still finds the message (sms_status adopts it) and settles it.
                status_callback=f"{callback}?key={message.key}" if callback else None,
            )
        else:
            composed = email_headers_and_footer(message)
            result = email_send(
                to=message.to,
                subject=message.subject,
                body=composed.body,
                html_body=composed.html_body,
                headers=composed.headers,
                metadata={"message_key": str(message.key)},
                message_id=f"<{message.key}@{email_domain()}>",
                from_email=route.address,
            )
    except ProviderAnswerLost as error:
        # The provider's own words first (sms_status recognises a lost answer by them); never sent again here:
        # the status callback, or asking the provider again with the same key, settles it.
        message.error = f"{error} (it may have been sent, so it is not sent again)"[:2000]
        status_record(message, Status.FAILED, source="provider", detail=str(error))
        message.save(update_fields=["status", "status_changed_at", "error", "provider"])
        return Outcome(message.status, provider_called=True)
    except ProviderRejected as error:
        message.error = str(error)[:2000]
        status_record(message, Status.FAILED, source="provider", detail=str(error))
        message.save(update_fields=["status", "status_changed_at", "error", "provider"])
        return Outcome(message.status, provider_called=True)
    except ProviderUnavailable as error:
        message.error = str(error)[:2000]
        if message.attempts >= settings.MESSAGING_QUEUE["MAX_ATTEMPTS"]:
            status_record(
                message, Status.FAILED, source="queue", detail=f"Gave up after {message.attempts} attempts."
            )
            message.save(update_fields=["status", "status_changed_at", "error", "provider"])
        else:
            message.status = Status.QUEUED
            message.send_after = timezone.now() + dt.timedelta(seconds=_backoff_seconds(message.attempts))
            message.save(update_fields=["status", "send_after", "error", "provider"])
        return Outcome(message.status, provider_called=True, provider_unavailable=True)
    message.provider = result.provider
    message.provider_message_id = result.message_id
    message.sent_at = timezone.now()
    if timeline is None:
        status_record(message, Status.SENT, source="provider", at=message.sent_at)
    else:
        message.status, message.status_changed_at = Status.SENT, message.sent_at
        timeline.append(
            MessageStatusEvent(
                message=message, status=Status.SENT, source="provider", occurred_at=message.sent_at
            )
        )
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=message.status,
        status_changed_at=message.status_changed_at,
        provider=message.provider,
        provider_message_id=message.provider_message_id,
        sent_at=message.sent_at,
    )
    return Outcome(message.status, provider_called=True)


def _claim_and_refuse(message_id: int, reason: str, *, now: dt.datetime) -> bool:
    if not _claim(message_id, now=now, sender_id=None):
        return False
    message = OutboundMessage.objects.get(pk=message_id)
    _refuse(message, [reason], now=now, source="queue")
    return True


def message_send(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Judge and send one queued message now, within its sender's rate; returns its status (still "queued"
    when its sender's rate is used up for this second). Claims the row first so that two workers never both
    send it."""
    now = now or timezone.now()
    row = (
        OutboundMessage.objects.filter(pk=message_id)
        .values("status", "organization_id", "store_id", "channel", "category", "sender_id")
        .first()
    )
    if row is None:
        return ""
    if row["status"] != Status.QUEUED:
        return row["status"]
    route = route_choose(
        senders=_senders_of([row["organization_id"]]).get(row["organization_id"], []),
        channel=row["channel"],
        category=row["category"],
        store_id=row["store_id"],
        sender_id=row["sender_id"],
    )
    if isinstance(route, str):
        _claim_and_refuse(message_id, route, now=now)
    else:
        reservation = pace_reserve(route=route, wanted=1, now=now)
        used = 0
        if reservation.count and _claim(message_id, now=now, sender_id=route.sender_id):
            outcome = _deliver(OutboundMessage.objects.get(pk=message_id), route, now=now)
            used = int(outcome.provider_called)
        pace_release(route=route, reservation=reservation, used=used)
    return OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or ""


def lease_recover(*, now: dt.datetime | None = None) -> int:
    """Messages claimed by a worker that stopped before recording the answer: back in the queue, to be sent
    again with the same key (never with a new one); given up after MAX_ATTEMPTS claims."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.MESSAGING_QUEUE["LEASE_SECONDS"])
    stale = OutboundMessage.objects.filter(status=Status.SENDING, status_changed_at__lt=cutoff)
    recovered = 0
    for message_id, attempts in stale.values_list("pk", "attempts")[:1000]:
        give_up = attempts >= settings.MESSAGING_QUEUE["MAX_ATTEMPTS"]
        status = Status.FAILED if give_up else Status.QUEUED
        with transaction.atomic():
            if not stale.filter(pk=message_id).update(status=status, status_changed_at=now, send_after=None):
                continue
            MessageStatusEvent.objects.create(
                message_id=message_id,
                status=status,
                source="queue",
                occurred_at=now,
                detail=(
                    f"Gave up: its worker stopped during {attempts} attempts."
                    if give_up
                    else "Its worker stopped while sending: queued again, to go with the same key (the "
                    "provider drops a copy it already has)."
                ),
            )
        recovered += 1
    return recovered


def queue_drain(*, now: dt.datetime | None = None, limit: int | None = None) -> int:
    """Send the due messages, sender by sender within each sender's rate for the current second, at most
    `limit` (BATCH) in all; returns how many it settled (sent, held, refused, expired, failed or retried)."""
    now = now or timezone.now()
    limit = settings.MESSAGING_QUEUE["BATCH"] if limit is None else limit
    lease_recover(now=now)
    due = _due(now)
    groups = list(
        due.order_by()
        .values_list("organization_id", "store_id", "channel", "category", "sender_id")
        .distinct()
    )
    if not groups:
        return 0
    senders = _senders_of(group[0] for group in groups)
    routes: dict[str, tuple[Route, list[Q]]] = {}
    refusals: list[tuple[Q, str]] = []
    for organization_id, store_id, channel, category, sender_id in groups:
        where = Q(
            organization_id=organization_id,
            store_id=store_id,
            channel=channel,
            category=category,
            sender_id=sender_id,
        )
        route = route_choose(
            senders=senders.get(organization_id, []),
            channel=channel,
            category=category,
            store_id=store_id,
            sender_id=sender_id,
        )
        if isinstance(route, str):
            refusals.append((where, route))
        else:
            routes.setdefault(route.pace_key, (route, []))[1].append(where)
    settled = 0
    callback = status_callback_url()
    for where, reason in refusals:
        for message_id in (
            due.filter(where)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)[: max(limit - settled, 0)]
        ):
            settled += _claim_and_refuse(message_id, reason, now=now)
    for route, wheres in routes.values():
        if settled >= limit:
            break
        where = Q()
        for one in wheres:
            where |= one
        reservation = pace_reserve(route=route, wanted=limit - settled, now=now)  # unused slots go back
        # The slots first, then the messages: as many as the slots (another worker may take some first).
        claimed = _claim_batch(
            list(
                due.filter(where)
                .order_by("created_at", "id")
                .values_list("pk", flat=True)[: reservation.count]
            ),
            now=now,
            sender_id=route.sender_id,
        )
        used = 0
        timeline: list[MessageStatusEvent] = []
        try:
            for index, message in enumerate(claimed):
                outcome = _deliver(message, route, now=now, callback=callback, timeline=timeline)
                settled += 1
                used += outcome.provider_called
                if outcome.provider_unavailable:
                    used = reservation.count  # the provider asks us to wait: this second's slots stay spent
                    _unclaim(claimed[index + 1 :])
                    break
        finally:
            MessageStatusEvent.objects.bulk_create(timeline)
        pace_release(route=route, reservation=reservation, used=used)
    return settled
