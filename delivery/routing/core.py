"""The solver core: a vehicle routing problem with time windows in whole units (seconds, metres, or the
tenths of a Solomon instance), solved by PyVRP. Both the delivery planner and `solve_vrptw` build one of these.

Location 0 is the depot; client i (0-based) is location i + 1. Matrices are square over all locations."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

# An edge that may not be taken (a vehicle outside a stop's zone): long enough that no route uses it.
FORBIDDEN = 10**9


@dataclass(frozen=True)
class CoreClient:
    demand: tuple[int, ...]
    ready: int
    due: int
    service: int = 0
    required: bool = True
    prize: int = 0
    # Indices of the vehicle types that may visit this client; None: all.
    vehicle_types: frozenset[int] | None = None


@dataclass(frozen=True)
class CoreVehicleType:
    count: int
    capacity: tuple[int, ...]
    start: int  # earliest departure from the depot
    end: int  # latest return to the depot


@dataclass(frozen=True)
class CoreInstance:
    depot_ready: int
    depot_due: int
    clients: tuple[CoreClient, ...]
    vehicle_types: tuple[CoreVehicleType, ...]
    distance: Sequence[Sequence[int]]
    duration: Sequence[Sequence[int]]


@dataclass(frozen=True)
class CoreRoute:
    vehicle_type: int
    clients: tuple[int, ...]  # 0-based client indices in visiting order


@dataclass(frozen=True)
class CoreSolution:
    routes: tuple[CoreRoute, ...]
    distance: int
    feasible: bool
    unvisited: tuple[int, ...]


def _matrices(instance: CoreInstance) -> tuple[list[np.ndarray], list[np.ndarray], bool]:
    distance = np.asarray(instance.distance, dtype=np.int64)
    duration = np.asarray(instance.duration, dtype=np.int64)
    size = len(instance.clients) + 1
    if distance.shape != (size, size) or duration.shape != (size, size):
        raise ValueError(f"the matrices must be {size} x {size} (the depot and every client)")
    if (distance < 0).any() or (duration < 0).any():
        raise ValueError("the matrices may not hold negative distances or durations")
    restricted = any(client.vehicle_types is not None for client in instance.clients)
    if not restricted:
        return [distance], [duration], False
    # One routing profile per vehicle type, in which the clients it may not visit cannot be reached.
    distances, durations = [], []
    for index in range(len(instance.vehicle_types)):
        blocked = [
            number + 1
            for number, client in enumerate(instance.clients)
            if client.vehicle_types is not None and index not in client.vehicle_types
        ]
        profile_distance, profile_duration = distance.copy(), duration.copy()
        for location in blocked:
            profile_distance[location, :] = profile_distance[:, location] = FORBIDDEN
            profile_duration[location, :] = profile_duration[:, location] = FORBIDDEN
            profile_distance[location, location] = profile_duration[location, location] = 0
        distances.append(profile_distance)
        durations.append(profile_duration)
    return distances, durations, True


def problem_data(instance: CoreInstance) -> pyvrp.ProblemData:
    distances, durations, per_type = _matrices(instance)
    dimensions = max(
        [len(client.demand) for client in instance.clients]
        + [len(kind.capacity) for kind in instance.vehicle_types]
        + [1]
    )

    def padded(values: tuple[int, ...]) -> list[int]:
        return list(values) + [0] * (dimensions - len(values))

    locations = [pyvrp.Location(0, 0)] + [pyvrp.Location(0, 0) for _ in instance.clients]
    clients = [
        pyvrp.Client(
            location=number + 1,
            delivery=padded(client.demand),
            service_duration=client.service,
            tw_early=client.ready,
            tw_late=client.due,
            required=client.required,
            prize=client.prize,
        )
        for number, client in enumerate(instance.clients)
    ]
    depots = [pyvrp.Depot(location=0, tw_early=instance.depot_ready, tw_late=instance.depot_due)]
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=kind.count,
            capacity=padded(kind.capacity),
            tw_early=max(kind.start, instance.depot_ready),
            tw_late=min(kind.end, instance.depot_due),
            profile=index if per_type else 0,
        )
        for index, kind in enumerate(instance.vehicle_types)
    ]
    return pyvrp.ProblemData(locations, clients, depots, vehicle_types, distances, durations)


def solve(
    instance: CoreInstance,
    *,
    seconds: float,
    seed: int = 1,
    no_improvement: int | None = None,
    initial: Sequence[Sequence[int]] | None = None,
) -> CoreSolution:
    """The best solution found in `seconds` (or sooner, after `no_improvement` iterations without a better
    one), starting from `initial` routes (client indices, of the first vehicle type) when given. Unvisited
    clients are the optional ones left out, or any client when no feasible solution exists."""
    if not instance.clients:
        return CoreSolution(routes=(), distance=0, feasible=True, unvisited=())
    data = problem_data(instance)
    stop = MaxRuntime(seconds)
    if no_improvement is not None:
        stop = MultipleCriteria([stop, NoImprovement(no_improvement)])
    with warnings.catch_warnings():
        # PyVRP warns when it struggles to find a feasible solution; the caller is told by `feasible`.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        start = None if initial is None else pyvrp.Solution(data, [list(route) for route in initial])
        best = pyvrp.solve(
            data, stop=stop, seed=seed, display=False, collect_stats=False, initial_solution=start
        ).best
    routes = tuple(
        CoreRoute(
            vehicle_type=route.vehicle_type(),
            clients=tuple(activity.idx for activity in route if activity.is_client()),
        )
        for route in best.routes()
    )
    visited = {client for route in routes for client in route.clients}
    return CoreSolution(
        routes=routes,
        distance=int(best.distance()),
        feasible=bool(best.is_feasible()),
        unvisited=tuple(number for number in range(len(instance.clients)) if number not in visited),
    )
