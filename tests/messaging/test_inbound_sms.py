"""The provider's inbound webhook: signed posts only, each MessageSid acted on once; STOP (and plain-language
requests to stop) revokes marketing and transactional texts at once with one confirmation, START opts back in,
HELP is answered, anything else waits in the inbox."""

import pytest

from dispensary.models import MarketingConsent, Organization
from dispensary.services import marketing_consent_record
from messaging.consent import consent_state
from messaging.delivery_handlers import _sms_stopped
from messaging.models import Category, InboundMessage, OutboundMessage, Suppression
from messaging.queue import message_enqueue, queue_drain
from tests.factories import CustomerFactory, OrganizationFactory
from tests.messaging.inbound_helpers import STORE_NUMBER, inbound_post, sid, texts_to

pytestmark = pytest.mark.django_db
ADA = "+14155550134"
STOP_CONFIRMATION = (
    "You're unsubscribed from Green Leaf texts. No more messages will be sent. Reply START to resubscribe."
)


def grant_marketing(customer, store):
    """A confirmed grant of marketing texts (as a YES would record it)."""
    return marketing_consent_record(
        customer=customer,
        channel="sms",
        granted=True,
        age_affirmed=True,
        awaiting_confirmation=False,
        disclosure_version="sms-2025-01",
        staff=None,
        store=store,
        source="keyword",
        evidence="YES",
    )


def offer(customer, store):
    return message_enqueue(
        organization_id=store.organization_id,
        store_id=store.pk,
        customer_id=customer.pk,
        channel="sms",
        category=Category.MARKETING,
        purpose="campaign",
        to=customer.phone,
        body="Green Leaf: 20% off edibles today. Reply STOP to cancel.",
    )


def ledger(customer):
    return list(
        MarketingConsent.objects.filter(customer=customer)
        .order_by("id")
        .values_list("purpose", "granted", "awaiting_confirmation", "source")
    )


def test_a_stop_revokes_marketing_before_the_next_queued_offer_is_sent(client, ada, shop):
    grant_marketing(ada, shop)
    queued = offer(ada, shop)
    message_sid = sid()
    response = inbound_post(client, "STOP", message_sid=message_sid)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    queue_drain()  # the confirmation may already have gone with the request; the offer is judged now
    queued.refresh_from_db()
    assert queued.status == OutboundMessage.Status.REFUSED
    assert queued.gate_reasons[0] == "suppressed: the address is suppressed (the number replied STOP)."
    assert texts_to(ADA) == [
        ("campaign", "refused", "Green Leaf: 20% off edibles today. Reply STOP to cancel."),
        ("stop_confirmation", "sent", STOP_CONFIRMATION),
    ]
    assert ledger(ada) == [
        ("marketing", True, False, "keyword"),
        ("marketing", False, False, "keyword"),
        ("transactional", False, False, "keyword"),
    ]
    revocation = MarketingConsent.objects.filter(customer=ada).latest("id")
    assert revocation.evidence == f"Reply 'STOP' (message {message_sid})"
    assert revocation.store == shop
    inbound = InboundMessage.objects.get()
    assert (inbound.kind, inbound.customer, inbound.store, inbound.handled_at is not None) == (
        "stop",
        ada,
        shop,
        True,
    )
    assert inbound.reply.purpose == "stop_confirmation"
    [suppression] = Suppression.objects.all()
    assert (suppression.address, suppression.reason, suppression.lifted_at) == (ADA, "stopped", None)
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is False
    assert consent_state(ada.pk, channel="sms", purpose="transactional").allowed is False
    # The delivery messages read the ledger too: no text about the road either, even after a new grant of
    # marketing texts at the counter (it waits for a YES; only START or YES opens texts again).
    assert _sms_stopped([ada.pk]) == {ada.pk}
    marketing_consent_record(
        customer=ada,
        channel="sms",
        granted=True,
        age_affirmed=True,
        disclosure_version="sms-2025-01",
        staff=None,
        store=shop,
        source="counter",
    )
    assert _sms_stopped([ada.pk]) == {ada.pk}


def test_one_confirmation_after_stop_none_after_a_second_one(client, ada, shop):
    inbound_post(client, "Stop")
    queue_drain()
    inbound_post(client, "unsubscribe")
    queue_drain()
    assert texts_to(ADA) == [("stop_confirmation", "sent", STOP_CONFIRMATION)]
    assert InboundMessage.objects.count() == 2
    assert Suppression.objects.count() == 1
    assert ledger(ada) == [("marketing", False, False, "keyword"), ("transactional", False, False, "keyword")]
    # Even a confirmation queued by mistake for the same STOP is refused by the gate.
    again = message_enqueue(
        organization_id=shop.organization_id,
        customer_id=ada.pk,
        channel="sms",
        purpose="stop_confirmation",
        to=ADA,
        body=STOP_CONFIRMATION,
    )
    queue_drain()
    again.refresh_from_db()
    assert again.status == "refused"


def test_a_replayed_message_sid_does_nothing_twice(client, ada, shop):
    message_sid = sid()
    for _ in range(3):
        assert inbound_post(client, "STOP", message_sid=message_sid).status_code == 200
    queue_drain()
    assert InboundMessage.objects.count() == 1
    assert MarketingConsent.objects.count() == 2
    assert Suppression.objects.count() == 1
    assert texts_to(ADA) == [("stop_confirmation", "sent", STOP_CONFIRMATION)]


@pytest.mark.parametrize("signature", ["", "not-the-signature", "forged"], ids=["missing", "wrong", "forged"])
def test_a_wrong_signature_is_refused_and_writes_nothing(client, ada, shop, signature):
    if signature == "forged":
        from messaging.webhooks import sms_signature

        signature = sms_signature(
            "https://shop.example/messaging/sms/inbound/", {"Body": "STOP"}, token="another-token"
        )
    response = inbound_post(client, "STOP", signature=signature)
    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0
    assert MarketingConsent.objects.count() == 0
    assert Suppression.objects.count() == 0
    assert OutboundMessage.objects.count() == 0


def test_a_get_or_an_unsigned_body_change_is_refused(client, ada, shop, sms_settings):
    assert client.get("/messaging/sms/inbound/").status_code == 405
    sms_settings.SMS_AUTH_TOKEN = ""  # without a token nothing is valid
    assert inbound_post(client, "STOP").status_code == 403
    assert InboundMessage.objects.count() == 0


def test_plain_language_revocation_is_honoured(client, ada, shop):
    grant_marketing(ada, shop)
    inbound_post(client, "Please stop texting me, thanks")
    queue_drain()
    assert InboundMessage.objects.get().kind == "stop"
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is False
    assert texts_to(ADA) == [("stop_confirmation", "sent", STOP_CONFIRMATION)]


def test_stop_in_another_sense_is_a_message_for_the_store(client, ada, shop):
    grant_marketing(ada, shop)
    inbound_post(client, "What time do you stop selling today?")
    queue_drain()
    inbound = InboundMessage.objects.get()
    assert (inbound.kind, inbound.handled_at, inbound.reply) == ("other", None, None)
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is True
    assert Suppression.objects.count() == 0
    assert texts_to(ADA) == []


def test_help_is_answered_with_the_store_name_and_contact(client, ada, shop):
    inbound_post(client, " help ")
    queue_drain()
    assert texts_to(ADA) == [
        (
            "help",
            "sent",
            "Green Leaf: texts about your orders and offers. For help call (415) 555-0100 or visit 1 Market St, "
            "San Francisco, CA 94105. Msg&data rates may apply. Reply STOP to cancel.",
        )
    ]
    assert InboundMessage.objects.get().kind == "help"
    assert MarketingConsent.objects.count() == 0


def test_help_is_answered_even_after_stop_but_nothing_else_is(client, ada, shop):
    inbound_post(client, "STOP")
    inbound_post(client, "HELP")
    queue_drain()
    offer(ada, shop)
    queue_drain()
    assert [(purpose, status) for purpose, status, _ in texts_to(ADA)] == [
        ("stop_confirmation", "sent"),
        ("help", "sent"),
        ("campaign", "refused"),
    ]
    assert Suppression.objects.get().lifted_at is None


def test_start_opts_back_in_to_transactional_texts_only(client, ada, shop):
    grant_marketing(ada, shop)
    inbound_post(client, "STOP")
    queue_drain()
    inbound_post(client, "Start")
    queue_drain()
    assert texts_to(ADA)[-1] == (
        "start_confirmation",
        "sent",
        "Green Leaf: you're resubscribed to texts about your orders. Reply HELP for help, STOP to cancel.",
    )
    suppression = Suppression.objects.get()
    assert suppression.lifted_at is not None and suppression.lifted_reason == "Replied 'Start'"
    assert consent_state(ada.pk, channel="sms", purpose="transactional").allowed is True
    assert consent_state(ada.pk, channel="sms", purpose="marketing").allowed is False  # needs a fresh grant
    assert _sms_stopped([ada.pk]) == set()
    assert InboundMessage.objects.order_by("id").last().kind == "start"
    # STOP again after START: a new suppression and a new (single) confirmation.
    inbound_post(client, "STOP")
    queue_drain()
    assert [purpose for purpose, status, _ in texts_to(ADA) if status == "sent"] == [
        "stop_confirmation",
        "start_confirmation",
        "stop_confirmation",
    ]


def test_an_unknown_number_stopping_is_suppressed_and_confirmed(client, shop):
    inbound_post(client, "STOP", from_number="+14155550177")
    queue_drain()
    inbound = InboundMessage.objects.get()
    assert (inbound.customer, inbound.organization, inbound.store) == (None, shop.organization, shop)
    assert Suppression.objects.get().address == "+14155550177"
    assert texts_to("+14155550177") == [("stop_confirmation", "sent", STOP_CONFIRMATION)]


def test_without_a_sender_a_stop_applies_in_every_organization_with_the_number(client, sms_settings):
    first, second = OrganizationFactory(), OrganizationFactory()
    one = CustomerFactory(organization=first, phone=ADA)
    two = CustomerFactory(organization=second, phone=ADA)
    inbound_post(client, "STOP", to="+14155550199")
    queue_drain()
    assert InboundMessage.objects.get().organization == first
    for customer in (one, two):
        assert consent_state(customer.pk, channel="sms", purpose="transactional").allowed is False
    assert sorted(Suppression.objects.values_list("organization_id", flat=True)) == [first.pk, second.pk]
    assert [purpose for purpose, _, _ in texts_to(ADA)] == ["stop_confirmation"]


def test_without_a_sender_the_only_organization_owns_the_number(client, sms_settings, organization):
    assert Organization.objects.count() == 1
    inbound_post(client, "Hello, are you open on Sunday?", from_number="+14155550188", to="+14155550199")
    inbound = InboundMessage.objects.get()
    assert (inbound.organization, inbound.kind, inbound.to_number) == (organization, "other", "+14155550199")


def test_nobody_owns_the_number_nothing_is_written(client, sms_settings):
    OrganizationFactory(), OrganizationFactory()
    response = inbound_post(client, "STOP", from_number="+14155550188", to="+14155550199")
    assert response.status_code == 200
    assert InboundMessage.objects.count() == 0 and Suppression.objects.count() == 0


def test_a_post_without_a_message_id_is_answered_and_writes_nothing(client, ada, shop):
    from messaging.webhooks import sms_signature

    params = {"From": ADA, "To": STORE_NUMBER, "Body": "STOP"}
    signature = sms_signature("https://shop.example/messaging/sms/inbound/", params, token="test-auth-token")
    response = client.post("/messaging/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    assert InboundMessage.objects.count() == 0 and MarketingConsent.objects.count() == 0
