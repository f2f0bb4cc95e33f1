"""Adding and changing a sender, with its audit record (what a sender may carry is a compliance matter)."""

from decimal import Decimal

from django.db import transaction

from dispensary.audit import audit_record
from messaging.models import Sender

SENDER_WORDS = {"sender.added": "Message sender added", "sender.changed": "Message sender changed"}
AUDITED = [
    "channel",
    "address",
    "display_name",
    "store_id",
    "registration",
    "use_case",
    "brand_id",
    "campaign_id",
    "rate_per_second",
    "active",
]


def _facts(sender: Sender) -> dict:
    facts = {name: getattr(sender, name) for name in AUDITED}
    facts["rate_per_second"] = f"{Decimal(sender.rate_per_second):.2f}"
    return facts


@transaction.atomic
def sender_save(*, sender: Sender, actor) -> Sender:
    """Save a sender built or changed by the senders form and record who did it, before and after."""
    old = Sender.objects.select_for_update().filter(pk=sender.pk).first() if sender.pk else None
    sender.save()
    audit_record(
        actor=actor,
        action="sender.changed" if old else "sender.added",
        instance=sender,
        before=_facts(old) if old else None,
        after=_facts(sender),
        organization=sender.organization,
        store=sender.store,
    )
    return sender
