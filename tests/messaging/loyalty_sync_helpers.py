"""Fixtures of the Alpine IQ and Springbig sync tests: the fakes on free ports, each vendor's settings pointing
at its fake, a loyalty program, and a sale through the real register with its events delivered."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from dispensary.models import EventDelivery, MarketingConsent
from messaging.fake_alpine import DEV_API_KEY as ALPINE_KEY
from messaging.fake_alpine import DEV_UID, FakeAlpine
from messaging.fake_springbig import DEV_API_KEY as SPRINGBIG_KEY
from messaging.fake_springbig import DEV_AUTH_TOKEN, FakeSpringbig
from messaging.models import LoyaltySyncSettings
from pos.models import LoyaltyProgram
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import CustomerFactory
from tests.pos.sale_helpers import checkout


@pytest.fixture
def alpine_fake():
    with FakeAlpine() as fake:
        yield fake


@pytest.fixture
def springbig_fake():
    with FakeSpringbig() as fake:
        yield fake


@pytest.fixture
def alpine(organization, alpine_fake):
    return LoyaltySyncSettings.objects.create(
        organization=organization,
        vendor="alpine",
        enabled=True,
        api_key=ALPINE_KEY,
        account_id=DEV_UID,
        location="Mission St",
        base_url=alpine_fake.url,
    )


@pytest.fixture
def springbig(organization, springbig_fake):
    return LoyaltySyncSettings.objects.create(
        organization=organization,
        vendor="springbig",
        enabled=True,
        api_key=SPRINGBIG_KEY,
        auth_token=DEV_AUTH_TOKEN,
        account_id="greenleaf",
        base_url=springbig_fake.url,
    )


@pytest.fixture
def program(organization):
    return LoyaltyProgram.objects.create(organization=organization)


@pytest.fixture
def member(store):
    return CustomerFactory(
        organization=store.organization,
        phone="+14155550134",
        first_name="Ada",
        last_name="Ng",
        email="ada@x.org",
    )


def consent_grant(customer, channel="sms", *, awaiting=False):
    return MarketingConsent.objects.create(
        customer=customer,
        channel=channel,
        granted=True,
        awaiting_confirmation=awaiting,
        disclosure_version="v1",
        disclosure_text="Texts from us.",
        source="counter",
        recorded_at=timezone.now() - dt.timedelta(minutes=5),
    )


def sell_to(customer, *, store, register, staff, product, adult_id, capture, key="loyal-1", quantity="2"):
    """A completed sale to `customer`, its events delivered (each handler once, inline)."""
    with capture(execute=True):
        return checkout(
            store=store,
            register=register,
            staff=staff,
            customer=customer,
            customer_type="adult_use",
            lines=[QuoteLineInput(product.pk, D(quantity))],
            tenders=[TenderInput("cash", D("500"))],
            idempotency_key=key,
            id_verification=adult_id(customer),
        )


def pending_loyalty_deliveries():
    return list(
        EventDelivery.objects.filter(
            handler__startswith="messaging.loyalty_sync.handlers", status=EventDelivery.Status.PENDING
        ).order_by("pk")
    )
