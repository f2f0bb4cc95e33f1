"""The send queue: messages are queued inside the business transaction that causes them (by an event's
handler), and sent after it, by workers, through the gate and the provider, once each.

`message_enqueue` writes one QUEUED message (idempotent on its key); `queue_drain` sends what is due. A message's
key is its idempotency key at the provider, so a retry after a lost answer never sends twice."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from messaging.email_compose import email_headers_and_footer
from messaging.gate import message_verdict
from messaging.links import links_shorten
from messaging.models import Category, Channel, MessageStatusEvent, OutboundMessage
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
    transaction.on_commit(queue_kick, robust=True)
    return message


def queue_kick() -> None:
    """Have the due messages sent: by a worker when Celery is configured, here otherwise."""
    if settings.CELERY_BROKER_URL:
        from messaging.tasks import queue_drain_task

        queue_drain_task.apply_async()
    else:
        queue_drain()


def status_callback_url() -> str:
    base = settings.PUBLIC_SITE_URL.rstrip("/")
    try:
        return f"{base}{reverse('messaging:sms-status')}" if base else ""
    except NoReverseMatch:  # the callback endpoint is not mounted
        return ""


def message_send(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Judge and send one queued message; returns its status. Claims the row first so that two workers never
    both send it."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = OutboundMessage.objects.filter(pk=message_id, status=Status.QUEUED).update(
            status=Status.SENDING, status_changed_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            return (
                OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or ""
            )
        message = OutboundMessage.objects.select_related("sender").get(pk=message_id)
        if message.send_before and message.send_before < now:
            status_record(message, Status.EXPIRED, source="queue", at=now, detail="Too late to be useful.")
            message.save(update_fields=["status", "status_changed_at"])
            return message.status
        verdict = message_verdict(message, at=now)
        if not verdict.allowed:
            message.gate_reasons = list(verdict.reasons)
            if verdict.send_after is not None:
                message.status = Status.QUEUED
                message.send_after = verdict.send_after
                message.save(update_fields=["status", "send_after", "gate_reasons"])
                return message.status
            status_record(message, Status.REFUSED, source="gate", at=now, detail="; ".join(verdict.reasons))
            message.save(update_fields=["status", "status_changed_at", "gate_reasons"])
            return message.status
    try:
        if message.channel == Channel.SMS:
            result = sms_backend().send(
                to=message.to,
                body=message.body,
                from_number=message.sender.address if message.sender else None,
                idempotency_key=str(message.key),
                status_callback=status_callback_url() or None,
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
                from_email=message.sender.address if message.sender else None,
            )
    except (ProviderRejected, ProviderAnswerLost) as error:
        # A lost answer may mean it was sent: never sent again; the status callback settles it.
        message.error = str(error)[:2000]
        status_record(message, Status.FAILED, source="provider", detail=str(error))
        message.save(update_fields=["status", "status_changed_at", "error"])
        return message.status
    except ProviderUnavailable as error:
        message.error = str(error)[:2000]
        message.status = Status.QUEUED
        message.send_after = timezone.now() + dt.timedelta(
            seconds=min(3600, 30 * 2 ** min(message.attempts, 7))
        )
        message.save(update_fields=["status", "send_after", "error"])
        return message.status
    message.provider = result.provider
    message.provider_message_id = result.message_id
    message.sent_at = timezone.now()
    status_record(message, Status.SENT, source="provider", at=message.sent_at)
    message.save(update_fields=["status", "status_changed_at", "provider", "provider_message_id", "sent_at"])
    return message.status


def queue_drain(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send up to `limit` due messages, oldest first; returns how many were tried."""
    now = now or timezone.now()
    due = list(
        OutboundMessage.objects.filter(status=Status.QUEUED)
        .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in due:
        message_send(message_id, now=now)
    return len(due)
