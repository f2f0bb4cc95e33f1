"""Outbound webhooks: API clients subscribe to kinds of events (REST hooks); each event becomes one delivery
per subscription, POSTed with Standard Webhooks headers and signature, retried with backoff on timeouts, 429
and 5xx, ended by a 410 Gone, and the subscription paused after repeated failures. The polling triggers read
the same events from the outbox, in the same shape.

The signature recipe (for receivers): take the secret after `whsec_`, base64-decode it, and compute
base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{raw body}")); the `webhook-signature` header
holds `v1,<that>`. The webhook-id stays the same on every retry of one delivery: drop a webhook-id already seen.
"""

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.errors import NotFound, ValidationFailed
from dispensary.models import ApiClient, OutboxEvent, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

USER_AGENT = "dispensary-platform-webhooks/1"
RESPONSE_EXCERPT = 500


@dataclasses.dataclass(frozen=True)
class EventKind:
    """One kind of event offered to subscribers: its outbox event, its polling trigger, the scope that reads
    it, and the payload key naming its store (an API client only hears of its own stores)."""

    type: str
    source: str
    trigger: str
    scope: str
    store_key: str | None
    description: str


CATALOGUE: dict[str, EventKind] = {
    kind.type: kind
    for kind in (
        EventKind(
            "customer.created",
            "customer.created",
            "new-customer",
            "customers:read",
            "home_store_id",
            "A customer was added (at the register, online or through the API).",
        ),
        EventKind(
            "sale.completed",
            "pos.sale_completed",
            "sale-completed",
            "sales:read",
            "store_id",
            "A sale was completed, with its lines.",
        ),
        EventKind(
            "order.delivered",
            "delivery.order_delivered",
            "order-delivered",
            "orders:read",
            "store_id",
            "A delivery order was handed over at the door.",
        ),
        EventKind(
            "points.earned",
            "pos.points_earned",
            "points-earned",
            "sales:read",
            None,
            "A loyalty member earned points on a sale.",
        ),
    )
}
EVENT_CHOICES = [(kind.type, kind.type) for kind in CATALOGUE.values()]
BY_SOURCE = {kind.source: kind for kind in CATALOGUE.values()}
BY_TRIGGER = {kind.trigger: kind for kind in CATALOGUE.values()}
# Never sent outside: a patient's state identifiers.
PRIVATE_FIELDS = ("patient_license_number", "caregiver_license_number")


class TargetRefused(ValidationFailed):
    code = "invalid_target_url"


# --- Payloads and signatures ------------------------------------------------------------------------------


def webhook_payload(*, kind: EventKind, event_id, occurred_at: dt.datetime, data: dict) -> dict:
    """The body of a delivery and an item of a polling trigger: one shape for both."""
    return {
        "id": str(event_id),
        "type": kind.type,
        "timestamp": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": {key: value for key, value in data.items() if key not in PRIVATE_FIELDS},
    }


def webhook_secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_body(payload: dict) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()


# --- Subscriptions ----------------------------------------------------------------------------------------


def _address_is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def webhook_target_check(url: str) -> None:
    """https only, to a public address; development and tests may allow private ones (and plain http)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in {"https", "http"} or not host:
        raise TargetRefused("The target must be an https:// URL.", details={"target_url": ["Use https://."]})
    if parts.username or parts.password:
        raise TargetRefused(
            "The target may not carry a user name or password.", details={"target_url": ["No credentials."]}
        )
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        return
    if parts.scheme != "https":
        raise TargetRefused("The target must be an https:// URL.", details={"target_url": ["Use https://."]})
    try:
        addresses = {
            info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        }
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(
            "The target's host name does not resolve.", details={"target_url": ["Unknown host."]}
        ) from None
    if any(_address_is_private(address) for address in addresses):
        raise TargetRefused(
            "The target may not be a private or loopback address.",
            details={"target_url": ["A public address is required."]},
        )


@transaction.atomic
def webhook_subscription_create(
    *, client: ApiClient, event_type: str, target_url: str
) -> WebhookSubscription:
    if event_type not in CATALOGUE:
        raise ValidationFailed(
            f"Unknown event {event_type!r}.", details={"event": [f"One of {', '.join(CATALOGUE)}."]}
        )
    webhook_target_check(target_url)
    subscription = WebhookSubscription.objects.create(
        organization_id=client.organization_id,
        client=client,
        event_type=event_type,
        target_url=target_url,
        secret=webhook_secret_new(),
    )
    audit_record(
        actor=client,
        action="webhook.subscribed",
        instance=subscription,
        after={"event": event_type, "target_url": target_url},
        organization=client.organization,
    )
    return subscription


def webhook_subscription_list(*, client: ApiClient) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(client=client, organization_id=client.organization_id)


@transaction.atomic
def webhook_subscription_delete(*, client: ApiClient, subscription_id: int) -> None:
    """A client ends only its own subscriptions; another's is not found."""
    subscription = (
        webhook_subscription_list(client=client).select_for_update().filter(pk=subscription_id).first()
    )
    if subscription is None:
        raise NotFound("No such subscription.")
    audit_record(
        actor=client,
        action="webhook.unsubscribed",
        instance=subscription,
        before={"event": subscription.event_type, "target_url": subscription.target_url},
        organization=client.organization,
    )
    subscription.delete()


# --- Deliveries -------------------------------------------------------------------------------------------


def _client_store_ids(client: ApiClient) -> set[int]:
    return set(client.stores.filter(is_active=True).values_list("pk", flat=True))


def webhook_deliveries_create(
    *, event_type: str, event_id, payload: dict, organization_id: int
) -> list[WebhookDelivery]:
    """One delivery of an outbox event per active subscription of its kind (called by an outbox handler, in its
    transaction); twice for the same event creates nothing more. They are sent after the commit."""
    kind = BY_SOURCE.get(event_type) or CATALOGUE.get(event_type)
    if kind is None:
        return []
    subscriptions = list(
        WebhookSubscription.objects.filter(
            organization_id=organization_id,
            event_type=kind.type,
            status=WebhookSubscription.Status.ACTIVE,
            client__is_active=True,
        ).select_related("client")
    )
    if kind.store_key:
        subscriptions = [
            subscription
            for subscription in subscriptions
            if payload.get(kind.store_key) in _client_store_ids(subscription.client)
        ]
    if not subscriptions:
        return []
    occurred = OutboxEvent.objects.filter(uuid=event_id).values_list("created_at", flat=True).first()
    now = timezone.now()
    body = webhook_payload(kind=kind, event_id=event_id, occurred_at=occurred or now, data=payload)
    rows = [
        WebhookDelivery(
            subscription=subscription,
            event_id=event_id,
            event_type=kind.type,
            payload=body,
            next_attempt_at=now,
        )
        for subscription in subscriptions
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(
        WebhookDelivery.objects.filter(
            event_id=event_id,
            subscription__in=subscriptions,
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
        ).values_list("pk", flat=True)
    )
    if created:
        transaction.on_commit(lambda: webhook_deliveries_dispatch(created), robust=True)
    return rows


def webhook_deliveries_dispatch(delivery_ids: list[int]) -> None:
    """To a Celery worker, or sent here when no broker is configured."""
    if settings.CELERY_BROKER_URL:
        from dispensary.tasks import webhook_delivery_send_task

        for delivery_id in delivery_ids:
            webhook_delivery_send_task.apply_async(args=[delivery_id])
    else:
        for delivery_id in delivery_ids:
            webhook_delivery_send(delivery_id=delivery_id)


def webhook_backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: somewhere in [d/2, d], d = base * 2^(attempts-1), capped."""
    config = settings.WEBHOOKS
    ceiling = min(config["BACKOFF_MAX_SECONDS"], config["BACKOFF_BASE_SECONDS"] * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def _post(subscription: WebhookSubscription, delivery: WebhookDelivery, now: dt.datetime) -> httpx.Response:
    body = webhook_body(delivery.payload)
    message_id = str(delivery.message_id)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(
            secret=subscription.secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
    return httpx.post(
        subscription.target_url,
        content=body,
        headers=headers,
        timeout=settings.WEBHOOKS["TIMEOUT_SECONDS"],
        follow_redirects=False,
    )


def _subscription_failed(subscription: WebhookSubscription, now: dt.datetime) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    subscription.refresh_from_db(fields=["consecutive_failures"])
    if subscription.consecutive_failures < settings.WEBHOOKS["PAUSE_AFTER_FAILURES"]:
        return
    subscription.status = WebhookSubscription.Status.PAUSED
    subscription.paused_at = now
    subscription.save(update_fields=["status", "paused_at"])
    audit_record(
        actor=None,
        action="webhook.paused",
        instance=subscription,
        after={"failures": subscription.consecutive_failures, "target_url": subscription.target_url},
        organization=subscription.organization,
    )
    logger.warning(
        "Webhook subscription %s paused after %s failures in a row (%s)",
        subscription.pk,
        subscription.consecutive_failures,
        subscription.target_url,
    )


def webhook_delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """One attempt at one delivery; returns its status after. The row stays locked during the call, so two
    senders never post it at once; a delivered one is never posted again."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return delivery.status if delivery else "missing"
        subscription = delivery.subscription
        if subscription.status != WebhookSubscription.Status.ACTIVE:
            return delivery.status
        now = now or timezone.now()
        delivery.attempts += 1
        retry = False
        try:
            response = _post(subscription, delivery, now)
        except httpx.HTTPError as error:
            delivery.last_response_status = None
            delivery.last_response_body = ""
            delivery.last_error = f"{type(error).__name__}: {error}"[:RESPONSE_EXCERPT]
            retry = True
        else:
            delivery.last_response_status = response.status_code
            delivery.last_response_body = response.text[:RESPONSE_EXCERPT]
            delivery.last_error = ""
            if 200 <= response.status_code < 300:
                delivery.status = WebhookDelivery.Status.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                delivery.save()
                if subscription.consecutive_failures:
                    WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)
                return delivery.status
            if response.status_code == 410:
                # The receiver is gone for good (Zapier's REST hooks): the subscription ends here.
                delivery.status = WebhookDelivery.Status.CANCELLED
                delivery.next_attempt_at = None
                delivery.save()
                subscription.status = WebhookSubscription.Status.ENDED
                subscription.save(update_fields=["status"])
                subscription.deliveries.filter(status=WebhookDelivery.Status.PENDING).update(
                    status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None
                )
                audit_record(
                    actor=None,
                    action="webhook.ended",
                    instance=subscription,
                    after={"target_url": subscription.target_url, "response_status": 410},
                    organization=subscription.organization,
                )
                return delivery.status
            retry = response.status_code == 429 or response.status_code >= 500
        if retry and delivery.attempts < settings.WEBHOOKS["MAX_ATTEMPTS"]:
            delivery.next_attempt_at = now + dt.timedelta(seconds=webhook_backoff_seconds(delivery.attempts))
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        delivery.save()
        _subscription_failed(subscription, now)
        return delivery.status


def webhook_deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """The periodic retry: every pending delivery whose time has come; returns how many were attempted."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            subscription__status=WebhookSubscription.Status.ACTIVE,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in ids:
        webhook_delivery_send(delivery_id=delivery_id, now=now)
    return len(ids)


# --- Polling triggers -------------------------------------------------------------------------------------


def trigger_items(*, client: ApiClient, kind: EventKind, limit: int = 100) -> list[dict]:
    """The newest events of a kind the client may hear of, newest first, in the shape of a delivery's body."""
    events = OutboxEvent.objects.filter(name=kind.source, organization_id=client.organization_id)
    if kind.store_key:
        events = events.filter(**{f"payload__{kind.store_key}__in": sorted(_client_store_ids(client))})
    return [
        webhook_payload(kind=kind, event_id=event.uuid, occurred_at=event.created_at, data=event.payload)
        for event in events.order_by("-id")[:limit]
    ]
