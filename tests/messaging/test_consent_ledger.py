"""The consent ledger: purpose, source and its details, the 21+ affirmation, double opt-in by a YES, rows never
edited, and the history on the customer's profile with its CSV and JSON downloads (each download logged)."""

import csv
import io
import json

import pytest

from dispensary import events
from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord, EventDelivery, MarketingConsent
from dispensary.services import marketing_consent_record
from messaging.consent import consent_state
from messaging.models import InboundMessage, OutboundMessage
from messaging.queue import queue_drain
from tests.messaging.inbound_helpers import inbound_post, texts_to

pytestmark = pytest.mark.django_db
ADA = "+14155550134"
REQUEST = (
    "Green Leaf: reply YES to confirm you want offers by text. Up to 6 msgs/mo. Msg&data rates may apply. "
    "Reply STOP to cancel, HELP for help."
)
EVENT = "customer.sms_consent_confirmation_requested"


def counter_grant(customer, store, staff, **extra):
    return marketing_consent_record(
        customer=customer,
        channel="sms",
        granted=True,
        disclosure_version="sms-2025-01",
        staff=staff,
        store=store,
        source="counter",
        **{"age_affirmed": True, "register_label": "Register 1", **extra},
    )


def deliver_requests() -> None:
    for delivery in EventDelivery.objects.filter(event__name=EVENT).order_by("pk"):
        events.deliver(delivery.pk)


def test_a_marketing_grant_without_the_21_plus_affirmation_is_refused(ada, shop, budtender):
    with pytest.raises(ValidationFailed, match="21 or older") as error:
        counter_grant(ada, shop, budtender, age_affirmed=False)
    assert list(error.value.details) == ["age_affirmed"]
    assert MarketingConsent.objects.count() == 0
    assert AuditRecord.objects.filter(action="customer.marketing_consent_recorded").count() == 0
    # A revocation, or transactional texts, need no affirmation.
    marketing_consent_record(
        customer=ada, channel="sms", granted=False, disclosure_version="sms-2025-01", staff=None, store=None
    )
    marketing_consent_record(
        customer=ada,
        channel="sms",
        purpose="transactional",
        granted=True,
        disclosure_version="sms-2025-01",
        staff=None,
        store=None,
        source="staff",
    )
    assert MarketingConsent.objects.count() == 2
    with pytest.raises(ValidationFailed) as error:
        marketing_consent_record(
            customer=ada,
            channel="sms",
            purpose="loyalty",
            granted=False,
            disclosure_version="sms-2025-01",
            staff=None,
            store=None,
        )
    assert list(error.value.details) == ["purpose"]


def test_double_opt_in_one_request_then_yes_confirms(
    client, ada, shop, budtender, django_capture_on_commit_callbacks
):
    grant = counter_grant(ada, shop, budtender)
    assert (
        grant.granted,
        grant.awaiting_confirmation,
        grant.age_affirmed,
        grant.register_label,
        grant.staff,
    ) == (
        True,
        True,
        True,
        "Register 1",
        budtender,
    )
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is False
    assert consent_state(ada.pk, channel="sms", purpose="marketing").awaiting_confirmation is True
    deliver_requests()
    deliver_requests()  # a redelivered event asks once
    queue_drain()
    assert texts_to(ADA) == [("consent", "sent", REQUEST)]
    request = OutboundMessage.objects.get()
    assert (request.category, request.reference, request.store) == (
        "transactional",
        f"consent:{grant.pk}",
        shop,
    )

    inbound_post(client, "Yes!")
    queue_drain()
    inbound = InboundMessage.objects.get()
    assert inbound.kind == "confirm"
    confirmed = MarketingConsent.objects.filter(customer=ada).latest("id")
    assert (
        confirmed.purpose,
        confirmed.granted,
        confirmed.awaiting_confirmation,
        confirmed.age_affirmed,
        confirmed.source,
        confirmed.store,
    ) == ("marketing", True, False, True, "keyword", shop)
    assert confirmed.evidence == f"Reply 'Yes!' (message {inbound.provider_message_id})"
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is True
    assert texts_to(ADA)[-1] == (
        "consent",
        "sent",
        "Green Leaf: thanks, you're subscribed to offers by text. Up to 6 msgs/mo. Msg&data rates may apply. "
        "Reply STOP to cancel, HELP for help.",
    )
    # The awaiting row is still there, unchanged: the ledger is never edited.
    grant.refresh_from_db()
    assert (grant.granted, grant.awaiting_confirmation) == (True, True)
    assert MarketingConsent.objects.filter(customer=ada).count() == 2


def test_a_yes_without_a_pending_grant_grants_no_marketing(client, ada, shop):
    inbound_post(client, "YES")
    queue_drain()
    assert InboundMessage.objects.get().kind == "start"
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is False
    assert MarketingConsent.objects.count() == 0  # transactional texts were never revoked: nothing to record


def test_a_grant_withdrawn_before_the_request_is_sent_asks_nothing(ada, shop, budtender):
    counter_grant(ada, shop, budtender)
    marketing_consent_record(
        customer=ada,
        channel="sms",
        granted=False,
        disclosure_version="sms-2025-01",
        staff=budtender,
        store=shop,
    )
    deliver_requests()
    assert OutboundMessage.objects.count() == 0


def test_sources_keep_their_details_and_only_sms_marketing_waits(ada, shop):
    ada.email = "ada@example.com"
    ada.save(update_fields=["email"])
    web = marketing_consent_record(
        customer=ada,
        channel="sms",
        granted=True,
        age_affirmed=True,
        disclosure_version="sms-2025-01",
        staff=None,
        store=None,
        source="web",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (iPhone)",
    )
    imported = marketing_consent_record(
        customer=ada,
        channel="email",
        granted=True,
        age_affirmed=True,
        disclosure_version="email-2025-01",
        staff=None,
        store=None,
        source="import",
        import_file="klaviyo-2026-03.csv",
        import_row=42,
    )
    assert (web.awaiting_confirmation, web.ip_address, web.user_agent) == (
        True,
        "203.0.113.7",
        "Mozilla/5.0 (iPhone)",
    )
    assert (imported.awaiting_confirmation, imported.import_file, imported.import_row) == (
        False,
        "klaviyo-2026-03.csv",
        42,
    )
    assert EventDelivery.objects.filter(event__name=EVENT).count() == 1
    with pytest.raises(ValidationFailed):
        marketing_consent_record(
            customer=ada,
            channel="sms",
            granted=False,
            disclosure_version="sms-2025-01",
            staff=None,
            store=None,
            source="fax",
        )


def test_the_profile_shows_the_history_and_downloads_it(client, ada, shop, budtender):
    counter_grant(ada, shop, budtender)
    inbound_post(client, "STOP")
    client.force_login(budtender)
    page = client.get(f"/pos/customers/{ada.pk}/profile/", HTTP_HX_REQUEST="true").content.decode()
    assert page.count("data-consent-row") == 3
    assert "Awaiting YES" in page and "Revoked" in page and "Register 1" in page
    assert "Reply &#x27;STOP&#x27;" in page
    assert "I confirm I am 21 or older." in page  # the disclosure text itself

    response = client.get(f"/pos/customers/{ada.pk}/consent/history.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="consent-customer-{ada.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["channel"], r["purpose"], r["state"], r["source"]) for r in rows] == [
        ("sms", "transactional", "revoked", "keyword"),
        ("sms", "marketing", "revoked", "keyword"),
        ("sms", "marketing", "awaiting", "counter"),
    ]
    assert (rows[2]["staff"], rows[2]["store"], rows[2]["register_label"], rows[2]["age_affirmed"]) == (
        budtender.username,
        "Green Leaf",
        "Register 1",
        "True",
    )

    data = json.loads(client.get(f"/pos/customers/{ada.pk}/consent/history.json").content)
    assert data["customer_id"] == ada.pk
    assert [row["state"] for row in data["consent"]] == ["revoked", "revoked", "awaiting"]
    assert data["consent"][0]["evidence"].startswith("Reply 'STOP' (message SM")
    vias = list(
        AuditRecord.objects.filter(action="customer.viewed", object_id=str(ada.pk))
        .order_by("id")
        .values_list("after__via", flat=True)
    )
    assert vias == ["pos_profile", "pos_consent_csv", "pos_consent_json"]
    assert client.get(f"/pos/customers/{ada.pk}/consent/history.xml").status_code == 404


def test_downloads_are_for_staff_of_the_organization(client, ada, shop, organization, store):
    from tests.factories import CustomerFactory, UserFactory

    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    client.force_login(driver)
    assert client.get(f"/pos/customers/{ada.pk}/consent/history.csv").status_code == 403
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    client.force_login(budtender)
    stranger = CustomerFactory()
    assert client.get(f"/pos/customers/{stranger.pk}/consent/history.json").status_code == 404
    assert AuditRecord.objects.filter(action="customer.viewed").count() == 0
