"""A trip from "send" to departure: send it to the driver (the state's records are filed after commit through
the sync queue, exactly once), follow the state's answers, retry a refused filing, depart once the state has
accepted (the vehicle value cap checked again), or cancel before departure (the state's records voided, the
orders waiting again). Each action locks the trip, refuses a stale version, writes its audit record and
changes nothing on bad input."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from delivery.events import TripCancelled, TripDeparted, TripSent, TripStateRefiled
from delivery.models import Trip, TripStop
from delivery.selectors import vehicle_value_problems
from delivery.state_records import trip_goods_value, trip_state_mode, trip_stops
from dispensary import events
from dispensary.audit import audit_record
from dispensary.errors import ApplicationError, Conflict, ValidationFailed
from pos.models import PickupOrder

CREATE_KINDS = ("retailer_delivery.create", "sales_delivery.create")
VOID_KINDS = ("retailer_delivery.void", "sales_delivery.void")
DEPART_KIND = "retailer_delivery.depart"
# The reports that close the trip's records when the car is back (delivery.services_closing.trip_end).
END_KINDS = ("retailer_delivery.end", "sales_delivery.complete")


class TripRefused(ApplicationError):
    """A rule keeps the trip where it is: details.reasons says which, in plain words."""

    code = "trip_refused"
    status = 422


def _lock(trip: Trip, version: int | None) -> Trip:
    locked = (
        Trip.objects.select_for_update(of=("self",))
        .select_related("store__organization", "driver__user", "vehicle")
        .get(pk=trip.pk)
    )
    if version is not None and int(version) != locked.version:
        raise Conflict(
            "Someone else changed this trip since you opened it; reload the page and try again.",
            details={"version": locked.version},
            code="stale_version",
        )
    return locked


def _version(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "The trip's version is not a number.", details={"version": ["A number."]}
        ) from None


def _touch(trip: Trip, fields: list[str]) -> None:
    trip.version += 1
    trip.save(update_fields=[*fields, "version"])


def _audit(trip: Trip, by, action: str, before: dict, after: dict) -> None:
    audit_record(
        actor=by,
        action=action,
        instance=trip,
        before=before,
        after=after,
        organization=trip.store.organization,
        store=trip.store,
    )


def _cap_check(trip: Trip, stops: list[TripStop], moment: str) -> None:
    value = trip_goods_value(stops)
    reasons = vehicle_value_problems(store=trip.store, day=trip.day, ordered_value=value)
    if reasons:
        raise TripRefused(
            f"The trip cannot {moment}: " + " ".join(reasons),
            details={"reasons": reasons, "goods_value": str(value)},
        )
    trip.goods_value = value


def _open_orders_check(stops: list[TripStop]) -> None:
    closed = [
        stop
        for stop in stops
        if stop.order.order.status not in (PickupOrder.Status.RESERVED, PickupOrder.Status.CHECKED_IN)
    ]
    if closed:
        reasons = [
            f"Order {stop.order.order_id} is {stop.order.order.get_status_display().lower()}."
            for stop in closed
        ]
        raise TripRefused(
            "The trip carries orders that are no longer open: " + " ".join(reasons),
            details={"reasons": reasons},
        )


@transaction.atomic
def trip_send(*, trip: Trip, by, version=None, now: dt.datetime | None = None) -> Trip:
    """Planned or locked -> sent: the value cap checked again, and the state's records queued (filed after
    commit) where the state asks for them; `state_status` says where they stand."""
    locked = _lock(trip, _version(version))
    if locked.status not in Trip.OPEN_STATUSES:
        raise Conflict(
            f"This trip is {locked.get_status_display().lower()}; only a planned or locked trip is sent."
        )
    stops = trip_stops(locked)
    if not stops:
        raise TripRefused("This trip has no stops.", details={"reasons": ["This trip has no stops."]})
    _open_orders_check(stops)
    _cap_check(locked, stops, "be sent")
    before = {"status": locked.status, "state_status": locked.state_status}
    now = now or timezone.now()
    mode = trip_state_mode(locked.store.jurisdiction)
    locked.status = Trip.Status.SENT
    locked.sent_at = now.replace(
        microsecond=0
    )  # the state keeps seconds: the key that finds its record again
    locked.sent_by = by
    locked.state_status = Trip.StateStatus.NOT_REQUIRED if mode is None else Trip.StateStatus.PENDING
    locked.state_message = ""
    locked.state_updated_at = now
    _touch(
        locked,
        ["status", "sent_at", "sent_by", "state_status", "state_message", "state_updated_at", "goods_value"],
    )
    _audit(locked, by, "trip.sent", before, {"status": locked.status, "state_status": locked.state_status})
    if mode is not None:
        events.publish(
            TripSent(
                organization_id=locked.organization_id,
                store_id=locked.store_id,
                trip_id=locked.pk,
                sent_by_id=getattr(by, "pk", None),
            )
        )
    return locked


@transaction.atomic
def trip_retry_state(*, trip: Trip, by, version=None) -> Trip:
    """File the state's records of a trip again after the state refused them (after the cause was fixed)."""
    locked = _lock(trip, _version(version))
    if locked.state_status != Trip.StateStatus.FAILED:
        raise Conflict(
            f"The state's records of this trip are {locked.get_state_status_display().lower()}; only refused "
            "records are filed again."
        )
    before = {"state_status": locked.state_status, "state_message": locked.state_message}
    locked.state_status = Trip.StateStatus.PENDING
    locked.state_updated_at = timezone.now()
    _touch(locked, ["state_status", "state_updated_at"])
    _audit(locked, by, "trip.state_refiled", before, {"state_status": locked.state_status})
    events.publish(
        TripStateRefiled(
            organization_id=locked.organization_id,
            store_id=locked.store_id,
            trip_id=locked.pk,
            by_id=getattr(by, "pk", None),
        )
    )
    return locked


def trip_departure_refusal(trip: Trip) -> str | None:
    """Why the trip may not leave yet, in plain words; None when it may."""
    if trip.status != Trip.Status.SENT:
        return f"This trip is {trip.get_status_display().lower()}; only a trip sent to its driver departs."
    if trip.state_status in (Trip.StateStatus.ACCEPTED, Trip.StateStatus.NOT_REQUIRED):
        return None
    if trip.state_status == Trip.StateStatus.FAILED:
        detail = trip.state_message or "the state refused them"
    elif trip.state_status == Trip.StateStatus.PENDING:
        detail = "they were sent and the state has not answered yet"
    else:
        detail = "they have not been filed"
    return f"The state has not accepted this trip's records yet: {detail}"


@transaction.atomic
def trip_depart(*, trip: Trip, by, version=None, now: dt.datetime | None = None) -> Trip:
    """Sent -> departed, only once the state accepted the trip's records (or needs none), within the vehicle
    value cap. Publishes TripDeparted (California's depart call to the state is filed from it)."""
    locked = _lock(trip, _version(version))
    refusal = trip_departure_refusal(locked)
    if refusal:
        raise TripRefused(refusal, details={"reasons": [refusal], "state_status": locked.state_status})
    stops = trip_stops(locked)
    _open_orders_check(stops)
    _cap_check(locked, stops, "depart")
    now = now or timezone.now()
    before = {"status": locked.status}
    locked.status = Trip.Status.DEPARTED
    locked.departed_at = now
    _touch(locked, ["status", "departed_at", "goods_value"])
    _audit(locked, by, "trip.departed", before, {"status": locked.status, "departed_at": now.isoformat()})
    events.publish(
        TripDeparted(
            organization_id=locked.organization_id,
            store_id=locked.store_id,
            store_name=locked.store.name,
            trip_id=locked.pk,
            driver_id=locked.driver_id,
            driver_first_name=locked.driver.user.first_name or locked.driver.name,
            vehicle_id=locked.vehicle_id,
            vehicle=str(locked.vehicle),
            departed_at=now.isoformat(),
            stops=[
                {
                    "sequence": stop.sequence,
                    "stop_id": stop.pk,
                    "order_id": stop.order.order_id,
                    "delivery_order_id": stop.order_id,
                    "customer_id": stop.order.order.customer_id,
                    "planned_arrival": stop.planned_arrival.isoformat(),
                    "window_start": stop.order.window_start.isoformat(),
                    "window_end": stop.order.window_end.isoformat(),
                }
                for stop in stops
            ],
        )
    )
    return locked


@transaction.atomic
def trip_cancel_sent(*, trip: Trip, by, version=None, reason: str = "") -> Trip:
    """A sent trip that has not left is cancelled: the state's records it has are voided (after commit, once),
    its stops removed and its orders wait for another trip."""
    locked = _lock(trip, _version(version))
    if locked.status != Trip.Status.SENT:
        raise Conflict(
            f"This trip is {locked.get_status_display().lower()}; only a sent trip that has not left is cancelled here."
        )
    if locked.state_status == Trip.StateStatus.PENDING:
        raise TripRefused(
            "The state has not answered yet about this trip's records; cancel once it has answered, so they "
            "can be voided.",
            details={"reasons": ["Waiting for the state's answer."]},
        )
    stops = list(locked.stops.exclude(status=TripStop.Status.RETURNED).order_by("sequence"))
    sales_ids = [stop.state_reference for stop in stops if stop.state_reference]
    retailer_id = locked.state_reference
    before = {
        "status": locked.status,
        "state_status": locked.state_status,
        "orders": [stop.order_id for stop in stops],
    }
    order_ids = [stop.order_id for stop in stops]
    TripStop.objects.filter(pk__in=[stop.pk for stop in stops]).delete()
    now = timezone.now()
    locked.status = Trip.Status.CANCELLED
    locked.cancelled_at = now
    has_records = bool(retailer_id or sales_ids) and trip_state_mode(locked.store.jurisdiction) is not None
    locked.state_status = Trip.StateStatus.PENDING if has_records else Trip.StateStatus.NOT_REQUIRED
    locked.state_message = ""
    locked.state_updated_at = now
    _touch(locked, ["status", "cancelled_at", "state_status", "state_message", "state_updated_at"])
    _audit(
        locked,
        by,
        "trip.cancelled",
        before,
        {
            "status": locked.status,
            "state_status": locked.state_status,
            "reason": (reason or "").strip()[:500],
        },
    )
    events.publish(
        TripCancelled(
            organization_id=locked.organization_id,
            store_id=locked.store_id,
            trip_id=locked.pk,
            retailer_delivery_id=retailer_id or "",
            sales_delivery_ids=sales_ids,
            order_ids=order_ids,
            by_id=getattr(by, "pk", None),
        )
    )
    return locked


# --- The state's answers (called by the sync queue, in the transaction that records the answer) -------------


def trip_state_settle(*, trip_id: int, kind: str, accepted: bool, ids: list, message: str) -> Trip | None:
    """Record the state's answer to one of the trip's reports: the create accepted (the state's ids kept on the
    trip or its stops) or refused (the state's words kept, the trip may not depart); a depart or void refused
    shows the same way. Idempotent: the same answer twice changes nothing more."""
    locked = (
        Trip.objects.select_for_update(of=("self",))
        .select_related("store__organization")
        .filter(pk=trip_id)
        .first()
    )
    if locked is None:
        return None
    before = {"state_status": locked.state_status, "state_reference": locked.state_reference}
    fields = ["state_status", "state_message", "state_updated_at"]
    if kind == "retailer_delivery.create" and ids and ids[0] not in (None, True):
        locked.state_reference = str(ids[0])
        fields.append("state_reference")
    if kind == "sales_delivery.create":
        # The state's ids in request order, one per stop (those accepted before a refusal too, to void them).
        stops = list(locked.stops.exclude(status=TripStop.Status.RETURNED).order_by("sequence"))
        for stop, state_id in zip(stops, ids, strict=False):
            if state_id not in (None, True) and stop.state_reference != str(state_id):
                stop.state_reference = str(state_id)
                stop.save(update_fields=["state_reference"])
    if accepted:
        if kind in CREATE_KINDS and locked.status == Trip.Status.SENT:
            locked.state_status = Trip.StateStatus.ACCEPTED
        elif kind in VOID_KINDS or kind == DEPART_KIND:
            locked.state_status = Trip.StateStatus.ACCEPTED
        elif kind in END_KINDS and locked.status == Trip.Status.RETURNED:
            locked.state_status = Trip.StateStatus.ACCEPTED
        locked.state_message = ""
        action = "trip.state_accepted"
    else:
        what = {
            DEPART_KIND: "The state refused the departure: ",
            "retailer_delivery.void": "The state refused to void the trip's record: ",
            "sales_delivery.void": "The state refused to void the trip's records: ",
            "retailer_delivery.sale": "The state refused a sale at a door: ",
            "retailer_delivery.end": "The state refused the trip's end: ",
            "sales_delivery.complete": "The state refused a delivery's completion: ",
        }.get(kind, "")
        locked.state_status = Trip.StateStatus.FAILED
        locked.state_message = (what + message)[:4000]
        action = "trip.state_refused"
    locked.state_updated_at = timezone.now()
    _touch(locked, fields)
    _audit(
        locked,
        None,
        action,
        before,
        {
            "state_status": locked.state_status,
            "state_reference": locked.state_reference,
            "message": locked.state_message,
        },
    )
    return locked
