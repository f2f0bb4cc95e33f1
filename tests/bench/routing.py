"""`make bench`, routing part: route quality on Solomon VRPTW instances (the mean gap to the best-known distance,
DIMACS convention, BENCH_VRPTW_SECONDS each, 10 by default) and the time to plan a realistic delivery day
(80 orders, 5 drivers with shifts and zones, two-hour windows, straight-line matrix) with the planner's
default time limit. The Solomon instances are solved as `manage.py solve_vrptw` does by default (one search
per core, at most two; BENCH_VRPTW_WORKERS to change). Every answer is checked by the tests' independent
evaluator before its figure counts.

More instances: BENCH_SOLOMON_DIR names a folder of Solomon files (NAME.txt) with a best_known.json
({"NAME": distance}); those with a best-known distance are measured too.

    python -m tests.bench.run routing
"""

import json
import os
import pathlib
import time

from delivery.routing.planner import plan_routes
from delivery.routing.solomon import default_workers, parse, solve_solomon
from tests.bench import results
from tests.delivery.routing.day import realistic_day
from tests.delivery.routing.evaluator import haversine, plan_check, solomon_check

SHARED = pathlib.Path(__file__).resolve().parents[1] / "delivery" / "routing" / "solomon"
SECONDS = float(os.environ.get("BENCH_VRPTW_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_VRPTW_WORKERS") or default_workers())  # as `solve_vrptw` by default


def instances() -> list[tuple[str, str, float]]:
    """(name, text, best-known distance) of every instance with a best-known distance."""
    found: dict[str, tuple[str, str, float]] = {}
    folders = [SHARED]
    if os.environ.get("BENCH_SOLOMON_DIR"):
        folders.append(pathlib.Path(os.environ["BENCH_SOLOMON_DIR"]))
    for folder in folders:
        best_file = folder / "best_known.json"
        best = json.loads(best_file.read_text()) if best_file.exists() else {}
        for path in sorted(folder.glob("*.txt")):
            name = path.stem.upper()
            if name in best:
                found[name] = (name, path.read_text(), float(best[name]))
    return list(found.values())


def bench_vrptw() -> None:
    gaps = []
    for name, text, best in instances():
        started = time.perf_counter()
        result = solve_solomon(parse(text), seconds=SECONDS, workers=WORKERS)
        elapsed = time.perf_counter() - started
        distance, problems = solomon_check(text, result.as_json())
        assert problems == [], (name, problems)
        assert abs(distance - result.distance) < 1e-6, (name, distance, result.distance)
        gap = 100 * (distance - best) / best
        gaps.append(gap)
        results.record("vrptw_distance", distance, by=name)
        print(
            f"vrptw: {name}: {result.vehicles} vehicles, distance {distance:.1f} against best known {best:.1f}: "
            f"gap {gap:.2f}% ({elapsed:.1f} s)"
        )
    mean = sum(gaps) / len(gaps)
    results.record("vrptw_gap_percent", mean)
    print(
        f"vrptw: mean gap to the best-known distance over {len(gaps)} instances: {mean:.2f}% "
        f"({SECONDS:g} s each, {WORKERS} search{'es' if WORKERS > 1 else ''} side by side)"
    )


def bench_route_day() -> None:
    depot, stops, vehicles = realistic_day(orders=80, drivers=5)

    def travel(a, b):  # the default straight line: road factor 1.3 at 30 km/h
        metres = haversine(a, b) * 1.3
        return metres, metres / (30 / 3.6)

    started = time.perf_counter()
    plan = plan_routes(depot, stops, vehicles)
    elapsed = time.perf_counter() - started
    assert plan_check(depot, stops, vehicles, plan, travel) == []
    reference = plan_routes(depot, stops, vehicles, seconds=10)
    assert plan_check(depot, stops, vehicles, reference, travel) == []
    served = sum(len(route.stops) for route in plan.routes)
    results.record("route_day_seconds", elapsed)
    print(
        f"routing: a day of {len(stops)} orders, {len(vehicles)} drivers, 3 zones planned in {elapsed:.2f} s: "
        f"{served} served on time, {len(plan.unassigned)} left out, {plan.distance / 1000:.1f} km "
        f"({reference.distance / 1000:.1f} km with 10 s of search, "
        f"{100 * (plan.distance - reference.distance) / reference.distance:+.2f}%)"
    )


def bench_routing(database: str) -> None:
    bench_route_day()
    bench_vrptw()
