"""The SMS provider's status callbacks: signed or refused, statuses only forward in any order of arrival (the
first final status wins), every callback on the timeline, and the carrier's error codes acted on."""

import datetime as dt
import itertools
import uuid

import pytest
from django.test import Client

from dispensary.models import MarketingConsent
from messaging.gate import SUPPRESSION_WORDS, message_verdict
from messaging.models import MessageStatusEvent, MessagingAlert, OutboundMessage, Suppression
from messaging.providers import ANSWER_LOST
from messaging.webhooks import sms_signature
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db

TOKEN = "callback-test-token"
PATH = "/messaging/sms/status/"
# 20:30 in San Francisco on 10 March 2026 is already 11 March in UTC: the alert's day is the store's.
EVENING = dt.datetime(2026, 3, 10, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=-7)))


@pytest.fixture(autouse=True)
def signed(settings):
    settings.SMS_AUTH_TOKEN = TOKEN
    settings.PUBLIC_SITE_URL = "http://testserver"
    settings.MESSAGING_SMS_UNREACHABLE_RETRIES = 1
    settings.MESSAGING_SMS_UNREACHABLE_RETRY_MINUTES = 60


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, phone="+14155550134")


def sent_text(store, customer, *, sid="SM0001", **fields) -> OutboundMessage:
    values = {
        "organization_id": store.organization_id,
        "store": store,
        "customer": customer,
        "channel": "sms",
        "purpose": "delivery",
        "to": customer.phone if customer else "+14155550100",
        "body": "Your order is on its way.",
        "status": "sent",
        "provider": "twilio",
        "provider_message_id": sid,
        **fields,
    }
    return OutboundMessage.objects.create(**values)


def callback(sid="SM0001", status="delivered", *, client=None, signature=None, query="", **extra):
    params = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": "AC1",
        "To": "+14155550134",
        "From": "+14155550000",
        **extra,
    }
    path = PATH + query
    if signature is None:
        signature = sms_signature(f"http://testserver{path}", params, token=TOKEN)
    client = client or Client(enforce_csrf_checks=True)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


def timeline(message) -> list[tuple[str, str, str]]:
    return list(
        MessageStatusEvent.objects.filter(message=message)
        .order_by("id")
        .values_list("status", "error_code", "source")
    )


def test_a_wrong_or_missing_signature_is_refused_and_nothing_is_written(store, customer):
    message = sent_text(store, customer)
    assert callback(signature="bm90IGl0").status_code == 403
    assert callback(signature="").status_code == 403
    assert Client().post(PATH, {"MessageSid": "SM0001", "MessageStatus": "delivered"}).status_code == 403
    message.refresh_from_db()
    assert message.status == "sent" and timeline(message) == []


def test_a_callback_signed_for_another_address_is_refused(store, customer):
    params = {"MessageSid": "SM0001", "MessageStatus": "delivered"}
    signature = sms_signature("http://testserver/elsewhere/", params, token=TOKEN)
    response = Client().post(PATH, params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert MessageStatusEvent.objects.count() == 0


def test_only_post_is_answered():
    assert Client().get(PATH).status_code == 405


@pytest.mark.parametrize("order", list(itertools.permutations(["queued", "sent", "delivered"])))
def test_statuses_only_move_forward_in_any_order(store, customer, order):
    message = sent_text(store, customer)
    for status in order:
        assert callback(status=status).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert timeline(message) == [(status, "", "callback") for status in order]


@pytest.mark.parametrize(
    ("order", "final"),
    [
        (["failed", "delivered"], "failed"),
        (["delivered", "failed"], "delivered"),
        (["undelivered", "delivered"], "undelivered"),
        (["sent", "failed", "queued", "delivered"], "failed"),
    ],
)
def test_the_first_final_status_wins_and_every_callback_is_kept(store, customer, order, final):
    message = sent_text(store, customer)
    for status in order:
        callback(status=status)
    message.refresh_from_db()
    assert message.status == final
    assert [status for status, _, _ in timeline(message)] == order


def test_the_same_callback_twice_is_recorded_once(store, customer):
    message = sent_text(store, customer)
    callback(status="delivered")
    callback(status="delivered")
    assert timeline(message) == [("delivered", "", "callback")]


def test_an_unknown_message_is_answered_200_and_nothing_is_written(store, customer):
    sent_text(store, customer)
    response = callback(sid="SM-not-ours", status="undelivered", ErrorCode="30005")
    assert response.status_code == 200
    assert MessageStatusEvent.objects.count() == 0 and Suppression.objects.count() == 0


def test_an_unknown_status_is_answered_200_and_nothing_is_written(store, customer):
    message = sent_text(store, customer)
    assert callback(status="teleported").status_code == 200
    message.refresh_from_db()
    assert message.status == "sent" and timeline(message) == []


def test_a_callback_without_sid_or_status_is_a_bad_request():
    params = {"MessageStatus": "delivered"}
    signature = sms_signature(f"http://testserver{PATH}", params, token=TOKEN)
    assert Client().post(PATH, params, headers={"X-Twilio-Signature": signature}).status_code == 400
    assert MessageStatusEvent.objects.count() == 0


@pytest.mark.parametrize(("code", "reason"), [("30005", "invalid"), ("30006", "not_mobile")])
def test_an_unknown_number_or_a_landline_is_suppressed_once(store, customer, code, reason):
    message = sent_text(store, customer)
    callback(status="undelivered", ErrorCode=code, ErrorMessage="Carrier said no")
    second = sent_text(store, customer, sid="SM0002")
    callback(sid="SM0002", status="undelivered", ErrorCode=code)
    [suppression] = Suppression.objects.all()
    assert (suppression.channel, suppression.address, suppression.reason, suppression.category) == (
        "sms",
        "+14155550134",
        reason,
        "",
    )
    assert suppression.message_id == message.pk
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error) == ("undelivered", code, "Carrier said no")
    assert timeline(second) == [("undelivered", code, "callback")]
    later = sent_text(store, customer, sid="", status="queued")
    verdict = message_verdict(later)
    assert not verdict.allowed and verdict.reasons[0] == (
        f"suppressed: the address is suppressed ({SUPPRESSION_WORDS[reason]})."
    )


def test_a_stop_kept_by_the_carrier_suppresses_the_number_and_revokes_consent(store, customer):
    MarketingConsent.objects.create(
        customer=customer,
        channel="sms",
        purpose="marketing",
        granted=True,
        disclosure_version="sms-2025-01",
        disclosure_text="x",
        source="counter",
        recorded_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )
    sent_text(store, customer)
    callback(status="failed", ErrorCode="21610")
    callback(status="failed", ErrorCode="21610")  # posted again: nothing twice
    [suppression] = Suppression.objects.all()
    assert (suppression.reason, suppression.category, suppression.address) == ("stopped", "", "+14155550134")
    revocations = MarketingConsent.objects.filter(customer=customer, granted=False).order_by("purpose")
    assert [(row.channel, row.purpose, row.source) for row in revocations] == [
        ("sms", "marketing", "carrier"),
        ("sms", "transactional", "carrier"),
    ]
    assert "21610" in revocations[0].evidence


def test_an_unreachable_phone_is_tried_once_more_an_hour_later(store, customer, clock):
    clock.move_to(EVENING)
    message = sent_text(store, customer, send_before=EVENING + dt.timedelta(hours=4))
    callback(status="undelivered", ErrorCode="30003")
    callback(status="undelivered", ErrorCode="30003")  # posted again: one retry
    [retry] = OutboundMessage.objects.exclude(pk=message.pk)
    assert retry.key == uuid.uuid5(message.key, "unreachable-retry:1")
    assert (retry.status, retry.retry_of_id, retry.to, retry.body, retry.purpose) == (
        "queued",
        message.pk,
        message.to,
        message.body,
        "delivery",
    )
    assert retry.send_after == EVENING + dt.timedelta(hours=1)
    assert retry.send_before == message.send_before
    # The retry is not reached either: no third try (MESSAGING_SMS_UNREACHABLE_RETRIES = 1).
    OutboundMessage.objects.filter(pk=retry.pk).update(status="sent", provider_message_id="SM0002")
    callback(sid="SM0002", status="undelivered", ErrorCode="30003")
    assert OutboundMessage.objects.count() == 2


def test_no_retry_when_too_late_or_already_delivered(store, customer, clock):
    clock.move_to(EVENING)
    sent_text(store, customer, send_before=EVENING + dt.timedelta(minutes=30))
    callback(status="undelivered", ErrorCode="30003")
    sent_text(store, customer, sid="SM0002")
    callback(sid="SM0002", status="delivered")
    callback(sid="SM0002", status="undelivered", ErrorCode="30003")
    assert OutboundMessage.objects.count() == 2


def test_carrier_filtering_raises_one_alert_per_store_and_local_day(store, customer, clock):
    clock.move_to(EVENING)
    other_store = StoreFactory(organization=store.organization)
    sent_text(store, customer)
    sent_text(store, customer, sid="SM0002")
    sent_text(other_store, customer, sid="SM0003")
    callback(status="undelivered", ErrorCode="30007", ErrorMessage="Message filtered")
    callback(sid="SM0002", status="undelivered", ErrorCode="30007")
    callback(sid="SM0003", status="undelivered", ErrorCode="30007")
    alerts = MessagingAlert.objects.order_by("id")
    assert [(alert.kind, alert.scope, alert.day, alert.store_id) for alert in alerts] == [
        ("filtering", store.code, dt.date(2026, 3, 10), store.pk),
        ("filtering", other_store.code, dt.date(2026, 3, 10), other_store.pk),
    ]
    assert "30007" in alerts[0].message and alerts[0].details["error_message"] == "Message filtered"
    clock.move_to(EVENING + dt.timedelta(hours=4))  # past midnight in San Francisco
    sent_text(store, customer, sid="SM0004")
    callback(sid="SM0004", status="undelivered", ErrorCode="30007")
    assert list(
        MessagingAlert.objects.filter(scope=store.code).values_list("day", flat=True).order_by("day")
    ) == [
        dt.date(2026, 3, 10),
        dt.date(2026, 3, 11),
    ]
    assert Suppression.objects.count() == 0


def test_a_lost_answer_is_settled_by_the_callback_that_names_the_key(store, customer):
    message = sent_text(
        store, customer, sid="", status="failed", error=f"{ANSWER_LOST}: ReadTimeout: timed out", provider=""
    )
    response = callback(sid="SM0009", status="delivered", query=f"?key={message.key}")
    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.error) == ("delivered", "SM0009", "")
    assert timeline(message) == [("sent", "", "provider"), ("delivered", "", "callback")]


def test_a_refused_message_is_not_adopted_by_a_key(store, customer):
    message = sent_text(
        store, customer, sid="", status="failed", error="SMS provider refused (400): bad number"
    )
    callback(sid="SM0009", status="delivered", query=f"?key={message.key}")
    callback(sid="SM0010", status="delivered", query="?key=not-a-uuid")
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("failed", "")
    assert timeline(message) == []
