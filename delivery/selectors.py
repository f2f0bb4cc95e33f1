"""Reads of the delivery app: which zone serves a point, whether a place may receive a delivery, the store's
delivery hours on a day (the state's legal hours intersected with the store's opening hours), whether a window
can be booked, and whether a vehicle's load keeps the state's value caps."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from guardian.models import UserObjectPermission

from compliance.rules.delivery import (
    LegalHours,
    legal_hours,
    money_label,
    time_label,
    vehicle_value_check,
    wall_time_exists,
    window_check,
)
from compliance.selectors import jurisdiction_rules_get
from delivery.geometry import distance_m, geometry_covers
from delivery.models import DeliveryExclusion, DeliveryZone, DriverProfile, DriverShift, Vehicle
from dispensary.models import WEEKDAYS, Store

PO_BOX = re.compile(r"\b(p\.?\s*o\.?\s*box|post\s+office\s+box)\b", re.IGNORECASE)
KIND_PHRASES = {
    "school": "a school (K-12)",
    "day_care": "a day-care centre",
    "youth_center": "a youth centre",
    "public_land": "public land or a public building",
    "other": "a place on the store's exclusion list",
}
DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def delivery_zone_list(*, store: Store, active_only: bool = False):
    zones = DeliveryZone.objects.filter(store=store)
    return zones.filter(is_active=True) if active_only else zones


def delivery_exclusion_list(*, store: Store, active_only: bool = False):
    places = DeliveryExclusion.objects.filter(store=store)
    return places.filter(is_active=True) if active_only else places


def zone_for_point(zones, *, latitude, longitude) -> DeliveryZone | None:
    """Of the zones covering the point, the most specific one: the smallest area; on equal areas the lower
    fee, then the lower minimum order, then the name. A point on an edge is inside."""
    covering = [z for z in zones if geometry_covers(z.geometry, latitude=latitude, longitude=longitude)]
    if not covering:
        return None
    return min(covering, key=lambda z: (round(z.area, 12), z.fee, z.minimum_order, z.name))


def delivery_zone_for_point(*, store: Store, latitude, longitude) -> DeliveryZone | None:
    return zone_for_point(
        delivery_zone_list(store=store, active_only=True), latitude=latitude, longitude=longitude
    )


def exclusion_reasons(exclusions, *, latitude, longitude) -> list[str]:
    reasons = []
    for place in exclusions:
        if place.geometry is not None:
            inside = geometry_covers(place.geometry, latitude=latitude, longitude=longitude)
            where = "inside the area of"
        else:
            inside = distance_m(latitude, longitude, place.latitude, place.longitude) <= place.radius_m
            where = f"within {place.radius_m} m of"
        if inside:
            reasons.append(
                f"The address is {where} {place.name}, {KIND_PHRASES.get(place.kind, 'an excluded place')}, "
                "where the store may not deliver."
            )
    return reasons


def physical_address_reasons(*lines: str) -> list[str]:
    if any(PO_BOX.search(line or "") for line in lines):
        return ["Deliveries go to a physical address only; a post office box is not one."]
    return []


@dataclass(frozen=True)
class PlaceVerdict:
    zone: DeliveryZone | None
    reasons: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons


def delivery_place_check(
    *, store: Store, latitude, longitude, line1: str = "", line2: str = ""
) -> PlaceVerdict:
    """May the store deliver to this point (and street address)? Two queries: zones and excluded places."""
    reasons = physical_address_reasons(line1, line2)
    zone = delivery_zone_for_point(store=store, latitude=latitude, longitude=longitude)
    if zone is None:
        reasons.append(f"The address is outside every delivery zone of {store.name}.")
    reasons += exclusion_reasons(
        delivery_exclusion_list(store=store, active_only=True), latitude=latitude, longitude=longitude
    )
    return PlaceVerdict(zone=zone, reasons=tuple(reasons))


# --- Hours -------------------------------------------------------------------------------------------------------


def _minutes(moment: str) -> int:
    hour, minute = (int(part) for part in moment.split(":"))
    return hour * 60 + minute


def _label(minutes: int) -> str:
    if minutes >= 24 * 60:
        return "midnight"
    return time_label(dt.time(minutes // 60, minutes % 60))


@dataclass(frozen=True)
class DayHours:
    """A store's delivery hours on one local day: the state's, the store's own, and what both allow."""

    day: dt.date
    legal: LegalHours
    store_spans: tuple[tuple[int, int], ...]  # minutes from midnight, [start, end)
    spans: tuple[tuple[int, int], ...] = field(default=())

    @property
    def store_label(self) -> str:
        return ", ".join(f"{_label(a)} – {_label(b)}" for a, b in self.store_spans) or "closed"

    @property
    def label(self) -> str:
        if not self.legal.on_file or not self.legal.permitted:
            return "no deliveries"
        return ", ".join(f"{_label(a)} – {_label(b)}" for a, b in self.spans) or "no deliveries"


def delivery_hours_for_day(store: Store, day: dt.date, *, rules=None) -> DayHours:
    rules = rules or jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=day)
    legal = legal_hours(rules, day)
    store_spans = tuple(
        (_minutes(opens), _minutes(closes))
        for opens, closes in (store.opening_hours or {}).get(WEEKDAYS[day.weekday()], [])
    )
    spans: tuple[tuple[int, int], ...] = ()
    if legal.on_file and legal.permitted:
        low = legal.start.hour * 60 + legal.start.minute if legal.start else 0
        high = legal.end.hour * 60 + legal.end.minute if legal.end else 24 * 60
        if legal.return_by is not None:
            high = min(high, legal.return_by.hour * 60 + legal.return_by.minute)
        spans = tuple((max(a, low), min(b, high)) for a, b in store_spans if max(a, low) < min(b, high))
    return DayHours(day=day, legal=legal, store_spans=store_spans, spans=spans)


def delivery_week_hours(store: Store, first_day: dt.date) -> list[DayHours]:
    """Seven days of delivery hours from `first_day` (one read of the rules per distinct day, cached)."""
    return [delivery_hours_for_day(store, first_day + dt.timedelta(days=n)) for n in range(7)]


def delivery_window_problems(
    *, store: Store, start: dt.datetime, end: dt.datetime, return_minutes: int = 0
) -> list[str]:
    """Reasons a delivery window (aware instants) cannot be booked at this store: the state's hours and return
    time on that local day, and the store's own opening hours. Empty when it can."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("delivery windows are aware datetimes")
    if end <= start:
        return ["The window must end after it starts."]
    zone = store.tz
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date()
    midnight_end = local_end.date() == day + dt.timedelta(days=1) and local_end.time() == dt.time.min
    if local_end.date() != day and not midnight_end:
        return ["A delivery window must start and end on the same local day."]
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=day)
    end_time = None if midnight_end else local_end.time().replace(second=0, microsecond=0)
    start_time = local_start.time().replace(second=0, microsecond=0)
    reasons = window_check(
        rules,
        day=day,
        start=start_time,
        end=end_time,
        time_zone=store.time_zone,
        return_minutes=return_minutes,
    )
    hours = delivery_hours_for_day(store, day, rules=rules)
    if not hours.legal.permitted or not hours.legal.on_file:
        return reasons
    a = start_time.hour * 60 + start_time.minute
    b = 24 * 60 if end_time is None else end_time.hour * 60 + end_time.minute
    if not any(opens <= a and b <= closes for opens, closes in hours.store_spans):
        reasons.append(
            f"{store.name} is open {hours.store_label} on {DAY_NAMES[day.weekday()]}; this window runs from "
            f"{_label(a)} to {_label(b)}."
        )
    return reasons


def local_window(store: Store, day: dt.date, start: dt.time, end: dt.time) -> tuple[dt.datetime, dt.datetime]:
    """Aware instants of a wall-clock window on a store's local day (for forms and tests)."""
    if not wall_time_exists(day, start, store.tz) or not wall_time_exists(day, end, store.tz):
        raise ValueError("that local time does not exist on that day (the clocks go forward)")
    return (
        dt.datetime.combine(day, start, tzinfo=store.tz),
        dt.datetime.combine(day, end, tzinfo=store.tz),
    )


# --- Vehicles ------------------------------------------------------------------------------------------------------


def vehicle_value_problems(
    *, store: Store, day: dt.date, ordered_value: Decimal, unordered_value: Decimal = Decimal("0")
) -> list[str]:
    """The check the planner calls when it plans a route and when the route departs: reasons the vehicle's
    load (retail value of goods on orders, and of goods not yet ordered) breaks the store's state's caps."""
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=day)
    return vehicle_value_check(rules, day=day, ordered_value=ordered_value, unordered_value=unordered_value)


# --- A delivery quote for a point and an order value ------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryQuote:
    allowed: bool
    reasons: tuple[str, ...]
    zone: DeliveryZone | None
    fee: Decimal | None
    estimated_minutes: int | None
    minimum_order: Decimal | None


def delivery_quote_get(
    *,
    store: Store,
    latitude,
    longitude,
    order_value: Decimal,
    line1: str = "",
    line2: str = "",
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> DeliveryQuote:
    """Zone, fee and estimated time for a point, with every reason the delivery would be refused."""
    place = delivery_place_check(
        store=store, latitude=latitude, longitude=longitude, line1=line1, line2=line2
    )
    reasons = list(place.reasons)
    zone = place.zone
    if zone is not None and order_value < zone.minimum_order:
        reasons.append(
            f"The {zone.name} zone has a minimum order of {money_label(zone.minimum_order)}; this order is "
            f"{money_label(order_value)}."
        )
    if window is not None:
        reasons += delivery_window_problems(store=store, start=window[0], end=window[1])
    return DeliveryQuote(
        allowed=not reasons,
        reasons=tuple(reasons),
        zone=zone,
        fee=zone.fee if zone else None,
        estimated_minutes=zone.estimated_minutes if zone else None,
        minimum_order=zone.minimum_order if zone else None,
    )


# --- Drivers, vehicles and shifts --------------------------------------------------------------------------------


def driver_profile_list(*, organization, store: Store | None = None):
    """The organization's driver profiles; with `store`, those whose member was granted that store."""
    profiles = DriverProfile.objects.filter(organization=organization).select_related("user")
    if store is not None:
        granted = UserObjectPermission.objects.filter(
            permission__codename="access_store",
            permission__content_type__app_label="dispensary",
            content_type__app_label="dispensary",
            content_type__model="store",
            object_pk=str(store.pk),
        ).values("user_id")
        profiles = profiles.filter(user_id__in=granted)
    return profiles


def vehicle_list(*, store: Store, active_only: bool = False):
    vehicles = Vehicle.objects.filter(store=store)
    return vehicles.filter(is_active=True) if active_only else vehicles


def shift_day_list(*, store: Store, day: dt.date):
    """A store's shifts starting on a local day, in start order, cancelled ones included (the page greys
    them). Two queries: the shifts with driver and vehicle, and their chosen zones."""
    return (
        DriverShift.objects.filter(store=store, day=day)
        .select_related("driver__user", "vehicle")
        .prefetch_related("zones")
        .order_by("starts_at", "pk")
    )


def driver_shifts_for_user(*, user, day_of=None):
    """The signed-in driver's own shifts that are not over: today's (in each store's local day) and any later
    one, soonest first; never anyone else's."""
    from django.utils import timezone

    now = day_of or timezone.now()
    return (
        DriverShift.objects.filter(
            driver__user=user, cancelled_at__isnull=True, ends_at__gt=now - dt.timedelta(hours=12)
        )
        .select_related("store", "vehicle", "driver__user")
        .order_by("starts_at")
    )


@dataclass(frozen=True)
class OnShift:
    """A driver on shift at a moment, as the dispatch board and the planner read it."""

    shift_id: int
    driver: DriverProfile
    vehicle: Vehicle | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    zone_ids: frozenset[int]
    clocked_in: bool

    @property
    def capacity(self) -> int:
        return self.vehicle.capacity if self.vehicle else 0


def drivers_on_shift(store: Store, at: dt.datetime) -> list[OnShift]:
    """Who is on shift at a store at an instant (planned shift covering `at`, not cancelled, not clocked out),
    with their vehicle and capacity, the shift's window and the ids of the zones they serve. At most three
    queries, however many drivers: shifts with driver and vehicle, chosen zones, the store's active zones."""
    if at.tzinfo is None:
        raise ValueError("`at` is an aware datetime")
    shifts = list(
        DriverShift.objects.filter(
            store=store,
            cancelled_at__isnull=True,
            clocked_out_at__isnull=True,
            starts_at__lte=at,
            ends_at__gt=at,
        )
        .select_related("driver__user", "vehicle")
        .prefetch_related("zones")
        .order_by("starts_at", "pk")
    )
    every_zone: frozenset[int] = frozenset()
    if any(shift.all_zones for shift in shifts):
        every_zone = frozenset(delivery_zone_list(store=store, active_only=True).values_list("pk", flat=True))
    return [
        OnShift(
            shift_id=shift.pk,
            driver=shift.driver,
            vehicle=shift.vehicle,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            zone_ids=every_zone if shift.all_zones else frozenset(zone.pk for zone in shift.zones.all()),
            clocked_in=shift.clocked_in_at is not None,
        )
        for shift in shifts
    ]
