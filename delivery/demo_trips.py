"""The delivery demo's trips, lived through the real services so that the ledger, the drawers and the state
simulator agree: today's waiting orders planned by the dispatch planner, sent, accepted by the state (the demo's
state sync runs inline, in this process) and departed, the `driver` login's trip with every stop still to drive
and the other drivers a few minutes down the road (their phones' positions recorded along the straight leg from
the store toward their first stop); and two trips of the last days driven door by door (ID, proof, hand-over
or a stop brought back with its reason) and ended at the store, for the trip pages and the analytics.

The past days are played with the clock set to each step's moment (time-machine, as the tests do), because the
services take "now" from the clock: the history is then exactly what the services would have written on those
days. Everything is relative to the moment the demo is loaded. Idempotent: a store with a trip of today already
sent is left alone, and a past day whose first demo order exists is not played again."""

import datetime as dt
import io
import math
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import time_machine
from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from delivery.driver_app import ActionInput, driver_action_apply
from delivery.fleet import ShiftOverlap, driver_shift_clock_in, driver_shift_create
from delivery.geometry import distance_m
from delivery.models import DriverProfile, Trip, TripPosition, TripStop, Vehicle
from delivery.services_closing import trip_balance, trip_end
from delivery.services_dispatch import dispatch_plan, waiting_orders
from delivery.services_trips import trip_depart, trip_send
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.models import Store, User

# The planner's time budget per plan (today's dozen orders; a past day's two or three): the demo's routes are
# small, and `make run` should start quickly.
PLAN_SECONDS = 0.5
PAST_PLAN_SECONDS = 0.1
# The other drivers left this long before the demo's "now"; their phones sent a position every 30 seconds since.
ON_THE_ROAD = dt.timedelta(minutes=10)
POSITION_EVERY = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class PastStop:
    door: int  # index into delivery.demo.DOORS of the store
    hour: int  # the one-hour window starts at this local hour
    outcome: str  # "signed", "unsigned" (a written reason instead of a signature) or a return reason


@dataclass(frozen=True)
class PastTrip:
    store: str
    days_ago: int
    driver: str
    vehicle: str
    stops: tuple[PastStop, ...]


PAST_TRIPS = (
    PastTrip(
        "sf-mission",
        1,
        "driver",
        "8DMO101",
        (PastStop(0, 12, "signed"), PastStop(1, 12, "unsigned"), PastStop(2, 13, "nobody_home")),
    ),
    PastTrip(
        "detroit-riverside",
        2,
        "driver.mi",
        "DMO4501",
        (PastStop(0, 12, "signed"), PastStop(2, 13, "refused")),
    ),
)


@contextmanager
def state_sync_inline():
    """The state's answers in this process, right after each commit (the tests' mode), so a trip is accepted
    before the demo departs it. With a broker configured the reports go to the workers instead and a trip the
    state has not answered yet stays sent."""
    with override_settings(STATE_SYNC={**settings.STATE_SYNC, "IN_PROCESS": "inline"}):
        yield


def _signature_png() -> str:
    """A signature as the phone's signature pad sends it: a PNG data URL of a few strokes."""
    import base64

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 100), "white")
    draw = ImageDraw.Draw(image)
    draw.line(
        [(20, 70), (60, 30), (90, 75), (130, 25), (170, 70), (210, 40), (280, 60)], fill="black", width=3
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _act(user, kind: str, *, stop: TripStop | None = None, trip: Trip | None = None, **payload) -> dict:
    """One action as the driver's phone sends it (its own key, applied once by the driver app's service)."""
    return driver_action_apply(
        user=user,
        action=ActionInput(
            key=str(uuid.uuid4()),
            kind=kind,
            stop_id=stop.pk if stop else None,
            trip_id=trip.pk if trip else None,
            payload=payload,
            happened_at=timezone.now().isoformat(),
        ),
    )


def _send_and_depart(trip: Trip, *, by, sent_at: dt.datetime, departed_at: dt.datetime) -> Trip | None:
    """Send the trip to its driver; the state's records are filed and answered on commit (inline); depart once
    accepted. None when the state has not accepted (the trip then stays sent, as it would at the store)."""
    trip = trip_send(trip=trip, by=by, version=trip.version, now=sent_at)
    trip = Trip.objects.get(pk=trip.pk)
    if trip.state_status not in (Trip.StateStatus.ACCEPTED, Trip.StateStatus.NOT_REQUIRED):
        return None
    return trip_depart(trip=trip, by=by, version=trip.version, now=departed_at)


# --- Today: the demo driver's trip to drive, the others on the road ---------------------------------------------


def _positions_along_leg(trip: Trip, now: dt.datetime) -> int:
    """The phone's positions of the last minutes, along the straight line from the store toward the first stop
    (most of the way there by now). Written directly as rows, as the driver app stores a `position` action's fix
    (delivery.driver_app._apply) but without the action's record: one insert instead of one transaction per
    fix keeps `make run` quick, and the fleet map and the ETAs read only these rows."""
    first = trip.stops.select_related("order").order_by("sequence").first()
    store = trip.store
    if first is None or store.latitude is None or store.longitude is None:
        return 0
    start = (float(store.latitude), float(store.longitude))
    end = (float(first.order.latitude), float(first.order.longitude))
    count = int(ON_THE_ROAD / POSITION_EVERY)
    speed = distance_m(*start, *end) * 0.8 / ON_THE_ROAD.total_seconds()
    rows = []
    for step in range(1, count + 1):
        share = 0.8 * step / count  # 80% of the leg after ten minutes: still on the way
        at = now - ON_THE_ROAD + POSITION_EVERY * step
        rows.append(
            TripPosition(
                trip=trip,
                driver_id=trip.driver_id,
                recorded_at=at,
                received_at=at,
                latitude=Decimal(f"{start[0] + (end[0] - start[0]) * share:.6f}"),
                longitude=Decimal(f"{start[1] + (end[1] - start[1]) * share:.6f}"),
                accuracy_m=8,
                speed_mps=round(speed, 1),
            )
        )
    TripPosition.objects.bulk_create(rows)
    return count


def today_load(store: Store, manager: User, added: dict[str, int]) -> None:
    now = timezone.now()
    day = store_local_date(store, at=now)
    if (
        Trip.objects.filter(store=store, day=day)
        .exclude(status__in=(*Trip.OPEN_STATUSES, "cancelled"))
        .exists()
    ):
        return  # loaded before today: the trips go on as they are
    if not waiting_orders(store, day).exists():
        return  # nothing to plan (late at night, or loaded again): no plan, and no audit record of one
    try:
        dispatch_plan(store=store, day=day, by=manager, seconds=PLAN_SECONDS)
    except ApplicationError:
        return  # nothing to plan (no orders waiting or no driver on shift): the board shows why
    trips = (
        Trip.objects.filter(store=store, day=day, status__in=Trip.OPEN_STATUSES, stops__isnull=False)
        .distinct()
        .select_related("driver__user", "store")
        .order_by("driver__user__username")
    )
    for trip in trips:
        demo_driver = trip.driver.user.username == "driver"
        # The demo driver has just left and drives the whole route; the others left minutes ago.
        departed_at = now if demo_driver else now - ON_THE_ROAD
        try:
            departed = _send_and_depart(
                trip, by=manager, sent_at=departed_at - dt.timedelta(minutes=5), departed_at=departed_at
            )
        except ApplicationError:
            continue  # a rule refused it (the value cap, an order no longer open): it stays for the manager
        if departed is None:
            continue
        added["trips on the road"] += 1
        if not demo_driver:
            added["positions"] += _positions_along_leg(departed, now)


# --- The last days: trips driven and ended ------------------------------------------------------------------------


def _past_trip_load(
    store: Store, past: PastTrip, manager: User, added: dict[str, int], signature: str
) -> None:
    from delivery.demo import CITIES, DOORS, _demo_products, demo_customers
    from delivery.services_orders import delivery_order_create
    from pos.models import PickupOrder

    today = store_local_date(store)
    day = today - dt.timedelta(days=past.days_ago)
    keys = [f"demo-history-{day.isoformat()}-{past.driver}-{number}" for number in range(len(past.stops))]
    if PickupOrder.objects.filter(store=store, idempotency_key=keys[0]).exists():
        return
    profile = DriverProfile.objects.filter(user__username=past.driver).select_related("user").first()
    vehicle = Vehicle.objects.filter(organization_id=store.organization_id, plate=past.vehicle).first()
    products = _demo_products(store)
    customers = demo_customers(store, day)[-len(past.stops) * 3 :]  # not today's first customers
    if profile is None or vehicle is None or not products or not customers:
        return

    def at(hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=store.tz)

    city, region, postal_code = CITIES[past.store]
    with time_machine.travel(at(9, 45), tick=False) as traveller:
        try:
            with transaction.atomic():
                shift = driver_shift_create(
                    store=store,
                    actor=manager,
                    driver=profile,
                    vehicle=vehicle,
                    starts_at=at(10),
                    ends_at=at(16),
                )
        except ShiftOverlap:
            return
        driver_shift_clock_in(shift=shift, actor=profile.user)
        for number, (stop, key) in enumerate(zip(past.stops, keys, strict=True)):
            latitude, longitude, street = DOORS[past.store][stop.door]
            product = products[(number + past.days_ago) % len(products)]
            try:
                with transaction.atomic():
                    delivery_order_create(
                        store=store,
                        customer=customers[number * 3 % len(customers)],
                        customer_type="adult_use",
                        lines=[(product.pk, Decimal(max(1, math.ceil(Decimal("85") / product.price))))],
                        idempotency_key=key,
                        window_start=at(stop.hour),
                        window_end=at(stop.hour + 1),
                        new_address={
                            "line1": street,
                            "city": city,
                            "region": region,
                            "postal_code": postal_code,
                            "latitude": latitude,
                            "longitude": longitude,
                        },
                        created_by=manager,
                        channel="phone",
                    )
            except ApplicationError:
                continue
        traveller.move_to(at(10, 15))
        try:
            dispatch_plan(store=store, day=day, by=manager, seconds=PAST_PLAN_SECONDS)
        except ApplicationError:
            return
        trip = Trip.objects.filter(shift=shift, status=Trip.Status.PLANNED, stops__isnull=False).first()
        if trip is None:
            return
        # Sent at 10:30, leaving when the planner said (never before 10:45).
        leaves = max(trip.planned_start, at(10, 45))
        trip = _send_and_depart(trip, by=manager, sent_at=at(10, 30), departed_at=leaves)
        if trip is None:
            return
        traveller.move_to(leaves)
        outcomes = {key: stop.outcome for key, stop in zip(keys, past.stops, strict=True)}
        user = profile.user
        last = leaves
        for stop in trip.stops.select_related("order__order__customer").order_by("sequence"):
            order = stop.order.order
            moment = max(last, stop.order.window_start) + dt.timedelta(minutes=12)
            traveller.move_to(moment)
            _act(user, "arrived", stop=stop)
            outcome = outcomes.get(order.idempotency_key, "signed")
            if outcome in ("signed", "unsigned"):
                _act(
                    user,
                    "id_checked",
                    stop=stop,
                    date_of_birth=order.customer.date_of_birth.isoformat(),
                    expires_on=(day + dt.timedelta(days=700)).isoformat(),
                )
                traveller.move_to(moment + dt.timedelta(minutes=3))
                where = {"latitude": str(stop.order.latitude), "longitude": str(stop.order.longitude)}
                if outcome == "signed":
                    name = f"{order.customer.first_name} {order.customer.last_name}".strip()
                    _act(
                        user, "proof", stop=stop, signature=signature, signed_name=name, accuracy="6", **where
                    )
                else:
                    _act(
                        user,
                        "proof",
                        stop=stop,
                        no_signature_reason="Hands full, asked me to sign for them.",
                        **where,
                    )
                _act(user, "delivered", stop=stop, collected=str(order.estimated_total + stop.order.fee))
            else:
                traveller.move_to(moment + dt.timedelta(minutes=5))
                _act(user, "returned", stop=stop, reason=outcome)
            last = moment + dt.timedelta(minutes=6)
        traveller.move_to(last + dt.timedelta(minutes=25))
        trip = Trip.objects.get(pk=trip.pk)
        balance = trip_balance(trip)
        if balance.problems:
            return  # a door the services refused: the trip stays on the road for the manager to see
        trip_end(trip=trip, by=manager, counted_cash=balance.expected_cash, version=trip.version)
    added["past trips"] += 1


def trips_load(stores: dict[str, Store], added: dict[str, int]) -> None:
    manager = User.objects.filter(username="manager").first()
    if manager is None:
        return
    signature = _signature_png()
    with state_sync_inline():
        for past in PAST_TRIPS:
            if past.store in stores:
                _past_trip_load(stores[past.store], past, manager, added, signature)
        for store in stores.values():
            today_load(store, manager, added)
