"""Route planning for deliveries: a pure package (no models, no database) that the dispatch board calls.

planner: plan_routes, insert_stop and check_route over Depot, Stop and Vehicle; matrix: the travel-time
providers; core: the VRPTW solved by PyVRP; solomon: Solomon instances for `manage.py solve_vrptw`."""

from delivery.routing.matrix import (
    MatrixError,
    MatrixProvider,
    Point,
    RoutingEngineMatrix,
    StraightLineMatrix,
    TravelMatrix,
    provider_from_settings,
)
from delivery.routing.planner import (
    Depot,
    Insertion,
    Plan,
    PlannedRoute,
    PlannedStop,
    PlanningError,
    RouteCheck,
    Stop,
    Unassigned,
    Vehicle,
    check_route,
    insert_stop,
    plan_routes,
)

__all__ = [
    "Depot",
    "Insertion",
    "MatrixError",
    "MatrixProvider",
    "Plan",
    "PlannedRoute",
    "PlannedStop",
    "PlanningError",
    "Point",
    "RouteCheck",
    "RoutingEngineMatrix",
    "StraightLineMatrix",
    "Stop",
    "TravelMatrix",
    "Unassigned",
    "Vehicle",
    "check_route",
    "insert_stop",
    "plan_routes",
    "provider_from_settings",
]
