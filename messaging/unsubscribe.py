"""One-click unsubscribe from marketing email (RFC 8058): the link's token names the message; the revocation is
recorded at once, in the consent ledger (source "unsubscribe") and as a marketing-only suppression of the
address, so the next marketing email queued to it is refused by the gate. Repeating it records nothing twice."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dispensary.models import MarketingConsent
from messaging.email_compose import unsubscribe_message_id
from messaging.feedback import consent_revoke, suppression_add
from messaging.models import Category, Channel, OutboundMessage, Suppression


def unsubscribe_message_get(*, token: str) -> OutboundMessage | None:
    """The marketing email a token was made for; None for a token that is not ours (or not such a message)."""
    message_id = unsubscribe_message_id(token)
    if message_id is None:
        return None
    return (
        OutboundMessage.objects.select_related("organization")
        .filter(pk=message_id, channel=Channel.EMAIL, category=Category.MARKETING)
        .first()
    )


@transaction.atomic
def unsubscribe_record(*, message: OutboundMessage, now: dt.datetime | None = None) -> bool:
    """Record the unsubscribe of the message's recipient. Returns whether anything was recorded (False when
    they had already unsubscribed)."""
    now = now or timezone.now()
    OutboundMessage.objects.select_for_update().filter(pk=message.pk).first()  # one unsubscribe at a time
    rows = []
    if message.customer_id:
        rows = consent_revoke(
            customer_id=message.customer_id,
            channel=Channel.EMAIL,
            purposes=(MarketingConsent.Purpose.MARKETING,),
            source="unsubscribe",
            evidence=f"One-click unsubscribe link of email message {message.pk} ({message.key})",
            now=now,
        )
    _, created = suppression_add(
        organization_id=message.organization_id,
        channel=Channel.EMAIL,
        address=message.to,
        reason=Suppression.Reason.UNSUBSCRIBED,
        category=Category.MARKETING,
        message=message,
        detail="One-click unsubscribe link",
        now=now,
    )
    return bool(rows) or created
