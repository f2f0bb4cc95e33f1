"""The dispatch board's writes: plan a day's waiting delivery orders onto the drivers on shift, put an order on a
route by hand, move it, take it off, lock, unlock and cancel a route, and insert a late order into an open route.

Each is one transaction scoped to one store. Writers lock the day's shifts (the plan) or the trips they change,
in primary-key order, then the delivery orders. Every changed trip's stops are rewritten whole from a schedule
of the planner (`delivery.routing`), its `version` moves on, an audit record says in plain words what changed
and `RoutePlanned` is published. A board form carries the version it showed; a stale one is refused with
"the board changed" and changes nothing. The vehicle value cap of the store's state is checked on every route
written (the planner also keeps to it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from compliance.rules.delivery import money_label, vehicle_caps
from compliance.selectors import jurisdiction_rules_get
from delivery.events import RoutePlanned
from delivery.models import DeliveryOrder, DriverShift, Trip, TripStop
from delivery.routing import (
    Depot,
    MatrixError,
    PlannedRoute,
    PlanningError,
    Point,
    Stop,
    Vehicle,
    check_route,
    insert_stop,
    plan_routes,
    provider_from_settings,
)
from delivery.selectors import delivery_hours_for_day, vehicle_value_problems
from dispensary.audit import audit_record
from dispensary.clock import store_local_date, store_local_day_bounds
from dispensary.errors import ApplicationError, Conflict, ValidationFailed
from dispensary.events import publish
from dispensary.models import Store, User
from pos.models import Fulfilment

SERVICE_SECONDS = 300  # minutes at each door: ID check, hand-over, payment
WAITING_ORDER_STATUSES = ("reserved", "confirmed")
NO_OPEN_ROUTE = (
    "Every route of its day is locked or sent and no other driver with a vehicle is free: unlock a route and "
    "put it on by hand, or plan again."
)
BUSY_TRIP_STATUSES = (Trip.Status.LOCKED, Trip.Status.SENT, Trip.Status.DEPARTED, Trip.Status.RETURNED)


class DispatchRefused(ApplicationError):
    """The change would break a promise (a window, the vehicle's capacity or value cap, the driver's shift or
    zones, the store's hours) or does not apply to this route or order now; details.reasons lists why."""

    code = "dispatch_refused"
    status = 422


class BoardChanged(Conflict):
    code = "board_changed"

    def __init__(self):
        super().__init__(
            "The board changed since you opened it (someone else planned or moved orders): reload it and try "
            "again. Nothing was changed."
        )


def _refuse(message: str, reasons: Sequence[str] = ()) -> DispatchRefused:
    reasons = list(reasons) or [message]
    return DispatchRefused(message, details={"reasons": reasons})


# --- The day's frame: store, hours, vehicles, stops ------------------------------------------------------------


def _hours_bounds(store: Store, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    hours = delivery_hours_for_day(store, day)
    if not hours.spans:
        return None
    start, end = hours.spans[0][0], hours.spans[-1][1]
    # Wall-clock minutes from midnight, read in the store's zone (daylight-saving days included).
    opens = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=store.tz)
    if end >= 24 * 60:
        closes = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=store.tz)
    else:
        closes = dt.datetime.combine(day, dt.time(end // 60, end % 60), tzinfo=store.tz)
    return opens, closes


def depot_for(store: Store, day: dt.date) -> Depot:
    """The store as the planner's depot on a local day: its place, and its delivery hours (the state's legal
    hours and return time intersected with the store's own)."""
    if store.latitude is None or store.longitude is None:
        raise _refuse(f"Place {store.name} on the map (its latitude and longitude) before planning routes.")
    bounds = _hours_bounds(store, day)
    if bounds is None:
        raise _refuse(f"{store.name} has no delivery hours on {day:%A %B} {day.day}: nothing can be planned.")
    return Depot(
        point=Point(float(store.latitude), float(store.longitude)), opens=bounds[0], closes=bounds[1]
    )


def value_cap_for(store: Store, day: dt.date) -> Decimal | None:
    """The most retail value a vehicle may carry at once under the store's state's rules that day."""
    return vehicle_caps(jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=day), day).cap


def planner_vehicle(shift: DriverShift, value_cap: Decimal | None) -> Vehicle:
    zones = None if shift.all_zones else frozenset(str(zone.pk) for zone in shift.zones.all())
    return Vehicle(
        id=shift.pk,
        capacity=shift.vehicle.capacity,
        shift_start=shift.starts_at,
        shift_end=shift.ends_at,
        value_cap=value_cap,
        zones=zones,
    )


def planner_stop(delivery: DeliveryOrder) -> Stop:
    """A delivery order as the planner's stop: its id is the order's number (what the board shows)."""
    return Stop(
        id=delivery.order_id,
        point=Point(float(delivery.latitude), float(delivery.longitude)),
        window_start=delivery.window_start,
        window_end=delivery.window_end,
        service_seconds=SERVICE_SECONDS,
        demand=1,
        value=delivery.order.estimated_total,
        zone=str(delivery.zone_id),
    )


def _order_day(delivery: DeliveryOrder) -> dt.date:
    return delivery.window_start.astimezone(delivery.order.store.tz).date()


def waiting_orders(store: Store, day: dt.date):
    """The store's delivery orders of a local day that wait for a route: placed (reserved or confirmed) and on
    no live stop. Customer and zone joined."""
    start, end = store_local_day_bounds(store, day)
    live = TripStop.objects.filter(order=OuterRef("pk")).exclude(status=TripStop.Status.RETURNED)
    return (
        DeliveryOrder.objects.filter(
            order__store=store,
            order__fulfilment=Fulfilment.DELIVERY,
            order__status__in=WAITING_ORDER_STATUSES,
            window_start__gte=start,
            window_start__lt=end,
        )
        .exclude(Exists(live))
        .select_related("order__customer", "zone")
        .order_by("window_start", "zone__name", "pk")
    )


def _day_shifts(store: Store, day: dt.date):
    return (
        DriverShift.objects.filter(
            store=store,
            day=day,
            cancelled_at__isnull=True,
            clocked_out_at__isnull=True,
            vehicle__isnull=False,
        )
        .select_related("driver__user", "vehicle")
        .prefetch_related("zones")
        .order_by("starts_at", "pk")
    )


def _check_version(trip: Trip, expected_version) -> None:
    if expected_version is not None and int(expected_version) != trip.version:
        raise BoardChanged()


def _locked_trip(trip: Trip | int, store: Store | None = None) -> Trip:
    pk = trip.pk if isinstance(trip, Trip) else trip
    locked = (
        Trip.objects.select_for_update(of=("self",))
        .filter(pk=pk)
        .select_related("store", "shift", "driver__user", "vehicle")
        .first()
    )
    if locked is None:
        raise BoardChanged()
    if store is not None and locked.store_id != store.pk:
        raise _refuse("That route belongs to another store.")
    return locked


def _locked_delivery(delivery: DeliveryOrder | int, store: Store | None = None) -> DeliveryOrder:
    pk = delivery.pk if isinstance(delivery, DeliveryOrder) else delivery
    locked = (
        DeliveryOrder.objects.select_for_update(of=("self",))
        .filter(pk=pk)
        .select_related("order__store", "order__customer", "zone")
        .first()
    )
    if locked is None:
        raise ValidationFailed("No such delivery order.", details={"order": ["No such delivery order."]})
    if store is not None and locked.order.store_id != store.pk:
        raise _refuse("That order belongs to another store.")
    return locked


def _trip_stops(trip: Trip) -> list[TripStop]:
    return list(
        TripStop.objects.filter(trip=trip)
        .exclude(status=TripStop.Status.RETURNED)
        .select_related("order__order__store", "order__order__customer", "order__zone")
        .order_by("sequence")
    )


def _problem_words(problems: Sequence[str]) -> list[str]:
    return [
        problem[:1].upper() + problem[1:] + ("" if problem.endswith(".") else ".") for problem in problems
    ]


# --- Writing a route -------------------------------------------------------------------------------------------


def _label(trip: Trip) -> str:
    return f"{trip.driver.name}'s route"


def _route_write(
    trip: Trip, route: PlannedRoute | None, deliveries: dict[int, DeliveryOrder], *, by, now: dt.datetime
) -> None:
    """Rewrite a trip's stops from a schedule (None: no stops left), check the value cap, bump the version and
    publish RoutePlanned. `deliveries` maps order numbers to delivery orders."""
    stops = route.stops if route is not None else ()
    value = route.value if route is not None else Decimal("0.00")
    problems = vehicle_value_problems(store=trip.store, day=trip.day, ordered_value=value)
    if problems:
        raise _refuse(f"{_label(trip)} would carry {money_label(value)}: {' '.join(problems)}", problems)
    TripStop.objects.filter(trip=trip).exclude(status=TripStop.Status.RETURNED).delete()
    rows = [
        TripStop(
            trip=trip,
            order=deliveries[planned.stop_id],
            sequence=number,
            planned_arrival=planned.service_start,
            planned_departure=planned.departure,
        )
        for number, planned in enumerate(stops, start=1)
    ]
    TripStop.objects.bulk_create(rows)
    if route is not None and stops:
        trip.planned_start, trip.planned_end = route.departure, route.return_time
    else:
        trip.planned_start = trip.planned_end = max(trip.shift.starts_at, now)
    trip.distance_m = route.distance if route is not None else 0
    trip.goods_value = value
    trip.version += 1
    trip.save(update_fields=["planned_start", "planned_end", "distance_m", "goods_value", "version"])
    DeliveryOrder.objects.filter(pk__in=[row.order.pk for row in rows]).exclude(unplanned_reason="").update(
        unplanned_reason="", unplanned_at=None
    )
    _publish(trip, rows)


def _publish(trip: Trip, rows: Sequence[TripStop]) -> None:
    publish(
        RoutePlanned(
            trip_id=trip.pk,
            organization_id=trip.organization_id,
            store_id=trip.store_id,
            day=trip.day.isoformat(),
            status=trip.status,
            trip_version=trip.version,
            driver_id=trip.driver_id,
            driver_first_name=trip.driver.user.first_name,
            vehicle_id=trip.vehicle_id,
            vehicle_plate=trip.vehicle.plate,
            planned_start=trip.planned_start.astimezone(dt.UTC).isoformat(),
            planned_end=trip.planned_end.astimezone(dt.UTC).isoformat(),
            distance_m=trip.distance_m,
            goods_value=str(trip.goods_value),
            stops=[
                {
                    "sequence": row.sequence,
                    "order_id": row.order.order_id,
                    "delivery_order_id": row.order.pk,
                    "customer_id": row.order.order.customer_id,
                    "planned_arrival": row.planned_arrival.astimezone(dt.UTC).isoformat(),
                    "window_start": row.order.window_start.astimezone(dt.UTC).isoformat(),
                    "window_end": row.order.window_end.astimezone(dt.UTC).isoformat(),
                }
                for row in rows
            ],
        )
    )


def _audit(trip_or_store, *, by, action: str, summary: str, store: Store, **facts) -> None:
    audit_record(
        actor=by,
        action=action,
        instance=trip_or_store,
        after={"summary": summary, **facts},
        organization=store.organization,
        store=store,
    )


def _new_trip(store: Store, day: dt.date, shift: DriverShift, *, by, now: dt.datetime) -> Trip:
    trip = Trip(
        organization=store.organization,
        store=store,
        day=day,
        shift=shift,
        driver=shift.driver,
        vehicle=shift.vehicle,
        status=Trip.Status.PLANNED,
        planned_start=max(shift.starts_at, now),
        planned_end=max(shift.starts_at, now),
        planned_at=now,
        planned_by=by if _is_user(by) else None,
        state_status=Trip.StateStatus.NOT_FILED,
        version=0,
    )
    trip.save()
    return trip


def _unplaced_note(deliveries: Sequence[DeliveryOrder], reasons: dict[int, str], now: dt.datetime) -> None:
    for delivery in deliveries:
        delivery.unplanned_reason = reasons[delivery.order_id][:300]
        delivery.unplanned_at = now
    DeliveryOrder.objects.bulk_update(deliveries, ["unplanned_reason", "unplanned_at"])


# --- Plan the day -----------------------------------------------------------------------------------------------


@dataclass
class PlanResult:
    day: dt.date
    trips: list[Trip] = field(default_factory=list)
    planned: int = 0
    unplaced: list[tuple[DeliveryOrder, str]] = field(default_factory=list)
    kept: int = 0  # locked, sent or departed trips left as they were

    @property
    def summary(self) -> str:
        text = f"{self.planned} order{'' if self.planned == 1 else 's'} planned on {len(self.trips)} route"
        text += "" if len(self.trips) == 1 else "s"
        text += f"; {len(self.unplaced)} could not be placed."
        if self.kept:
            text += f" {self.kept} locked or sent route{'' if self.kept == 1 else 's'} left as they were."
        return text


def _plan_day(day) -> dt.date:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ValidationFailed("Give the day to plan.", details={"day": ["Give the day to plan."]})
    return day


def _planner_seconds(seconds: float | None) -> float:
    return float(seconds if seconds is not None else getattr(settings, "DELIVERY_PLAN_SECONDS", 3.0))


def dispatch_plan(*, store: Store, day: dt.date, by, seconds: float | None = None) -> PlanResult:
    """Plan every waiting delivery order of a store's local day onto the drivers on shift that day with a
    vehicle, one trip per shift. Locked, sent and departed trips, their shifts and vehicles are left alone;
    unlocked planned trips are replaced. Orders the planner cannot place keep waiting with its reason."""
    day = _plan_day(day)
    now = timezone.now()
    if day < store_local_date(store, at=now):
        raise _refuse("That day has passed: only today and later days can be planned.")
    depot = depot_for(store, day)
    cap = value_cap_for(store, day)
    result = PlanResult(day=day)
    with transaction.atomic():
        # The day's shifts are the plan's mutex: two dispatchers planning at once are served one by one.
        list(
            DriverShift.objects.select_for_update()
            .filter(store=store, day=day)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        trips = list(
            Trip.objects.select_for_update(of=("self",))
            .filter(store=store, day=day)
            .exclude(status=Trip.Status.CANCELLED)
            .select_related("driver__user", "vehicle", "shift", "store")
            .order_by("pk")
        )
        busy = [trip for trip in trips if trip.status in BUSY_TRIP_STATUSES]
        replaceable = {trip.shift_id: trip for trip in trips if trip.status == Trip.Status.PLANNED}
        result.kept = sum(1 for trip in busy if trip.status != Trip.Status.RETURNED)
        busy_shifts = {trip.shift_id for trip in busy}
        busy_vehicles = {trip.vehicle_id for trip in busy if trip.status != Trip.Status.RETURNED}
        TripStop.objects.filter(trip__in=list(replaceable.values())).exclude(
            status=TripStop.Status.RETURNED
        ).delete()
        deliveries = list(waiting_orders(store, day).select_for_update(of=("self",)))
        deliveries.sort(key=lambda delivery: delivery.pk)
        for delivery in deliveries:
            delivery.order.store = store
        shifts = [
            shift
            for shift in _day_shifts(store, day)
            if shift.pk not in busy_shifts
            and shift.vehicle_id not in busy_vehicles
            and shift.vehicle.is_active
            and shift.ends_at > now
        ]
        by_order = {delivery.order_id: delivery for delivery in deliveries}
        vehicles = [planner_vehicle(shift, cap) for shift in shifts]
        try:
            plan = plan_routes(
                depot,
                [planner_stop(delivery) for delivery in deliveries],
                vehicles,
                provider=provider_from_settings(),
                now=now,
                seconds=_planner_seconds(seconds),
            )
        except (PlanningError, MatrixError) as error:
            raise _refuse(f"The planner could not plan this day: {error}") from error
        shift_by_pk = {shift.pk: shift for shift in shifts}
        routed = set()
        for route in plan.routes:
            shift = shift_by_pk[route.vehicle_id]
            trip = replaceable.get(shift.pk)
            if trip is None:
                trip = _new_trip(store, day, shift, by=by, now=now)
                trip.store, trip.shift, trip.driver, trip.vehicle = store, shift, shift.driver, shift.vehicle
            else:
                trip.planned_at = now
                trip.save(update_fields=["planned_at"])
            routed.add(shift.pk)
            _route_write(trip, route, by_order, by=by, now=now)
            result.trips.append(trip)
            result.planned += len(route.stops)
            _audit(
                trip,
                by=by,
                action="trip.planned",
                store=store,
                summary=f"{_label(trip)} planned: {len(route.stops)} stop{'' if len(route.stops) == 1 else 's'}, "
                f"{route.distance / 1000:.1f} km, goods {money_label(route.value)}.",
                orders=[planned.stop_id for planned in route.stops],
                version=trip.version,
            )
        for shift_pk, trip in replaceable.items():
            if shift_pk in routed:
                continue
            _trip_cancelled(
                trip, by=by, now=now, summary=f"{_label(trip)} dropped by a new plan: no stops left."
            )
        reasons = {item.stop_id: item.message for item in plan.unassigned}
        result.unplaced = [(by_order[stop_id], message) for stop_id, message in reasons.items()]
        _unplaced_note([by_order[stop_id] for stop_id in reasons], reasons, now)
        _audit(
            store,
            by=by,
            action="dispatch.planned",
            store=store,
            summary=f"Plan of {day.isoformat()}: {result.summary}",
            unplaced={str(stop_id): message for stop_id, message in reasons.items()},
        )
    return result


# --- By hand ------------------------------------------------------------------------------------------------------


def _hand_context(trip: Trip) -> tuple[Depot, Vehicle, dt.datetime]:
    now = timezone.now()
    depot = depot_for(trip.store, trip.day)
    shift = trip.shift
    shift.vehicle = trip.vehicle
    vehicle = planner_vehicle(shift, value_cap_for(trip.store, trip.day))
    return depot, vehicle, now


def _changeable(trip: Trip) -> None:
    if trip.status == Trip.Status.LOCKED:
        raise _refuse(f"{_label(trip)} is locked: unlock it to change it.")
    if trip.status != Trip.Status.PLANNED:
        raise _refuse(
            f"{_label(trip)} is {trip.get_status_display().lower()}: its stops can no longer change."
        )


def _waiting(delivery: DeliveryOrder) -> None:
    if delivery.order.status not in WAITING_ORDER_STATUSES:
        raise _refuse(f"Order {delivery.order_id} is {delivery.order.get_status_display().lower()}.")


def _live_stop(delivery: DeliveryOrder) -> TripStop | None:
    return (
        TripStop.objects.filter(order=delivery)
        .exclude(status=TripStop.Status.RETURNED)
        .select_related("trip")
        .first()
    )


def _insert_into(trip: Trip, delivery: DeliveryOrder, *, by, now: dt.datetime | None = None) -> int:
    """Put an order on a planned trip where it adds the least distance while every stop keeps its promise;
    refuse with the reasons otherwise. Returns the stop's position (1-based)."""
    depot, vehicle, clock_now = _hand_context(trip)
    now = now or clock_now
    if _order_day(delivery) != trip.day:
        raise _refuse(f"Order {delivery.order_id} is for another day than {_label(trip)}.")
    current = _trip_stops(trip)
    stops = [planner_stop(stop.order) for stop in current]
    new = planner_stop(delivery)
    try:
        insertion = insert_stop(depot, [(vehicle, stops)], new, provider=provider_from_settings(), now=now)
    except (PlanningError, MatrixError) as error:
        raise _refuse(f"The planner could not check this route: {error}") from error
    if not insertion.inserted:
        appended = check_route(depot, vehicle, [*stops, new], provider=provider_from_settings(), now=now)
        reasons = [insertion.message, *_problem_words(appended.problems)]
        raise _refuse(
            f"Order {delivery.order_id} does not fit on {_label(trip)}: {insertion.message}", reasons
        )
    deliveries = {stop.order.order_id: stop.order for stop in current}
    deliveries[delivery.order_id] = delivery
    _route_write(trip, insertion.route, deliveries, by=by, now=now)
    return insertion.position + 1


def _reschedule_without(trip: Trip, delivery: DeliveryOrder, *, by) -> None:
    depot, vehicle, now = _hand_context(trip)
    remaining = [stop for stop in _trip_stops(trip) if stop.order_id != delivery.pk]
    if not remaining:
        _route_write(trip, None, {}, by=by, now=now)
        return
    stops = [planner_stop(stop.order) for stop in remaining]
    try:
        check = check_route(depot, vehicle, stops, provider=provider_from_settings(), now=now)
    except (PlanningError, MatrixError) as error:
        raise _refuse(f"The planner could not check this route: {error}") from error
    _route_write(trip, check.route, {stop.order.order_id: stop.order for stop in remaining}, by=by, now=now)


def dispatch_assign(*, order: DeliveryOrder, trip: Trip, by, expected_version=None) -> Trip:
    """Put a waiting order on a planned route by hand, at the place that keeps every promise and adds the
    least driving; refused with the reasons when no place does."""
    with transaction.atomic():
        trip = _locked_trip(trip)
        _check_version(trip, expected_version)
        _changeable(trip)
        delivery = _locked_delivery(order, trip.store)
        _waiting(delivery)
        on = _live_stop(delivery)
        if on is not None:
            raise _refuse(f"Order {delivery.order_id} is already on a route: move it instead.")
        position = _insert_into(trip, delivery, by=by)
        _audit(
            trip,
            by=by,
            action="trip.order_added",
            store=trip.store,
            summary=f"Order {delivery.order_id} put on {_label(trip)} by hand as stop {position}.",
            order=delivery.order_id,
            version=trip.version,
        )
    return trip


def dispatch_start_route(*, order: DeliveryOrder, shift: DriverShift, by) -> Trip:
    """Put a waiting order by hand on a driver on shift who has no route yet: their route starts with it
    (refused with the reasons when the driver cannot keep its promise)."""
    with transaction.atomic():
        shift = (
            DriverShift.objects.select_for_update(of=("self",))
            .select_related("store__organization", "driver__user", "vehicle")
            .filter(pk=shift.pk if isinstance(shift, DriverShift) else shift)
            .first()
        )
        if shift is None or shift.cancelled_at or shift.clocked_out_at or shift.vehicle is None:
            raise BoardChanged()
        if Trip.objects.filter(shift=shift).exclude(status=Trip.Status.CANCELLED).exists():
            raise BoardChanged()
        delivery = _locked_delivery(order, shift.store)
        _waiting(delivery)
        if _live_stop(delivery) is not None:
            raise _refuse(f"Order {delivery.order_id} is already on a route: move it instead.")
        if _order_day(delivery) != shift.day:
            raise _refuse(f"Order {delivery.order_id} is for another day than {shift.driver.name}'s shift.")
        now = timezone.now()
        trip = _new_trip(shift.store, shift.day, shift, by=by, now=now)
        trip.store, trip.shift, trip.driver, trip.vehicle = shift.store, shift, shift.driver, shift.vehicle
        _insert_into(trip, delivery, by=by, now=now)
        _audit(
            trip,
            by=by,
            action="trip.order_added",
            store=trip.store,
            summary=f"{_label(trip)} started by hand with order {delivery.order_id}.",
            order=delivery.order_id,
            version=trip.version,
        )
    return trip


def dispatch_move(
    *, order: DeliveryOrder, to_trip: Trip, by, expected_version=None, to_expected_version=None
) -> Trip:
    """Move an order from its route to another planned route (expected_version: the version of the route it
    is on, as the board showed it; to_expected_version: the target's)."""
    with transaction.atomic():
        stop = _live_stop(order)
        if stop is None:
            raise BoardChanged() if expected_version is not None else _refuse("That order is on no route.")
        target_pk = to_trip.pk if isinstance(to_trip, Trip) else to_trip
        if stop.trip_id == target_pk:
            raise _refuse("The order is already on that route.")
        first, second = sorted([stop.trip_id, target_pk])
        locked = {pk: _locked_trip(pk) for pk in (first, second)}
        source, target = locked[stop.trip_id], locked[target_pk]
        if source.store_id != target.store_id:
            raise _refuse("Both routes must be of the same store.")
        _check_version(source, expected_version)
        _check_version(target, to_expected_version)
        _changeable(source)
        _changeable(target)
        delivery = _locked_delivery(stop.order_id, source.store)
        _reschedule_without(source, delivery, by=by)
        position = _insert_into(target, delivery, by=by)
        summary = (
            f"Order {delivery.order_id} moved from {_label(source)} to {_label(target)} as stop {position}."
        )
        _audit(
            source,
            by=by,
            action="trip.order_moved",
            store=source.store,
            summary=summary,
            version=source.version,
        )
        _audit(
            target,
            by=by,
            action="trip.order_moved",
            store=target.store,
            summary=summary,
            version=target.version,
        )
    return target


def dispatch_remove(*, order: DeliveryOrder, by, expected_version=None) -> Trip:
    """Take an order off its planned route: it waits again; the route is rescheduled without it."""
    with transaction.atomic():
        stop = _live_stop(order)
        if stop is None:
            raise BoardChanged() if expected_version is not None else _refuse("That order is on no route.")
        trip = _locked_trip(stop.trip_id)
        _check_version(trip, expected_version)
        _changeable(trip)
        delivery = _locked_delivery(stop.order_id, trip.store)
        _reschedule_without(trip, delivery, by=by)
        _audit(
            trip,
            by=by,
            action="trip.order_removed",
            store=trip.store,
            summary=f"Order {delivery.order_id} taken off {_label(trip)}: it waits for a route again.",
            order=delivery.order_id,
            version=trip.version,
        )
    return trip


def _status_change(
    trip: Trip, *, by, expected_version, allowed: tuple, status: str, action: str, summary: str
):
    with transaction.atomic():
        trip = _locked_trip(trip)
        _check_version(trip, expected_version)
        if trip.status not in allowed:
            raise _refuse(f"{_label(trip)} is {trip.get_status_display().lower()}: it cannot be {summary}.")
        now = timezone.now()
        trip.status = status
        fields = ["status", "version"]
        if status == Trip.Status.LOCKED:
            trip.locked_at, trip.locked_by = now, by if _is_user(by) else None
            fields += ["locked_at", "locked_by"]
        trip.version += 1
        trip.save(update_fields=fields)
        _audit(
            trip,
            by=by,
            action=action,
            store=trip.store,
            summary=f"{_label(trip)} {summary}.",
            version=trip.version,
        )
    return trip


def _is_user(actor) -> bool:
    return isinstance(actor, User)


def trip_lock(*, trip: Trip, by, expected_version=None) -> Trip:
    """Freeze a planned route: re-planning and late orders leave it alone."""
    return _status_change(
        trip,
        by=by,
        expected_version=expected_version,
        allowed=(Trip.Status.PLANNED,),
        status=Trip.Status.LOCKED,
        action="trip.locked",
        summary="locked",
    )


def trip_unlock(*, trip: Trip, by, expected_version=None) -> Trip:
    return _status_change(
        trip,
        by=by,
        expected_version=expected_version,
        allowed=(Trip.Status.LOCKED,),
        status=Trip.Status.PLANNED,
        action="trip.unlocked",
        summary="unlocked",
    )


def _trip_cancelled(trip: Trip, *, by, now: dt.datetime, summary: str) -> None:
    orders = list(
        TripStop.objects.filter(trip=trip)
        .exclude(status=TripStop.Status.RETURNED)
        .values_list("order__order_id", flat=True)
    )
    TripStop.objects.filter(trip=trip).exclude(status=TripStop.Status.RETURNED).delete()
    trip.status = Trip.Status.CANCELLED
    trip.cancelled_at = now
    trip.distance_m = 0
    trip.goods_value = Decimal("0.00")
    trip.version += 1
    trip.save(update_fields=["status", "cancelled_at", "distance_m", "goods_value", "version"])
    _publish(trip, [])
    _audit(
        trip,
        by=by,
        action="trip.cancelled",
        store=trip.store,
        summary=summary,
        orders=orders,
        version=trip.version,
    )


def trip_cancel(*, trip: Trip, by, expected_version=None) -> Trip:
    """Cancel a route not yet sent to the driver: its orders wait again."""
    with transaction.atomic():
        trip = _locked_trip(trip)
        _check_version(trip, expected_version)
        if trip.status not in Trip.OPEN_STATUSES:
            raise _refuse(
                f"{_label(trip)} is {trip.get_status_display().lower()}: only a route not yet sent can be cancelled."
            )
        _trip_cancelled(
            trip,
            by=by,
            now=timezone.now(),
            summary=f"{_label(trip)} cancelled: its orders wait for a route again.",
        )
    return trip


# --- Late orders -------------------------------------------------------------------------------------------------


def dispatch_insert(order: DeliveryOrder, *, by=None) -> str | None:
    """A delivery order placed after its day was planned: put it on an open (planned, not locked) route of its
    day, or on an idle driver on shift, where that keeps every promise. Returns None when the day has no routes
    (the order waits for the plan), "" when it was placed, or the reason it waits (also kept on the order)."""
    with transaction.atomic():
        # Trips before the order, as every other dispatch writer locks them.
        delivery = DeliveryOrder.objects.select_related("order__store").get(pk=order.pk)
        store = delivery.order.store
        day = _order_day(delivery)
        trips = list(
            Trip.objects.select_for_update(of=("self",))
            .filter(store=store, day=day)
            .exclude(status=Trip.Status.CANCELLED)
            .select_related("driver__user", "vehicle", "shift", "store")
            .order_by("pk")
        )
        if not trips:
            return None
        delivery = _locked_delivery(delivery, store)
        if _live_stop(delivery) is not None or delivery.order.status not in WAITING_ORDER_STATUSES:
            return None
        now = timezone.now()
        depot = depot_for(store, day)
        cap = value_cap_for(store, day)
        open_trips = [trip for trip in trips if trip.status == Trip.Status.PLANNED]
        taken_shifts = {trip.shift_id for trip in trips}
        taken_vehicles = {trip.vehicle_id for trip in trips if trip.status != Trip.Status.RETURNED}
        idle_shifts = [
            shift
            for shift in _day_shifts(store, day)
            if shift.pk not in taken_shifts
            and shift.vehicle_id not in taken_vehicles
            and shift.vehicle.is_active
            and shift.ends_at > now
        ]
        routes, deliveries = [], {}
        for trip in open_trips:
            current = _trip_stops(trip)
            deliveries.update({stop.order.order_id: stop.order for stop in current})
            trip.shift.vehicle = trip.vehicle
            routes.append((planner_vehicle(trip.shift, cap), [planner_stop(stop.order) for stop in current]))
        deliveries[delivery.order_id] = delivery
        idle = [planner_vehicle(shift, cap) for shift in idle_shifts]
        if not routes and not idle:
            reason = NO_OPEN_ROUTE
            _unplaced_note([delivery], {delivery.order_id: reason}, now)
            return reason
        insertion = insert_stop(
            depot,
            routes,
            planner_stop(delivery),
            idle_vehicles=idle,
            provider=provider_from_settings(),
            now=now,
        )
        if not insertion.inserted:
            reason = insertion.message
            _unplaced_note([delivery], {delivery.order_id: reason}, now)
            return reason
        trip = next((trip for trip in open_trips if trip.shift_id == insertion.route.vehicle_id), None)
        if trip is None:
            shift = next(shift for shift in idle_shifts if shift.pk == insertion.route.vehicle_id)
            trip = _new_trip(store, day, shift, by=by, now=now)
            trip.store, trip.shift, trip.driver, trip.vehicle = store, shift, shift.driver, shift.vehicle
        _route_write(trip, insertion.route, deliveries, by=by, now=now)
        _audit(
            trip,
            by=by,
            action="trip.order_inserted",
            store=store,
            summary=f"Late order {delivery.order_id} inserted into {_label(trip)} as stop {insertion.position + 1}.",
            order=delivery.order_id,
            version=trip.version,
        )
        return ""


def dispatch_insert_quietly(order: DeliveryOrder, *, by=None) -> None:
    """The order service's hook: a late order that cannot be inserted (or a planner that cannot answer) leaves
    the order placed and waiting; only the insertion is rolled back."""
    try:
        with transaction.atomic():
            dispatch_insert(order, by=by)
    except (ApplicationError, PlanningError, MatrixError):
        return
