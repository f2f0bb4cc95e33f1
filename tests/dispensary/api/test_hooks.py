"""REST hooks, polling triggers and actions for Zapier-style integrations: scopes, a client's own
subscriptions only, triggers newest first in the payload shape of the hooks, and actions done once per
Idempotency-Key with a clear 400 (nothing written) on bad input."""

import pytest
from django.db import transaction
from django.utils import timezone

from delivery.events import OrderDelivered
from dispensary.event_types import CustomerCreated
from dispensary.events import publish
from dispensary.models import Customer, MarketingConsent, OutboxEvent, WebhookSubscription
from messaging.models import OutboundMessage
from pos.events import PointsEarned, SaleCompleted
from pos.models import LoyaltyAccount, LoyaltyProgram, PointsEntry
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HOOKS = ["hooks:manage", "sales:read", "customers:read", "orders:read"]
TARGET = "https://hooks.example.com/catch/1"


def subscribe(caller, event="sale.completed", target_url=TARGET):
    return caller.post("/api/v1/hooks", {"event": event, "target_url": target_url}, format="json")


# --- hooks ------------------------------------------------------------------------------------------------


def test_subscribe_list_and_unsubscribe(make_api_client):
    client, caller = make_api_client(scopes=HOOKS)

    created = subscribe(caller)

    assert created.status_code == 201
    body = created.json()
    subscription = WebhookSubscription.objects.get()
    assert body == {
        "id": subscription.pk,
        "event": "sale.completed",
        "target_url": TARGET,
        "status": "active",
        "consecutive_failures": 0,
        "created_at": body["created_at"],
        "secret": subscription.secret,
    }
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 50
    assert (subscription.client_id, subscription.organization_id) == (client.pk, client.organization_id)
    listed = caller.get("/api/v1/hooks").json()
    assert [(row["id"], row["event"]) for row in listed] == [(subscription.pk, "sale.completed")]
    assert "secret" not in listed[0]

    assert caller.delete(f"/api/v1/hooks/{subscription.pk}").status_code == 204
    assert WebhookSubscription.objects.count() == 0
    assert caller.delete(f"/api/v1/hooks/{subscription.pk}").status_code == 404


def test_a_client_sees_and_ends_only_its_own_subscriptions(make_api_client, other_organization):
    _, mine = make_api_client(scopes=HOOKS)
    _, neighbour = make_api_client(scopes=HOOKS)
    _, foreign = make_api_client(scopes=HOOKS, organization=other_organization, stores=[])
    theirs = subscribe(neighbour).json()["id"]

    assert mine.get("/api/v1/hooks").json() == []
    assert foreign.get("/api/v1/hooks").json() == []
    for caller in (mine, foreign):
        response = caller.delete(f"/api/v1/hooks/{theirs}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert WebhookSubscription.objects.filter(pk=theirs).exists()


def test_subscribing_needs_the_scopes(make_api_client, manager, staff_caller):
    _, without_hooks = make_api_client(scopes=["sales:read"])
    _, without_read = make_api_client(scopes=["hooks:manage"])

    assert subscribe(without_hooks).status_code == 403
    assert without_hooks.get("/api/v1/hooks").status_code == 403
    refused = subscribe(without_read)
    assert refused.status_code == 403
    assert refused.json()["details"] == {"scope": "sales:read"}
    assert subscribe(staff_caller(manager)).status_code == 403
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize(
    "event, target_url, field",
    [
        ("sale.exploded", TARGET, "event"),
        ("sale.completed", "not a url", "target_url"),
        ("sale.completed", "ftp://hooks.example.com/x", "target_url"),
        ("sale.completed", "https://user:pw@hooks.example.com/x", "target_url"),
    ],
)
def test_bad_subscriptions_are_refused(make_api_client, event, target_url, field):
    _, caller = make_api_client(scopes=HOOKS)

    response = subscribe(caller, event, target_url)

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize(
    "target_url",
    ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.1.2.3/x", "https://[::1]/x"],
)
def test_private_and_plain_http_targets_are_refused_in_production(settings, make_api_client, target_url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    _, caller = make_api_client(scopes=HOOKS)

    response = subscribe(caller, target_url=target_url)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_target_url"
    assert WebhookSubscription.objects.count() == 0


# --- polling triggers -------------------------------------------------------------------------------------


def _sale(organization, store, sale_id):
    return SaleCompleted(
        sale_id=sale_id,
        organization_id=organization.pk,
        store_id=store.pk,
        completed_at="2027-03-04T18:00:00Z",
        customer_type="medical",
        lines=[],
        customer_id=None,
        patient_license_number="PAT-9",
        receipt_number=f"R-{sale_id}",
    )


def test_triggers_list_the_newest_events_first_in_the_hook_shape(
    make_api_client, organization, store, other_store, other_organization, foreign_store
):
    _, caller = make_api_client(scopes=HOOKS)
    with transaction.atomic():
        publish(_sale(organization, store, 1))
        publish(_sale(organization, other_store, 2))  # a store the client does not reach
        publish(_sale(other_organization, foreign_store, 3))
        publish(_sale(organization, store, 4))
        publish(
            CustomerCreated(
                customer_id=5,
                organization_id=organization.pk,
                customer_type="adult_use",
                home_store_id=store.pk,
            )
        )
        publish(
            PointsEarned(organization_id=organization.pk, customer_id=5, sale_id=4, points=25, balance=25)
        )
        publish(
            OrderDelivered(
                organization_id=organization.pk,
                store_id=store.pk,
                trip_id=1,
                stop_id=2,
                order_id=3,
                delivery_order_id=4,
                customer_id=5,
                sale_id=4,
                delivered_at="2027-03-04T19:00:00Z",
            )
        )
    events = {
        row.payload.get("sale_id", row.name): row
        for row in OutboxEvent.objects.filter(name="pos.sale_completed")
    }

    sales = caller.get("/api/v1/triggers/sale-completed")

    assert sales.status_code == 200
    assert [item["data"]["sale_id"] for item in sales.json()] == [4, 1]
    newest = sales.json()[0]
    assert newest["id"] == str(events[4].uuid)
    assert newest["type"] == "sale.completed"
    assert newest["timestamp"].endswith("Z")
    assert "patient_license_number" not in newest["data"]
    assert newest["data"]["receipt_number"] == "R-4"
    [customer] = caller.get("/api/v1/triggers/new-customer").json()
    assert (customer["type"], customer["data"]["customer_id"]) == ("customer.created", 5)
    [points] = caller.get("/api/v1/triggers/points-earned").json()
    assert (points["type"], points["data"]["points"], points["data"]["balance"]) == ("points.earned", 25, 25)
    [delivered] = caller.get("/api/v1/triggers/order-delivered").json()
    assert (delivered["type"], delivered["data"]["order_id"]) == ("order.delivered", 3)


def test_triggers_need_the_events_read_scope(make_api_client):
    _, caller = make_api_client(scopes=["hooks:manage", "customers:read"])

    assert caller.get("/api/v1/triggers/new-customer").status_code == 200
    assert caller.get("/api/v1/triggers/sale-completed").status_code == 403
    assert caller.get("/api/v1/triggers/order-delivered").status_code == 403
    assert caller.get("/api/v1/triggers/nothing").status_code == 404


def test_a_trigger_returns_at_most_100_items(make_api_client, organization, store):
    _, caller = make_api_client(scopes=HOOKS)
    with transaction.atomic():
        for sale_id in range(1, 106):
            publish(_sale(organization, store, sale_id))

    items = caller.get("/api/v1/triggers/sale-completed").json()

    assert len(items) == 100
    assert (items[0]["data"]["sale_id"], items[-1]["data"]["sale_id"]) == (105, 6)


# --- actions ----------------------------------------------------------------------------------------------


def test_customer_upsert_creates_then_updates_by_phone(make_api_client, store):
    _, caller = make_api_client(scopes=["customers:write"])
    url = "/api/v1/actions/customer-upsert"

    created = caller.post(
        url, {"phone": "(415) 555-0101", "first_name": "Ada", "last_name": "L"}, format="json"
    )
    updated = caller.post(
        url, {"phone": "+14155550101", "first_name": "Ada", "last_name": "Lovelace"}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["created"] is True
    assert updated.status_code == 200
    assert updated.json()["created"] is False
    customer = Customer.objects.get()
    assert (customer.phone, customer.last_name, customer.home_store_id) == (
        "+14155550101",
        "Lovelace",
        store.pk,
    )
    assert created.json()["id"] == updated.json()["id"] == customer.pk


def test_customer_upsert_replays_a_retry_and_refuses_bad_input(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])
    url = "/api/v1/actions/customer-upsert"
    body = {"phone": "+14155550102", "first_name": "Grace", "last_name": "Hopper"}

    first = caller.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="zap-1")
    again = caller.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="zap-1")
    bad = caller.post(url, {"phone": "12", "first_name": "X", "last_name": "Y"}, format="json")
    missing = caller.post(url, {"phone": "+14155550103"}, format="json")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert bad.status_code == 400
    assert missing.status_code == 400
    assert set(missing.json()["details"]) == {"first_name", "last_name"}
    assert Customer.objects.count() == 1


@pytest.fixture
def member(organization, store):
    LoyaltyProgram.objects.create(organization=organization, points_expire_after_days=None)
    return CustomerFactory(
        organization=organization, home_store=store, phone="+14155550134", email="a@b.example"
    )


def test_points_add_writes_the_ledger_once_per_key(make_api_client, member):
    client, caller = make_api_client(scopes=["loyalty:write"])
    body = {"customer_id": member.pk, "points": 50, "reason": "Review on Google"}

    first = caller.post("/api/v1/actions/points-add", body, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    again = caller.post("/api/v1/actions/points-add", body, format="json", HTTP_IDEMPOTENCY_KEY="p-1")

    assert first.status_code == 201
    entry = PointsEntry.objects.get()
    assert first.json() == {"entry_id": entry.pk, "customer_id": member.pk, "points": 50, "balance": 50}
    assert again.json() == first.json()
    assert (entry.kind, entry.points, entry.remaining, entry.actor_id) == ("adjusted", 50, 50, None)
    assert entry.note == f"api-client:Menu sync ({client.key_prefix}): Review on Google"
    assert LoyaltyAccount.objects.get(customer=member).balance == 50


@pytest.mark.parametrize(
    "body, status",
    [
        ({"points": 0, "reason": "x"}, 400),
        ({"points": -5, "reason": "x"}, 400),
        ({"points": 5, "reason": ""}, 400),
        ({"points": "many", "reason": "x"}, 400),
    ],
)
def test_points_add_refuses_bad_input(make_api_client, member, body, status):
    _, caller = make_api_client(scopes=["loyalty:write"])

    response = caller.post("/api/v1/actions/points-add", {"customer_id": member.pk, **body}, format="json")

    assert response.status_code == status
    assert response.json()["code"] == "invalid"
    assert PointsEntry.objects.count() == 0


def test_points_add_refuses_unknown_customers_and_an_off_program(
    make_api_client, member, foreign_customer, organization
):
    _, caller = make_api_client(scopes=["loyalty:write"])
    url = "/api/v1/actions/points-add"

    assert (
        caller.post(
            url, {"customer_id": foreign_customer.pk, "points": 5, "reason": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        make_api_client(scopes=["customers:write"])[1]
        .post(url, {"customer_id": member.pk, "points": 5, "reason": "x"}, format="json")
        .status_code
        == 403
    )
    LoyaltyProgram.objects.filter(organization=organization).update(enabled=False)
    off = caller.post(url, {"customer_id": member.pk, "points": 5, "reason": "x"}, format="json")
    assert (off.status_code, off.json()["code"]) == (422, "loyalty_unavailable")
    assert PointsEntry.objects.count() == 0


def test_message_send_queues_one_transactional_message_per_key(make_api_client, member):
    _, caller = make_api_client(scopes=["messages:send"])
    body = {"customer_id": member.pk, "channel": "sms", "body": "Your order is packed."}

    first = caller.post("/api/v1/actions/message-send", body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    again = caller.post("/api/v1/actions/message-send", body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")

    assert first.status_code == 202
    assert again.json() == first.json()
    message = OutboundMessage.objects.get()
    assert first.json()["message_id"] == message.pk
    assert (message.category, message.channel, message.to, message.body, message.purpose) == (
        "transactional",
        "sms",
        "+14155550134",
        "Your order is packed.",
        "api",
    )
    assert message.customer_id == member.pk


def test_message_send_refuses_a_revoked_channel_a_missing_address_and_bad_input(make_api_client, member):
    _, caller = make_api_client(scopes=["messages:send"])
    url = "/api/v1/actions/message-send"
    MarketingConsent.objects.create(
        customer=member,
        channel="sms",
        purpose="transactional",
        granted=False,
        disclosure_version="v1",
        disclosure_text="",
        recorded_at=timezone.now(),
    )
    no_email = CustomerFactory(organization=member.organization, home_store=member.home_store, email="")

    revoked = caller.post(url, {"customer_id": member.pk, "channel": "sms", "body": "Hi"}, format="json")
    unreachable = caller.post(
        url, {"customer_id": no_email.pk, "channel": "email", "body": "Hi"}, format="json"
    )
    bad_channel = caller.post(url, {"customer_id": member.pk, "channel": "fax", "body": "Hi"}, format="json")
    empty = caller.post(url, {"customer_id": member.pk, "channel": "email", "body": ""}, format="json")

    assert (revoked.status_code, revoked.json()["code"]) == (422, "customer_unreachable")
    assert (unreachable.status_code, unreachable.json()["code"]) == (422, "customer_unreachable")
    assert unreachable.json()["message"] == "The customer has no email address."
    assert (bad_channel.status_code, empty.status_code) == (400, 400)
    assert OutboundMessage.objects.count() == 0


def test_actions_are_for_their_scopes_only(make_api_client, member):
    _, caller = make_api_client(scopes=["customers:read", "hooks:manage"])

    for url in ("customer-upsert", "points-add", "message-send"):
        assert caller.post(f"/api/v1/actions/{url}", {}, format="json").status_code == 403


def test_staff_cannot_use_the_hooks(manager, staff_caller):
    assert staff_caller(manager).get("/api/v1/hooks").status_code == 403
