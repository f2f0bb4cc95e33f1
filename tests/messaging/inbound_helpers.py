"""Helpers of the inbound text, consent ledger and inbox tests: the store's number registered as a sender, a
customer, and the provider's signed webhook posts."""

import itertools

import pytest

from messaging.models import OutboundMessage, Sender
from messaging.webhooks import sms_signature
from tests.factories import CustomerFactory

SITE = "https://shop.example"
TOKEN = "test-auth-token"
STORE_NUMBER = "+14155550100"
INBOUND_URL = "/messaging/sms/inbound/"
_SIDS = itertools.count(1)


@pytest.fixture
def sms_settings(settings):
    settings.SMS_BACKEND = "console"
    settings.SMS_AUTH_TOKEN = TOKEN
    settings.PUBLIC_SITE_URL = SITE
    settings.CELERY_BROKER_URL = ""
    return settings


@pytest.fixture
def shop(store, sms_settings):
    """The store, named Green Leaf, with its number registered as the organization's sender."""
    store.name = "Green Leaf"
    store.phone = STORE_NUMBER
    store.address_line1 = "1 Market St"
    store.city, store.region, store.postal_code = "San Francisco", "CA", "94105"
    store.save()
    Sender.objects.create(
        organization=store.organization,
        store=store,
        channel="sms",
        address=STORE_NUMBER,
        registration=Sender.Registration.TEN_DLC,
        use_case=Sender.UseCase.MARKETING,
        rate_per_second=100,  # the pacing is the queue's tests' business: here every text goes at once
    )
    return store


@pytest.fixture
def ada(shop):
    return CustomerFactory(
        organization=shop.organization, first_name="Ada", last_name="Lovelace", phone="+14155550134"
    )


def sid() -> str:
    return f"SM{next(_SIDS):032d}"


def inbound_post(
    client, body: str, *, from_number="+14155550134", to=STORE_NUMBER, message_sid=None, signature=None
):
    """Post a text as the provider does, signed with the account's token (or with `signature`)."""
    params = {
        "From": from_number,
        "To": to,
        "Body": body,
        "MessageSid": message_sid or sid(),
        "AccountSid": "AC" + "0" * 32,
    }
    signed = sms_signature(SITE + INBOUND_URL, params, token=TOKEN) if signature is None else signature
    return client.post(INBOUND_URL, params, HTTP_X_TWILIO_SIGNATURE=signed)


def texts_to(phone: str) -> list[tuple[str, str, str]]:
    """(purpose, status, body) of the texts to `phone`, oldest first."""
    return list(
        OutboundMessage.objects.filter(to=phone, channel="sms")
        .order_by("pk")
        .values_list("purpose", "status", "body")
    )
