"""Asking for a sale's receipt by text or email: validated here, recorded in the audit log, and published as
ReceiptRequested in the same transaction; messaging renders and sends it."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from dispensary.audit import audit_record
from dispensary.errors import InvalidPhoneNumber, ValidationFailed
from dispensary.events import publish
from dispensary.models import User
from dispensary.phones import phone_normalize
from pos.events import ReceiptRequested
from pos.models import Sale

CHANNELS = ("sms", "email")


def _destination(channel: str, destination: str) -> str:
    destination = (destination or "").strip()
    if channel == "sms":
        try:
            return phone_normalize(destination)
        except InvalidPhoneNumber:
            raise ValidationFailed(
                "Give a mobile number with its area code to text the receipt to.",
                details={"destination": [f"“{destination}” is not a phone number."]},
            ) from None
    try:
        validate_email(destination)
    except ValidationError:
        raise ValidationFailed(
            "Give an email address to send the receipt to.",
            details={"destination": [f"“{destination}” is not an email address."]},
        ) from None
    return destination.lower()


@transaction.atomic
def receipt_request(*, sale: Sale, channel: str, destination: str, actor: User) -> str:
    """Publish ReceiptRequested for the sale; returns the normalised destination. Bad input writes nothing."""
    if channel not in CHANNELS:
        raise ValidationFailed(
            "Choose text message or email.", details={"channel": [f"Unknown channel {channel!r}."]}
        )
    destination = _destination(channel, destination)
    store = sale.store
    audit_record(
        actor=actor,
        action="sale.receipt_requested",
        instance=sale,
        after={"channel": channel, "destination": destination},
        organization=store.organization,
        store=store,
    )
    publish(
        ReceiptRequested(
            sale_id=sale.pk,
            organization_id=store.organization_id,
            store_id=store.pk,
            channel=channel,
            destination=destination,
        )
    )
    return destination
