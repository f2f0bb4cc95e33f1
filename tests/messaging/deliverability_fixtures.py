"""A small, exact history of messages for the deliverability tests: two stores of one organization (San
Francisco and Detroit), a store of another organization, messages on both sides of a local midnight."""

import datetime as dt
from contextlib import contextmanager

import pytest
from django.db import connection

from dispensary.models import MarketingConsent
from messaging.models import InboundMessage, MessageStatusEvent, OutboundMessage, Suppression
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory

NOW = dt.datetime(2026, 3, 11, 19, 0, tzinfo=dt.UTC)  # noon in San Francisco, 3 PM in Detroit
UTC = dt.UTC


def message(store, channel, status, at, *, error_code="", reasons=(), customer=None, to=None):
    row = OutboundMessage.objects.create(
        organization_id=store.organization_id,
        store=store,
        customer=customer,
        channel=channel,
        category="transactional",
        purpose="receipt",
        to=to or ("+14155550199" if channel == "sms" else "pat@example.com"),
        body="Your receipt",
        status=status,
        error_code=error_code,
        gate_reasons=list(reasons),
        sent_at=at if status in ("sent", "delivered", "undelivered", "failed") else None,
    )
    OutboundMessage.objects.filter(pk=row.pk).update(created_at=at)
    MessageStatusEvent.objects.create(message=row, status="queued", source="queue", occurred_at=at)
    if status != "queued":
        MessageStatusEvent.objects.create(
            message=row, status=status, error_code=error_code, source="callback", occurred_at=at
        )
    return row


@pytest.fixture
def history(db, clock):
    """Store A (San Francisco), its local 3/10 and 3/11; store B (Detroit); a foreign store."""
    clock.move_to(NOW)
    organization = OrganizationFactory()
    store_a = StoreFactory(organization=organization, name="Mission", code="mission")
    store_b = StoreFactory(
        organization=organization, name="Riverside", code="riverside", time_zone="America/Detroit"
    )
    foreign = StoreFactory(name="Elsewhere")
    customer = CustomerFactory(organization=organization, home_store=store_a, email="pat@example.com")
    noon_a = dt.datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 1 PM on 3/10 in San Francisco (PDT)
    for _ in range(3):
        message(store_a, "sms", "delivered", noon_a, customer=customer)
    message(
        store_a, "sms", "delivered", dt.datetime(2026, 3, 11, 6, 30, tzinfo=UTC)
    )  # 11:30 PM on 3/10 (PDT)
    message(store_a, "sms", "undelivered", noon_a, error_code="30007")
    message(store_a, "sms", "failed", noon_a, error_code="30003")
    message(
        store_a,
        "sms",
        "refused",
        noon_a,
        reasons=[
            "no_consent: the customer has not agreed to marketing messages by sms.",
            "suppressed: stopped",
        ],
        customer=customer,
    )
    message(store_a, "sms", "queued", noon_a)  # not sent yet: not counted
    message(store_a, "email", "delivered", noon_a)
    complained = message(store_a, "email", "delivered", noon_a)
    bounced = message(store_a, "email", "undelivered", noon_a, error_code="bounce")
    Suppression.objects.create(
        organization=organization,
        channel="email",
        address="pat@example.com",
        reason="bounced",
        message=bounced,
        created_at=noon_a,
    )
    Suppression.objects.create(
        organization=organization,
        channel="email",
        address="pat@example.com",
        reason="complained",
        message=complained,
        created_at=noon_a,
    )
    message(store_a, "sms", "delivered", dt.datetime(2026, 3, 11, 7, 30, tzinfo=UTC))  # 12:30 AM on 3/11
    InboundMessage.objects.create(
        organization=organization,
        store=store_a,
        customer=customer,
        from_number=customer.phone,
        to_number="+14155550100",
        body="STOP",
        provider_message_id="SM-stop",
        kind="stop",
        received_at=noon_a,
    )
    for purpose in ("marketing", "transactional"):  # the STOP's own withdrawals: not counted twice
        MarketingConsent.objects.create(
            customer=customer,
            channel="sms",
            purpose=purpose,
            granted=False,
            disclosure_version="sms-v1",
            disclosure_text="-",
            source="keyword",
            store=store_a,
            recorded_at=noon_a,
        )
    MarketingConsent.objects.create(  # withdrawn at the counter on 3/11: an email opt-out
        customer=customer,
        channel="email",
        purpose="marketing",
        granted=False,
        disclosure_version="email-v1",
        disclosure_text="-",
        source="counter",
        store=store_a,
        recorded_at=dt.datetime(2026, 3, 11, 17, 0, tzinfo=UTC),
    )
    for _ in range(2):
        message(store_b, "sms", "delivered", dt.datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    message(foreign, "sms", "failed", noon_a, error_code="30005")
    manager = UserFactory(organization=organization, roles=["manager"], stores=[store_a, store_b])
    manager_a = UserFactory(organization=organization, roles=["manager"], stores=[store_a])
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store_a])
    return {
        "organization": organization,
        "store_a": store_a,
        "store_b": store_b,
        "foreign": foreign,
        "customer": customer,
        "manager": manager,
        "manager_a": manager_a,
        "budtender": budtender,
    }


@contextmanager
def queries_counted():
    """Every query run inside, whatever DEBUG and the request signals do to Django's query log."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen
