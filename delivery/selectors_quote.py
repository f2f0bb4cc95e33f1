"""Reads behind the public delivery quote, the zones map and an order's tracking status: the bookable windows of
today and tomorrow (the state's legal hours intersected with the store's, after the zone's lead time), a cart
quoted for an address with every refusal named by its rule, and an order's status in plain words."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from compliance.rules.delivery import money_label, time_label, wall_time_exists
from delivery.models import DeliveryZone, Trip, TripStop
from delivery.selectors import delivery_hours_for_day, delivery_window_problems
from delivery.services_orders import _place_reasons
from dispensary.clock import age_on, store_local_date
from dispensary.models import Customer, Store
from pos.models import CustomerType, Fulfilment, PickupOrder
from pos.selectors.quote import CartInput, QuoteLineInput, buyer_resident, quote

WINDOW_MINUTES = 60
STEP_MINUTES = 30


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


def _ceil_to_step(minutes: int, step: int) -> int:
    return -(-minutes // step) * step


def delivery_windows_get(*, store: Store, now: dt.datetime, lead_minutes: int) -> list[Window]:
    """The windows a customer can book today and tomorrow (store-local days): WINDOW_MINUTES long, starting on a
    STEP_MINUTES boundary no sooner than `lead_minutes` from now, inside the day's delivery hours (the state's
    legal hours, return time included, intersected with the store's opening hours); each one also passes the
    booking's own check (`delivery_window_problems`), so a listed window is a bookable one. Wall times that do
    not exist (the spring-forward hour) are skipped."""
    length = int(getattr(settings, "DELIVERY_WINDOW_MINUTES", WINDOW_MINUTES))
    step = int(getattr(settings, "DELIVERY_WINDOW_STEP_MINUTES", STEP_MINUTES))
    earliest = now + dt.timedelta(minutes=lead_minutes)
    today = store_local_date(store, at=now)
    windows: list[Window] = []
    for day in (today, today + dt.timedelta(days=1)):
        hours = delivery_hours_for_day(store, day)
        for opens, closes in hours.spans:
            start_minute = _ceil_to_step(opens, step)
            while start_minute + length <= closes:
                end_minute = start_minute + length
                start_time = dt.time(start_minute // 60, start_minute % 60)
                if not wall_time_exists(day, start_time, store.tz):
                    start_minute += step
                    continue
                start = dt.datetime.combine(day, start_time, tzinfo=store.tz)
                if end_minute >= 24 * 60:
                    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=store.tz)
                else:
                    end_time = dt.time(end_minute // 60, end_minute % 60)
                    if not wall_time_exists(day, end_time, store.tz):
                        start_minute += step
                        continue
                    end = dt.datetime.combine(day, end_time, tzinfo=store.tz)
                if start >= earliest and not delivery_window_problems(store=store, start=start, end=end):
                    windows.append(Window(start=start, end=end))
                start_minute += step
    return windows


@dataclass
class CartQuote:
    """A cart quoted for delivery to a point: what the order would cost, the zone serving the point and its terms,
    the bookable windows, the customer's limits (when a customer was named) and each refusal {rule, message}.
    `allowed` is True when nothing refuses it."""

    zone: DeliveryZone | None
    order_total: Decimal
    windows: list[Window]
    reasons: list[dict] = field(default_factory=list)
    verdict: object | None = None  # compliance.rules.limits.Verdict for a named customer
    unknown_product_ids: tuple[int, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def fee(self) -> Decimal | None:
        return self.zone.fee if self.zone is not None else None


def _age(customer: Customer, today: dt.date) -> int | None:
    return age_on(customer.date_of_birth, today) if customer.date_of_birth else None


def delivery_cart_quote(
    *,
    store: Store,
    latitude: Decimal,
    longitude: Decimal,
    lines: list[tuple[int, Decimal]],
    customer_type: str = CustomerType.ADULT_USE,
    customer: Customer | None = None,
    line1: str = "",
    line2: str = "",
    window: tuple[dt.datetime, dt.datetime] | None = None,
    now: dt.datetime,
) -> CartQuote:
    """Quote a cart for delivery without writing anything: the register's Quote prices it and judges the named
    customer's limits (their purchases of the window and open orders counted, as placing the order would), the
    delivery rules judge the place, the zone's minimum and (when given) the window. Refusals name their rule:
    `address`, `zone`, `excluded_place`, `hours`, `minimum_order`, `no_window`, or `limit` (the limit
    engine's own code in `code`)."""
    today = store_local_date(store, at=now)
    priced = quote(
        CartInput(
            store=store,
            customer_type=customer_type,
            lines=tuple(QuoteLineInput(product_id=p, quantity=q) for p, q in lines),
            customer=customer,
            age=_age(customer, today) if customer is not None else None,
            resident=buyer_resident(store=store, customer=customer) if customer is not None else None,
            at=now,
        ),
        picks=False,
    )
    zone, reasons = _place_reasons(store, latitude=latitude, longitude=longitude, line1=line1, line2=line2)
    if zone is not None and priced.total < zone.minimum_order:
        reasons.append(
            {
                "rule": "minimum_order",
                "message": f"The {zone.name} zone has a minimum order of {money_label(zone.minimum_order)}; "
                f"this order is {money_label(priced.total)}.",
            }
        )
    if window is not None:
        reasons += [
            {"rule": "hours", "message": m}
            for m in delivery_window_problems(store=store, start=window[0], end=window[1])
        ]
    windows = delivery_windows_get(store=store, now=now, lead_minutes=zone.estimated_minutes) if zone else []
    if zone is not None and not windows:
        reasons.append(
            {"rule": "no_window", "message": f"{store.name} has no delivery window left today or tomorrow."}
        )
    verdict = priced.verdict if customer is not None else None
    if verdict is not None:
        reasons += [
            {"rule": "limit", "code": violation.code, "message": violation.message}
            for violation in verdict.violations
        ]
    return CartQuote(
        zone=zone,
        order_total=priced.total,
        windows=windows,
        reasons=reasons,
        verdict=verdict,
        unknown_product_ids=priced.unknown_product_ids,
    )


def delivery_zone_map(*, stores) -> list[DeliveryZone]:
    """The active zones of `stores` (the caller's reach), by store and name. One query."""
    return list(DeliveryZone.objects.filter(store__in=stores, is_active=True).order_by("store_id", "name"))


# --- An order's status for the customer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderStatus:
    code: str
    message: str
    trip: dict | None = None


def _local(store: Store, moment: dt.datetime) -> str:
    return time_label(moment.astimezone(store.tz).time())


def _day(store: Store, moment: dt.datetime, now: dt.datetime) -> str:
    day = moment.astimezone(store.tz).date()
    today = store_local_date(store, at=now)
    if day == today:
        return "today"
    if day == today + dt.timedelta(days=1):
        return "tomorrow"
    return f"on {day:%A %B} {day.day}"


def order_trip_stop(order: PickupOrder) -> TripStop | None:
    """The delivery order's current stop: on the latest trip that was not cancelled. One query."""
    return (
        TripStop.objects.filter(order__order=order)
        .exclude(trip__status=Trip.Status.CANCELLED)
        .select_related("trip")
        .order_by("-trip__planned_at", "-pk")
        .first()
    )


def order_status_get(order: PickupOrder, *, now: dt.datetime) -> OrderStatus:
    """Where the order stands, as a stable code and a sentence for the customer (times local to the store)."""
    store = order.store
    status = order.status
    if status == PickupOrder.Status.CANCELLED:
        return OrderStatus("cancelled", "This order was cancelled; nothing was charged.")
    if status == PickupOrder.Status.EXPIRED:
        return OrderStatus("expired", "This order was not collected in time and was released.")
    if order.fulfilment != Fulfilment.DELIVERY:
        if status == PickupOrder.Status.COMPLETED:
            return OrderStatus("picked_up", "This order was picked up. Thank you!")
        if status == PickupOrder.Status.CHECKED_IN:
            return OrderStatus(
                "checked_in", "You are checked in: a budtender will bring your order to the counter."
            )
        return OrderStatus(
            "ready_for_pickup",
            f"Your order is confirmed and held for you at {store.name} until "
            f"{_local(store, order.expires_at)} {_day(store, order.expires_at, now)}. Bring your ID.",
        )
    try:
        delivery = order.delivery
    except ObjectDoesNotExist:
        delivery = None
    if status == PickupOrder.Status.COMPLETED:
        return OrderStatus("delivered", "Your order was delivered. Thank you!")
    stop = order_trip_stop(order) if delivery is not None else None
    window = (
        f"between {_local(store, delivery.window_start)} and {_local(store, delivery.window_end)} "
        f"{_day(store, delivery.window_start, now)}"
        if delivery is not None
        else ""
    )
    if stop is None:
        return OrderStatus("confirmed", f"Your order is confirmed for delivery {window}. Have your ID ready.")
    trip = stop.trip
    facts = {
        "status": trip.status,
        "status_label": trip.get_status_display(),
        "stop_status": stop.status,
        "stop_sequence": stop.sequence,
        "planned_arrival": stop.planned_arrival,
        "departed_at": trip.departed_at,
    }
    arrival = f"{_local(store, stop.planned_arrival)} {_day(store, stop.planned_arrival, now)}"
    if stop.status == TripStop.Status.DELIVERED:
        return OrderStatus("delivered", "Your order was delivered. Thank you!", facts)
    if stop.status == TripStop.Status.RETURNED or trip.status == Trip.Status.RETURNED:
        return OrderStatus(
            "not_delivered",
            f"We could not deliver your order; {store.name} will contact you to arrange another time.",
            facts,
        )
    if trip.status == Trip.Status.DEPARTED:
        return OrderStatus("on_the_way", f"Your order is on the way: expected around {arrival}.", facts)
    if trip.status == Trip.Status.SENT:
        return OrderStatus(
            "preparing", f"Your order is being packed for the driver: expected around {arrival}.", facts
        )
    return OrderStatus(
        "scheduled", f"Your delivery is scheduled: expected around {arrival} ({window}).", facts
    )
