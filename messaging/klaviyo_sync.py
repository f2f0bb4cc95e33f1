"""Klaviyo kept in step through the event outbox: customers as profiles (external_id = our customer id), the
consent ledger's marketing grants and revocations as subscription jobs (only confirmed consent subscribes), and
sales, refunds, abandoned carts and points as events with a unique_id per sale, line, refund, cart abandonment
and points award, so that Klaviyo records each once however often it is sent.

Each handler is idempotent: a retried delivery (after a 429, a 5xx, a timeout, or an answer lost after Klaviyo
applied the call) sends the same unique ids again, or sets the same profile and subscription state again. A
failure that may pass raises, and the outbox retries it with backoff; a 429 also pauses the account's calls for
Klaviyo's Retry-After (kept in the cache, which is not rolled back with the failed delivery). A request Klaviyo
refuses as it is (400, 404, 409, 422) is recorded as refused and not retried. The outcome of each write is a
KlaviyoSyncRecord; the backfill (messaging/klaviyo_backfill.py) sends the same payloads."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Prefetch
from django.utils import timezone

from dispensary.event_types import CustomerCreated, CustomerUpdated, MarketingConsentRecorded
from dispensary.events import delivering_event_uuid, handler_name, handles
from dispensary.models import Customer, EventDelivery, MarketingConsent
from inventory.models import Product
from messaging.consent import MARKETING, consent_state
from messaging.integration_keys import key_decrypt
from messaging.klaviyo_client import KlaviyoClient, KlaviyoRateLimited, KlaviyoRejected
from messaging.models import KlaviyoAccount, KlaviyoSyncRecord
from pos.events import CartAbandoned, PointsEarned, SaleCompleted, SaleRefunded, TierChanged
from pos.models import LoyaltyAccount, Refund, Sale, SaleLine

Kind = KlaviyoSyncRecord.Kind
Status = KlaviyoSyncRecord.Status
CURRENCY = "USD"
PLACED_ORDER = "Placed Order"
ORDERED_PRODUCT = "Ordered Product"
REFUNDED_ORDER = "Refunded Order"
STARTED_CHECKOUT = "Started Checkout"
POINTS_EARNED = "Points Earned"
CUSTOMER_TYPES = dict(Customer.Type.choices)
CATEGORIES = dict(Product.Category.choices)


@dataclass(frozen=True)
class Connection:
    account: KlaviyoAccount
    client: KlaviyoClient


def klaviyo_connection(*, organization_id: int) -> Connection | None:
    """The organization's Klaviyo account and a client for it, when sync is on and a key is set."""
    account = KlaviyoAccount.objects.filter(organization_id=organization_id, enabled=True).first()
    if account is None or not account.api_key_encrypted:
        return None
    return Connection(account, KlaviyoClient.for_key(key_decrypt(account.api_key_encrypted)))


def _pause_key(account_id: int) -> str:
    return f"messaging:klaviyo:paused:{account_id}"


def klaviyo_paused_until(*, account_id: int) -> dt.datetime | None:
    """When Klaviyo's last 429 lets this account call again (None: not paused)."""
    until = cache.get(_pause_key(account_id))
    if until is None or until <= timezone.now().timestamp():
        return None
    return dt.datetime.fromtimestamp(until, tz=dt.UTC)


def _call(connection: Connection, call: Callable[[], object]):
    """Make one call, unless Klaviyo asked to wait; remember how long a 429 asks to wait."""
    account_id = connection.account.pk
    until = klaviyo_paused_until(account_id=account_id)
    if until is not None:
        seconds = max(1, int(until.timestamp() - timezone.now().timestamp()))
        raise KlaviyoRateLimited(
            f"Waiting for Klaviyo's rate limit: {seconds} s left.", status=429, retry_after=seconds
        )
    try:
        return call()
    except KlaviyoRateLimited as error:
        wait = error.retry_after or 1
        cache.set(_pause_key(account_id), timezone.now().timestamp() + wait, timeout=wait)
        raise


def _now() -> dt.datetime:
    return timezone.now()


def record_write(
    *,
    account: KlaviyoAccount,
    kind: str,
    unique_id: str,
    reference: str,
    status: str,
    metric: str = "",
    detail: str = "",
    source: str = "live",
    attempts: int = 1,
    last_error: str = "",
) -> None:
    """Insert or update the outcome of one write (the unique constraint decides, never check-then-insert)."""
    now = _now()
    KlaviyoSyncRecord.objects.bulk_create(
        [
            KlaviyoSyncRecord(
                account=account,
                kind=kind,
                metric=metric,
                reference=reference,
                unique_id=unique_id,
                status=status,
                detail=detail[:300],
                attempts=attempts,
                last_error=last_error,
                source=source,
                created_at=now,
                updated_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["account", "kind", "unique_id"],
        update_fields=[
            "metric",
            "reference",
            "status",
            "detail",
            "attempts",
            "last_error",
            "source",
            "updated_at",
        ],
    )


@dataclass(frozen=True)
class History:
    """How many attempts this delivery has taken (this one included) and the error of the one before."""

    attempts: int = 1
    last_error: str = ""


def _history(handler: Callable) -> History:
    source = delivering_event_uuid()
    if not source:
        return History()
    row = (
        EventDelivery.objects.filter(event__uuid=source, handler=handler_name(handler))
        .values("attempts", "last_error")
        .first()
    )
    if row is None:
        return History()
    lines = (row["last_error"] or "").strip().splitlines()
    return History(row["attempts"] + 1, lines[-1][:500] if lines else "")


# --- Payloads ----------------------------------------------------------------------------------------------


def _money(amount: Decimal | str) -> float:
    return float(Decimal(str(amount)).quantize(Decimal("0.01")))


def profile_identity(customer: Customer) -> dict:
    """How an event names its profile: our id, and the number and address Klaviyo matches on."""
    identity = {"external_id": str(customer.pk), "phone_number": customer.phone}
    if customer.email:
        identity["email"] = customer.email
    return identity


def profile_attributes(customer: Customer, *, loyalty: LoyaltyAccount | None) -> dict:
    attributes = {
        **profile_identity(customer),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "properties": {
            "Store": customer.home_store.name if customer.home_store else "",
            "Customer type": CUSTOMER_TYPES.get(customer.customer_type, customer.customer_type),
            "Loyalty tier": loyalty.tier.name if loyalty and loyalty.tier else "",
            "Loyalty points": loyalty.balance if loyalty else 0,
        },
    }
    return attributes


def _customer(customer_id: int, organization_id: int) -> Customer | None:
    return (
        Customer.objects.select_related("home_store")
        .filter(pk=customer_id, organization_id=organization_id)
        .first()
    )


def _loyalty(customer_id: int) -> LoyaltyAccount | None:
    return LoyaltyAccount.objects.select_related("tier").filter(customer_id=customer_id).first()


def _item(line: SaleLine) -> dict:
    product = line.product
    return {
        "ProductID": str(product.pk),
        "ProductName": product.name,
        "Brand": product.brand,
        "Category": CATEGORIES.get(product.category, product.category),
        "Quantity": float(line.quantity),
        "Unit": line.unit,
        "ItemPrice": _money(line.unit_price),
        "RowTotal": _money(line.total),
    }


def sale_events(sale: Sale) -> list[dict]:
    """Placed Order (unique_id sale-<id>, value the total) and one Ordered Product per line
    (sale-<id>-line-<line id>, value the line's total), as keyword arguments of KlaviyoClient.event_create."""
    lines = list(sale.lines.all())
    items = [_item(line) for line in lines]
    order = {
        "OrderId": str(sale.pk),
        "ReceiptNumber": sale.receipt_number,
        "Store": sale.store.name,
        "Channel": "Pickup order" if sale.pickup_order_id else "In store",
        "ItemNames": [item["ProductName"] for item in items],
        "Categories": sorted({item["Category"] for item in items}),
        "Brands": sorted({item["Brand"] for item in items if item["Brand"]}),
        "ItemCount": len(items),
        "Subtotal": _money(sale.subtotal),
        "DiscountValue": _money(sale.discount_total),
        "Tax": _money(sale.tax_total),
        "PointsEarned": sale.points_earned,
        "Items": items,
    }
    events = [
        {
            "metric": PLACED_ORDER,
            "unique_id": f"sale-{sale.pk}",
            "properties": order,
            "value": _money(sale.total),
            "time": sale.completed_at,
        }
    ]
    for line, item in zip(lines, items, strict=True):
        events.append(
            {
                "metric": ORDERED_PRODUCT,
                "unique_id": f"sale-{sale.pk}-line-{line.pk}",
                "properties": {**item, "OrderId": str(sale.pk), "Store": sale.store.name},
                "value": item["RowTotal"],
                "time": sale.completed_at,
            }
        )
    return events


def sales_for_events():
    return Sale.objects.select_related("store", "customer", "customer__home_store").prefetch_related(
        Prefetch("lines", queryset=SaleLine.objects.select_related("product").order_by("pk"))
    )


def events_send(
    connection: Connection,
    *,
    customer: Customer,
    events: list[dict],
    reference: str,
    source: str,
    history: History = History(),
    backfill: bool = False,
) -> int:
    """Send the events, each under its unique_id, and record each. Returns how many were sent."""
    identity = profile_identity(customer)
    sent = 0
    for event in events:
        try:
            _call(
                connection,
                lambda event=event: connection.client.event_create(
                    profile=identity, value_currency=CURRENCY, backfill=backfill, **event
                ),
            )
        except KlaviyoRejected as error:
            record_write(
                account=connection.account,
                kind=Kind.EVENT,
                metric=event["metric"],
                unique_id=event["unique_id"],
                reference=reference,
                status=Status.REJECTED,
                detail=str(error),
                source=source,
                attempts=history.attempts,
                last_error=history.last_error,
            )
            continue
        record_write(
            account=connection.account,
            kind=Kind.EVENT,
            metric=event["metric"],
            unique_id=event["unique_id"],
            reference=reference,
            status=Status.SENT,
            source=source,
            attempts=history.attempts,
            last_error=history.last_error,
        )
        sent += 1
    return sent


def profile_send(
    connection: Connection,
    *,
    customer: Customer,
    loyalty: LoyaltyAccount | None,
    source: str,
    history: History = History(),
) -> bool:
    """Create or update the customer's profile (idempotent: the same state set again)."""
    attributes = profile_attributes(customer, loyalty=loyalty)
    unique_id, reference = f"customer-{customer.pk}", f"customer:{customer.pk}"
    try:
        _call(connection, lambda: connection.client.profile_upsert(attributes))
    except KlaviyoRejected as error:
        record_write(
            account=connection.account,
            kind=Kind.PROFILE,
            unique_id=unique_id,
            reference=reference,
            status=Status.REJECTED,
            detail=str(error),
            source=source,
            attempts=history.attempts,
            last_error=history.last_error,
        )
        return False
    record_write(
        account=connection.account,
        kind=Kind.PROFILE,
        unique_id=unique_id,
        reference=reference,
        status=Status.SENT,
        source=source,
        attempts=history.attempts,
        last_error=history.last_error,
    )
    return True


def _consent_profile(customer: Customer) -> dict:
    """Both of the customer's identifiers, so that the job finds the profile the other channel made."""
    identity = {"phone_number": customer.phone}
    if customer.email:
        identity["email"] = customer.email
    return identity


def consent_send(
    connection: Connection,
    *,
    customer: Customer,
    channel: str,
    unique_id: str,
    source: str,
    history: History = History(),
) -> str:
    """Subscribe the customer on the channel if their marketing consent is confirmed, unsubscribe them if it
    was withdrawn; nothing while a grant awaits its confirmation, or was never given. Decided from the ledger as
    it is now (a late delivery never undoes a newer choice). Returns the record's status."""
    account = connection.account
    state = consent_state(customer.pk, channel=channel, purpose=MARKETING)
    list_id = account.email_list_id if channel == MarketingConsent.Channel.EMAIL else account.sms_list_id
    reference = f"customer:{customer.pk}"
    identity = _consent_profile(customer)
    needed = "email" if channel == MarketingConsent.Channel.EMAIL else "phone_number"
    common = {
        "account": account,
        "unique_id": unique_id,
        "reference": reference,
        "source": source,
        "attempts": history.attempts,
        "last_error": history.last_error,
    }
    if not identity.get(needed):
        record_write(kind=Kind.SUBSCRIBE, status=Status.SKIPPED, detail=f"No {channel} on file.", **common)
        return Status.SKIPPED
    if state.allowed:
        kind = Kind.SUBSCRIBE
        profile = {
            **identity,
            "subscriptions": {
                channel: {
                    "marketing": {
                        "consent": "SUBSCRIBED",
                        "consented_at": state.since.astimezone(dt.UTC).isoformat(),
                    }
                }
            },
        }
        call = lambda: connection.client.profiles_subscribe(  # noqa: E731
            profiles=[profile], list_id=list_id, source=f"Dispensary platform ({state.source})"
        )
    elif state.since is not None and not state.awaiting_confirmation:
        kind = Kind.UNSUBSCRIBE
        profile = {**identity, "subscriptions": {channel: {"marketing": {"consent": "UNSUBSCRIBED"}}}}
        call = lambda: connection.client.profiles_unsubscribe(profiles=[profile], list_id=list_id)  # noqa: E731
    else:
        detail = "Awaiting the customer's confirmation." if state.awaiting_confirmation else "Never asked."
        record_write(kind=Kind.SUBSCRIBE, status=Status.SKIPPED, detail=detail, **common)
        return Status.SKIPPED
    try:
        _call(connection, call)
    except KlaviyoRejected as error:
        record_write(kind=kind, status=Status.REJECTED, detail=str(error), **common)
        return Status.REJECTED
    record_write(kind=kind, status=Status.SENT, detail=channel, **common)
    return Status.SENT


# --- Handlers ----------------------------------------------------------------------------------------------


@handles(CustomerCreated, CustomerUpdated, TierChanged)
def on_customer_changed(event: CustomerCreated | CustomerUpdated | TierChanged) -> None:
    """The profile upserted again: the customer's details, or their loyalty tier, changed."""
    connection = klaviyo_connection(organization_id=event.organization_id)
    if connection is None:
        return
    customer = _customer(event.customer_id, event.organization_id)
    if customer is None:
        return
    profile_send(
        connection,
        customer=customer,
        loyalty=_loyalty(customer.pk),
        source="live",
        history=_history(on_customer_changed),
    )


@handles(MarketingConsentRecorded)
def on_marketing_consent_recorded(event: MarketingConsentRecorded) -> None:
    if event.purpose != MARKETING:
        return
    connection = klaviyo_connection(organization_id=event.organization_id)
    if connection is None:
        return
    customer = _customer(event.customer_id, event.organization_id)
    if customer is None:
        return
    consent_send(
        connection,
        customer=customer,
        channel=event.channel,
        unique_id=f"consent-{event.consent_id}",
        source="live",
        history=_history(on_marketing_consent_recorded),
    )


@handles(SaleCompleted)
def on_sale_completed(event: SaleCompleted) -> None:
    if event.customer_id is None:
        return  # no profile to credit
    connection = klaviyo_connection(organization_id=event.organization_id)
    if connection is None:
        return
    sale = sales_for_events().filter(pk=event.sale_id, store_id=event.store_id).first()
    if sale is None or sale.customer is None:
        return
    events_send(
        connection,
        customer=sale.customer,
        events=sale_events(sale),
        reference=f"sale:{sale.pk}",
        source="live",
        history=_history(on_sale_completed),
    )


@handles(SaleRefunded)
def on_sale_refunded(event: SaleRefunded) -> None:
    connection = klaviyo_connection(organization_id=event.organization_id)
    if connection is None:
        return
    refund = (
        Refund.objects.select_related("sale__store", "sale__customer")
        .prefetch_related("lines__sale_line__product")
        .filter(pk=event.refund_id, sale_id=event.sale_id, sale__store_id=event.store_id)
        .first()
    )
    if refund is None or refund.sale.customer is None:
        return
    sale = refund.sale
    items = [
        {**_item(line.sale_line), "Quantity": float(line.quantity), "RowTotal": _money(line.total)}
        for line in refund.lines.all()
    ]
    event_data = {
        "metric": REFUNDED_ORDER,
        "unique_id": f"refund-{refund.pk}",
        "properties": {
            "OrderId": str(sale.pk),
            "RefundId": str(refund.pk),
            "ReceiptNumber": sale.receipt_number,
            "Store": sale.store.name,
            "ItemNames": [item["ProductName"] for item in items],
            "Items": items,
        },
        "value": _money(refund.total),
        "time": refund.created_at,
    }
    events_send(
        connection,
        customer=sale.customer,
        events=[event_data],
        reference=f"refund:{refund.pk}",
        source="live",
        history=_history(on_sale_refunded),
    )


def cart_unique_id(cart_id: int, last_activity_at: str) -> str:
    """One abandonment of a cart: its id and the moment its activity stopped (a cart abandoned again after
    new activity is a new abandonment)."""
    moment = dt.datetime.fromisoformat(last_activity_at).astimezone(dt.UTC)
    return f"cart-{cart_id}-{moment:%Y%m%dT%H%M%SZ}"


@handles(CartAbandoned)
def on_cart_abandoned(event: CartAbandoned) -> None:
    connection = klaviyo_connection(organization_id=event.organization_id)
    if connection is None:
        return
    customer = _customer(event.customer_id, event.organization_id)
    if customer is None:
        return
    products = Product.objects.filter(
        organization_id=event.organization_id, pk__in=[line["product_id"] for line in event.lines]
    ).in_bulk()
    items = []
    for line in event.lines:
        product = products.get(line["product_id"])
        if product is None:
            continue
        items.append(
            {
                "ProductID": str(product.pk),
                "ProductName": product.name,
                "Brand": product.brand,
                "Category": CATEGORIES.get(product.category, product.category),
                "Quantity": float(Decimal(line["quantity"])),
            }
        )
    store_name = (
        customer.home_store.name if customer.home_store_id == event.store_id and customer.home_store else ""
    )
    event_data = {
        "metric": STARTED_CHECKOUT,
        "unique_id": cart_unique_id(event.cart_id, event.last_activity_at),
        "properties": {
            "CartId": str(event.cart_id),
            "StoreId": str(event.store_id),
            "Store": store_name,
            "ItemNames": [item["ProductName"] for item in items],
            "Categories": sorted({item["Category"] for item in items}),
            "Items": items,
        },
        "value": _money(event.total_estimate),
        "time": dt.datetime.fromisoformat(event.last_activity_at),
    }
    events_send(
        connection,
        customer=customer,
        events=[event_data],
        reference=f"cart:{event.cart_id}",
        source="live",
        history=_history(on_cart_abandoned),
    )


@handles(PointsEarned)
def on_points_earned(event: PointsEarned) -> None:
    connection = klaviyo_connection(organization_id=event.organization_id)
    if connection is None:
        return
    customer = _customer(event.customer_id, event.organization_id)
    if customer is None:
        return
    sale = Sale.objects.filter(pk=event.sale_id, customer_id=customer.pk).only("completed_at").first()
    loyalty = _loyalty(customer.pk)
    event_data = {
        "metric": POINTS_EARNED,
        "unique_id": f"points-sale-{event.sale_id}",
        "properties": {
            "Points": event.points,
            "Balance": event.balance,
            "OrderId": str(event.sale_id),
            "Loyalty tier": loyalty.tier.name if loyalty and loyalty.tier else "",
        },
        "time": sale.completed_at if sale else _now(),
    }
    events_send(
        connection,
        customer=customer,
        events=[event_data],
        reference=f"sale:{event.sale_id}",
        source="live",
        history=_history(on_points_earned),
    )
