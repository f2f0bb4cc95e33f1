"""ReceiptRequested -> the receipt rendered and queued once per delivering event, then sent after the commit by
text (file outbox, HTTP API) or email (locmem): a redelivery sends nothing twice; a refusal is recorded; an
outage is retried by the queue."""

from decimal import Decimal as D

import httpx
import pytest
from django.core import mail

from dispensary import events
from dispensary.models import EventDelivery, OutboxEvent
from messaging import queue
from messaging.models import OutboundMessage
from messaging.providers import TwilioSmsBackend
from pos.receipts import receipt_get, receipt_text
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.receipts import receipt_request
from tests.factories import CustomerFactory
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db
HANDLER = "messaging.handlers.on_receipt_requested"


@pytest.fixture(autouse=True)
def outboxes(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_FILE = tmp_path / "sms" / "outbox.log"
    return tmp_path / "sms" / "outbox.log"


@pytest.fixture
def sale(store, register, budtender, product, package, adult_id):
    customer = CustomerFactory(organization=store.organization, phone="+14155550134", email="ada@example.com")
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("2"), package_id=package.pk)],
        tenders=[TenderInput("cash", D("120"))],
        idempotency_key="msg-1",
        id_verification=adult_id(customer),
    )


def request_receipt(sale, budtender, channel, destination, capture):
    with capture(execute=True):
        receipt_request(sale=sale, channel=channel, destination=destination, actor=budtender)
    event = OutboxEvent.objects.get(name="pos.receipt_requested")
    return event, event.deliveries.get(handler=HANDLER)


def test_texted_receipt_goes_to_the_file_outbox_and_is_recorded(
    sale, budtender, outboxes, django_capture_on_commit_callbacks
):
    event, delivery = request_receipt(
        sale, budtender, "sms", "(415) 555-0199", django_capture_on_commit_callbacks
    )
    assert delivery.status == EventDelivery.Status.SUCCEEDED
    message = OutboundMessage.objects.get()
    short = receipt_text(receipt_get(sale_id=sale.pk), short=True)
    assert (
        message.organization_id,
        message.store_id,
        message.customer_id,
        message.channel,
        message.purpose,
        message.reference,
        message.to,
        message.body,
        message.status,
        message.provider,
        message.source_event,
    ) == (
        sale.store.organization_id,
        sale.store_id,
        sale.customer_id,
        "sms",
        "receipt",
        f"sale:{sale.pk}",
        "+14155550199",
        short,
        "sent",
        "file",
        event.uuid,
    )
    assert message.sent_at is not None and message.provider_message_id.startswith("file-")
    outbox = outboxes.read_text()
    assert f"--- {message.provider_message_id} " in outbox and short in outbox
    assert len(short) < 1000


def test_emailed_receipt_is_the_full_text(sale, budtender, django_capture_on_commit_callbacks):
    request_receipt(sale, budtender, "email", "ada@example.com", django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == f"Your receipt from {sale.store.name} ({sale.receipt_number})"
    assert email.body == receipt_text(receipt_get(sale_id=sale.pk))
    message = OutboundMessage.objects.get()
    assert (message.status, message.provider, message.subject) == ("sent", "email:locmem", email.subject)
    assert message.provider_message_id == email.extra_headers["Message-ID"]


def test_a_redelivered_event_sends_nothing_twice(sale, budtender, django_capture_on_commit_callbacks):
    _, delivery = request_receipt(
        sale, budtender, "email", "ada@example.com", django_capture_on_commit_callbacks
    )
    EventDelivery.objects.filter(pk=delivery.pk).update(status=EventDelivery.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        assert events.deliver(delivery.pk).status == "succeeded"
    assert len(mail.outbox) == 1
    assert OutboundMessage.objects.count() == 1
    # A second request is a new event: it is sent again.
    with django_capture_on_commit_callbacks(execute=True):
        receipt_request(sale=sale, channel="email", destination="ada@example.com", actor=budtender)
    assert len(mail.outbox) == 2
    assert OutboundMessage.objects.count() == 2


def http_sms(monkeypatch, handler):
    backend = TwilioSmsBackend(
        api_url="https://sms.test",
        account_sid="AC1",
        auth_token="token",
        from_number="+14155550000",
        timeout=1,
        transport=httpx.MockTransport(handler),
    )
    monkeypatch.setattr(queue, "sms_backend", lambda: backend)


def test_a_refused_text_is_recorded_as_failed_and_not_retried(
    sale, budtender, monkeypatch, django_capture_on_commit_callbacks
):
    http_sms(monkeypatch, lambda request: httpx.Response(400, json={"message": "Invalid 'To' Phone Number"}))
    _, delivery = request_receipt(sale, budtender, "sms", "4155550199", django_capture_on_commit_callbacks)
    assert delivery.status == EventDelivery.Status.SUCCEEDED
    message = OutboundMessage.objects.get()
    assert (message.status, message.provider, message.sent_at) == ("failed", "twilio", None)
    assert "Invalid 'To' Phone Number" in message.error


def test_an_sms_outage_is_retried_and_then_sent_once(
    sale, budtender, monkeypatch, django_capture_on_commit_callbacks
):
    answers = [httpx.Response(503, text="down"), httpx.Response(201, json={"sid": "SM42"})]
    http_sms(monkeypatch, lambda request: answers.pop(0))
    _, delivery = request_receipt(sale, budtender, "sms", "4155550199", django_capture_on_commit_callbacks)
    # The event's work is done: the message is queued; the queue waits out the outage.
    assert delivery.status == EventDelivery.Status.SUCCEEDED
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempts) == ("queued", 1)
    assert "503" in message.error and message.send_after is not None
    assert queue.queue_drain() == 0  # not before its backoff is over
    assert queue.queue_drain(now=message.send_after) == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.attempts) == ("sent", "SM42", 2)


def test_a_lost_answer_is_recorded_and_never_sent_again(
    sale, budtender, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def lost(request):
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    http_sms(monkeypatch, lost)
    _, delivery = request_receipt(sale, budtender, "sms", "4155550199", django_capture_on_commit_callbacks)
    assert delivery.status == EventDelivery.Status.SUCCEEDED
    message = OutboundMessage.objects.get()
    assert message.status == "failed" and "answer lost" in message.error
    EventDelivery.objects.filter(pk=delivery.pk).update(status=EventDelivery.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        events.deliver(delivery.pk)
    queue.queue_drain()
    assert len(calls) == 1 and OutboundMessage.objects.count() == 1
