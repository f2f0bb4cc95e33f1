"""Solomon VRPTW instances (text layout of Solomon 1987) solved by the planner's core, with the DIMACS 2021
convention: distance and travel time between two points are floor(10 * euclidean distance) / 10."""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from delivery.routing.core import CoreClient, CoreInstance, CoreSolution, CoreVehicleType, solve

# Shares of the time of the three searches of solve_solomon.
SHARES = (0.35, 0.4, 0.25)
# The searches get this share of the time asked for; the rest covers building the problems and the processes.
BUDGET_SHARE = 0.95
SCALE = 10  # times and distances are kept in tenths, so that the DIMACS rounding is exact


class SolomonError(ValueError):
    """An instance that cannot be read or solved; the message says why."""


class SolomonFormatError(SolomonError):
    pass


class NoFeasibleSolution(SolomonError):
    pass


@dataclass(frozen=True)
class SolomonCustomer:
    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    depot: SolomonCustomer
    customers: tuple[SolomonCustomer, ...]


@dataclass(frozen=True)
class SolomonResult:
    vehicles: int
    distance: float
    routes: list[list[int]]  # customer numbers in visiting order

    def as_json(self) -> dict:
        return {"vehicles": self.vehicles, "distance": self.distance, "routes": self.routes}


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SolomonFormatError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SolomonFormatError(f"{what}: {text!r} is not a finite number")
    return value


def _whole(text: str, what: str) -> int:
    value = _number(text, what)
    if value != int(value) or value < 0:
        raise SolomonFormatError(f"{what}: {text!r} is not a whole number of at least 0")
    return int(value)


def parse(text: str) -> SolomonInstance:
    """Read the text layout: a name, VEHICLE (NUMBER, CAPACITY), CUSTOMER (one row per customer, depot first)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise SolomonFormatError("the file is empty")
    name = lines[0]
    upper = [line.upper() for line in lines]
    try:
        vehicle_at = upper.index("VEHICLE")
        customer_at = upper.index("CUSTOMER")
    except ValueError:
        raise SolomonFormatError("a Solomon instance has a VEHICLE and a CUSTOMER section") from None
    numeric = [line for line in lines[vehicle_at + 1 : customer_at] if line[0].isdigit()]
    if len(numeric) != 1 or len(numeric[0].split()) != 2:
        raise SolomonFormatError("the VEHICLE section needs one row: number of vehicles and capacity")
    vehicles = _whole(numeric[0].split()[0], "vehicle number")
    capacity = _whole(numeric[0].split()[1], "capacity")
    if vehicles < 1:
        raise SolomonFormatError("at least one vehicle is needed")
    rows: list[SolomonCustomer] = []
    for line in lines[customer_at + 1 :]:
        fields = line.split()
        if not fields[0][0].isdigit():
            continue  # the column headings
        if len(fields) != 7:
            raise SolomonFormatError(f"a customer row has 7 columns: {line!r}")
        customer = SolomonCustomer(
            number=_whole(fields[0], "customer number"),
            x=_number(fields[1], "x"),
            y=_number(fields[2], "y"),
            demand=_whole(fields[3], "demand"),
            ready=_whole(fields[4], "ready time"),
            due=_whole(fields[5], "due date"),
            service=_whole(fields[6], "service time"),
        )
        if customer.due < customer.ready:
            raise SolomonFormatError(f"customer {customer.number}: due date before ready time")
        rows.append(customer)
    if len(rows) < 1:
        raise SolomonFormatError("no depot row")
    numbers = [row.number for row in rows]
    if len(set(numbers)) != len(numbers):
        raise SolomonFormatError("customer numbers repeat")
    return SolomonInstance(
        name=name, vehicles=vehicles, capacity=capacity, depot=rows[0], customers=tuple(rows[1:])
    )


def dimacs_tenths(a: SolomonCustomer, b: SolomonCustomer) -> int:
    """floor(10 * euclidean distance), the DIMACS distance and travel time in tenths."""
    return math.floor(SCALE * math.hypot(a.x - b.x, a.y - b.y))


def core_instance(instance: SolomonInstance) -> CoreInstance:
    points = (instance.depot, *instance.customers)
    matrix = [[dimacs_tenths(a, b) for b in points] for a in points]
    return CoreInstance(
        depot_ready=instance.depot.ready * SCALE,
        depot_due=instance.depot.due * SCALE,
        clients=tuple(
            CoreClient(
                demand=(customer.demand,),
                ready=customer.ready * SCALE,
                due=customer.due * SCALE,
                service=customer.service * SCALE,
            )
            for customer in instance.customers
        ),
        vehicle_types=(
            CoreVehicleType(
                count=instance.vehicles,
                capacity=(instance.capacity,),
                start=instance.depot.ready * SCALE,
                end=instance.depot.due * SCALE,
            ),
        ),
        distance=matrix,
        duration=matrix,
    )


def _complete(solution: CoreSolution) -> bool:
    return solution.feasible and not solution.unvisited


def _search(instance: SolomonInstance, seconds: float, seed: int) -> CoreSolution | None:
    """The shortest complete solution found in `seconds`, or None. The distance-optimal solution of tightly
    windowed instances often uses one route fewer than a search over the whole fleet settles on, so the time
    is shared by three searches: over the whole fleet; with one vehicle fewer than that found, started from
    its solution without its smallest route; and over the whole fleet again from the better of the two."""
    core = core_instance(instance)
    first = solve(core, seconds=seconds * SHARES[0], seed=seed)
    best = first if _complete(first) else None
    if best is not None and len(best.routes) > 1:
        kind = core.vehicle_types[0]
        fewer = replace(core, vehicle_types=(replace(kind, count=len(best.routes) - 1),))
        kept = sorted(best.routes, key=lambda route: len(route.clients))[1:]
        second = solve(fewer, seconds=seconds * SHARES[1], seed=seed + 1, initial=[r.clients for r in kept])
        if _complete(second) and second.distance < best.distance:
            best = second
        rest = seconds * SHARES[2]
    else:
        rest = seconds * (SHARES[1] + SHARES[2])
    start = None if best is None else [route.clients for route in best.routes]
    third = solve(core, seconds=rest, seed=seed + 2, initial=start)
    if _complete(third) and (best is None or third.distance < best.distance):
        best = third
    return best


def default_workers() -> int:
    """Independent searches run side by side: one per core, at most two, where processes can be forked."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def solve_solomon(
    instance: SolomonInstance, *, seconds: float, seed: int = 1, workers: int = 1
) -> SolomonResult:
    """The shortest routes found in `seconds` (wall clock) by `workers` independent searches (processes with
    their own seeds), the best of them."""
    budget = seconds * BUDGET_SHARE
    if workers <= 1:
        found = [_search(instance, budget, seed)]
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(_search, instance, budget, seed + 100 * worker) for worker in range(workers)
            ]
            found = [future.result() for future in futures]
    complete = [solution for solution in found if solution is not None]
    if not complete:
        raise NoFeasibleSolution(
            f"no feasible solution found in {seconds:g} s (more vehicles or time may be needed)"
        )
    best = min(complete, key=lambda solution: solution.distance)
    routes = [[instance.customers[index].number for index in route.clients] for route in best.routes]
    return SolomonResult(vehicles=len(routes), distance=round(best.distance / SCALE, 1), routes=routes)
