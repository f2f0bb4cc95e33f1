"""Delivery analytics for managers (issue 13, part 8): how a store's deliveries went over a period of its local
days, for one driver or all: on-time rate, stops per route, minutes per stop, distance per order, late and
returned orders by reason, each driver's efficiency, and revenue by zone and by hour of the day.

Every figure is aggregated in the database, in a fixed number of queries whatever the number of trips (the
tests hold the count): the stops grouped by day and driver, by return reason, by zone and by hour; the routes
one row each with their stop counts; the distance the phone's positions cover summed per route.

The rules, in plain words (the page and the README say the same):
- a route counts once it left the store (departed, or back); planned, sent and cancelled routes do not;
- an order is on time when it was handed over by the end of its window: the stop's completion, or the
  driver's arrival at the door where the completion time is missing;
- minutes per stop run from the arrival at the door to the stop's completion; where the phone recorded no
  arrival, the planned service time stands in (and the page says how many);
- a route's distance is the one its positions cover when the phone sent at least two, otherwise the planned one;
  distance per order is the routes' distance over the orders they delivered;
- stops per hour are the stops finished (delivered or brought back) over the hours on the road, from departure
  to return (to now for a route still on the road);
- revenue is the sales the delivered orders became (voided sales left out, refunds taken off), by the order's
  zone and by the hour of the sale in the store's local time."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour
from django.utils import timezone

from delivery.geometry import EARTH_RADIUS_M
from delivery.models import DriverProfile, StopVisit, Trip, TripPosition, TripStop
from dispensary.models import Store

ZERO = Decimal("0.00")
DELIVERED = TripStop.Status.DELIVERED
RETURNED = TripStop.Status.RETURNED
ON_THE_ROAD = (Trip.Status.DEPARTED, Trip.Status.RETURNED)
REASON_LABELS = dict(StopVisit.ReturnReason.choices)
NO_REASON = "No reason recorded"
LATE = "Late (delivered after the window)"


@dataclass(frozen=True)
class AnalyticsFilters:
    store: Store
    start: dt.date  # the store's local days, both included
    end: dt.date
    driver: DriverProfile | None = None


# --- Figures ------------------------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _per(amount: float, count: int, digits: int = 1) -> float | None:
    return round(amount / count, digits) if count else None


@dataclass
class Counts:
    """What a group of stops and routes adds up to (a day, a driver, the whole period)."""

    routes: int = 0
    stops: int = 0
    delivered: int = 0
    on_time: int = 0
    late: int = 0
    returned: int = 0
    service_seconds: float = 0.0
    service_stops: int = 0
    service_planned: int = 0  # of service_stops, those without an arrival (the planned service time stood in)
    distance_m: float = 0.0
    road_seconds: float = 0.0

    @property
    def completed(self) -> int:
        return self.delivered + self.returned

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.delivered)

    @property
    def minutes_per_stop(self) -> float | None:
        return _per(self.service_seconds / 60, self.service_stops)

    @property
    def km_per_order(self) -> float | None:
        return _per(self.distance_m / 1000, self.delivered, 2)

    @property
    def road_hours(self) -> float:
        return round(self.road_seconds / 3600, 2)

    @property
    def stops_per_hour(self) -> float | None:
        return round(self.completed / (self.road_seconds / 3600), 2) if self.road_seconds > 0 else None

    @property
    def stops_per_route(self) -> float | None:
        return _per(self.stops, self.routes)


@dataclass
class DayFigures(Counts):
    day: dt.date | None = None


@dataclass
class DriverFigures(Counts):
    driver_id: int = 0
    name: str = ""


@dataclass
class RouteFigures:
    trip_id: int
    day: dt.date
    driver_id: int
    stops: int
    delivered: int
    planned_m: int
    measured_m: float | None  # from the phone's positions, when it sent at least two
    road_seconds: float

    @property
    def distance_m(self) -> float:
        return self.measured_m if self.measured_m is not None else float(self.planned_m)


@dataclass
class RevenueRow:
    label: str
    orders: int
    revenue: Decimal


@dataclass
class DeliveryAnalytics:
    filters: AnalyticsFilters
    total: Counts
    days: list[DayFigures]
    drivers: list[DriverFigures]
    stops_per_route: list[tuple[int, int]]  # (stops on the route, how many routes)
    routes_measured: int  # routes whose distance comes from the phone's positions
    reasons: list[tuple[str, int]]  # late first, then each return reason
    zones: list[RevenueRow]
    hours: list[RevenueRow]  # every hour from the first to the last with a sale, in the store's local time
    revenue: Decimal = ZERO
    sales: int = 0
    routes: list[RouteFigures] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.total.routes == 0


# --- Queries ----------------------------------------------------------------------------------------------------


def _trips(filters: AnalyticsFilters):
    trips = Trip.objects.filter(
        store=filters.store,
        day__gte=filters.start,
        day__lte=filters.end,
        status__in=ON_THE_ROAD,
        departed_at__isnull=False,
    )
    if filters.driver is not None:
        trips = trips.filter(driver=filters.driver)
    return trips


def _stops(filters: AnalyticsFilters):
    stops = TripStop.objects.filter(
        trip__store=filters.store,
        trip__day__gte=filters.start,
        trip__day__lte=filters.end,
        trip__status__in=ON_THE_ROAD,
        trip__departed_at__isnull=False,
    )
    if filters.driver is not None:
        stops = stops.filter(trip__driver=filters.driver)
    return stops


# Handed over: the completion, or the arrival where the completion time is missing.
_ON_TIME = Q(status=DELIVERED) & (
    Q(completed_at__lte=F("order__window_end"))
    | Q(completed_at__isnull=True, visit__arrived_at__lte=F("order__window_end"))
)
_LATE = Q(status=DELIVERED) & (
    Q(completed_at__gt=F("order__window_end"))
    | Q(completed_at__isnull=True, visit__arrived_at__gt=F("order__window_end"))
)
_FINISHED = Q(status__in=(DELIVERED, RETURNED), completed_at__isnull=False)
_MEASURED = Q(visit__arrived_at__isnull=False, visit__arrived_at__lte=F("completed_at"))
_SERVICE = Case(
    When(_MEASURED, then=ExpressionWrapper(F("completed_at") - F("visit__arrived_at"), DurationField())),
    default=ExpressionWrapper(F("planned_departure") - F("planned_arrival"), DurationField()),
    output_field=DurationField(),
)
_SALE = Q(visit__sale__isnull=False) & ~Q(visit__sale__status="voided")
_REVENUE = Coalesce(
    Sum(
        ExpressionWrapper(
            F("visit__sale__total") - F("visit__sale__refunded_total"),
            DecimalField(max_digits=14, decimal_places=2),
        ),
        filter=_SALE,
    ),
    Value(ZERO),
    output_field=DecimalField(max_digits=14, decimal_places=2),
)


def _seconds(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000  # a backend that hands durations back as microseconds


def _driver_name(row: dict, prefix: str) -> str:
    full = f"{row[prefix + 'first_name']} {row[prefix + 'last_name']}".strip()
    return full or row[prefix + "username"]


def route_distances(trip_ids_sql: tuple[str, tuple]) -> dict[int, tuple[float, int]]:
    """Metres the phone's positions cover per trip (great circle between consecutive fixes, in the phone's
    order), and how many fixes: one statement, the consecutive pairs found by a window function."""
    subquery, params = trip_ids_sql
    table = TripPosition._meta.db_table
    lat = "CAST(latitude AS DOUBLE PRECISION)"
    lon = "CAST(longitude AS DOUBLE PRECISION)"
    haversine = (
        "POWER(SIN(RADIANS(lat - prev_lat) / 2), 2)"
        " + COS(RADIANS(prev_lat)) * COS(RADIANS(lat)) * POWER(SIN(RADIANS(lon - prev_lon) / 2), 2)"
    )
    sql = (
        "SELECT trip_id, COUNT(*) + 1,"  # noqa: S608 - the model's own table name; values are parameters
        f" SUM(2 * {EARTH_RADIUS_M} * ASIN(SQRT(CASE WHEN {haversine} > 1 THEN 1 ELSE {haversine} END)))"
        " FROM (SELECT trip_id, "
        f"{lat} AS lat, {lon} AS lon,"
        f" LAG({lat}) OVER (PARTITION BY trip_id ORDER BY recorded_at, id) AS prev_lat,"
        f" LAG({lon}) OVER (PARTITION BY trip_id ORDER BY recorded_at, id) AS prev_lon"
        f" FROM {table} WHERE trip_id IN ({subquery})) AS steps"
        " WHERE prev_lat IS NOT NULL GROUP BY trip_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {trip_id: (float(metres or 0), fixes) for trip_id, fixes, metres in cursor.fetchall()}


def delivery_analytics_get(filters: AnalyticsFilters) -> DeliveryAnalytics:
    """Every figure of the analytics page for these filters (six queries, however many trips: five without any route)."""
    now = timezone.now()
    trips = _trips(filters)
    # 1. The routes, one row each, with their stop counts.
    route_rows = list(
        trips.annotate(
            stop_count=Count("stops"),
            delivered_count=Count("stops", filter=Q(stops__status=DELIVERED)),
        )
        .values(
            "pk",
            "day",
            "driver_id",
            "driver__user__first_name",
            "driver__user__last_name",
            "driver__user__username",
            "distance_m",
            "departed_at",
            "returned_at",
            "stop_count",
            "delivered_count",
        )
        .order_by("day", "pk")
    )
    # 2. The distance the phone's positions cover, per route.
    measured = route_distances(trips.order_by().values("pk").query.sql_with_params()) if route_rows else {}
    routes = []
    names = {row["driver_id"]: _driver_name(row, "driver__user__") for row in route_rows}
    for row in route_rows:
        metres, fixes = measured.get(row["pk"], (None, 0))
        back = row["returned_at"] or now
        routes.append(
            RouteFigures(
                trip_id=row["pk"],
                day=row["day"],
                driver_id=row["driver_id"],
                stops=row["stop_count"],
                delivered=row["delivered_count"],
                planned_m=row["distance_m"],
                measured_m=metres if fixes >= 2 else None,
                road_seconds=max(0.0, (back - row["departed_at"]).total_seconds()),
            )
        )

    stops = _stops(filters)
    # 3. The stops by day and driver: outcomes, on time or late, and the minutes at the door.
    grouped = (
        stops.values("trip__day", "trip__driver_id")
        .annotate(
            stops=Count("pk"),
            delivered=Count("pk", filter=Q(status=DELIVERED)),
            returned=Count("pk", filter=Q(status=RETURNED)),
            on_time=Count("pk", filter=_ON_TIME),
            late=Count("pk", filter=_LATE),
            service=Sum(_SERVICE, filter=_FINISHED),
            service_stops=Count("pk", filter=_FINISHED),
            service_measured=Count("pk", filter=_FINISHED & _MEASURED),
        )
        .order_by("trip__day", "trip__driver_id")
    )
    total = Counts()
    days: dict[dt.date, DayFigures] = {}
    drivers: dict[int, DriverFigures] = {}

    def add_stops(target: Counts, row: dict) -> None:
        target.stops += row["stops"]
        target.delivered += row["delivered"]
        target.returned += row["returned"]
        target.on_time += row["on_time"]
        target.late += row["late"]
        target.service_seconds += _seconds(row["service"])
        target.service_stops += row["service_stops"]
        target.service_planned += row["service_stops"] - row["service_measured"]

    for row in grouped:
        day = days.setdefault(row["trip__day"], DayFigures(day=row["trip__day"]))
        driver = drivers.setdefault(row["trip__driver_id"], DriverFigures(driver_id=row["trip__driver_id"]))
        for target in (total, day, driver):
            add_stops(target, row)
    for route in routes:
        day = days.setdefault(route.day, DayFigures(day=route.day))
        driver = drivers.setdefault(route.driver_id, DriverFigures(driver_id=route.driver_id))
        for target in (total, day, driver):
            target.routes += 1
            target.distance_m += route.distance_m
            target.road_seconds += route.road_seconds
    for driver_id, figures in drivers.items():
        figures.name = names.get(driver_id, "")

    # 4. Late, and brought back by reason.
    reasons = [(LATE, total.late)] if total.late else []
    returned = (
        stops.filter(status=RETURNED)
        .values("visit__return_reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "visit__return_reason")
    )
    for row in returned:
        reason = row["visit__return_reason"]
        reasons.append((REASON_LABELS.get(reason, NO_REASON) if reason else NO_REASON, row["count"]))

    # 5. Revenue by zone, and 6. by the sale's hour in the store's local time.
    delivered = stops.filter(status=DELIVERED)
    zones = [
        RevenueRow(label=row["order__zone__name"], orders=row["orders"], revenue=_cents(row["revenue"]))
        for row in delivered.values("order__zone_id", "order__zone__name")
        .annotate(orders=Count("pk"), revenue=_REVENUE)
        .order_by("-revenue", "order__zone__name")
    ]
    by_hour = {
        row["hour"]: RevenueRow(
            label=_hour_label(row["hour"]), orders=row["orders"], revenue=_cents(row["revenue"])
        )
        for row in delivered.filter(_SALE)
        .annotate(hour=ExtractHour("visit__sale__completed_at", tzinfo=filters.store.tz))
        .values("hour")
        .annotate(orders=Count("pk"), revenue=_REVENUE)
        .order_by("hour")
    }
    hours = []
    if by_hour:
        for hour in range(min(by_hour), max(by_hour) + 1):
            hours.append(by_hour.get(hour) or RevenueRow(label=_hour_label(hour), orders=0, revenue=ZERO))

    histogram: dict[int, int] = defaultdict(int)
    for route in routes:
        histogram[route.stops] += 1
    return DeliveryAnalytics(
        filters=filters,
        total=total,
        days=[days[day] for day in sorted(days)],
        drivers=sorted(drivers.values(), key=lambda figures: (figures.name.lower(), figures.driver_id)),
        stops_per_route=sorted(histogram.items()),
        routes_measured=sum(1 for route in routes if route.measured_m is not None),
        reasons=reasons,
        zones=zones,
        hours=hours,
        revenue=sum((row.revenue for row in zones), ZERO),
        sales=sum(row.orders for row in hours),
        routes=routes,
    )


def _cents(amount) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


def _hour_label(hour: int) -> str:
    """13 -> "1 PM" (the hour that starts then)."""
    return dt.time(hour).strftime("%-I %p")


# --- Per-order rows (the CSV) -------------------------------------------------------------------------------


ORDER_COLUMNS = [
    "Day",
    "Route",
    "Driver",
    "Stop",
    "Order",
    "Zone",
    "Window from",
    "Window to",
    "Arrived",
    "Completed",
    "Outcome",
    "On time",
    "Minutes late",
    "Minutes at the stop",
    "How the minutes were measured",
    "Reason not delivered",
    "Sale",
    "Refunded",
]
OUTCOMES = dict(TripStop.Status.choices)


def delivery_analytics_order_rows(filters: AnalyticsFilters) -> list[list]:
    """One row per stop of the period's routes, in day, route and stop order, with what the page counts for it
    (one query). Times are the store's local time; money has two decimals."""
    tz = filters.store.tz
    rows = (
        _stops(filters)
        .values(
            "trip__day",
            "trip_id",
            "trip__driver__user__first_name",
            "trip__driver__user__last_name",
            "trip__driver__user__username",
            "sequence",
            "order__order_id",
            "order__zone__name",
            "order__window_start",
            "order__window_end",
            "visit__arrived_at",
            "completed_at",
            "status",
            "visit__return_reason",
            "planned_arrival",
            "planned_departure",
            "visit__sale__status",
            "visit__sale__total",
            "visit__sale__refunded_total",
        )
        .order_by("trip__day", "trip_id", "sequence")
    )

    def local(moment):
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    out = []
    for row in rows:
        arrived, completed, window_end = (
            row["visit__arrived_at"],
            row["completed_at"],
            row["order__window_end"],
        )
        handed = completed or arrived
        on_time = late_minutes = ""
        if row["status"] == DELIVERED and handed is not None:
            on_time = "Yes" if handed <= window_end else "No"
            late_minutes = max(0, round((handed - window_end).total_seconds() / 60))
        minutes = source = ""
        if row["status"] in (DELIVERED, RETURNED) and completed is not None:
            if arrived is not None and arrived <= completed:
                minutes, source = (
                    round((completed - arrived).total_seconds() / 60, 1),
                    "arrival to completion",
                )
            else:
                planned = row["planned_departure"] - row["planned_arrival"]
                minutes, source = round(planned.total_seconds() / 60, 1), "planned service time"
        reason = ""
        if row["status"] == RETURNED:
            code = row["visit__return_reason"]
            reason = REASON_LABELS.get(code, NO_REASON) if code else NO_REASON
        sale = refunded = ""
        if row["visit__sale__total"] is not None and row["visit__sale__status"] != "voided":
            sale, refunded = f"{row['visit__sale__total']:.2f}", f"{row['visit__sale__refunded_total']:.2f}"
        out.append(
            [
                row["trip__day"].isoformat(),
                row["trip_id"],
                _driver_name(row, "trip__driver__user__"),
                row["sequence"],
                row["order__order_id"],
                row["order__zone__name"],
                local(row["order__window_start"]),
                local(window_end),
                local(arrived),
                local(completed),
                OUTCOMES.get(row["status"], row["status"]),
                on_time,
                late_minutes,
                minutes,
                source,
                reason,
                sale,
                refunded,
            ]
        )
    return out
