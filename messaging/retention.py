"""The one door flows and campaigns send through: a marketing message to one customer, keyed so a retry queues
it once, with the flow step or campaign it came from recorded beside it (MessageOrigin) for the results. The
gate still judges it when it is sent (consent, suppressions, quiet hours, caps, smart sending); this module only
refuses what can never be sent (no phone or email on file)."""

import uuid

from django.db import transaction

from dispensary.models import Customer, Store
from messaging.models import Category, Channel, MessageOrigin, OutboundMessage
from messaging.queue import message_enqueue
from messaging.rendering import customer_variables, opt_out_line_add, render_text, sms_tidy, store_variables

# The namespace of every retention message key: uuid5(RETENTION_KEYS, "flow:<enrollment>:<step>") and so on,
# so the same step for the same enrollment, or the same campaign for the same customer, is one message.
RETENTION_KEYS = uuid.UUID("0b7f6f1e-52a4-4f0c-9a43-5f0d6c1b7a15")


def retention_key(*parts: object) -> uuid.UUID:
    return uuid.uuid5(RETENTION_KEYS, ":".join(str(part) for part in parts))


def recipient_address(customer: Customer, channel: str) -> str:
    return (customer.phone if channel == Channel.SMS else (customer.email or "").strip().lower()) or ""


def retention_variables(customer: Customer, store: Store | None, extra: dict | None = None) -> dict:
    values = customer_variables(customer)
    if store is not None:
        values.update(store_variables(store))
    values.update(extra or {})
    return values


@transaction.atomic
def retention_message_enqueue(
    *,
    customer: Customer,
    store: Store | None,
    channel: str,
    body: str,
    topic: str,
    key: uuid.UUID,
    purpose: str,
    subject: str = "",
    html_body: str = "",
    variables: dict | None = None,
    flow_step=None,
    campaign=None,
    variant: str = "",
    coupon=None,
    send_after=None,
    send_before=None,
) -> OutboundMessage | None:
    """Queue one marketing message (body and subject filled with `variables` over the customer's and store's
    own); None when the customer has no address on that channel. The same key twice returns the first."""
    to = recipient_address(customer, channel)
    if not to:
        return None
    values = retention_variables(customer, store, variables)
    text = render_text(body, values).strip()
    if channel == Channel.SMS:
        text = opt_out_line_add(sms_tidy(text))
    message = message_enqueue(
        organization_id=customer.organization_id,
        store_id=store.pk if store else None,
        customer_id=customer.pk,
        channel=channel,
        to=to,
        body=text,
        subject=" ".join(render_text(subject, values).split()),
        html_body=render_text(html_body, values) if html_body else "",
        purpose=purpose,
        category=Category.MARKETING,
        topic=topic,
        key=key,
        send_after=send_after,
        send_before=send_before,
        reference=f"campaign:{campaign.pk}"
        if campaign
        else (f"flow_step:{flow_step.pk}" if flow_step else ""),
    )
    MessageOrigin.objects.get_or_create(
        message=message,
        defaults={
            "flow": flow_step.flow if flow_step else None,
            "flow_step": flow_step,
            "campaign": campaign,
            "variant": variant,
            "coupon": coupon,
        },
    )
    return message


def message_status_rank(status: str) -> int:
    """Sent, delivered, failed... ordered as the results page counts them."""
    order = [
        OutboundMessage.Status.QUEUED,
        OutboundMessage.Status.SENDING,
        OutboundMessage.Status.SENT,
        OutboundMessage.Status.DELIVERED,
    ]
    return order.index(status) if status in order else -1
