"""Reactions of messaging to other apps' events. Each runs in its delivery's transaction and records its
message keyed by the delivering event, so a duplicate delivery sends nothing twice."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from dispensary.events import delivering_event_uuid, handles
from messaging.models import OutboundMessage
from messaging.providers import ProviderAnswerLost, ProviderRejected, email_send, sms_backend
from pos.events import ReceiptRequested
from pos.receipts import receipt_get, receipt_text

logger = logging.getLogger(__name__)


@handles(ReceiptRequested)
def on_receipt_requested(event: ReceiptRequested) -> None:
    """Render the sale's receipt (the short text for SMS, the full one for email), send it and record it.
    A refused message is recorded as failed, and so is one whose answer was lost (it may have been sent: it is
    not sent twice); an unreachable provider raises, and the outbox retries."""
    source = delivering_event_uuid()
    receipt = receipt_get(sale_id=event.sale_id)
    if receipt is None or receipt.store_id != event.store_id:
        raise LookupError(f"Sale {event.sale_id} of store {event.store_id} does not exist.")
    is_sms = event.channel == OutboundMessage.Channel.SMS
    backend = sms_backend() if is_sms else None
    message = OutboundMessage(
        organization_id=receipt.organization_id,
        store_id=receipt.store_id,
        customer_id=receipt.customer_id,
        channel=event.channel,
        purpose="receipt",
        reference=f"sale:{receipt.sale_id}",
        to=event.destination,
        subject="" if is_sms else f"Your receipt from {receipt.store_name} ({receipt.receipt_number})",
        body=receipt_text(receipt, short=is_sms),
        provider=backend.name if backend else "",
        source_event=source,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        logger.info("Receipt for event %s by %s was already sent", source, event.channel)
        return
    try:
        if backend is not None:
            result = backend.send(to=message.to, body=message.body)
        else:
            result = email_send(to=message.to, subject=message.subject, body=message.body)
    except (ProviderRejected, ProviderAnswerLost) as error:
        # A lost answer may mean it was sent: recorded, never sent again (the customer asks again if need be).
        message.status = OutboundMessage.Status.FAILED
        message.error = str(error)[:2000]
        message.save(update_fields=["status", "error"])
        logger.warning("Receipt %s to %s was refused: %s", receipt.receipt_number, event.channel, error)
        return
    message.status = OutboundMessage.Status.SENT
    message.provider = result.provider
    message.provider_message_id = result.message_id
    message.sent_at = timezone.now()
    message.save(update_fields=["status", "provider", "provider_message_id", "sent_at"])
