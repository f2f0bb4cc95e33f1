"""The marketing-consent ledger: each grant or withdrawal with the exact disclosure text and version, the staff
member, the store and the time; bad input writes nothing; the current choice per channel in one query."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.consent import CURRENT_VERSIONS, DISCLOSURES, disclosure_get, disclosure_text
from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord, MarketingConsent
from dispensary.selectors import marketing_consent_current
from dispensary.services import marketing_consent_record
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com")


def test_disclosures_are_tcpa_style_and_versioned():
    sms = disclosure_get("sms")
    assert sms.version == CURRENT_VERSIONS["sms"]
    text = disclosure_text(sms, business="Green Leaf")
    for words in (
        "recurring automated marketing text messages",
        "Green Leaf",
        "not a condition of any purchase",
        "Message and data rates may apply",
        "Reply STOP",
        "HELP",
    ):
        assert words in text
    assert "not a condition of any purchase" in disclosure_get("email").text
    assert disclosure_get("sms", "no-such-version") is None
    assert all(version == d.version for versions in DISCLOSURES.values() for version, d in versions.items())


def test_recording_a_grant_keeps_text_version_staff_store_and_time(customer, budtender, store, organization):
    at = dt.datetime(2026, 3, 1, 18, 0, tzinfo=dt.UTC)
    consent = marketing_consent_record(
        customer=customer,
        channel="sms",
        granted=True,
        age_affirmed=True,
        disclosure_version="sms-2025-01",
        staff=budtender,
        store=store,
        source="counter",
        now=at,
    )
    assert (consent.channel, consent.granted, consent.disclosure_version, consent.staff, consent.store) == (
        "sms",
        True,
        "sms-2025-01",
        budtender,
        store,
    )
    assert consent.recorded_at == at and consent.source == "counter"
    assert consent.disclosure_text == disclosure_text(disclosure_get("sms"), business=organization.name)
    record = AuditRecord.objects.get(action="customer.marketing_consent_recorded")
    assert (record.actor, record.store, record.object_id, record.before) == (
        budtender,
        store,
        str(customer.pk),
        None,
    )
    assert record.after == {
        "channel": "sms",
        "purpose": "marketing",
        "granted": True,
        "awaiting_confirmation": True,
        "disclosure_version": "sms-2025-01",
        "source": "counter",
        "consent_id": consent.pk,
    }
    withdrawn = marketing_consent_record(
        customer=customer,
        channel="sms",
        granted=False,
        disclosure_version="sms-2025-01",
        staff=budtender,
        store=store,
    )
    assert AuditRecord.objects.filter(action="customer.marketing_consent_recorded").first().before == {
        "channel": "sms",
        "purpose": "marketing",
        "granted": True,
        "awaiting_confirmation": True,
        "disclosure_version": "sms-2025-01",
    }
    assert marketing_consent_current(customer) == {"sms": withdrawn, "email": None}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"disclosure_version": "sms-1999"}, "disclosure_version"),
        ({"disclosure_version": "email-2025-01"}, "disclosure_version"),
        ({"source": "guess"}, "source"),
    ],
)
def test_bad_input_writes_nothing(customer, budtender, store, changes, field):
    arguments = {
        "customer": customer,
        "channel": "sms",
        "granted": True,
        "disclosure_version": "sms-2025-01",
        "staff": budtender,
        "store": store,
        **changes,
    }
    with pytest.raises(ValidationFailed) as error:
        marketing_consent_record(**arguments)
    assert field in error.value.details
    assert MarketingConsent.objects.count() == 0
    assert AuditRecord.objects.count() == 0


def test_another_organizations_store_and_a_missing_email_are_refused(organization, budtender, store):
    customer = CustomerFactory(organization=organization, email="")
    with pytest.raises(ValidationFailed, match="another organization"):
        marketing_consent_record(
            customer=customer,
            channel="sms",
            granted=True,
            age_affirmed=True,
            disclosure_version="sms-2025-01",
            staff=budtender,
            store=StoreFactory(),
        )
    with pytest.raises(ValidationFailed, match="email address"):
        marketing_consent_record(
            customer=customer,
            channel="email",
            granted=True,
            age_affirmed=True,
            disclosure_version="email-2025-01",
            staff=budtender,
            store=store,
        )
    # Withdrawing needs no address.
    marketing_consent_record(
        customer=customer,
        channel="email",
        granted=False,
        disclosure_version="email-2025-01",
        staff=budtender,
        store=store,
    )
    assert list(MarketingConsent.objects.values_list("channel", "granted")) == [("email", False)]


def test_current_choice_is_the_latest_row_per_channel_in_one_query(customer, budtender, store):
    start = timezone.now() - dt.timedelta(days=30)
    for day, (channel, granted) in enumerate(
        [("sms", True), ("email", True), ("sms", False), ("sms", True), ("email", False), ("email", True)]
    ):
        latest = marketing_consent_record(
            customer=customer,
            channel=channel,
            granted=granted,
            age_affirmed=True,
            disclosure_version=CURRENT_VERSIONS[channel],
            staff=budtender,
            store=store,
            now=start + dt.timedelta(days=day),
        )
    other = CustomerFactory(organization=customer.organization)
    marketing_consent_record(
        customer=other,
        channel="sms",
        granted=False,
        disclosure_version="sms-2025-01",
        staff=None,
        store=None,
        source="keyword",
    )
    with CaptureQueriesContext(connection) as queries:
        current = marketing_consent_current(customer)
        labels = [current["sms"].staff.username, current["email"].staff.username]
    assert len(queries) == 1
    assert labels == [budtender.username] * 2
    assert (current["sms"].granted, current["email"].granted, current["email"]) == (True, True, latest)
    assert marketing_consent_current(CustomerFactory(organization=customer.organization)) == {
        "sms": None,
        "email": None,
    }
