"""Reactions of messaging to other apps' events. Each runs in its delivery's transaction and queues its message
keyed by the delivering event, so a duplicate delivery queues (and so sends) nothing twice. The queue sends it
after the commit, through the gate (messaging/queue.py)."""

import uuid

from dispensary.events import delivering_event_uuid, handles
from messaging.models import Category, OutboundMessage
from messaging.queue import message_enqueue
from pos.events import ReceiptRequested
from pos.receipts import receipt_get, receipt_text


@handles(ReceiptRequested)
def on_receipt_requested(event: ReceiptRequested) -> None:
    """Render the sale's receipt (the short text for SMS, the full one for email) and queue it: a
    transactional message to the number or address the customer gave at the counter."""
    source = delivering_event_uuid()
    receipt = receipt_get(sale_id=event.sale_id)
    if receipt is None or receipt.store_id != event.store_id:
        raise LookupError(f"Sale {event.sale_id} of store {event.store_id} does not exist.")
    is_sms = event.channel == OutboundMessage.Channel.SMS
    message_enqueue(
        organization_id=receipt.organization_id,
        store_id=receipt.store_id,
        customer_id=receipt.customer_id,
        channel=event.channel,
        category=Category.TRANSACTIONAL,
        purpose="receipt",
        reference=f"sale:{receipt.sale_id}",
        to=event.destination,
        subject="" if is_sms else f"Your receipt from {receipt.store_name} ({receipt.receipt_number})",
        body=receipt_text(receipt, short=is_sms),
        key=uuid.uuid5(uuid.UUID(str(source)), f"receipt:{event.channel}") if source else None,
        source_event=source,
    )
