"""The messaging demo: senders, consents given at the counter (with their confirmation by YES), STOPs, the
inbox, two weeks of messages with timelines and one alert; something on every page; loading again adds
nothing; and it stays quick."""

import time

import pytest
from django.test import Client

from dispensary import demo as core_demo
from dispensary.models import AuditRecord, MarketingConsent, User
from messaging import demo as messaging_demo
from messaging.consent import consent_states
from messaging.models import (
    InboundMessage,
    MessageStatusEvent,
    MessagingAlert,
    OutboundMessage,
    Sender,
    Suppression,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(db):
    core_demo.demo_load()
    started = time.monotonic()
    added = messaging_demo.demo_load()
    return added, time.monotonic() - started


def test_the_demo_loads_quickly_and_once(loaded):
    added, seconds = loaded
    # A guard against a demo that makes `make run` wait minutes, not a benchmark: generous, so a loaded CI
    # machine running two suites side by side never trips it (11 s measured on a loaded machine, retention included).
    assert seconds < 60
    assert added["senders"] == 2
    assert added["STOP replies"] == 3
    assert added["inbox replies"] == 2
    assert added["messages"] > 300
    assert added["alerts"] == 1
    counts = (
        OutboundMessage.objects.count(),
        MessageStatusEvent.objects.count(),
        MarketingConsent.objects.count(),
        InboundMessage.objects.count(),
        Suppression.objects.count(),
        MessagingAlert.objects.count(),
        AuditRecord.objects.count(),
    )
    again = messaging_demo.demo_load()
    assert set(again.values()) == {0}
    assert (
        OutboundMessage.objects.count(),
        MessageStatusEvent.objects.count(),
        MarketingConsent.objects.count(),
        InboundMessage.objects.count(),
        Suppression.objects.count(),
        MessagingAlert.objects.count(),
        AuditRecord.objects.count(),
    ) == counts


def test_the_demo_has_what_each_screen_shows(loaded):
    assert sorted(Sender.objects.values_list("registration", "use_case")) == [
        ("10dlc", "marketing"),
        ("toll_free", "notifications"),
    ]
    # Agreed at the counter: 21+, with the register and the budtender; texts confirmed by YES.
    counter = MarketingConsent.objects.filter(source="counter")
    assert counter.count() == 48
    assert all(row.age_affirmed and row.register_label == "Register 1" and row.staff for row in counter)
    confirmed = MarketingConsent.objects.filter(source="keyword", granted=True)
    assert confirmed.count() == 24
    stops = MarketingConsent.objects.filter(source="keyword", granted=False)
    assert sorted(stops.values_list("purpose", flat=True)) == ["marketing"] * 3 + ["transactional"] * 3
    assert InboundMessage.objects.filter(kind="stop").count() == 3
    assert Suppression.objects.filter(reason="stopped").count() == 3
    stopped = InboundMessage.objects.filter(kind="stop").values_list("customer_id", flat=True)
    granted = counter.exclude(customer_id__in=stopped).values_list("customer_id", flat=True)
    states = consent_states(granted, channel="sms")
    assert all(state.allowed for (_, purpose), state in states.items() if purpose == "marketing")
    states = consent_states(stopped, channel="sms")
    assert not any(state.allowed for state in states.values())
    inbox = InboundMessage.objects.filter(kind="other")
    assert inbox.count() == 2 and inbox.filter(reply__isnull=False).count() == 1
    statuses = set(OutboundMessage.objects.values_list("status", flat=True))
    assert {"delivered", "undelivered", "refused"} <= statuses
    codes = set(OutboundMessage.objects.exclude(error_code="").values_list("error_code", flat=True))
    assert {"30007", "bounce"} <= codes and codes & {"30003", "30005", "30006"}
    assert Suppression.objects.filter(reason="bounced").count() == 2
    assert Suppression.objects.filter(reason="complained").count() == 1
    alert = MessagingAlert.objects.get()
    assert alert.kind == "filtering" and alert.scope == "sf-mission"

    client = Client()
    client.force_login(User.objects.get(username="manager"))
    page = client.get("/messaging/deliverability/")
    assert page.status_code == 200
    assert not page.context["report"].empty
    assert page.context["alerts"] == [alert]
    assert "30007" in page.content.decode()
    listing = client.get("/messaging/messages/")
    assert listing.status_code == 200 and len(listing.context["page"].object_list) == 50
    refused = OutboundMessage.objects.filter(status="refused").first()
    detail = client.get(f"/messaging/messages/{refused.pk}/")
    assert detail.status_code == 200 and detail.context["reasons"]
    filtered = OutboundMessage.objects.filter(error_code="30007").first()
    text = client.get(f"/messaging/messages/{filtered.pk}/").content.decode()
    assert "The carrier filtered the message as spam" in text
    dashboard = client.get("/dashboard/")
    assert dashboard.context["messaging_alerts"] == [alert]
