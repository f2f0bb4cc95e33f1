"""What comes back after a message leaves: the provider's statuses moving a message forward (never back), the
suppressions a bounce, a complaint, an unsubscribe or a carrier's error code adds, and the consent ledger's
revocations they imply. Used by the SMS status callbacks, the email tracking webhooks and the unsubscribe link."""

import datetime as dt

from django.utils import timezone

from dispensary import events
from dispensary.audit import audit_record
from dispensary.consent import disclosure_get, disclosure_text
from dispensary.models import Customer, MarketingConsent
from dispensary.services import marketing_consent_recorded_event
from messaging.models import Channel, MessageStatusEvent, OutboundMessage, Suppression

Status = OutboundMessage.Status

# A status only moves forward: a late "sent" never undoes "delivered". Every final status ranks the same, so the
# first final one wins (a "failed" followed by a "delivered" stays failed, and the other way round).
STATUS_RANK = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
    Status.REFUSED: 3,
    Status.EXPIRED: 3,
}
FINAL = 3


def status_advance(
    message: OutboundMessage,
    status: str,
    *,
    source: str,
    at: dt.datetime | None = None,
    error_code: str = "",
    detail: str = "",
) -> bool:
    """Add `status` to the message's timeline, and move the message to it if it is further along than where the
    message stands. The caller holds the message's row locked. Returns whether the message moved."""
    at = at or timezone.now()
    MessageStatusEvent.objects.create(
        message=message,
        status=status,
        error_code=error_code,
        detail=detail[:500],
        source=source,
        occurred_at=at,
    )
    current = STATUS_RANK.get(message.status, 0)
    if current >= FINAL or STATUS_RANK[status] <= current:
        return False
    message.status = status
    message.status_changed_at = at
    fields = ["status", "status_changed_at"]
    if error_code or status in (Status.UNDELIVERED, Status.FAILED):
        message.error_code = error_code[:20]
        message.error = detail[:2000]
        fields += ["error_code", "error"]
    message.save(update_fields=fields)
    return True


def address_normal(channel: str, address: str) -> str:
    """Suppressions keep email addresses lower-cased (the gate looks them up so)."""
    address = address.strip()
    return address.lower() if channel == Channel.EMAIL else address


def suppression_add(
    *,
    organization_id: int,
    channel: str,
    address: str,
    reason: str,
    category: str = "",
    message: OutboundMessage | None = None,
    detail: str = "",
    now: dt.datetime | None = None,
) -> tuple[Suppression, bool]:
    """Suppress an address, once: an active suppression for the same reason and category is returned as it is.
    Returns (suppression, created)."""
    address = address_normal(channel, address)
    existing = (
        Suppression.objects.filter(
            organization_id=organization_id,
            channel=channel,
            address=address,
            reason=reason,
            category=category,
            lifted_at__isnull=True,
        )
        .order_by("created_at", "id")
        .first()
    )
    if existing is not None:
        return existing, False
    suppression = Suppression.objects.create(
        organization_id=organization_id,
        channel=channel,
        address=address,
        reason=reason,
        category=category,
        message=message,
        detail=detail[:500],
        created_at=now or timezone.now(),
    )
    return suppression, True


def consent_revoke(
    *,
    customer_id: int,
    channel: str,
    purposes: tuple[str, ...],
    source: str,
    evidence: str,
    now: dt.datetime | None = None,
) -> list[MarketingConsent]:
    """Append a revocation to the consent ledger for each purpose whose latest row is not already one (so a
    repeated unsubscribe or a second carrier report adds nothing). The customer's row is locked first, as the
    ledger's other writers do.

    Written here rather than through dispensary.services.marketing_consent_record, which records what staff or
    the customer chose at the counter or on a form (sources counter, api, keyword, web) and refuses the sources
    of these revocations: "unsubscribe" (the link in an email) and "carrier" (a STOP the carrier kept)."""
    now = now or timezone.now()
    customer = (
        Customer.objects.select_for_update(of=("self",)).select_related("organization").get(pk=customer_id)
    )
    disclosure = disclosure_get(channel)
    rows = []
    for purpose in purposes:
        latest = (
            MarketingConsent.objects.filter(customer=customer, channel=channel, purpose=purpose)
            .order_by("-recorded_at", "-id")
            .first()
        )
        if latest is not None and not latest.granted:
            continue
        if latest is None and purpose == MarketingConsent.Purpose.MARKETING:
            continue  # never granted: nothing to take back (the suppression still stops every message)
        rows.append(
            MarketingConsent.objects.create(
                customer=customer,
                channel=channel,
                purpose=purpose,
                granted=False,
                disclosure_version=disclosure.version if disclosure else "",
                disclosure_text=disclosure_text(disclosure, business=customer.organization.name)
                if disclosure
                else "",
                source=source,
                evidence=evidence[:500],
                recorded_at=now,
            )
        )
    for row in rows:
        events.publish(marketing_consent_recorded_event(row), organization_id=customer.organization_id)
        audit_record(
            actor=None,
            action="customer.marketing_consent_recorded",
            instance=customer,
            after={
                "channel": channel,
                "purpose": row.purpose,
                "granted": False,
                "source": source,
                "consent_id": row.pk,
            },
            organization=customer.organization,
        )
    return rows
