"""Helpers of the campaign tests: two stores in two time zones, customers who agreed to marketing texts, a
segment of everyone, and a campaign draft."""

import datetime as dt

import pytest

from dispensary.models import MarketingConsent
from messaging.campaigns import campaign_save
from messaging.models import Segment, Sender
from tests.factories import CustomerFactory, StoreFactory, UserFactory

UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def consent(customer, *, channel="sms", granted=True, at="2026-01-05T17:00:00Z"):
    return MarketingConsent.objects.create(
        customer=customer,
        channel=channel,
        purpose="marketing",
        granted=granted,
        disclosure_version="v1",
        disclosure_text="Offers from Green Leaf.",
        source="keyword",
        recorded_at=utc(at),
    )


@pytest.fixture
def campaign_settings(settings):
    settings.SMS_BACKEND = "console"
    settings.CELERY_BROKER_URL = ""
    settings.PUBLIC_SITE_URL = "https://shop.example"
    return settings


@pytest.fixture
def west(store, campaign_settings):
    """The organization's first store, in San Francisco (Pacific time), with a marketing number."""
    store.name = "Green Leaf Mission"
    store.save()
    Sender.objects.create(
        organization=store.organization,
        channel="sms",
        address="+14155550100",
        registration=Sender.Registration.TEN_DLC,
        use_case=Sender.UseCase.MARKETING,
        rate_per_second=100,
    )
    return store


@pytest.fixture
def east(west):
    return StoreFactory(
        organization=west.organization,
        name="Green Leaf Brooklyn",
        jurisdiction="US-NY",
        time_zone="America/New_York",
        city="Brooklyn",
        region="NY",
        postal_code="11201",
    )


@pytest.fixture
def owner(west, east):
    return UserFactory(organization=west.organization, roles=["owner"], stores=[west, east])


def customers(store, count, *, prefix="+1415555", start=2100, home=True, agreed=True, **fields):
    made = []
    for number in range(start, start + count):
        customer = CustomerFactory(
            organization=store.organization,
            phone=f"{prefix}{number:04d}",
            home_store=store if home else None,
            **fields,
        )
        if agreed:
            consent(customer)
        made.append(customer)
    return made


def everyone(organization, name="Everyone") -> Segment:
    return Segment.objects.get_or_create(organization=organization, name=name, defaults={"rules": []})[0]


def draft(organization, actor, segment=None, **fields):
    values = dict(
        name="Weekend sale",
        segment=segment or everyone(organization),
        channel="sms",
        topic="weekend sale",
        body="{store_name}: hi {first_name}, 20% off this weekend.",
        send_on=None,
        send_at=None,
    )
    values.update(fields)
    return campaign_save(organization=organization, actor=actor, **values)
