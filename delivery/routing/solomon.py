"""Solomon VRPTW instances (text layout of Solomon 1987) solved by the planner's core, with the DIMACS 2021
convention: distance and travel time between two points are floor(10 * euclidean distance) / 10."""

from __future__ import annotations

import math
from dataclasses import dataclass

from delivery.routing.core import CoreClient, CoreInstance, CoreVehicleType, solve

SCALE = 10  # times and distances are kept in tenths, so that the DIMACS rounding is exact


class SolomonFormatError(ValueError):
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


def solve_solomon(instance: SolomonInstance, *, seconds: float, seed: int = 1) -> SolomonResult:
    solution = solve(core_instance(instance), seconds=seconds, seed=seed)
    if not solution.feasible or solution.unvisited:
        raise SolomonFormatError(
            f"no feasible solution found in {seconds:g} s (more vehicles or time may be needed)"
        )
    routes = [[instance.customers[index].number for index in route.clients] for route in solution.routes]
    return SolomonResult(vehicles=len(routes), distance=round(solution.distance / SCALE, 1), routes=routes)
