"""Texts customers send us (issue 14): STOP and its plain-language forms revoke at once, START and YES opt back in
(YES also confirms a pending double opt-in), HELP is answered with the store's name and contact, and anything
else waits in the store's inbox, where staff answer it or mark it handled. Also the double opt-in's request for
a YES, queued when the ledger records a grant that waits for it.

Whose number was texted: the active Sender with that address decides the organization (and the store when the
sender belongs to one). Without such a sender, the only organization when there is one; otherwise every
organization that has a customer with the texting number (a STOP is honoured in each of them), and the reply
is filed under the one whose customer is the oldest record."""

import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from dispensary.consent import disclosure_get
from dispensary.errors import InvalidPhoneNumber, NotFound, ValidationFailed
from dispensary.event_types import SmsConsentConfirmationRequested
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Customer, MarketingConsent, Organization, Store, User
from dispensary.phones import phone_display, phone_normalize
from dispensary.services import marketing_consent_record
from messaging import keywords
from messaging.gate import HELP_ANSWER, STOP_CONFIRMATION
from messaging.models import Category, Channel, InboundMessage, OutboundMessage, Sender, Suppression
from messaging.queue import message_enqueue

logger = logging.getLogger(__name__)
Kind = InboundMessage.Kind
SMS = MarketingConsent.Channel.SMS
MARKETING = MarketingConsent.Purpose.MARKETING
TRANSACTIONAL = MarketingConsent.Purpose.TRANSACTIONAL
REPLY_MAX_LENGTH = 1600
_KEYS = uuid.UUID("5b7c52c6-2a0b-4d43-9a3e-3f5a0c1c2e14")  # namespace of the replies' idempotency keys


def consent_request_text(store_name: str) -> str:
    return (
        f"{store_name}: reply YES to confirm you want offers by text. Up to 6 msgs/mo. "
        "Msg&data rates may apply. Reply STOP to cancel, HELP for help."
    )


def stop_confirmation_text(store_name: str) -> str:
    return f"You're unsubscribed from {store_name} texts. No more messages will be sent. Reply START to resubscribe."


def start_text(store_name: str) -> str:
    return (
        f"{store_name}: you're resubscribed to texts about your orders. Reply HELP for help, STOP to cancel."
    )


def confirmed_text(store_name: str) -> str:
    return (
        f"{store_name}: thanks, you're subscribed to offers by text. Up to 6 msgs/mo. Msg&data rates may apply. "
        "Reply STOP to cancel, HELP for help."
    )


def help_text(store: Store | None, organization: Organization) -> str:
    name = store.name if store else organization.name
    contact = []
    if store is not None and store.phone:
        contact.append(f"call {phone_display(store.phone)}")
    if store is not None and store.address_line1:
        contact.append(f"visit {store.address_line1}, {store.city}, {store.region} {store.postal_code}")
    reach = f" For help {' or '.join(contact)}." if contact else ""
    return (
        f"{name}: texts about your orders and offers.{reach} Msg&data rates may apply. Reply STOP to cancel."
    )


@dataclass(frozen=True)
class Recipients:
    organization: Organization
    organizations: tuple[Organization, ...]  # every organization a STOP applies to
    store: Store | None
    customers: tuple[Customer, ...]  # the texting number's customers, in those organizations


def _number(raw: str) -> str:
    try:
        return phone_normalize(raw)
    except InvalidPhoneNumber:
        return (raw or "").strip()[:20]


def recipients_find(*, from_number: str, to_number: str) -> Recipients | None:
    """Whose number was texted, and who texted it (see the module's rule). None: nobody to file it under."""
    sender = (
        Sender.objects.filter(channel=Channel.SMS, address=to_number, active=True)
        .select_related("organization", "store")
        .order_by("id")
        .first()
    )
    if sender is not None:
        organizations = [sender.organization]
    else:
        only = list(Organization.objects.order_by("id")[:2])
        if len(only) == 1:
            organizations = only
        else:
            found = Customer.objects.filter(phone=from_number).select_related("organization").order_by("id")
            organizations = list({c.organization_id: c.organization for c in found}.values())
    if not organizations:
        return None
    customers = tuple(
        Customer.objects.filter(organization__in=organizations, phone=from_number)
        .select_related("organization", "home_store")
        .order_by("id")
    )
    organization = customers[0].organization if customers and sender is None else organizations[0]
    store = sender.store if sender is not None else None
    if store is None:
        last = (
            OutboundMessage.objects.filter(
                organization=organization, channel=Channel.SMS, to=from_number, store__isnull=False
            )
            .select_related("store")
            .order_by("-created_at", "-id")
            .first()
        )
        store = last.store if last is not None else None
    if store is None:
        home = [c.home_store for c in customers if c.organization_id == organization.pk and c.home_store_id]
        store = home[0] if home else None
    return Recipients(organization, tuple(organizations), store, customers)


def _latest(customer: Customer, purpose: str) -> MarketingConsent | None:
    return (
        MarketingConsent.objects.filter(customer=customer, channel=SMS, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .first()
    )


def _reply(
    *, recipients: Recipients, to: str, body: str, purpose: str, key: str, customer: Customer | None
) -> OutboundMessage:
    return message_enqueue(
        organization_id=recipients.organization.pk,
        store_id=recipients.store.pk if recipients.store else None,
        customer_id=customer.pk if customer else None,
        channel=Channel.SMS,
        category=Category.TRANSACTIONAL,
        purpose=purpose,
        to=to,
        body=body,
        key=uuid.uuid5(_KEYS, key),
    )


def _stop(recipients: Recipients, inbound: InboundMessage, evidence: str, now) -> OutboundMessage | None:
    """Revoke marketing and transactional texts for every customer with the number, suppress the number, and
    confirm once: a number already stopped gets no second confirmation."""
    for customer in recipients.customers:
        store = (
            recipients.store
            if recipients.store and customer.organization_id == recipients.store.organization_id
            else None
        )
        for purpose in (MARKETING, TRANSACTIONAL):
            latest = _latest(customer, purpose)
            if latest is not None and not latest.granted and latest.source == "keyword":
                continue  # already stopped by a reply: nothing new to record
            marketing_consent_record(
                customer=customer,
                channel=SMS,
                purpose=purpose,
                granted=False,
                disclosure_version=latest.disclosure_version if latest else disclosure_get(SMS).version,
                staff=None,
                store=store,
                source="keyword",
                evidence=evidence,
                now=now,
            )
    newly_stopped = False
    for organization in recipients.organizations:
        in_force = Suppression.objects.filter(
            organization=organization,
            channel=Channel.SMS,
            address=inbound.from_number,
            reason=Suppression.Reason.STOPPED,
            lifted_at__isnull=True,
        ).exists()
        if not in_force:
            Suppression.objects.create(
                organization=organization,
                channel=Channel.SMS,
                address=inbound.from_number,
                reason=Suppression.Reason.STOPPED,
                detail=evidence,
                created_at=now,
            )
            if organization.pk == recipients.organization.pk:
                newly_stopped = True
    if not newly_stopped:
        return None
    name = recipients.store.name if recipients.store else recipients.organization.name
    return _reply(
        recipients=recipients,
        to=inbound.from_number,
        body=stop_confirmation_text(name),
        purpose=STOP_CONFIRMATION,
        key=f"inbound:{inbound.provider_message_id}:stop",
        customer=_customer_of(recipients),
    )


def _customer_of(recipients: Recipients) -> Customer | None:
    return next((c for c in recipients.customers if c.organization_id == recipients.organization.pk), None)


def _start(
    recipients: Recipients, inbound: InboundMessage, evidence: str, now, *, yes: bool
) -> tuple[str, OutboundMessage]:
    """Opt back in: lift the STOP suppression, grant transactional texts; a YES also confirms a marketing grant
    that waits for it (a fresh marketing grant is needed otherwise). Returns the kind it was and the answer."""
    Suppression.objects.filter(
        organization=recipients.organization,
        channel=Channel.SMS,
        address=inbound.from_number,
        reason=Suppression.Reason.STOPPED,
        lifted_at__isnull=True,
    ).update(lifted_at=now, lifted_reason=f"Replied {inbound.body.strip()[:40]!r}")
    confirmed = False
    for customer in recipients.customers:
        if customer.organization_id != recipients.organization.pk:
            continue
        latest = _latest(customer, TRANSACTIONAL)
        if latest is not None and not latest.granted:
            marketing_consent_record(
                customer=customer,
                channel=SMS,
                purpose=TRANSACTIONAL,
                granted=True,
                disclosure_version=latest.disclosure_version,
                staff=None,
                store=recipients.store,
                source="keyword",
                evidence=evidence,
                now=now,
            )
        pending = _latest(customer, MARKETING)
        if yes and pending is not None and pending.granted and pending.awaiting_confirmation:
            marketing_consent_record(
                customer=customer,
                channel=SMS,
                purpose=MARKETING,
                granted=True,
                awaiting_confirmation=False,
                age_affirmed=pending.age_affirmed,
                disclosure_version=pending.disclosure_version,
                staff=None,
                store=pending.store or recipients.store,
                source="keyword",
                evidence=evidence,
                now=now,
            )
            confirmed = True
    name = recipients.store.name if recipients.store else recipients.organization.name
    reply = _reply(
        recipients=recipients,
        to=inbound.from_number,
        body=confirmed_text(name) if confirmed else start_text(name),
        purpose="consent" if confirmed else "start_confirmation",
        key=f"inbound:{inbound.provider_message_id}:start",
        customer=_customer_of(recipients),
    )
    return (Kind.CONFIRM if confirmed else Kind.START), reply


@transaction.atomic
def inbound_sms_receive(
    *, from_number: str, to_number: str, body: str, provider_message_id: str, now=None
) -> InboundMessage | None:
    """Record a customer's text and act on it once: the same provider message id again does nothing and
    returns the first record. None when nobody owns the texted number (logged, nothing written)."""
    now = now or timezone.now()
    provider_message_id = (provider_message_id or "").strip()[:120]
    if not provider_message_id:
        raise ValidationFailed("The message has no id.", details={"MessageSid": ["Required."]})
    existing = InboundMessage.objects.filter(provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing
    sender_number, our_number = _number(from_number), _number(to_number)
    recipients = recipients_find(from_number=sender_number, to_number=our_number)
    if recipients is None:
        logger.warning("A text to %s from an unknown number has nobody to file it under", our_number)
        return None
    body = (body or "")[:2000]
    kind = keywords.keyword_classify(body)
    inbound = InboundMessage(
        organization=recipients.organization,
        store=recipients.store,
        customer=_customer_of(recipients),
        from_number=sender_number[:20],
        to_number=our_number[:20],
        body=body,
        provider_message_id=provider_message_id,
        kind={keywords.STOP: Kind.STOP, keywords.START: Kind.START, keywords.HELP: Kind.HELP}.get(
            kind, Kind.OTHER
        ),
        received_at=now,
        handled_at=None if kind == keywords.OTHER else now,
    )
    try:
        with transaction.atomic():
            inbound.save()
    except IntegrityError:  # the same webhook, delivered twice at once: the first one acts
        return InboundMessage.objects.get(provider_message_id=provider_message_id)
    evidence = f"Reply {body.strip()[:300]!r} (message {provider_message_id})"
    reply = None
    if kind == keywords.STOP:
        reply = _stop(recipients, inbound, evidence, now)
    elif kind == keywords.START:
        inbound.kind, reply = _start(recipients, inbound, evidence, now, yes=keywords.is_yes(body))
    elif kind == keywords.HELP:
        reply = _reply(
            recipients=recipients,
            to=inbound.from_number,
            body=help_text(recipients.store, recipients.organization),
            purpose=HELP_ANSWER,
            key=f"inbound:{provider_message_id}:help",
            customer=inbound.customer,
        )
    inbound.reply = reply
    inbound.save(update_fields=["kind", "reply"])
    return inbound


# --- The double opt-in's request ------------------------------------------------------------------------------


@handles(SmsConsentConfirmationRequested)
def on_sms_consent_confirmation_requested(event: SmsConsentConfirmationRequested) -> None:
    """Ask the customer to confirm by YES, once per grant, while the grant still waits for it."""
    consent = (
        MarketingConsent.objects.filter(pk=event.consent_id, customer_id=event.customer_id)
        .select_related("customer__organization", "store")
        .first()
    )
    if consent is None or not consent.awaiting_confirmation or not consent.customer.phone:
        return
    latest = _latest(consent.customer, MARKETING)
    if latest is None or latest.pk != consent.pk:
        return  # answered or withdrawn since
    customer = consent.customer
    name = consent.store.name if consent.store else customer.organization.name
    message_enqueue(
        organization_id=customer.organization_id,
        store_id=consent.store_id,
        customer_id=customer.pk,
        channel=Channel.SMS,
        category=Category.TRANSACTIONAL,
        purpose="consent",
        reference=f"consent:{consent.pk}",
        to=customer.phone,
        body=consent_request_text(name),
        key=uuid.uuid5(_KEYS, f"consent:{consent.pk}"),
        source_event=delivering_event_uuid(),
    )


# --- The inbox ------------------------------------------------------------------------------------------------


def _inbox_message_lock(inbound: InboundMessage) -> InboundMessage:
    locked = InboundMessage.objects.select_for_update().filter(pk=inbound.pk).first()
    if locked is None:
        raise NotFound("This message does not exist.")
    return locked


@transaction.atomic
def inbound_reply(*, inbound: InboundMessage, actor: User, body: str) -> OutboundMessage:
    """Answer a customer's text: the answer is queued as a transactional reply (the gate still decides), and
    the text is marked handled by the actor."""
    text = (body or "").strip()
    if not text:
        raise ValidationFailed("Write an answer first.", details={"body": ["Required."]})
    if len(text) > REPLY_MAX_LENGTH:
        raise ValidationFailed(
            f"The answer is too long (at most {REPLY_MAX_LENGTH} characters).",
            details={"body": ["Too long."]},
        )
    locked = _inbox_message_lock(inbound)
    if locked.handled_at is not None:
        raise ValidationFailed("This message was already handled.", details={"handled": ["Already handled."]})
    reply = message_enqueue(
        organization_id=locked.organization_id,
        store_id=locked.store_id,
        customer_id=locked.customer_id,
        channel=Channel.SMS,
        category=Category.TRANSACTIONAL,
        purpose="reply",
        reference=f"inbound:{locked.pk}",
        to=locked.from_number,
        body=text,
        key=uuid.uuid5(_KEYS, f"inbox:{locked.pk}:reply"),
    )
    locked.handled_at = timezone.now()
    locked.handled_by = actor
    locked.reply = reply
    locked.save(update_fields=["handled_at", "handled_by", "reply"])
    return reply


@transaction.atomic
def inbound_handle(*, inbound: InboundMessage, actor: User) -> InboundMessage:
    """Mark a customer's text handled without answering it (idempotent)."""
    locked = _inbox_message_lock(inbound)
    if locked.handled_at is None:
        locked.handled_at = timezone.now()
        locked.handled_by = actor
        locked.save(update_fields=["handled_at", "handled_by"])
    return locked
