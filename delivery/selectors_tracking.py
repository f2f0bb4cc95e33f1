"""The customer's tracking page, read by its token: the order's status in plain words, the window, the
estimated arrival, and the driver's position ONLY while the driver is on the way to this customer (this stop
is the next one to deliver on a trip on the road). Before that and after it, no position at all. What is
returned names nobody but the driver's first name and shows no other stop: the other stops of the trip are
read (their coordinates and windows only) to estimate this one's arrival, and never shown. At most six
queries, whatever the trip (ten once delivered, with the receipt)."""

import datetime as dt
from dataclasses import dataclass, field

from django.core.cache import cache

from delivery.customer_words import return_next_words, return_reason_words
from delivery.models import DeliveryOrder, Trip, TripStop
from delivery.tracking import latest_positions, stop_etas
from delivery.tracking_links import tracking_link_expired, tracking_token_order_id
from pos.models import PickupOrder
from pos.receipts import money_text, receipt_get, receipt_text

ETA_CACHE_SECONDS = 20


@dataclass
class Tracking:
    status: str  # confirmed, scheduled, on_the_road, on_the_way, delivered, returned, cancelled
    headline: str
    detail: str
    store_name: str
    store_phone: str
    order_number: int
    window_start: dt.datetime
    window_end: dt.datetime
    tz: dt.tzinfo
    eta: dt.datetime | None = None
    eta_label: str = ""  # "Expected around", "Planned around"
    late: bool = False
    driver_first_name: str = ""
    stops_before: int | None = None
    position: dict | None = None  # {"latitude", "longitude", "recorded_at"}: only while on the way to you
    destination: dict | None = None  # the customer's own address, with the position only
    delivered_at: dt.datetime | None = None
    receipt_number: str = ""
    receipt_total: str = ""
    receipt_text: str = ""
    extra: dict = field(default_factory=dict)


def _clock(moment: dt.datetime, tz) -> str:
    local = moment.astimezone(tz)
    return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def _first_name(trip: Trip) -> str:
    user = trip.driver.user
    name = (user.first_name or "").strip() or (user.get_full_name() or "").strip()
    return name.split()[0] if name else "Your driver"


def _etas(trip: Trip, now: dt.datetime):
    """This trip's remaining stops (in order), their estimated arrivals and its latest position. The estimate
    is kept a few seconds per trip, position and remaining stops, so that every customer of the trip refreshing
    their page costs one estimate (and one call to a routing server, when one is configured); the remaining
    stops are read every time, so a stop just closed moves the next customer up at once."""
    position = latest_positions([trip.pk]).get(trip.pk)
    stops = list(
        TripStop.objects.filter(trip=trip, status=TripStop.Status.PENDING)
        .select_related("order")
        .only(
            "pk",
            "trip_id",
            "sequence",
            "status",
            "order__latitude",
            "order__longitude",
            "order__window_start",
            "order__window_end",
        )
        .order_by("sequence")
    )
    remaining = [stop.pk for stop in stops]
    key = f"delivery-tracking-eta:{trip.pk}:{position.pk if position else 0}:{now:%Y%m%d%H%M}:" + ",".join(
        map(str, remaining)
    )
    etas = cache.get(key)
    if etas is None:
        etas = stop_etas(trip, stops, position=position, now=now)
        cache.set(key, etas, ETA_CACHE_SECONDS)
    return position, {"order": remaining, "etas": etas}


def tracking_get(*, token: str, now: dt.datetime) -> Tracking | None:
    """The tracking of the delivery order this token stands for, or None (not a token of ours, no such order,
    or the link expired)."""
    delivery_order_id = tracking_token_order_id(token)
    if delivery_order_id is None:
        return None
    delivery = DeliveryOrder.objects.filter(pk=delivery_order_id).select_related("order__store").first()
    if delivery is None or tracking_link_expired(delivery.window_end, now=now):
        return None
    order: PickupOrder = delivery.order
    store = order.store
    tz = store.tz
    window = (
        f"{delivery.window_start.astimezone(tz):%A %B} {delivery.window_start.astimezone(tz).day}, "
        f"between {_clock(delivery.window_start, tz)} and {_clock(delivery.window_end, tz)}"
    )
    tracking = Tracking(
        status="confirmed",
        headline="Order confirmed",
        detail=f"We will bring it {window}.",
        store_name=store.name,
        store_phone=store.phone,
        order_number=order.pk,
        window_start=delivery.window_start,
        window_end=delivery.window_end,
        tz=tz,
    )
    stop = (
        TripStop.objects.filter(order=delivery)
        .select_related("trip__driver__user", "trip__store", "visit")
        .order_by("-pk")
        .first()
    )
    visit = getattr(stop, "visit", None) if stop is not None else None
    if stop is not None and stop.status == TripStop.Status.DELIVERED:
        tracking.status, tracking.headline = "delivered", "Delivered"
        tracking.delivered_at = stop.completed_at
        when = f" at {_clock(stop.completed_at, tz)}" if stop.completed_at else ""
        tracking.detail = f"Your order was delivered{when}. Thank you!"
        receipt = receipt_get(sale_id=visit.sale_id, stores=[store]) if visit and visit.sale_id else None
        if receipt is not None:
            tracking.receipt_number = receipt.receipt_number
            tracking.receipt_total = money_text(receipt.total)
            tracking.receipt_text = receipt_text(receipt)
        return tracking
    if stop is not None and stop.status == TripStop.Status.RETURNED:
        reason = visit.return_reason if visit else ""
        tracking.status, tracking.headline = "returned", "Not delivered"
        tracking.detail = (
            f"We could not deliver your order: {return_reason_words(reason)}. {return_next_words(reason)}"
        )
        return tracking
    if order.status in (PickupOrder.Status.CANCELLED, PickupOrder.Status.EXPIRED):
        tracking.status, tracking.headline = "cancelled", "Cancelled"
        tracking.detail = "This order was cancelled. You were not charged."
        return tracking
    if stop is None or stop.trip.status in (Trip.Status.CANCELLED, Trip.Status.RETURNED):
        return tracking
    trip = stop.trip
    if trip.status != Trip.Status.DEPARTED:
        tracking.status, tracking.headline = "scheduled", "Scheduled"
        tracking.detail = f"Your order is planned on a delivery route. We will bring it {window}."
        tracking.eta = max(stop.planned_arrival, delivery.window_start)
        tracking.eta_label = "Planned around"
        return tracking
    position, estimate = _etas(trip, now)
    order_of_stops, etas = estimate["order"], estimate["etas"]
    tracking.driver_first_name = _first_name(trip)
    # Unknown (not among the remaining stops of the estimate): treated as not next, so no position is shown.
    before = order_of_stops.index(stop.pk) if stop.pk in order_of_stops else None
    tracking.stops_before = before
    eta = etas.get(stop.pk)
    if eta is not None:
        tracking.eta, tracking.eta_label = eta.service_start, "Expected around"
        tracking.late = eta.service_start > delivery.window_end
    if before == 0:
        tracking.status, tracking.headline = "on_the_way", "On the way to you"
        tracking.detail = f"{tracking.driver_first_name} is heading to you now."
        if position is not None:
            tracking.position = {
                "latitude": float(position.latitude),
                "longitude": float(position.longitude),
                "recorded_at": position.recorded_at.isoformat(),
                "recorded_label": _clock(position.recorded_at, tz),
            }
            tracking.destination = {
                "latitude": float(delivery.latitude),
                "longitude": float(delivery.longitude),
            }
    else:
        tracking.status, tracking.headline = "on_the_road", "On the road"
        tracking.detail = f"{tracking.driver_first_name} is delivering other orders first"
        if before:
            tracking.detail += f": {before} stop{'s' if before > 1 else ''} before yours."
        else:
            tracking.detail += "."
    if tracking.late:
        tracking.detail += " We are running late, sorry."
    return tracking


def tracking_data(tracking: Tracking) -> dict:
    """The page's refresh (JSON): the same facts, in plain words."""
    tz = tracking.tz
    return {
        "status": tracking.status,
        "headline": tracking.headline,
        "detail": tracking.detail,
        "order_number": tracking.order_number,
        "eta": tracking.eta.isoformat() if tracking.eta else None,
        "eta_text": f"{tracking.eta_label} {_clock(tracking.eta, tz)}" if tracking.eta else "",
        "late": tracking.late,
        "driver_first_name": tracking.driver_first_name,
        "position": tracking.position,
        "destination": tracking.destination,
    }
