"""The email provider's tracking events through django-anymail: bounces, rejections and complaints suppress the
address, an unsubscribe suppresses marketing and revokes the ledger's consent, delivered moves the message,
opens and clicks go on its timeline; the webhook refuses a wrong Basic auth; an unknown message writes nothing."""

import base64
import datetime as dt
import json

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client

from dispensary.models import MarketingConsent
from messaging.models import MessageStatusEvent, OutboundMessage, Suppression
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)
WEBHOOK = "/messaging/anymail/postmark/tracking/"


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com")


@pytest.fixture
def email(store, customer):
    return OutboundMessage.objects.create(
        organization_id=store.organization_id,
        store=store,
        customer=customer,
        channel="email",
        category="marketing",
        purpose="campaign",
        to="Ada@Example.com",
        subject="Offers",
        body="Offers",
        status="sent",
        provider="email:postmark",
        provider_message_id="pm-0001",
    )


def send_event(event_type, *, message_id="pm-0001", metadata=None, **fields):
    event = AnymailTrackingEvent(
        event_type=event_type,
        timestamp=AT,
        message_id=message_id,
        metadata=metadata or {},
        recipient=fields.pop("recipient", "ada@example.com"),
        **fields,
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")


def timeline(message):
    return list(
        MessageStatusEvent.objects.filter(message=message)
        .order_by("id")
        .values_list("status", "source", "detail")
    )


def test_delivered_then_opened_and_clicked_are_on_the_timeline(email):
    send_event("delivered")
    send_event("opened")
    send_event("clicked", click_url="https://shop.greenleaf.test/s/abc")
    send_event("sent")  # late: does not move the message back
    email.refresh_from_db()
    assert email.status == "delivered"
    assert timeline(email) == [
        ("delivered", "webhook", ""),
        ("opened", "webhook", ""),
        ("clicked", "webhook", "https://shop.greenleaf.test/s/abc"),
        ("sent", "webhook", ""),
    ]
    assert Suppression.objects.count() == 0


@pytest.mark.parametrize(
    ("event_type", "status", "reason"),
    [("bounced", "undelivered", "bounced"), ("rejected", "failed", "bounced")],
)
def test_a_bounce_or_a_rejection_suppresses_every_email_to_the_address(email, event_type, status, reason):
    send_event(event_type, description="Mailbox does not exist")
    send_event(event_type)  # the provider posts it again: one suppression
    email.refresh_from_db()
    assert email.status == status and email.error == "Mailbox does not exist"
    [suppression] = Suppression.objects.all()
    assert (suppression.channel, suppression.address, suppression.reason, suppression.category) == (
        "email",
        "ada@example.com",
        reason,
        "",
    )
    assert suppression.message_id == email.pk


def test_a_complaint_suppresses_every_email(email):
    send_event("complained")
    [suppression] = Suppression.objects.all()
    assert (suppression.reason, suppression.category) == ("complained", "")


def test_an_unsubscribe_at_the_provider_stops_marketing_only_and_revokes_consent(email, customer):
    MarketingConsent.objects.create(
        customer=customer,
        channel="email",
        purpose="marketing",
        granted=True,
        disclosure_version="email-2025-01",
        disclosure_text="x",
        source="web",
        recorded_at=AT - dt.timedelta(days=30),
    )
    send_event("unsubscribed")
    [suppression] = Suppression.objects.all()
    assert (suppression.reason, suppression.category) == ("unsubscribed", "marketing")
    latest = MarketingConsent.objects.filter(customer=customer).order_by("-id").first()
    assert (latest.purpose, latest.granted, latest.source) == ("marketing", False, "unsubscribe")


def test_the_message_is_found_by_its_key_or_its_message_id_header(store, customer, email):
    other = OutboundMessage.objects.create(
        organization_id=store.organization_id,
        customer=customer,
        channel="email",
        purpose="receipt",
        to="ada@example.com",
        body="Receipt",
        status="sent",
        provider="email:smtp",
        provider_message_id="<x@greenleaf.test>",
    )
    send_event("delivered", message_id="esp-unknown", metadata={"message_key": str(other.key)})
    send_event("opened", message_id=f"<{other.key}@greenleaf.test>")
    send_event("clicked", message_id=f"{other.key}@greenleaf.test")
    assert [status for status, _, _ in timeline(other)] == ["delivered", "opened", "clicked"]
    assert timeline(email) == []


def test_an_unknown_message_writes_nothing(email):
    send_event("bounced", message_id="pm-unknown")
    send_event("complained", message_id=None)
    send_event("deferred")  # not acted on
    assert Suppression.objects.count() == 0 and MessageStatusEvent.objects.count() == 0


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def postmark_bounce(message_id="pm-0001") -> str:
    return json.dumps(
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "MessageID": message_id,
            "Email": "ada@example.com",
            "BouncedAt": "2026-03-10T18:00:00Z",
            "Description": "The server was unable to deliver your message",
            "Metadata": {},
        }
    )


def test_the_anymail_webhook_checks_basic_auth_then_records_the_bounce(settings, email):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    client = Client(enforce_csrf_checks=True)
    refused = client.post(
        WEBHOOK, postmark_bounce(), content_type="application/json", headers=basic("hook:wrong")
    )
    assert refused.status_code == 400
    assert Suppression.objects.count() == 0
    response = client.post(
        WEBHOOK, postmark_bounce(), content_type="application/json", headers=basic("hook:s3cret")
    )
    assert response.status_code == 200
    [suppression] = Suppression.objects.all()
    assert (suppression.reason, suppression.address) == ("bounced", "ada@example.com")
    email.refresh_from_db()
    assert email.status == "undelivered"
