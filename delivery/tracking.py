"""Live tracking's reads: the latest position of each trip on the road, and each remaining stop's estimated
arrival recomputed from that position (issue 13, part 5). The phone stores positions through the driver app's
position action (delivery.driver_app); the fleet map, the customer's tracking page and the alerts read them here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from delivery.models import Trip, TripPosition, TripStop
from delivery.routing.matrix import (
    MatrixError,
    MatrixProvider,
    Point,
    StraightLineMatrix,
    provider_from_settings,
)
from delivery.services_dispatch import SERVICE_SECONDS

# A fix older than this says little about where the car is now: the ETA then starts from the planned schedule.
POSITION_FRESH_FOR = dt.timedelta(minutes=5)


def latest_positions(trip_ids: Iterable[int]) -> dict[int, TripPosition]:
    """The newest position (by the phone's time) of each of these trips that has one, in one query."""
    ids = list(trip_ids)
    if not ids:
        return {}
    # Per trip, the newest row through the (trip, -recorded_at) index; then those rows, in one statement.
    newest = (
        TripPosition.objects.filter(trip_id=OuterRef("pk")).order_by("-recorded_at", "-pk").values("pk")[:1]
    )
    rows = TripPosition.objects.filter(
        pk__in=Subquery(Trip.objects.filter(pk__in=ids).annotate(newest=Subquery(newest)).values("newest"))
    )
    return {row.trip_id: row for row in rows}


@dataclass(frozen=True)
class StopEta:
    """A remaining stop's estimated arrival (`arrival`: when the car gets there; `service_start`: when the
    hand-over can begin, not before the customer's window opens) and how late that is against the window's
    end (`late_by`, zero when on time)."""

    stop_id: int
    arrival: dt.datetime
    service_start: dt.datetime
    late_by: dt.timedelta


def stop_etas(
    trip: Trip,
    stops: Sequence[TripStop],
    *,
    position: TripPosition | None,
    now: dt.datetime,
    provider: MatrixProvider | None = None,
) -> dict[int, StopEta]:
    """Estimated arrivals at the trip's stops still to deliver, in the trip's order, from where the car is.

    `stops` are the trip's stops with `order` (the DeliveryOrder: coordinates and window) loaded. The car
    starts from its latest position when that is fresh (at most POSITION_FRESH_FOR old), otherwise from the
    store at departure (or now, when later); each stop then takes the travel time of the provider (the
    planner's: straight line by default, OSRM or Valhalla when configured, straight line when that server
    cannot answer) and SERVICE_SECONDS at the door, never starting before the customer's window opens."""
    remaining = [stop for stop in stops if stop.status == TripStop.Status.PENDING]
    if not remaining:
        return {}
    store = trip.store
    if position is not None and now - position.recorded_at <= POSITION_FRESH_FOR:
        start = Point(float(position.latitude), float(position.longitude))
    elif store.latitude is not None and store.longitude is not None:
        start = Point(float(store.latitude), float(store.longitude))
    elif position is not None:  # a store not on the map: an old fix is better than nothing
        start = Point(float(position.latitude), float(position.longitude))
    else:
        return {}
    clock = max(now, trip.departed_at or trip.planned_start)
    points = [start, *(Point(float(stop.order.latitude), float(stop.order.longitude)) for stop in remaining)]
    try:
        durations = (provider or provider_from_settings()).matrix(points).durations
    except MatrixError:
        durations = StraightLineMatrix().matrix(points).durations
    etas: dict[int, StopEta] = {}
    for index, stop in enumerate(remaining, start=1):
        arrival = clock + dt.timedelta(seconds=durations[index - 1][index])
        service_start = max(arrival, stop.order.window_start)
        late_by = max(dt.timedelta(0), service_start - stop.order.window_end)
        etas[stop.pk] = StopEta(
            stop_id=stop.pk, arrival=arrival, service_start=service_start, late_by=late_by
        )
        clock = service_start + dt.timedelta(seconds=SERVICE_SECONDS)
    return etas
