"""Live tracking's reads: the latest position of each trip on the road, and each remaining stop's estimated
arrival recomputed from that position (issue 13, part 5). The phone stores positions through the driver app's
position action (delivery.driver_app); the fleet map, the customer's tracking page and the alerts read them here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy
import shapely
from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone
from shapely.geometry import LineString
from shapely.geometry import Point as ShapelyPoint

from delivery.geometry import geometry_shape
from delivery.models import TrackingAlert, TrackingSettings, Trip, TripPosition, TripStop
from delivery.routing.matrix import (
    MatrixError,
    MatrixProvider,
    Point,
    StraightLineMatrix,
    provider_from_settings,
)
from delivery.selectors_dispatch import ROUTE_COLOURS
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


# --- Thresholds, geometry and words shared by the fleet map and the alerts --------------------------------------

# Within this of a stop's door (or the store), the car is "at" it: standing there is work, not a stop too long.
AT_PLACE_M = 150
# Moves smaller than this are the phone's noise, not driving.
STILL_WITHIN_M = 50
# Outside every zone by less than this is GPS noise along a zone's edge.
ZONE_MARGIN_M = 100


@dataclass(frozen=True)
class Thresholds:
    off_route_m: int = 1000
    stopped_minutes: int = 10
    approaching_minutes: int = 5
    approaching_m: int = 500


def tracking_settings_for(store) -> Thresholds:
    """The store's thresholds (TrackingSettings), or the defaults when it has none."""
    row = TrackingSettings.objects.filter(store=store).first()
    if row is None:
        return Thresholds()
    return Thresholds(
        off_route_m=row.off_route_m,
        stopped_minutes=row.stopped_minutes,
        approaching_minutes=row.approaching_minutes,
        approaching_m=row.approaching_m,
    )


def _projector(latitude: float, longitude: float):
    """Longitude/latitude to metres on a plane tangent at this point (equirectangular): exact enough within the
    tens of kilometres of a delivery route."""
    scale_x = 111_320.0 * math.cos(math.radians(latitude))
    scale_y = 110_540.0

    def project(coordinates):
        coordinates = numpy.asarray(coordinates, dtype=float)
        return numpy.column_stack(
            ((coordinates[:, 0] - longitude) * scale_x, (coordinates[:, 1] - latitude) * scale_y)
        )

    return project


def distance_to_line_m(
    latitude: float, longitude: float, line: Sequence[tuple[float, float]]
) -> float | None:
    """Metres from the point to the polyline of (latitude, longitude) corners; None without a corner."""
    if not line:
        return None
    project = _projector(latitude, longitude)
    corners = project([(lng, lat) for lat, lng in line])
    shape = ShapelyPoint(corners[0]) if len(corners) == 1 else LineString(corners)
    return float(shape.distance(ShapelyPoint(0.0, 0.0)))


def distance_to_geometry_m(latitude: float, longitude: float, geometry) -> float:
    """Metres from the point to a GeoJSON zone (0 inside it)."""
    shape = geometry_shape(geometry)
    return float(shapely.transform(shape, _projector(latitude, longitude)).distance(ShapelyPoint(0.0, 0.0)))


def _stop_point(stop: TripStop) -> tuple[float, float]:
    return float(stop.order.latitude), float(stop.order.longitude)


def _store_point(store) -> tuple[float, float] | None:
    if store.latitude is None or store.longitude is None:
        return None
    return float(store.latitude), float(store.longitude)


def remaining_route(trip: Trip, stops: Sequence[TripStop]) -> list[tuple[float, float]]:
    """The planned route still to drive, as (latitude, longitude) corners: from the last stop closed before
    the next one (or the store), through the stops still to deliver in order, back to the store."""
    ordered = sorted(stops, key=lambda stop: stop.sequence)
    pending = [stop for stop in ordered if stop.status == TripStop.Status.PENDING]
    home = _store_point(trip.store)
    if pending:
        done = [stop for stop in ordered if stop.status != TripStop.Status.PENDING]
        done = [stop for stop in done if stop.sequence < pending[0].sequence]
    else:
        done = [stop for stop in ordered if stop.status != TripStop.Status.PENDING]
    start = _stop_point(done[-1]) if done else home
    corners = [start] if start else []
    corners += [_stop_point(stop) for stop in pending]
    if home:
        corners.append(home)
    return corners


def age_words(seconds: float) -> str:
    """How old a fix is, in plain words."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"


def late_words(late_by: dt.timedelta) -> str:
    minutes = math.ceil(late_by.total_seconds() / 60)
    return "on time" if minutes <= 0 else f"about {minutes} min late"


def clock_words(moment: dt.datetime, store) -> str:
    return f"{moment.astimezone(store.tz):%-I:%M %p}"


# --- The fleet map: every driver on the road, their route and next stop ---------------------------------------


def _short_name(customer) -> str:
    first = (customer.first_name or "").strip()
    last = (customer.last_name or "").strip()
    if not first and not last:
        return "Customer"
    return f"{first} {last[:1]}.".strip() if last else first


def _first_name(driver) -> str:
    return (driver.user.first_name or "").strip() or driver.name.split(" ")[0]


def _alert_data(alert: TrackingAlert, store) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": alert.get_kind_display(),
        "message": alert.message,
        "raised_at": clock_words(alert.raised_at, store),
        "resolved": alert.resolved_at is not None,
        "resolved_at": clock_words(alert.resolved_at, store) if alert.resolved_at else "",
        "stop_id": alert.stop_id,
    }


def tracking_alerts_unacknowledged(*, store, trip_ids: Iterable[int] | None = None) -> list[TrackingAlert]:
    """The alerts no manager acknowledged yet, of the store's trips on the road (or of these trips), newest
    first: one query."""
    rows = TrackingAlert.objects.filter(store=store, acknowledged_at__isnull=True)
    if trip_ids is None:
        rows = rows.filter(trip__status=Trip.Status.DEPARTED)
    else:
        rows = rows.filter(trip_id__in=list(trip_ids))
    return list(rows.select_related("trip__driver__user", "stop").order_by("-raised_at", "-pk")[:100])


def fleet_trips_query(store, day: dt.date):
    """The day's trips on the road with all their stops (orders and customers): two queries."""
    stops = Prefetch(
        "stops",
        queryset=TripStop.objects.select_related("order__order__customer").order_by("sequence"),
        to_attr="all_stops",
    )
    return (
        Trip.objects.filter(store=store, day=day, status=Trip.Status.DEPARTED)
        .select_related("store", "driver__user", "vehicle")
        .prefetch_related(stops)
        .order_by("pk")
    )


def fleet_get(
    *,
    store,
    trips: Sequence[Trip],
    colours: dict[int, tuple[str, int]],
    now: dt.datetime,
    provider: MatrixProvider | None = None,
) -> dict:
    """What the fleet map and the route cards show of the trips on the road (`trips` with `all_stops` loaded,
    see fleet_trips_query; `colours` maps a trip to its board colour and number): each driver's latest fix and
    how old it is, the route still to drive, each remaining stop's arrival and whether it keeps its window in
    plain words, the next stop, and the alerts no manager acknowledged. Two queries whatever the number of trips
    and positions (the latest fixes, the alerts), none without a trip on the road."""
    trips = [trip for trip in trips if trip.status == Trip.Status.DEPARTED]
    data = {
        "generated_at": now.isoformat(),
        "generated_label": clock_words(now, store),
        "drivers": [],
    }
    if not trips:
        return data
    positions = latest_positions(trip.pk for trip in trips)
    alerts: dict[int, list[TrackingAlert]] = {}
    for alert in tracking_alerts_unacknowledged(store=store, trip_ids=[trip.pk for trip in trips]):
        alerts.setdefault(alert.trip_id, []).append(alert)
    provider = provider or provider_from_settings()
    for trip in trips:
        trip.store = store
        stops = list(trip.all_stops)
        position = positions.get(trip.pk)
        etas = stop_etas(trip, stops, position=position, now=now, provider=provider)
        colour, number = colours.get(trip.pk, ("#4b5563", 0))
        fix = None
        if position is not None:
            age = (now - position.recorded_at).total_seconds()
            fix = {
                "latitude": float(position.latitude),
                "longitude": float(position.longitude),
                "recorded_at": position.recorded_at.isoformat(),
                "time": clock_words(position.recorded_at, store),
                "age": age_words(age),
                "fresh": now - position.recorded_at <= POSITION_FRESH_FOR,
                "accuracy_m": position.accuracy_m,
            }
        stop_rows = []
        next_stop = None
        for stop in stops:
            eta = etas.get(stop.pk)
            row = {
                "id": stop.pk,
                "sequence": stop.sequence,
                "order_id": stop.order.order_id,
                "customer": _short_name(stop.order.order.customer),
                "latitude": float(stop.order.latitude),
                "longitude": float(stop.order.longitude),
                "status": stop.status,
                "status_label": stop.get_status_display(),
                "window": f"{clock_words(stop.order.window_start, store)} – {clock_words(stop.order.window_end, store)}",
                "eta": clock_words(eta.arrival, store) if eta else "",
                "late_minutes": math.ceil(eta.late_by.total_seconds() / 60) if eta else 0,
                "words": (
                    late_words(eta.late_by)
                    if eta is None or eta.arrival >= eta.service_start
                    else f"early, hands over from {clock_words(eta.service_start, store)}"
                )
                if eta
                else stop.get_status_display(),
                "next": False,
            }
            if eta and next_stop is None:
                row["next"] = True
                next_stop = row
            stop_rows.append(row)
        late = [row for row in stop_rows if row["late_minutes"] > 0]
        if not etas:
            summary = "All stops done: driving back to the store."
        elif late:
            summary = "Running late: " + ", ".join(
                f"stop {row['sequence']} about {row['late_minutes']} min after its window" for row in late
            )
        else:
            summary = "On time for every remaining window."
        route = remaining_route(trip, stops)
        if fix is not None and route:
            route = [(fix["latitude"], fix["longitude"]), *route[1:]]
        data["drivers"].append(
            {
                "trip": trip.pk,
                "number": number,
                "colour": colour,
                "driver": _first_name(trip.driver),
                "vehicle": f"{trip.vehicle.colour} {trip.vehicle.make} {trip.vehicle.model}, {trip.vehicle.plate}",
                "position": fix,
                "route": [[lat, lng] for lat, lng in route],
                "stops": stop_rows,
                "next_stop": next_stop,
                "summary": summary,
                "late": bool(late),
                "alerts": [_alert_data(alert, store) for alert in alerts.get(trip.pk, [])],
            }
        )
    return data


def board_colours(store, day) -> dict[int, tuple[str, int]]:
    """Each trip's colour and number as the dispatch board gives them (its order of routes): one query."""
    pks = (
        Trip.objects.filter(store=store, day=day)
        .exclude(status=Trip.Status.CANCELLED)
        .order_by("shift__starts_at", "shift_id", "pk")
        .values_list("pk", flat=True)
    )
    return {pk: (ROUTE_COLOURS[(n - 1) % len(ROUTE_COLOURS)], n) for n, pk in enumerate(pks, start=1)}


def fleet_for_day(
    store, day: dt.date, *, colours: dict | None = None, now: dt.datetime | None = None
) -> dict:
    """fleet_get for the store's trips on the road that day, coloured as on the board."""
    now = now or timezone.now()
    trips = list(fleet_trips_query(store, day))
    if not trips:
        return fleet_get(store=store, trips=[], colours={}, now=now)
    return fleet_get(store=store, trips=trips, colours=colours or board_colours(store, day), now=now)
