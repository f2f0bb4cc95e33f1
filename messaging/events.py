"""Events messaging publishes to itself: one message to one customer on one channel, rendered and ready, so
that each text or email is sent by its own outbox delivery (retried alone, never resending the others)."""

from dataclasses import dataclass

from dispensary.events import Event


@dataclass(frozen=True)
class CustomerMessageRequested(Event):
    """Send this message once. `key` (a UUID derived from the event that caused it, the customer and the
    channel) is the message's identity: the same key twice sends once. `send_before` (ISO time, or "") is
    when it stops being worth sending ("your driver is nearby" an hour late)."""

    name = "messaging.customer_message_requested"
    version = 1
    key: str
    organization_id: int
    store_id: int | None
    customer_id: int | None
    channel: str  # "sms" or "email"
    to: str
    subject: str
    body: str
    purpose: str
    reference: str
    send_before: str = ""
