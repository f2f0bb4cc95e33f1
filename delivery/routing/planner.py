"""The delivery planner: from a store, its orders' stops and the vehicles on shift to routes with arrival times,
and the orders it could not place with the reason. A pure function over a travel-time matrix; no database.

Every promise is hard: a stop is reached within its window, every vehicle stays within its capacity, its value
cap (all goods are loaded at the store, so the value in the vehicle is highest at departure), its shift and the
store's hours. The objective is lexicographic: as many orders served on time as possible (each order left out
costs more than any amount of driving could), then the shortest total distance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from delivery.routing.core import CoreClient, CoreInstance, CoreVehicleType, solve
from delivery.routing.matrix import UNREACHABLE, MatrixProvider, Point, StraightLineMatrix, TravelMatrix

CENTS = Decimal("0.01")
# A vehicle without a value cap can still only carry this much (in cents): far above any real load.
UNCAPPED_CENTS = 10**12


class PlanningError(ValueError):
    """The planner's input is inconsistent (naive times, a window that ends before it starts, duplicate ids)."""


# Why an order was left out. The codes are stable (the dispatch board and the API show the message).
NO_VEHICLE = "no_vehicle"
OVER_CAPACITY = "over_capacity"
OVER_VALUE_CAP = "over_value_cap"
WINDOW_UNREACHABLE = "window_unreachable"
NO_ROOM = "no_room"

REASON_MESSAGES = {
    NO_VEHICLE: "No driver on shift serves this order's zone.",
    OVER_CAPACITY: "The order is larger than any vehicle that serves its zone can carry.",
    OVER_VALUE_CAP: "The order's value is over the value cap of every vehicle that serves its zone.",
    WINDOW_UNREACHABLE: (
        "No vehicle that serves its zone can reach it within its window and be back at the store "
        "before its shift and the store's hours end."
    ),
    NO_ROOM: (
        "Every vehicle that could take it is full or busy at its window: placing it would break a promise "
        "made to another order."
    ),
}


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise PlanningError(f"{what} must be a timezone-aware datetime")
    return value


@dataclass(frozen=True)
class Depot:
    """The store: where every route starts and ends, and the hours in which vehicles may be out (its opening
    hours intersected with the legal delivery hours, `closes` being when the driver must be back)."""

    point: Point
    opens: dt.datetime
    closes: dt.datetime

    def __post_init__(self) -> None:
        _aware(self.opens, "the store's opening time")
        _aware(self.closes, "the store's closing time")
        if self.closes <= self.opens:
            raise PlanningError("the store closes before it opens")


@dataclass(frozen=True)
class Stop:
    """One order's delivery. The vehicle must arrive between window_start and window_end (service then takes
    service_seconds). demand counts against a vehicle's capacity, value against its value cap."""

    id: Hashable
    point: Point
    window_start: dt.datetime
    window_end: dt.datetime
    service_seconds: int = 300
    demand: int = 1
    value: Decimal = Decimal("0")
    zone: str | None = None
    # The vehicles allowed to carry it, beside the zone rule (a customer's regular driver, say); None: any.
    vehicles: frozenset[Hashable] | None = None

    def __post_init__(self) -> None:
        _aware(self.window_start, f"order {self.id}'s window start")
        _aware(self.window_end, f"order {self.id}'s window end")
        if self.window_end < self.window_start:
            raise PlanningError(f"order {self.id}'s window ends before it starts")
        if self.service_seconds < 0 or self.demand < 0 or self.value < 0:
            raise PlanningError(f"order {self.id}: service time, demand and value are at least 0")


@dataclass(frozen=True)
class Vehicle:
    """A driver on shift with a vehicle. zones: the zones the driver serves (None: every zone). value_cap: the
    most retail value the vehicle may hold at once (None: no cap); carried_value is already in it (goods not
    yet ordered, for instance) and counts against the cap."""

    id: Hashable
    capacity: int
    shift_start: dt.datetime
    shift_end: dt.datetime
    value_cap: Decimal | None = None
    carried_value: Decimal = Decimal("0")
    zones: frozenset[str] | None = None

    def __post_init__(self) -> None:
        _aware(self.shift_start, f"vehicle {self.id}'s shift start")
        _aware(self.shift_end, f"vehicle {self.id}'s shift end")
        if self.capacity < 0:
            raise PlanningError(f"vehicle {self.id}: capacity is at least 0")
        if self.value_cap is not None and self.value_cap < 0:
            raise PlanningError(f"vehicle {self.id}: the value cap is at least 0")

    def serves(self, stop: Stop) -> bool:
        if stop.vehicles is not None and self.id not in stop.vehicles:
            return False
        return self.zones is None or stop.zone is None or stop.zone in self.zones

    def value_room_cents(self) -> int:
        if self.value_cap is None:
            return UNCAPPED_CENTS
        return _cents(self.value_cap) - _cents(self.carried_value)


def _cents(amount: Decimal) -> int:
    return int((Decimal(amount) / CENTS).to_integral_value())


@dataclass(frozen=True)
class PlannedStop:
    stop_id: Hashable
    arrival: dt.datetime  # when the vehicle gets there
    service_start: dt.datetime  # arrival, or the window's start if it arrives early and waits
    departure: dt.datetime
    distance_from_previous: int  # metres


@dataclass(frozen=True)
class PlannedRoute:
    vehicle_id: Hashable
    departure: dt.datetime  # leaves the store
    stops: tuple[PlannedStop, ...]
    return_time: dt.datetime  # back at the store
    distance: int  # metres, store to store
    load: int
    value: Decimal

    @property
    def stop_ids(self) -> tuple[Hashable, ...]:
        return tuple(stop.stop_id for stop in self.stops)


@dataclass(frozen=True)
class Unassigned:
    stop_id: Hashable
    reason: str

    @property
    def message(self) -> str:
        return REASON_MESSAGES[self.reason]


@dataclass(frozen=True)
class Plan:
    routes: tuple[PlannedRoute, ...]
    unassigned: tuple[Unassigned, ...]

    @property
    def distance(self) -> int:
        return sum(route.distance for route in self.routes)


@dataclass(frozen=True)
class RouteCheck:
    """A route in a given order, scheduled; `problems` lists each broken promise (empty: the route is good)."""

    route: PlannedRoute
    problems: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Insertion:
    """Where a new order fits: the route it joins (rescheduled) and the position, or why it fits nowhere."""

    stop_id: Hashable
    route: PlannedRoute | None = None
    position: int | None = None  # index of the new stop in route.stops
    added_distance: int | None = None  # metres
    reason: str | None = None

    @property
    def inserted(self) -> bool:
        return self.route is not None

    @property
    def message(self) -> str:
        return "" if self.reason is None else REASON_MESSAGES[self.reason]


@dataclass
class _Frame:
    """The problem in whole seconds from `origin` (location 0 the store, location i + 1 the i-th stop)."""

    depot: Depot
    stops: list[Stop]
    matrix: TravelMatrix
    origin: dt.datetime
    earliest: dt.datetime  # nothing leaves before this ("now", or the store's opening)
    index: dict[Hashable, int] = field(default_factory=dict)

    def seconds(self, moment: dt.datetime) -> int:
        return int((moment - self.origin).total_seconds())

    def moment(self, seconds: int) -> dt.datetime:
        return self.origin + dt.timedelta(seconds=seconds)

    def vehicle_window(self, vehicle: Vehicle) -> tuple[int, int]:
        start = max(vehicle.shift_start, self.depot.opens, self.earliest)
        end = min(vehicle.shift_end, self.depot.closes)
        return self.seconds(start), self.seconds(end)

    def stop_window(self, stop: Stop) -> tuple[int, int]:
        return self.seconds(stop.window_start), self.seconds(stop.window_end)


def _frame(depot: Depot, stops: Sequence[Stop], provider: MatrixProvider, now: dt.datetime | None) -> _Frame:
    ids = [stop.id for stop in stops]
    if len(set(ids)) != len(ids):
        raise PlanningError("two stops share an id")
    earliest = depot.opens if now is None else max(_aware(now, "now"), depot.opens)
    matrix = provider.matrix([depot.point, *(stop.point for stop in stops)])
    if len(matrix) != len(stops) + 1:
        raise PlanningError("the travel-time matrix does not cover every stop")
    frame = _Frame(depot=depot, stops=list(stops), matrix=matrix, origin=depot.opens, earliest=earliest)
    frame.index = {stop.id: number + 1 for number, stop in enumerate(stops)}
    return frame


def _schedule(frame: _Frame, vehicle: Vehicle, stops: Sequence[Stop]) -> RouteCheck:
    """Drive the route as early as possible; then leave the store late enough not to wait at the first stop."""
    start, end = frame.vehicle_window(vehicle)
    problems: list[str] = []
    load = sum(stop.demand for stop in stops)
    value_cents = sum(_cents(stop.value) for stop in stops)
    if load > vehicle.capacity:
        problems.append(f"load {load} is over the vehicle's capacity {vehicle.capacity}")
    if value_cents > vehicle.value_room_cents():
        problems.append("the goods' value is over the vehicle's value cap")
    for stop in stops:
        if not vehicle.serves(stop):
            problems.append(f"order {stop.id} may not go on this vehicle (its zone or its driver)")
    distance_matrix, duration_matrix = frame.matrix.distances, frame.matrix.durations
    time, location, first_wait = start, 0, None
    visits: list[tuple[Stop, int, int, int, int]] = []
    total_distance = 0
    for stop in stops:
        here = frame.index[stop.id]
        arrival = time + duration_matrix[location][here]
        ready, due = frame.stop_window(stop)
        service_start = max(arrival, ready)
        if first_wait is None:
            first_wait = service_start - arrival
        if service_start > due or duration_matrix[location][here] >= UNREACHABLE:
            problems.append(f"order {stop.id} would be reached after its window")
        leg = distance_matrix[location][here]
        total_distance += leg
        visits.append((stop, arrival, service_start, service_start + stop.service_seconds, leg))
        time, location = service_start + stop.service_seconds, here
    back = time + duration_matrix[location][0]
    total_distance += distance_matrix[location][0]
    if back > end or duration_matrix[location][0] >= UNREACHABLE:
        problems.append("the vehicle would be back at the store after its shift or the store's hours end")
    shift = first_wait or 0  # leaving later by the first wait changes no service time
    route = PlannedRoute(
        vehicle_id=vehicle.id,
        departure=frame.moment(start + shift),
        stops=tuple(
            PlannedStop(
                stop_id=stop.id,
                arrival=frame.moment(arrival + shift if index == 0 else arrival),
                service_start=frame.moment(service_start),
                departure=frame.moment(leave),
                distance_from_previous=leg,
            )
            for index, (stop, arrival, service_start, leave, leg) in enumerate(visits)
        ),
        return_time=frame.moment(back),
        distance=total_distance,
        load=load,
        value=(Decimal(value_cents) * CENTS).quantize(CENTS),
    )
    return RouteCheck(route=route, problems=tuple(problems))


def _has_time(frame: _Frame, vehicle: Vehicle) -> bool:
    start, end = frame.vehicle_window(vehicle)
    return start <= end


def _why_alone(frame: _Frame, stop: Stop, vehicles: Sequence[Vehicle]) -> str | None:
    """Why this stop cannot be served even by an empty vehicle, or None when one could take it alone."""
    serving = [vehicle for vehicle in vehicles if vehicle.serves(stop)]
    if not serving:
        return NO_VEHICLE
    serving = [vehicle for vehicle in serving if stop.demand <= vehicle.capacity]
    if not serving:
        return OVER_CAPACITY
    serving = [vehicle for vehicle in serving if _cents(stop.value) <= vehicle.value_room_cents()]
    if not serving:
        return OVER_VALUE_CAP
    if not any(_schedule(frame, vehicle, [stop]).feasible for vehicle in serving):
        return WINDOW_UNREACHABLE
    return None


def check_route(
    depot: Depot,
    vehicle: Vehicle,
    stops: Sequence[Stop],
    *,
    provider: MatrixProvider | None = None,
    now: dt.datetime | None = None,
) -> RouteCheck:
    """Schedule stops in the given order on one vehicle (a route arranged by hand) and list what it breaks."""
    frame = _frame(depot, stops, provider or StraightLineMatrix(), now)
    return _schedule(frame, vehicle, stops)


def plan_routes(
    depot: Depot,
    stops: Sequence[Stop],
    vehicles: Sequence[Vehicle],
    *,
    provider: MatrixProvider | None = None,
    now: dt.datetime | None = None,
    seconds: float = 3.0,
    seed: int = 1,
) -> Plan:
    """Plan every stop onto the vehicles, serving as many as every promise allows, then driving the least.
    `now`: no vehicle leaves before it. `seconds`: the solver's time limit (it stops sooner once it stops
    improving)."""
    vehicle_ids = [vehicle.id for vehicle in vehicles]
    if len(set(vehicle_ids)) != len(vehicle_ids):
        raise PlanningError("two vehicles share an id")
    frame = _frame(depot, stops, provider or StraightLineMatrix(), now)
    unassigned: list[Unassigned] = []
    candidates: list[Stop] = []
    for stop in stops:
        reason = _why_alone(frame, stop, vehicles)
        if reason is None:
            candidates.append(stop)
        else:
            unassigned.append(Unassigned(stop_id=stop.id, reason=reason))
    routes: list[PlannedRoute] = []
    on_shift = [vehicle for vehicle in vehicles if _has_time(frame, vehicle)]
    if candidates:
        routes, dropped = _solve(frame, candidates, on_shift, seconds=seconds, seed=seed)
        unassigned.extend(Unassigned(stop_id=stop.id, reason=NO_ROOM) for stop in dropped)
    order = {stop.id: number for number, stop in enumerate(stops)}
    unassigned.sort(key=lambda item: order[item.stop_id])
    routes.sort(key=lambda route: vehicle_ids.index(route.vehicle_id))
    return Plan(routes=tuple(routes), unassigned=tuple(unassigned))


def _solve(
    frame: _Frame, candidates: list[Stop], vehicles: Sequence[Vehicle], *, seconds: float, seed: int
) -> tuple[list[PlannedRoute], list[Stop]]:
    locations = [0] + [frame.index[stop.id] for stop in candidates]
    distances = [[frame.matrix.distances[a][b] for b in locations] for a in locations]
    durations = [[frame.matrix.durations[a][b] for b in locations] for a in locations]
    longest = max((value for row in distances for value in row if value < UNREACHABLE), default=1)
    # Leaving one order out must cost more than all the driving any plan can do: every leg at its longest.
    prize = (len(candidates) + 2 * len(vehicles) + 1) * max(longest, 1)
    windows = [frame.vehicle_window(vehicle) for vehicle in vehicles]
    instance = CoreInstance(
        depot_ready=min(start for start, _ in windows),
        depot_due=max(end for _, end in windows),
        clients=tuple(
            CoreClient(
                demand=(stop.demand, _cents(stop.value)),
                ready=max(frame.stop_window(stop)[0], 0),
                due=frame.stop_window(stop)[1],
                service=stop.service_seconds,
                required=False,
                prize=prize,
                vehicle_types=_serving(stop, vehicles),
            )
            for stop in candidates
        ),
        vehicle_types=tuple(
            CoreVehicleType(
                count=1,
                capacity=(vehicle.capacity, vehicle.value_room_cents()),
                start=start,
                end=end,
            )
            for vehicle, (start, end) in zip(vehicles, windows, strict=True)
        ),
        distance=distances,
        duration=durations,
    )
    solution = solve(instance, seconds=seconds, seed=seed, no_improvement=20_000)
    routes: list[PlannedRoute] = []
    dropped = [candidates[index] for index in solution.unvisited]
    for core_route in solution.routes:
        vehicle = vehicles[core_route.vehicle_type]
        ordered = [candidates[index] for index in core_route.clients]
        check = _schedule(frame, vehicle, ordered)
        # The solver's answer is checked by the same schedule the rest uses; should it ever break a promise,
        # the stops that break it are left out rather than planned late.
        while not check.feasible and ordered:
            late = _first_broken(frame, vehicle, ordered)
            dropped.append(ordered.pop(late))
            check = _schedule(frame, vehicle, ordered)
        if ordered:
            routes.append(check.route)
    return routes, dropped


def _serving(stop: Stop, vehicles: Sequence[Vehicle]) -> frozenset[int] | None:
    serving = frozenset(index for index, vehicle in enumerate(vehicles) if vehicle.serves(stop))
    return None if len(serving) == len(vehicles) else serving


def _first_broken(frame: _Frame, vehicle: Vehicle, ordered: list[Stop]) -> int:
    for length in range(1, len(ordered) + 1):
        if not _schedule(frame, vehicle, ordered[:length]).feasible:
            return length - 1
    return len(ordered) - 1


def insert_stop(
    depot: Depot,
    routes: Sequence[tuple[Vehicle, Sequence[Stop]]],
    stop: Stop,
    *,
    idle_vehicles: Sequence[Vehicle] = (),
    provider: MatrixProvider | None = None,
    now: dt.datetime | None = None,
) -> Insertion:
    """Insert a new order into open routes (each a vehicle and its stops in order) at the place that adds the
    least distance while every stop of that route still keeps its promise; an idle vehicle on shift may take
    it alone. The other routes are unchanged. Says why when it fits nowhere."""
    all_stops = [existing for _, route_stops in routes for existing in route_stops] + [stop]
    frame = _frame(depot, all_stops, provider or StraightLineMatrix(), now)
    vehicles = [vehicle for vehicle, _ in routes] + list(idle_vehicles)
    reason = _why_alone(frame, stop, vehicles)
    if reason is not None:
        return Insertion(stop_id=stop.id, reason=reason)
    best: Insertion | None = None
    candidates = [(vehicle, list(route_stops)) for vehicle, route_stops in routes]
    candidates += [(vehicle, []) for vehicle in idle_vehicles]
    for vehicle, current in candidates:
        if not vehicle.serves(stop):
            continue
        before = _schedule(frame, vehicle, current)
        if not before.feasible:
            continue  # a route already breaking a promise takes nothing more
        for position in range(len(current) + 1):
            check = _schedule(frame, vehicle, current[:position] + [stop] + current[position:])
            if not check.feasible:
                continue
            added = check.route.distance - before.route.distance
            if best is None or added < best.added_distance:
                best = Insertion(stop_id=stop.id, route=check.route, position=position, added_distance=added)
    return best or Insertion(stop_id=stop.id, reason=NO_ROOM)
