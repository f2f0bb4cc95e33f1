"""Live tracking's writes: after the phone's positions arrive, each trip on the road is judged once against its
plan (issue 13, part 5). Managers are alerted (TrackingAlert, once per condition) when the car leaves the planned
route, would miss a promised window, stands still too long away from any stop, leaves the store's delivery zones
or carries more than the vehicle value cap; the customer's messages hear of a car nearly at their door
(StopApproaching, once per stop) and of a late delivery (StopDelayed) through the outbox."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.rules.delivery import money_label
from delivery.events import StopApproaching, StopDelayed
from delivery.geometry import distance_m, geometry_covers
from delivery.models import DeliveryZone, TrackingAlert, Trip, TripPosition, TripStop
from delivery.routing.matrix import MatrixProvider
from delivery.services_dispatch import value_cap_for
from delivery.tracking import (
    AT_PLACE_M,
    POSITION_FRESH_FOR,
    STILL_WITHIN_M,
    ZONE_MARGIN_M,
    Thresholds,
    _first_name,
    _short_name,
    clock_words,
    distance_to_geometry_m,
    distance_to_line_m,
    remaining_route,
    stop_etas,
    tracking_settings_for,
)
from dispensary import events
from dispensary.audit import audit_record
from dispensary.errors import Conflict, NotFound

Kind = TrackingAlert.Kind
# A late stop's StopDelayed is published again only when the estimate slips by this much more.
DELAY_REPUBLISH_MINUTES = 15


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: its alert's key, kind, stop and words."""

    condition: str
    kind: str
    message: str
    stop: TripStop | None = None
    late_minutes: int | None = None


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{round(metres / 10) * 10:.0f} m"


def _stopped_since(trip: Trip, latest: TripPosition, minutes: int) -> dt.datetime:
    """The phone's time since which every fix stayed within STILL_WITHIN_M of the latest one (looking back a
    little more than the threshold: one query of a bounded number of rows)."""
    since = latest.recorded_at
    rows = (
        TripPosition.objects.filter(
            trip=trip,
            recorded_at__lte=latest.recorded_at,
            recorded_at__gte=latest.recorded_at - dt.timedelta(minutes=minutes + 1),
        )
        .order_by("-recorded_at", "-pk")
        .values_list("recorded_at", "latitude", "longitude")
    )
    here = (float(latest.latitude), float(latest.longitude))
    for recorded_at, latitude, longitude in rows:
        if distance_m(here[0], here[1], float(latitude), float(longitude)) > STILL_WITHIN_M:
            break
        since = recorded_at
    return since


def _findings(
    trip: Trip,
    stops: list[TripStop],
    latest: TripPosition | None,
    *,
    limits: Thresholds,
    now: dt.datetime,
    provider: MatrixProvider | None,
) -> tuple[list[Finding], set[str], dict]:
    """What holds now (findings), which conditions are known to be clear, and the ETAs. A condition that cannot
    be judged (no fresh fix) is neither found nor clear: its open alert stays as it is."""
    store = trip.store
    driver = _first_name(trip.driver)
    found: list[Finding] = []
    clear: set[str] = set()
    pending = [stop for stop in stops if stop.status == TripStop.Status.PENDING]
    for stop in stops:
        if stop.status != TripStop.Status.PENDING:
            clear.add(f"{Kind.LATE}:{stop.pk}")

    # (e) the goods still in the car (every order not handed over yet) against the state's cap that day.
    try:
        cap = value_cap_for(store, trip.day)
    except NotFound:  # no rules on file for that day: no cap to judge against
        cap = None
    carried = sum(
        (stop.order.order.estimated_total for stop in stops if stop.status != TripStop.Status.DELIVERED),
        Decimal("0.00"),
    )
    if cap is not None and carried > cap:
        found.append(
            Finding(
                Kind.OVER_CAP,
                Kind.OVER_CAP,
                f"{driver}'s vehicle carries {money_label(carried)} of goods at retail value; the state allows at "
                f"most {money_label(cap)} in a vehicle: {money_label(carried - cap)} over.",
            )
        )
    else:
        clear.add(Kind.OVER_CAP)

    # Where the car is, and so when it arrives, is known only from a fresh fix (a batch the phone kept offline
    # may end minutes ago): without one, the position rules and the lateness are not judged this time.
    if latest is None or now - latest.recorded_at > POSITION_FRESH_FOR:
        return found, clear, {}
    etas = stop_etas(trip, stops, position=latest, now=now, provider=provider)
    # (b) a promised window the car would miss: the estimated arrival after the window's end.
    for stop in pending:
        eta = etas.get(stop.pk)
        condition = f"{Kind.LATE}:{stop.pk}"
        if eta is None or eta.late_by <= dt.timedelta(0):
            continue
        minutes = math.ceil(eta.late_by.total_seconds() / 60)
        window = (
            f"{clock_words(stop.order.window_start, store)} – {clock_words(stop.order.window_end, store)}"
        )
        found.append(
            Finding(
                condition,
                Kind.LATE,
                f"{driver} is expected at stop {stop.sequence} ({_short_name(stop.order.order.customer)}, order "
                f"{stop.order.order_id}) at {clock_words(eta.arrival, store)}, about {minutes} min after the "
                f"window promised to the customer ({window}).",
                stop=stop,
                late_minutes=minutes,
            )
        )

    here = (float(latest.latitude), float(latest.longitude))
    at = clock_words(latest.recorded_at, store)
    home = (float(store.latitude), float(store.longitude)) if store.latitude is not None else None

    # (a) off the planned route: farther than the store's distance from the legs still to drive; clear again
    # once back within half of it (so a car driving along the limit does not raise an alert at every fix).
    off = distance_to_line_m(*here, remaining_route(trip, stops))
    if off is not None and off > limits.off_route_m:
        found.append(
            Finding(
                Kind.OFF_ROUTE,
                Kind.OFF_ROUTE,
                f"{driver} was {_km(off)} from the planned route at {at} (the store allows "
                f"{_km(limits.off_route_m)}).",
            )
        )
    elif off is not None and off <= limits.off_route_m / 2:
        clear.add(Kind.OFF_ROUTE)

    # (c) standing still too long away from every stop and the store.
    places = [(float(stop.order.latitude), float(stop.order.longitude)) for stop in stops]
    if home:
        places.append(home)
    at_a_place = any(distance_m(*here, *place) <= AT_PLACE_M for place in places)
    since = _stopped_since(trip, latest, limits.stopped_minutes)
    still = latest.recorded_at - since
    if not at_a_place and still >= dt.timedelta(minutes=limits.stopped_minutes):
        found.append(
            Finding(
                Kind.STOPPED,
                Kind.STOPPED,
                f"{driver} has not moved since {clock_words(since, store)} ({math.floor(still.total_seconds() / 60)} "
                f"min at {at}), away from every stop and the store.",
            )
        )
    else:
        clear.add(Kind.STOPPED)

    # (d) outside every active delivery zone of the store (beyond GPS noise at the edge); the road between a
    # store outside its zones and the zones is not counted.
    zones = list(DeliveryZone.objects.filter(store=store, is_active=True).values_list("geometry", flat=True))
    if zones:
        inside = any(geometry_covers(zone, latitude=here[0], longitude=here[1]) for zone in zones)
        near_home = home is not None and distance_m(*here, *home) <= limits.off_route_m
        if inside:
            clear.add(Kind.OUT_OF_ZONE)
        elif not near_home and min(distance_to_geometry_m(*here, zone) for zone in zones) > ZONE_MARGIN_M:
            found.append(
                Finding(
                    Kind.OUT_OF_ZONE,
                    Kind.OUT_OF_ZONE,
                    f"{driver} was outside every delivery zone of {store.name} at {at}.",
                )
            )
    return found, clear, etas


def _announce_approach(
    trip: Trip, pending: list[TripStop], latest, etas: dict, *, limits: Thresholds, now: dt.datetime
) -> None:
    """StopApproaching once per stop: the next stop's arrival is a few minutes away, or the car is close."""
    if not pending or latest is None or now - latest.recorded_at > POSITION_FRESH_FOR:
        return
    stop = pending[0]
    eta = etas.get(stop.pk)
    close = (
        distance_m(
            float(latest.latitude),
            float(latest.longitude),
            float(stop.order.latitude),
            float(stop.order.longitude),
        )
        <= limits.approaching_m
    )
    soon = eta is not None and eta.arrival - now <= dt.timedelta(minutes=limits.approaching_minutes)
    if not (close or soon):
        return
    # The conditional update decides: a second evaluation (or a concurrent one) finds it announced.
    if not TripStop.objects.filter(pk=stop.pk, approach_announced_at__isnull=True).update(
        approach_announced_at=now
    ):
        return
    events.publish(
        StopApproaching(
            organization_id=trip.organization_id,
            store_id=trip.store_id,
            trip_id=trip.pk,
            stop_id=stop.pk,
            order_id=stop.order.order_id,
            delivery_order_id=stop.order_id,
            customer_id=stop.order.order.customer_id,
            eta=(eta.arrival if eta else now).isoformat(),
        )
    )


def _publish_delayed(trip: Trip, finding: Finding, etas: dict) -> None:
    stop = finding.stop
    events.publish(
        StopDelayed(
            organization_id=trip.organization_id,
            store_id=trip.store_id,
            trip_id=trip.pk,
            stop_id=stop.pk,
            order_id=stop.order.order_id,
            delivery_order_id=stop.order_id,
            customer_id=stop.order.order.customer_id,
            eta=etas[stop.pk].arrival.isoformat(),
            window_end=stop.order.window_end.isoformat(),
            late_minutes=finding.late_minutes or 0,
        )
    )


def tracking_evaluate(
    *, trip_id: int, now: dt.datetime | None = None, provider: MatrixProvider | None = None
) -> list[TrackingAlert]:
    """Judge a trip on the road from its latest position and remaining stops; returns the alerts raised now.

    One transaction with the trip locked, so two evaluations of the same trip run one after the other; an
    alert is raised only where no alert of its condition is open (a partial unique constraint decides), so a
    position that finds what the previous one found, or a replayed batch, raises nothing again. Open alerts
    whose condition cleared are resolved. A trip that is not on the road is left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        trip = (
            Trip.objects.select_for_update()
            .select_related("store", "driver__user")
            .filter(pk=trip_id, status=Trip.Status.DEPARTED)
            .first()
        )
        if trip is None:
            return []
        latest = TripPosition.objects.filter(trip=trip).order_by("-recorded_at", "-pk").first()
        stops = list(
            TripStop.objects.filter(trip=trip).select_related("order__order__customer").order_by("sequence")
        )
        limits = tracking_settings_for(trip.store)
        found, clear, etas = _findings(trip, stops, latest, limits=limits, now=now, provider=provider)
        open_alerts = {
            alert.condition: alert
            for alert in TrackingAlert.objects.filter(trip=trip, resolved_at__isnull=True)
        }
        raised = []
        for finding in found:
            alert = open_alerts.get(finding.condition)
            if alert is not None:
                # Still true: nothing new for the manager; a late stop slipping further is told to the customer
                # again (StopDelayed) once it is another 15 minutes later.
                if (
                    finding.kind == Kind.LATE
                    and finding.late_minutes >= (alert.late_minutes or 0) + DELAY_REPUBLISH_MINUTES
                ):
                    alert.late_minutes = finding.late_minutes
                    alert.message = finding.message
                    alert.save(update_fields=["late_minutes", "message"])
                    _publish_delayed(trip, finding, etas)
                continue
            try:
                with transaction.atomic():
                    alert = TrackingAlert.objects.create(
                        organization_id=trip.organization_id,
                        store_id=trip.store_id,
                        trip=trip,
                        stop=finding.stop,
                        kind=finding.kind,
                        condition=finding.condition,
                        message=finding.message,
                        raised_at=now,
                        position=latest,
                        late_minutes=finding.late_minutes,
                    )
            except IntegrityError:
                continue  # raised by a concurrent evaluation
            raised.append(alert)
            if finding.kind == Kind.LATE:
                _publish_delayed(trip, finding, etas)
        for condition in clear:
            alert = open_alerts.get(condition)
            if alert is not None:
                alert.resolved_at = now
                alert.save(update_fields=["resolved_at"])
        _announce_approach(
            trip,
            [stop for stop in stops if stop.status == TripStop.Status.PENDING],
            latest,
            etas,
            limits=limits,
            now=now,
        )
    return raised


def tracking_alert_acknowledge(*, alert_id: int, store, by) -> TrackingAlert:
    """A manager saw the alert: it leaves the board and the dashboard (an open condition still raises nothing
    new until it clears). Audited; acknowledging twice is refused."""
    with transaction.atomic():
        alert = (
            TrackingAlert.objects.select_for_update()
            .select_related("trip")
            .filter(pk=alert_id, store=store)
            .first()
        )
        if alert is None:
            raise NotFound("No such alert.")
        if alert.acknowledged_at is not None:
            raise Conflict("Someone already acknowledged this alert.", code="alert_acknowledged")
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = by
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=by,
            action="tracking_alert.acknowledged",
            instance=alert,
            after={"trip": alert.trip_id, "kind": alert.kind, "message": alert.message},
            organization=store.organization,
            store=store,
        )
    return alert
