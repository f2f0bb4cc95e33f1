"""Outbound webhooks: an event becomes one signed delivery per subscription, retried after a lost answer with
the same webhook-id, ended by 410 Gone, and paused after failures in a row. A real HTTP receiver on this
machine answers (or drops the answer after applying the delivery)."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from dispensary.events import publish
from dispensary.models import AuditRecord, WebhookDelivery, WebhookSubscription
from dispensary.services import api_client_create
from dispensary.webhooks import (
    webhook_deliveries_send_due,
    webhook_delivery_send,
    webhook_subscription_create,
)
from pos.events import SaleCompleted
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2027, 3, 4, 18, 0, tzinfo=dt.UTC)


class Receiver:
    """Applies each delivery once per webhook-id (the documented dedupe); `script` is the list of what to do
    with the next requests: an HTTP status to answer, or "drop" to apply and then close without answering."""

    def __init__(self):
        self.requests: list[dict] = []
        self.applied: dict[str, bytes] = {}
        self.script: list = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                action = receiver.script.pop(0) if receiver.script else 200
                if action in (200, "drop"):
                    receiver.applied.setdefault(self.headers["webhook-id"], body)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(action)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def subscription(organization, store, receiver):
    client, _ = api_client_create(
        organization=organization,
        actor=None,
        name="Zapier",
        scopes=["hooks:manage", "sales:read"],
        stores=[store],
    )
    return webhook_subscription_create(client=client, event_type="sale.completed", target_url=receiver.url)


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The recipe of the API documentation, written out as a receiver would."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["webhook-signature"])


def sale_completed(organization, store, *, sale_id=41, license_number="") -> None:
    with transaction.atomic():
        publish(
            SaleCompleted(
                sale_id=sale_id,
                organization_id=organization.pk,
                store_id=store.pk,
                completed_at="2027-03-04T18:00:00Z",
                customer_type="adult_use",
                lines=[{"package_id": 7, "quantity": "1", "unit": "each", "total_amount": "25.00"}],
                customer_id=None,
                patient_license_number=license_number,
                receipt_number="R-41",
            )
        )


def test_a_sale_becomes_one_signed_delivery(
    organization, store, subscription, receiver, clock, django_capture_on_commit_callbacks
):
    clock.move_to(START)
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store, license_number="PAT-1")

    [request] = receiver.requests
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered"
    assert delivery.attempts == 1
    assert delivery.delivered_at == START
    assert delivery.last_response_status == 200
    headers, body = request["headers"], request["body"]
    assert headers["webhook-id"] == str(delivery.message_id)
    assert headers["webhook-timestamp"] == str(int(START.timestamp()))
    assert headers["content-type"] == "application/json"
    assert verify(subscription.secret, headers, body)
    assert not verify(subscription.secret, headers, body + b" ")
    payload = json.loads(body)
    assert payload == {
        "id": str(delivery.event_id),
        "type": "sale.completed",
        "timestamp": "2027-03-04T18:00:00Z",
        "data": {
            "sale_id": 41,
            "organization_id": organization.pk,
            "store_id": store.pk,
            "completed_at": "2027-03-04T18:00:00Z",
            "customer_type": "adult_use",
            "lines": [{"package_id": 7, "quantity": "1", "unit": "each", "total_amount": "25.00"}],
            "customer_id": None,
            "receipt_number": "R-41",
        },
    }


def test_the_event_is_delivered_once_per_subscription_even_if_handled_twice(
    organization, store, subscription
):
    from dispensary.webhooks import webhook_deliveries_create

    for _ in range(2):
        webhook_deliveries_create(
            event_type="pos.sale_completed",
            event_id="2f1c0b8e-1a57-4f59-9a40-6d3a3c2b0c11",
            payload={"sale_id": 1, "store_id": store.pk},
            organization_id=organization.pk,
        )

    assert WebhookDelivery.objects.count() == 1


def test_a_client_hears_only_of_its_own_stores(
    organization, subscription, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, StoreFactory(organization=organization))

    assert WebhookDelivery.objects.count() == 0


def test_a_lost_answer_is_retried_with_the_same_webhook_id_and_applied_once(
    organization, store, subscription, receiver, clock, django_capture_on_commit_callbacks
):
    clock.move_to(START)
    receiver.script = ["drop"]
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.last_response_status is None
    assert delivery.last_error.startswith("RemoteProtocolError")
    # Backoff with jitter: between half and all of the first step (30 s).
    assert START + dt.timedelta(seconds=15) <= delivery.next_attempt_at <= START + dt.timedelta(seconds=30)
    assert webhook_deliveries_send_due(now=START + dt.timedelta(seconds=10)) == 0

    assert webhook_deliveries_send_due(now=START + dt.timedelta(seconds=31)) == 1

    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == str(delivery.message_id)
    assert first["body"] == second["body"]
    assert verify(subscription.secret, second["headers"], second["body"])
    assert list(receiver.applied) == [str(delivery.message_id)]
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
    # Delivered: never posted again.
    assert webhook_delivery_send(delivery_id=delivery.pk) == "delivered"
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("answer", [429, 503])
def test_busy_and_server_errors_are_retried(
    answer, organization, store, subscription, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [answer]
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == ("pending", 1, answer)
    assert delivery.last_response_body == "ok"


def test_a_client_error_is_not_retried(
    organization, store, subscription, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [400]
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)


def test_gone_ends_the_subscription(
    organization, store, subscription, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [410]
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store)
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store, sale_id=42)

    subscription.refresh_from_db()
    assert subscription.status == "ended"
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["cancelled"]
    assert len(receiver.requests) == 1
    assert AuditRecord.objects.filter(action="webhook.ended", object_id=str(subscription.pk)).count() == 1


def test_failures_in_a_row_pause_the_subscription(
    settings, organization, store, subscription, receiver, clock, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "PAUSE_AFTER_FAILURES": 3, "MAX_ATTEMPTS": 2}
    clock.move_to(START)
    receiver.script = [500, 500, 500, 500]
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store, sale_id=1)
    webhook_deliveries_send_due(now=START + dt.timedelta(hours=1))  # attempt 2 of the first: failed
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store, sale_id=2)  # the third failure in a row: paused

    subscription.refresh_from_db()
    assert (subscription.status, subscription.consecutive_failures) == ("paused", 3)
    assert subscription.paused_at is not None
    assert sorted(WebhookDelivery.objects.values_list("status", "attempts")) == [
        ("failed", 2),
        ("pending", 1),
    ]
    assert AuditRecord.objects.filter(action="webhook.paused").count() == 1
    # A paused subscription is not sent to, nor given new events.
    assert webhook_deliveries_send_due(now=START + dt.timedelta(days=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store, sale_id=3)
    assert WebhookDelivery.objects.count() == 2
    assert len(receiver.requests) == 3


def test_a_success_resets_the_failures(
    organization, store, subscription, receiver, django_capture_on_commit_callbacks
):
    WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=2)
    with django_capture_on_commit_callbacks(execute=True):
        sale_completed(organization, store)

    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
