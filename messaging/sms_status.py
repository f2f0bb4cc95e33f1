"""The SMS provider's status callbacks (Twilio's MessageStatus and ErrorCode): every callback goes on the message's
timeline, the status moves forward only (the first final status wins, whatever order callbacks arrive in), and
the carrier's error codes are acted on:

- 21610: the recipient had replied STOP to the carrier: the number is suppressed and the consent ledger records
  the revocation of both purposes (source "carrier");
- 30003: the phone could not be reached: the text is tried again later as a new message (its key derived from the
  first message's, so a repeated callback queues nothing twice), at most MESSAGING_SMS_UNREACHABLE_RETRIES times,
  and never past the first message's send_before; the gate judges the new message again when it is sent;
- 30005: unknown number: suppressed as invalid; 30006: landline: suppressed as not a mobile;
- 30007: carrier filtering (how the carriers' filtering of cannabis content shows): one MessagingAlert per store
  and local day."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispensary.clock import store_local_date
from dispensary.models import MarketingConsent
from messaging.feedback import consent_revoke, status_advance, suppression_add
from messaging.gate import message_verdict
from messaging.models import Channel, MessageStatusEvent, MessagingAlert, OutboundMessage, Suppression
from messaging.providers import ANSWER_LOST, ProviderError, sms_backend
from messaging.queue import message_enqueue, status_callback_url

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status

# The provider's words for a status, in ours.
PROVIDER_STATUSES = {
    "accepted": Status.QUEUED,
    "scheduled": Status.QUEUED,
    "queued": Status.QUEUED,
    "sending": Status.SENDING,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.FAILED,
}

CARRIER_STOPPED = "21610"
UNREACHABLE = "30003"
UNKNOWN_NUMBER = "30005"
LANDLINE = "30006"
FILTERED = "30007"
SUPPRESSING = {
    UNKNOWN_NUMBER: Suppression.Reason.INVALID,
    LANDLINE: Suppression.Reason.NOT_MOBILE,
    CARRIER_STOPPED: Suppression.Reason.STOPPED,
}


def sms_status_record(
    *,
    sid: str,
    status: str,
    error_code: str = "",
    error_message: str = "",
    key: str = "",
    now: dt.datetime | None = None,
) -> str:
    """Record one status callback. Returns what was done: "recorded", "duplicate" (the same status and error
    already came by callback), "unknown_message" or "unknown_status" (logged, nothing written).

    `key` is the message's key when the callback address carries it (?key=): a message whose send answer was
    lost has no provider id yet, and the provider's callback then tells us it had the text after all."""
    now = now or timezone.now()
    ours = PROVIDER_STATUSES.get(status.strip().lower())
    if ours is None:
        logger.warning("SMS status callback for %s with an unknown status %r: ignored", sid, status)
        return "unknown_status"
    error_code = error_code.strip()[:20]
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(channel=Channel.SMS, provider_message_id=sid)
            .order_by("id")
            .first()
        )
        if message is None and key:
            message = _lost_answer_adopt(key=key, sid=sid, now=now)
        if message is None:
            logger.warning("SMS status callback for an unknown message %s (%s): ignored", sid, status)
            return "unknown_message"
        already = MessageStatusEvent.objects.filter(
            message=message, source="callback", status=ours, error_code=error_code
        ).exists()
        if already:
            return "duplicate"
        moved = status_advance(
            message,
            ours,
            source="callback",
            at=now,
            error_code=error_code,
            detail=error_message or (f"Error {error_code}" if error_code else ""),
        )
        if error_code:
            _error_act(message, error_code=error_code, error_message=error_message, final_now=moved, now=now)
    return "recorded"


def _lost_answer_adopt(*, key: str, sid: str, now: dt.datetime) -> OutboundMessage | None:
    """The message of `key` if its send answer was lost: it takes the provider's id, and is sent after all."""
    try:
        key = uuid.UUID(str(key))
    except ValueError:
        return None
    message = (
        OutboundMessage.objects.select_for_update()
        .filter(channel=Channel.SMS, key=key, provider_message_id="")
        .first()
    )
    if message is None or not _answer_was_lost(message):
        return None
    _sent_after_all(message, sid=sid, now=now, detail="The provider's callback shows it had the text.")
    return message


def _answer_was_lost(message: OutboundMessage) -> bool:
    return message.status == Status.FAILED and message.error.startswith(ANSWER_LOST)


def _sent_after_all(message: OutboundMessage, *, sid: str, now: dt.datetime, detail: str) -> None:
    """A text recorded failed because the provider's answer was lost, found sent: our own guess is corrected
    (the one move backwards a status makes, from our failure to the provider's word)."""
    message.provider = message.provider or "twilio"
    message.provider_message_id = sid
    message.sent_at = now
    message.status = Status.SENT
    message.status_changed_at = now
    message.error = ""
    MessageStatusEvent.objects.create(
        message=message, status=Status.SENT, source="provider", detail=detail, occurred_at=now
    )
    message.save(
        update_fields=["provider", "provider_message_id", "sent_at", "status", "status_changed_at", "error"]
    )


def _error_act(
    message: OutboundMessage, *, error_code: str, error_message: str, final_now: bool, now: dt.datetime
) -> None:
    reason = SUPPRESSING.get(error_code)
    if reason is not None:
        suppression_add(
            organization_id=message.organization_id,
            channel=Channel.SMS,
            address=message.to,
            reason=reason,
            message=message,
            detail=f"Carrier error {error_code}" + (f": {error_message}" if error_message else ""),
            now=now,
        )
    if error_code == CARRIER_STOPPED and message.customer_id:
        consent_revoke(
            customer_id=message.customer_id,
            channel=Channel.SMS,
            purposes=(MarketingConsent.Purpose.MARKETING, MarketingConsent.Purpose.TRANSACTIONAL),
            source="carrier",
            evidence=f"Carrier error 21610 (the number replied STOP) on message {message.provider_message_id}",
            now=now,
        )
    elif error_code == FILTERED:
        filtering_alert_raise(message, error_message=error_message, now=now)
    elif error_code == UNREACHABLE and final_now and message.status in (Status.UNDELIVERED, Status.FAILED):
        sms_unreachable_retry(message, now=now)


def filtering_alert_raise(
    message: OutboundMessage, *, error_message: str = "", now: dt.datetime | None = None
) -> tuple[MessagingAlert, bool]:
    """One alert per organization, store and the store's local day, however many texts are filtered."""
    now = now or timezone.now()
    store = message.store
    day = store_local_date(store, at=now) if store else timezone.localdate(now)
    where = f"from {store.name}" if store else "from this organization"
    return MessagingAlert.objects.get_or_create(
        organization_id=message.organization_id,
        scope=store.code if store else "",
        kind=MessagingAlert.Kind.FILTERING,
        day=day,
        defaults={
            "store": store,
            "message": (
                f"Carriers are filtering texts {where} (error 30007). Cannabis content, links and wording "
                "trip the carriers' filters: check the message's words and links and the sender's registration."
            ),
            "details": {
                "first_message_id": message.pk,
                "to": message.to,
                "error_message": error_message[:300],
            },
        },
    )


def sms_unreachable_retry(
    message: OutboundMessage, *, now: dt.datetime | None = None
) -> OutboundMessage | None:
    """Queue the text again, later, as a new message keyed from the first one (uuid5 of its key and the retry's
    number: the same callback twice queues it once). None when the retries are used up or it would be too late."""
    now = now or timezone.now()
    first = message.retry_of or message
    done = OutboundMessage.objects.filter(retry_of=first).count()
    if done >= settings.MESSAGING_SMS_UNREACHABLE_RETRIES:
        return None
    send_after = now + dt.timedelta(minutes=settings.MESSAGING_SMS_UNREACHABLE_RETRY_MINUTES)
    if first.send_before and send_after >= first.send_before:
        return None
    retry = message_enqueue(
        organization_id=first.organization_id,
        store_id=first.store_id,
        customer_id=first.customer_id,
        channel=first.channel,
        category=first.category,
        purpose=first.purpose,
        topic=first.topic,
        reference=first.reference,
        to=first.to,
        subject=first.subject,
        body=first.body,
        template_key=first.template_key,
        language=first.language,
        key=uuid.uuid5(first.key, f"unreachable-retry:{done + 1}"),
        send_after=send_after,
        send_before=first.send_before,
    )
    OutboundMessage.objects.filter(pk=retry.pk, retry_of__isnull=True).update(
        retry_of=first, sender_id=first.sender_id
    )
    logger.info("SMS %s was not delivered (phone unreachable): tried again as %s", message.pk, retry.pk)
    return retry


def sms_send_recover(*, message_id: int, now: dt.datetime | None = None) -> str:
    """Ask the provider again, with the same idempotency key, for a text whose send answer was lost: a provider
    that had it answers with the same message id and sends nothing again; one that never got it sends it now.
    The gate judges it again first (a STOP may have come since). Returns the message's status."""
    now = now or timezone.now()
    message = OutboundMessage.objects.select_related("sender").get(pk=message_id)
    if message.channel != Channel.SMS or not _answer_was_lost(message) or message.provider_message_id:
        return message.status
    if not message_verdict(message, at=now).allowed:
        return message.status
    try:
        result = sms_backend().send(
            to=message.to,
            body=message.body,
            from_number=message.sender.address if message.sender else None,
            idempotency_key=str(message.key),
            status_callback=status_callback_url() or None,
        )
    except ProviderError as error:
        logger.warning("SMS %s: asking the provider again failed: %s", message.pk, error)
        return message.status
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=message_id)
        if _answer_was_lost(message) and not message.provider_message_id:
            _sent_after_all(
                message,
                sid=result.message_id,
                now=now,
                detail="Asked again with the same key after a lost answer.",
            )
    return message.status
