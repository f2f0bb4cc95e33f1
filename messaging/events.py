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


@dataclass(frozen=True)
class CustomerEnteredSegment(Event):
    """A customer now matches a saved segment they did not match before (flows triggered by a segment enrol
    them). Published once per entry: leaving and entering again is a new entry with a new `entered_at`."""

    name = "messaging.customer_entered_segment"
    version = 1
    segment_id: int
    customer_id: int
    organization_id: int
    entered_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class MessageEngaged(Event):
    """A marketing message was opened (email) or its link clicked: flows' conditional splits and the
    engagement conditions of segments read the timeline, this tells them to look again."""

    name = "messaging.message_engaged"
    version = 1
    message_id: int
    customer_id: int | None
    organization_id: int
    engagement: str  # "opened" or "clicked"
    occurred_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class FlowWebhookRequested(Event):
    """A flow's webhook step ran for one customer: post it once. `key` (derived from the enrollment and the step)
    is sent as the Idempotency-Key header, so a post retried after a lost answer is recognised by the receiver."""

    name = "messaging.flow_webhook_requested"
    version = 1
    key: str
    organization_id: int
    flow_id: int
    step_id: int
    enrollment_id: int
    customer_id: int
    url: str
    occurred_at: str  # ISO 8601, UTC
