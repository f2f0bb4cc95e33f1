"""Independent checks of the planner's answers, written from the problem's definition and not from the planner's
code: they recompute every distance and time themselves and say what a plan breaks."""

import math
from decimal import Decimal


def solomon_rows(text: str) -> tuple[int, int, list[tuple[int, float, float, int, int, int, int]]]:
    """(vehicles, capacity, rows), rows as (number, x, y, demand, ready, due, service), depot first."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if line.strip().upper() == "VEHICLE":
            vehicles, capacity = (int(value) for value in lines[at + 2].split())
            break
    rows = []
    for line in lines:
        fields = line.split()
        if len(fields) == 7 and fields[0].isdigit():
            number, x, y, demand, ready, due, service = fields
            rows.append((int(number), float(x), float(y), int(demand), int(ready), int(due), int(service)))
    return vehicles, capacity, rows


def solomon_check(text: str, answer: dict) -> tuple[float, list[str]]:
    """The DIMACS distance of the answer's routes (in tenths exactly, then /10) and what they break."""
    vehicles, capacity, rows = solomon_rows(text)
    by_number = {row[0]: row for row in rows}
    depot = rows[0]

    def tenths(a, b) -> int:
        return math.floor(10 * math.sqrt((a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2))

    problems: list[str] = []
    seen: list[int] = []
    total = 0
    if len(answer["routes"]) > vehicles:
        problems.append(f"{len(answer['routes'])} routes for {vehicles} vehicles")
    if answer["vehicles"] != len(answer["routes"]):
        problems.append("vehicles is not the number of routes")
    for route in answer["routes"]:
        if not route:
            problems.append("an empty route")
        time_tenths, here, load = depot[4] * 10, depot, 0
        for number in route:
            if number not in by_number or number == depot[0]:
                problems.append(f"unknown customer {number}")
                continue
            row = by_number[number]
            total += tenths(here, row)
            time_tenths = max(time_tenths + tenths(here, row), row[4] * 10)
            if time_tenths > row[5] * 10:
                problems.append(f"customer {number} reached after its due date")
            time_tenths += row[6] * 10
            load += row[3]
            seen.append(number)
            here = row
        total += tenths(here, depot)
        if time_tenths + tenths(here, depot) > depot[5] * 10:
            problems.append("a route returns after the depot's due date")
        if load > capacity:
            problems.append(f"a route carries {load} over the capacity {capacity}")
    customers = sorted(row[0] for row in rows[1:])
    if sorted(seen) != customers:
        problems.append("not every customer is visited exactly once")
    return total / 10, problems


def haversine(a, b) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def plan_check(depot, stops, vehicles, plan, travel, now=None) -> list[str]:
    """What a delivery plan breaks. travel(a, b) -> (metres, seconds) between two points, computed by the test.
    Checks that every stop is planned once or left out, windows (arrival after driving from the previous
    place), service times, capacity, value cap, zones, shifts, the store's hours, and the totals."""
    problems: list[str] = []
    stop_by_id = {stop.id: stop for stop in stops}
    vehicle_by_id = {vehicle.id: vehicle for vehicle in vehicles}
    planned = [planned.stop_id for route in plan.routes for planned in route.stops]
    left_out = [item.stop_id for item in plan.unassigned]
    if sorted(map(str, planned + left_out)) != sorted(str(stop.id) for stop in stops):
        problems.append("not every stop is planned or left out exactly once")
    if len({route.vehicle_id for route in plan.routes}) != len(plan.routes):
        problems.append("a vehicle has two routes")
    for route in plan.routes:
        vehicle = vehicle_by_id[route.vehicle_id]
        leave_at = max(vehicle.shift_start, depot.opens, now or depot.opens)
        if route.departure < leave_at:
            problems.append(f"{vehicle.id} leaves before its shift, the store's opening or now")
        here, moment, metres = depot.point, route.departure, 0
        load, value = 0, Decimal("0")
        for planned in route.stops:
            stop = stop_by_id[planned.stop_id]
            leg_metres, leg_seconds = travel(here, stop.point)
            metres += leg_metres
            if abs((planned.arrival - moment).total_seconds() - leg_seconds) > 1:
                problems.append(f"{stop.id}: arrival is not the previous departure plus the drive")
            if planned.service_start < max(planned.arrival, stop.window_start):
                problems.append(f"{stop.id}: served before arriving or before its window")
            if planned.service_start > stop.window_end:
                problems.append(f"{stop.id}: served after its window")
            if (planned.departure - planned.service_start).total_seconds() != stop.service_seconds:
                problems.append(f"{stop.id}: the service time is not kept")
            if vehicle.zones is not None and stop.zone is not None and stop.zone not in vehicle.zones:
                problems.append(f"{stop.id}: outside {vehicle.id}'s zones")
            if stop.vehicles is not None and vehicle.id not in stop.vehicles:
                problems.append(f"{stop.id}: not allowed on {vehicle.id}")
            load += stop.demand
            value += stop.value
            here, moment = stop.point, planned.departure
        leg_metres, leg_seconds = travel(here, depot.point)
        metres += leg_metres
        back = moment.timestamp() + leg_seconds
        if abs(route.return_time.timestamp() - back) > 1:
            problems.append(f"{vehicle.id}: the return time is not the last departure plus the drive")
        if back > min(vehicle.shift_end, depot.closes).timestamp():
            problems.append(f"{vehicle.id}: back after its shift or the store's hours")
        if load > vehicle.capacity:
            problems.append(f"{vehicle.id}: load {load} over capacity {vehicle.capacity}")
        if vehicle.value_cap is not None and value + vehicle.carried_value > vehicle.value_cap:
            problems.append(f"{vehicle.id}: value {value} over the cap {vehicle.value_cap}")
        if abs(route.distance - metres) > len(route.stops) + 1:
            problems.append(f"{vehicle.id}: distance {route.distance} is not the legs' sum {metres:.0f}")
    return problems
