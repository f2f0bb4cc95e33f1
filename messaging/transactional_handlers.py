"""The customer's transactional messages (issue 14, part 7): pickup order confirmed and ready, loyalty points
earned, tier reached, reward available, and the medical card expiring in 30 days. Each reaction renders the
message's template (messaging.rendering) and queues it (messaging.queue.message_enqueue) by text when the
customer has a phone and by email when they have an address; the gate decides at send time.

Each message's key is derived from what caused it (the delivering event, the customer and the channel; for
"ready", the order itself; for the medical card, the registration and its expiry date), so a redelivered event
or a second run queues nothing new. Receipts and delivery messages have their own handlers."""

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from compliance.models import PatientRegistration
from dispensary.clock import store_local_date, store_local_now
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Customer, Store
from messaging.delivery_texts import clock_text
from messaging.models import Category, Channel, OutboundMessage
from messaging.queue import message_enqueue
from messaging.rendering import customer_variables, message_render, money, store_variables
from pos.events import OrderConfirmed, OrderReady, PointsEarned, TierChanged
from pos.models import LoyaltyTier, Reward, Sale

logger = logging.getLogger(__name__)
# Keys not derived from an event (the order's "ready", the medical card) live under this namespace.
NAMESPACE = uuid.UUID("6f1c3f0e-3a55-4a52-9a3e-7d0c2f1b9e41")
MEDICAL_NOTICE_DAYS = 30
# The medical reminders go out from this local hour (the job runs hourly; each goes once).
MEDICAL_NOTICE_HOUR = 10


def _event_key(kind: str, customer_id: int, channel: str) -> uuid.UUID:
    source = delivering_event_uuid()
    if source is None:  # called outside an outbox delivery (a shell): no redelivery to guard against
        return uuid.uuid4()
    return uuid.uuid5(uuid.UUID(source), f"{kind}:{customer_id}:{channel}")


def _destinations(customer: Customer) -> list[tuple[str, str]]:
    out = []
    if customer.phone:
        out.append((Channel.SMS, customer.phone))
    if customer.email:
        out.append((Channel.EMAIL, customer.email))
    return out


def _first_text(organization_id: int, phone: str) -> bool:
    return not OutboundMessage.objects.filter(
        organization_id=organization_id, channel=Channel.SMS, to=phone
    ).exists()


def customer_notify(
    *,
    kind: str,
    purpose: str,
    customer: Customer,
    store: Store | None,
    variables: dict,
    reference: str,
    key_of,
) -> list[OutboundMessage]:
    """Render `kind` for the customer and queue it on every channel they can be reached on; `key_of(channel)`
    is the message's key. The first text to a number tells how to opt out."""
    values = {**customer_variables(customer), **(store_variables(store) if store else {}), **variables}
    language = getattr(customer, "language", "") or "en"
    queued = []
    for channel, to in _destinations(customer):
        opt_out = channel == Channel.SMS and _first_text(customer.organization_id, to)
        rendered = message_render(
            organization_id=customer.organization_id,
            store_id=store.pk if store else None,
            key=kind,
            channel=channel,
            variables=values,
            language=language,
            opt_out=opt_out,
        )
        if rendered is None or not rendered.body:
            logger.warning("No words for %s by %s", kind, channel)
            continue
        queued.append(
            message_enqueue(
                organization_id=customer.organization_id,
                store_id=store.pk if store else None,
                customer_id=customer.pk,
                channel=channel,
                to=to,
                subject=rendered.subject[:200],
                body=rendered.body,
                purpose=purpose,
                category=Category.TRANSACTIONAL,
                reference=reference[:80],
                key=key_of(channel),
                template_key=kind,
                language=rendered.language,
            )
        )
    return queued


def _customer(organization_id: int, customer_id: int | None) -> Customer | None:
    if not customer_id:
        return None
    return (
        Customer.objects.filter(pk=customer_id, organization_id=organization_id)
        .select_related("home_store")
        .first()
    )


def _store(organization_id: int, store_id: int | None, customer: Customer | None = None) -> Store | None:
    """The store a message speaks for: the one named, else the customer's home store, else the organization's
    first active store."""
    if store_id:
        return Store.objects.filter(pk=store_id, organization_id=organization_id).first()
    if (
        customer is not None
        and customer.home_store_id
        and customer.home_store.organization_id == organization_id
    ):
        return customer.home_store
    return Store.objects.filter(organization_id=organization_id, is_active=True).order_by("pk").first()


def _moment(value: str) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else None


def _day_and_time(moment: dt.datetime, store: Store, *, now: dt.datetime) -> str:
    """ "today at 3:00 PM", "tomorrow at 9:00 AM", "Fri Jun 5 at 3:00 PM", in the store's time."""
    local, today = moment.astimezone(store.tz), store_local_date(store, at=now)
    if local.date() == today:
        day = "today"
    elif local.date() == today + dt.timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"{local:%a %b} {local.day}"
    return f"{day} at {clock_text(moment, store.tz)}"


def order_variables(event, store: Store) -> dict:
    now = timezone.now()
    after, expires = _moment(event.pickup_after), _moment(event.expires_at)
    window = f"{_day_and_time(after, store, now=now)} or later" if after else "any time during opening hours"
    return {
        "order_number": str(event.order_id),
        "order_total": money(event.total),
        "pickup_window": window,
        "hold_until": _day_and_time(expires, store, now=now) if expires else "",
    }


# --- Pickup orders ----------------------------------------------------------------------------------------


@handles(OrderConfirmed)
def on_order_confirmed_for_pickup(event: OrderConfirmed) -> None:
    if event.fulfilment != "pickup":
        return  # delivery orders: messaging.delivery_handlers
    customer = _customer(event.organization_id, event.customer_id)
    store = _store(event.organization_id, event.store_id)
    if customer is None or store is None:
        return
    customer_notify(
        kind="pickup_confirmed",
        purpose="pickup",
        customer=customer,
        store=store,
        variables=order_variables(event, store),
        reference=f"order:{event.order_id}",
        key_of=lambda channel: _event_key("pickup_confirmed", customer.pk, channel),
    )


@handles(OrderReady)
def on_order_ready(event: OrderReady) -> None:
    """Once per order and channel, however many times staff said it is ready."""
    if event.fulfilment != "pickup":
        return
    customer = _customer(event.organization_id, event.customer_id)
    store = _store(event.organization_id, event.store_id)
    if customer is None or store is None:
        return
    customer_notify(
        kind="pickup_ready",
        purpose="pickup",
        customer=customer,
        store=store,
        variables=order_variables(event, store),
        reference=f"order:{event.order_id}",
        key_of=lambda channel: uuid.uuid5(NAMESPACE, f"pickup_ready:{event.order_id}:{channel}"),
    )


# --- Loyalty ------------------------------------------------------------------------------------------------


def _sale_store_id(sale_id: int, organization_id: int) -> int | None:
    return (
        Sale.objects.filter(pk=sale_id, store__organization_id=organization_id)
        .values_list("store_id", flat=True)
        .first()
    )


def reward_reached(*, organization_id: int, balance: int, points: int) -> Reward | None:
    """The reward this earning made affordable: the dearest active one whose cost the balance reached now
    (before it, the balance was below the cost)."""
    return (
        Reward.objects.filter(
            organization_id=organization_id,
            active=True,
            points_cost__gt=balance - points,
            points_cost__lte=balance,
        )
        .order_by("-points_cost", "id")
        .first()
    )


def _reward_words(reward: Reward) -> str:
    if reward.kind == Reward.Kind.PERCENT:
        return f"{reward.value.normalize():f}% off ({reward.name})"
    return f"{money(reward.value)} off ({reward.name})"


@handles(PointsEarned)
def on_points_earned(event: PointsEarned) -> None:
    """Points earned; and, when the new balance reaches a reward's cost, that the reward is available."""
    if event.points <= 0:
        return
    customer = _customer(event.organization_id, event.customer_id)
    if customer is None:
        return
    store = _store(event.organization_id, _sale_store_id(event.sale_id, event.organization_id), customer)
    customer_notify(
        kind="points_earned",
        purpose="loyalty",
        customer=customer,
        store=store,
        variables={"points": str(event.points), "points_balance": str(event.balance)},
        reference=f"sale:{event.sale_id}",
        key_of=lambda channel: _event_key("points_earned", customer.pk, channel),
    )
    reward = reward_reached(organization_id=event.organization_id, balance=event.balance, points=event.points)
    if reward is None:
        return
    customer_notify(
        kind="reward_available",
        purpose="loyalty",
        customer=customer,
        store=store,
        variables={
            "reward": _reward_words(reward),
            "reward_points": str(reward.points_cost),
            "points_balance": str(event.balance),
            "points": str(event.points),
        },
        reference=f"reward:{reward.pk}",
        key_of=lambda channel: _event_key("reward_available", customer.pk, channel),
    )


def _tier_rank(organization_id: int, names: tuple[str, ...]) -> dict[str, object]:
    return dict(
        LoyaltyTier.objects.filter(
            organization_id=organization_id, name__in=[n for n in names if n]
        ).values_list("name", "min_spend")
    )


@handles(TierChanged)
def on_tier_changed(event: TierChanged) -> None:
    """Congratulations on a higher tier; a lower one (after a refund) is not news to text about."""
    if not event.to_tier:
        return
    spends = _tier_rank(event.organization_id, (event.from_tier, event.to_tier))
    if event.from_tier and event.from_tier in spends and event.to_tier in spends:
        if spends[event.to_tier] <= spends[event.from_tier]:
            return
    customer = _customer(event.organization_id, event.customer_id)
    if customer is None:
        return
    customer_notify(
        kind="tier_reached",
        purpose="loyalty",
        customer=customer,
        store=_store(event.organization_id, None, customer),
        variables={"tier": event.to_tier},
        reference=f"tier:{event.to_tier}"[:80],
        key_of=lambda channel: _event_key("tier_reached", customer.pk, channel),
    )


# --- Medical cards ----------------------------------------------------------------------------------------


def medical_card_key(registration_id: int, expires_on: dt.date, channel: str) -> uuid.UUID:
    return uuid.uuid5(
        NAMESPACE, f"medical_card_expiring:{registration_id}:{expires_on.isoformat()}:{channel}"
    )


def medical_card_notices_queue(*, now: dt.datetime | None = None) -> int:
    """Tell each patient whose card expires 30 days from their store's today (the home store, else the
    organization's first store), once per registration and expiry date, from MEDICAL_NOTICE_HOUR local time.
    Returns how many messages were queued (a message queued before is not counted again)."""
    now = now or timezone.now()
    stores = list(Store.objects.filter(is_active=True).order_by("organization_id", "pk"))
    first_store: dict[int, int] = {}
    for store in stores:
        first_store.setdefault(store.organization_id, store.pk)
    queued = 0
    for store in stores:
        if store_local_now(store, at=now).hour < MEDICAL_NOTICE_HOUR:
            continue
        expires_on = store_local_date(store, at=now) + dt.timedelta(days=MEDICAL_NOTICE_DAYS)
        home = Q(customer__home_store=store)
        if first_store[store.organization_id] == store.pk:
            home |= Q(customer__home_store__isnull=True)
        registrations = (
            PatientRegistration.objects.filter(
                home, expires_on=expires_on, customer__organization_id=store.organization_id
            )
            .select_related("customer")
            .order_by("pk")
        )
        for registration in registrations:
            customer = registration.customer
            keys = [medical_card_key(registration.pk, registration.expires_on, c) for c in Channel.values]
            if OutboundMessage.objects.filter(key__in=keys).exists():
                continue
            expiry = registration.expires_on
            with transaction.atomic():
                messages = customer_notify(
                    kind="medical_card_expiring",
                    purpose="medical",
                    customer=customer,
                    store=store,
                    variables={"card_expires_on": f"{expiry:%B} {expiry.day}, {expiry.year}"},
                    reference=f"patient_registration:{registration.pk}",
                    key_of=lambda channel, r=registration: medical_card_key(r.pk, r.expires_on, channel),
                )
            queued += len(messages)
    return queued
