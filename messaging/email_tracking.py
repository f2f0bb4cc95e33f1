"""The email provider's tracking events, through django-anymail's `tracking` signal (its webhooks are mounted at
/messaging/anymail/<esp>/tracking/ and checked with ANYMAIL WEBHOOK_SECRET): a bounce or a rejection suppresses
the address, a spam complaint too, an unsubscribe at the provider suppresses marketing and revokes the ledger's
marketing consent; delivered, opened and clicked go on the message's timeline.

The message is found by the key the queue sent in the email's metadata, else by the provider's message id (the
one anymail returned when sending), else by our Message-ID header (<key@domain>)."""

import logging
import re
import uuid

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.utils import timezone

from dispensary.models import MarketingConsent
from messaging.attribution import engagement_publish
from messaging.feedback import consent_revoke, status_advance, suppression_add
from messaging.models import Category, Channel, MessageStatusEvent, OutboundMessage, Suppression

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status
MESSAGE_ID_KEY = re.compile(
    r"^<?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@", re.IGNORECASE
)

STATUSES = {
    EventType.SENT: Status.SENT,
    EventType.DELIVERED: Status.DELIVERED,
    EventType.BOUNCED: Status.UNDELIVERED,
    EventType.REJECTED: Status.FAILED,
    EventType.FAILED: Status.FAILED,
}
SUPPRESSING = {
    EventType.BOUNCED: (Suppression.Reason.BOUNCED, ""),
    EventType.REJECTED: (Suppression.Reason.BOUNCED, ""),
    EventType.COMPLAINED: (Suppression.Reason.COMPLAINED, ""),
    EventType.UNSUBSCRIBED: (Suppression.Reason.UNSUBSCRIBED, Category.MARKETING),
}
ENGAGEMENT = {
    EventType.OPENED: MessageStatusEvent.Engagement.OPENED,
    EventType.CLICKED: MessageStatusEvent.Engagement.CLICKED,
}


def tracked_message(event: AnymailTrackingEvent) -> OutboundMessage | None:
    key = (event.metadata or {}).get("message_key", "")
    if not key and event.message_id:
        found = MESSAGE_ID_KEY.match(str(event.message_id).strip())
        key = found.group(1) if found else ""
    messages = OutboundMessage.objects.select_for_update().filter(channel=Channel.EMAIL)
    if key:
        try:
            return messages.filter(key=uuid.UUID(str(key))).first()
        except ValueError:
            return None
    if event.message_id:
        message_id = str(event.message_id).strip()
        return (
            messages.filter(provider_message_id__in=[message_id, f"<{message_id.strip('<>')}>"])
            .order_by("id")
            .first()
        )
    return None


@transaction.atomic
def email_tracking_record(*, event: AnymailTrackingEvent, esp_name: str = "") -> str:
    """Record one tracking event. Returns "recorded", "ignored" (an event type we do not act on) or
    "unknown_message" (logged: without the message we do not know whose address it is)."""
    kind = event.event_type
    if kind not in STATUSES and kind not in SUPPRESSING and kind not in ENGAGEMENT:
        return "ignored"
    message = tracked_message(event)
    if message is None:
        logger.warning(
            "%s tracking event %s for an unknown message %s: ignored", esp_name, kind, event.message_id
        )
        return "unknown_message"
    now = timezone.now()
    at = event.timestamp or now
    detail = str(event.description or event.mta_response or event.reject_reason or "")
    if kind in STATUSES:
        status_advance(message, STATUSES[kind], source="webhook", at=at, detail=detail)
    elif kind in ENGAGEMENT:
        MessageStatusEvent.objects.create(
            message=message,
            status=ENGAGEMENT[kind],
            source="webhook",
            detail=str(event.click_url or "")[:500],
            occurred_at=at,
        )
        engagement_publish(message=message, engagement=ENGAGEMENT[kind], at=at)
    if kind in SUPPRESSING:
        reason, category = SUPPRESSING[kind]
        suppression_add(
            organization_id=message.organization_id,
            channel=Channel.EMAIL,
            address=event.recipient or message.to,
            reason=reason,
            category=category,
            message=message,
            detail=f"{esp_name or 'Email provider'}: {kind}" + (f" ({detail})" if detail else ""),
            now=now,
        )
        if kind == EventType.UNSUBSCRIBED and message.customer_id:
            consent_revoke(
                customer_id=message.customer_id,
                channel=Channel.EMAIL,
                purposes=(MarketingConsent.Purpose.MARKETING,),
                source="unsubscribe",
                evidence=f"{esp_name or 'Email provider'} unsubscribe event for email message {message.pk}",
                now=now,
            )
    return "recorded"


def on_tracking(sender, event, esp_name="", **kwargs) -> None:
    """Receiver of anymail's `tracking` signal (connected in MessagingConfig.ready)."""
    email_tracking_record(event=event, esp_name=esp_name)
