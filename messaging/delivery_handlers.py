"""The customer's delivery messages (issue 13, part 7): confirmed, on the way, nearby, delayed, delivered and
not delivered, each by text and by email as far as the customer gave us a phone and an email, queued as
transactional messages (messaging/queue.py) and sent after the commit through the gate.

Each event's handler gathers the facts, words the messages and queues one message per customer and channel,
keyed by a UUID derived from the causing event: a redelivered event makes the same keys again, which queue
nothing (OutboundMessage is unique per key). News of the road carries `send_before`: the queue does not send
it once it is out of date."""

import datetime as dt
import logging
import uuid
from collections.abc import Callable

from django.utils import timezone

from delivery.events import OrderDelivered, OrderReturned, StopApproaching, StopDelayed, TripDeparted
from delivery.models import DeliveryOrder, Trip, TripStop
from delivery.tracking import latest_positions, stop_etas
from delivery.tracking_links import tracking_url
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Customer, MarketingConsent, Store
from messaging import delivery_texts as texts
from messaging.events import CustomerMessageRequested
from messaging.models import Category, OutboundMessage
from messaging.queue import message_enqueue
from pos.events import OrderConfirmed
from pos.models import Sale
from pos.receipts import money_text

logger = logging.getLogger(__name__)
PURPOSE = "delivery"
# A message about the road is worth sending only while it is still true.
ROAD_NEWS_LIFETIME = dt.timedelta(minutes=45)


# --- Who gets what ------------------------------------------------------------------------------------------


def _sms_stopped(customer_ids: list[int]) -> set[int]:
    """Customers whose latest word on texts is STOP (a withdrawal by keyword): carriers stop every text to
    them, transactional ones too. A later grant of marketing texts (waiting for the YES) does not undo it; a
    START (a transactional grant) does. One query."""
    stopped, seen = set(), set()
    rows = (
        MarketingConsent.objects.filter(customer_id__in=customer_ids, channel=MarketingConsent.Channel.SMS)
        .order_by("customer_id", "-recorded_at", "-id")
        .values_list("customer_id", "granted", "source", "purpose")
    )
    for customer_id, granted, source, purpose in rows:
        if customer_id in seen or (granted and purpose == MarketingConsent.Purpose.MARKETING):
            continue
        seen.add(customer_id)
        if not granted and source == "keyword":
            stopped.add(customer_id)
    return stopped


def _customers(organization_id: int, customer_ids) -> dict[int, Customer]:
    ids = [customer_id for customer_id in customer_ids if customer_id]
    if not ids:
        return {}
    return {
        customer.pk: customer
        for customer in Customer.objects.filter(pk__in=ids, organization_id=organization_id).only(
            "pk", "organization_id", "first_name", "phone", "email"
        )
    }


def _destinations(customer: Customer, stopped: set[int]) -> list[tuple[str, str]]:
    """Text first when we have a mobile number the customer has not STOPped, email as well when we have one."""
    out = []
    if customer.phone and customer.pk not in stopped:
        out.append((OutboundMessage.Channel.SMS, customer.phone))
    if customer.email:
        out.append((OutboundMessage.Channel.EMAIL, customer.email))
    return out


def _message_key(source: str | None, *parts) -> str:
    if source is None:  # called outside an outbox delivery (a shell): no redelivery to guard against
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.UUID(source), ":".join(str(part) for part in parts)))


def _request(
    *,
    kind: str,
    store: Store,
    customer: Customer,
    stopped: set[int],
    wording: texts.Wording,
    reference: str,
    send_before: dt.datetime | None = None,
) -> int:
    """Queue one message per channel the customer can be reached on; returns how many."""
    source = delivering_event_uuid()
    count = 0
    for channel, to in _destinations(customer, stopped):
        is_sms = channel == OutboundMessage.Channel.SMS
        message_enqueue(
            key=_message_key(source, kind, customer.pk, reference, channel),
            organization_id=store.organization_id,
            store_id=store.pk,
            customer_id=customer.pk,
            channel=channel,
            category=Category.TRANSACTIONAL,
            to=to,
            subject="" if is_sms else wording.subject[:200],
            body=wording.sms if is_sms else wording.email,
            purpose=PURPOSE,
            reference=reference[:80],
            send_before=send_before,
        )
        count += 1
    return count


def _parse(moment: str) -> dt.datetime | None:
    if not moment:
        return None
    value = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else None


def _driver_first_name(trip: Trip) -> str:
    user = trip.driver.user
    name = (user.first_name or "").strip() or (user.get_full_name() or "").strip()
    return name.split()[0] if name else ""


def _notice(store: Store, customer: Customer, order_number: int, **facts) -> texts.Notice:
    return texts.Notice(
        store_name=store.name,
        store_phone=store.phone,
        tz=store.tz,
        order_number=order_number,
        first_name=customer.first_name,
        now=timezone.now(),
        **facts,
    )


def _one(event, kind: str, store: Store, words: Callable[[texts.Notice], texts.Wording], **facts) -> None:
    customers = _customers(event.organization_id, [event.customer_id])
    customer = customers.get(event.customer_id)
    if customer is None:
        logger.info("No customer to tell about %s of order %s", kind, event.order_id)
        return
    stopped = _sms_stopped([customer.pk])
    send_before = facts.pop("send_before", None)
    notice = _notice(store, customer, event.order_id, **facts)
    _request(
        kind=kind,
        store=store,
        customer=customer,
        stopped=stopped,
        wording=words(notice),
        reference=f"order:{event.order_id}",
        send_before=send_before,
    )


def _live_stop(stop_id: int, trip_id: int) -> TripStop | None:
    """The stop, if it is still to deliver on a trip on the road: news of the road about a closed stop (the
    event waited in the outbox while the driver handed over) is not sent."""
    stop = (
        TripStop.objects.filter(pk=stop_id, trip_id=trip_id)
        .select_related("trip__store", "trip__driver__user", "order")
        .first()
    )
    if stop is None or stop.status != TripStop.Status.PENDING or stop.trip.status != Trip.Status.DEPARTED:
        return None
    return stop


# --- The events ---------------------------------------------------------------------------------------------


@handles(OrderConfirmed)
def on_order_confirmed(event: OrderConfirmed) -> None:
    if event.fulfilment != "delivery":
        return
    delivery = DeliveryOrder.objects.filter(order_id=event.order_id).select_related("order__store").first()
    if delivery is None:
        logger.warning("Delivery order %s confirmed but not found", event.order_id)
        return
    _one(
        event,
        "confirmed",
        delivery.order.store,
        texts.order_confirmed,
        tracking_url=tracking_url(delivery.pk),
        window_start=delivery.window_start,
        window_end=delivery.window_end,
    )


@handles(TripDeparted)
def on_trip_departed(event: TripDeparted) -> None:
    """One "on the way" per stop still to deliver, with its ETA from where the car is (the plan's arrival when
    the estimate cannot be made)."""
    trip = Trip.objects.filter(pk=event.trip_id).select_related("store", "driver__user").first()
    if trip is None:
        return
    stops = list(trip.stops.select_related("order__order").order_by("sequence"))
    position = latest_positions([trip.pk]).get(trip.pk)
    departed_at = _parse(event.departed_at) or timezone.now()
    etas = stop_etas(trip, stops, position=position, now=max(departed_at, timezone.now()))
    pending = [stop for stop in stops if stop.status == TripStop.Status.PENDING]
    customers = _customers(trip.organization_id, [stop.order.order.customer_id for stop in pending])
    stopped = _sms_stopped(list(customers))
    driver = _driver_first_name(trip)
    for stop in pending:
        customer = customers.get(stop.order.order.customer_id)
        if customer is None:
            continue
        eta = (
            etas[stop.pk].service_start
            if stop.pk in etas
            else max(stop.planned_arrival, stop.order.window_start)
        )
        notice = _notice(
            trip.store,
            customer,
            stop.order.order_id,
            tracking_url=tracking_url(stop.order_id),
            window_start=stop.order.window_start,
            window_end=stop.order.window_end,
            eta=eta,
            driver_first_name=driver,
        )
        _request(
            kind="on_the_way",
            store=trip.store,
            customer=customer,
            stopped=stopped,
            wording=texts.on_the_way(notice),
            reference=f"order:{stop.order.order_id}",
            send_before=max(stop.order.window_end, eta) + ROAD_NEWS_LIFETIME,
        )


@handles(StopApproaching)
def on_stop_approaching(event: StopApproaching) -> None:
    stop = _live_stop(event.stop_id, event.trip_id)
    if stop is None:
        return
    eta = _parse(event.eta)
    _one(
        event,
        "nearby",
        stop.trip.store,
        texts.nearby,
        tracking_url=tracking_url(stop.order_id),
        eta=eta,
        driver_first_name=_driver_first_name(stop.trip),
        send_before=(eta or timezone.now()) + ROAD_NEWS_LIFETIME,
    )


@handles(StopDelayed)
def on_stop_delayed(event: StopDelayed) -> None:
    stop = _live_stop(event.stop_id, event.trip_id)
    eta = _parse(event.eta)
    if stop is None or eta is None:
        return
    _one(
        event,
        "delayed",
        stop.trip.store,
        texts.delayed,
        tracking_url=tracking_url(stop.order_id),
        eta=eta,
        window_start=stop.order.window_start,
        window_end=stop.order.window_end,
        send_before=eta + ROAD_NEWS_LIFETIME,
    )


@handles(OrderDelivered)
def on_order_delivered(event: OrderDelivered) -> None:
    store = Store.objects.filter(pk=event.store_id, organization_id=event.organization_id).first()
    sale = (
        Sale.objects.filter(pk=event.sale_id, store_id=event.store_id).only("receipt_number", "total").first()
    )
    if store is None:
        return
    _one(
        event,
        "delivered",
        store,
        texts.delivered,
        tracking_url=tracking_url(event.delivery_order_id),
        at=_parse(event.delivered_at),
        receipt_number=sale.receipt_number if sale else "",
        total=money_text(sale.total) if sale else "",
    )


@handles(OrderReturned)
def on_order_returned(event: OrderReturned) -> None:
    store = Store.objects.filter(pk=event.store_id, organization_id=event.organization_id).first()
    if store is None:
        return
    _one(
        event,
        "returned",
        store,
        texts.returned,
        tracking_url=tracking_url(event.delivery_order_id),
        at=_parse(event.returned_at),
        reason=event.reason,
        reason_text=event.reason_text,
    )


# --- Messages requested before the queue ----------------------------------------------------------------


@handles(CustomerMessageRequested)
def on_customer_message_requested(event: CustomerMessageRequested) -> None:
    """A message requested through the outbox (before the queue existed, or still waiting in an outbox):
    queued under its key, so that a second delivery queues nothing."""
    message_enqueue(
        key=event.key,
        organization_id=event.organization_id,
        store_id=event.store_id,
        customer_id=event.customer_id,
        channel=event.channel,
        category=Category.TRANSACTIONAL,
        to=event.to,
        subject=event.subject[:200],
        body=event.body,
        purpose=event.purpose,
        reference=event.reference[:80],
        send_before=_parse(event.send_before),
    )
