"""The driver's phone app on the server: the signed-in driver's trips of today as the phone downloads them, and
each action the phone sends (arrived, ID checked, handed over, not delivered, position) applied exactly once
under the key the phone made for it, in order per stop, with a plain answer when it cannot be applied."""

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from compliance.identity import id_verify
from delivery.events import OrderDelivered, OrderReturned
from delivery.models import (
    DeliveryOrder,
    DeliveryProof,
    DriverAction,
    DriverProfile,
    StopVisit,
    Trip,
    TripPosition,
    TripStop,
)
from delivery.proofs import delivery_proof_record, proof_input_parse
from delivery.services_orders import delivery_order_complete
from delivery.services_tracking import tracking_evaluate
from dispensary.audit import audit_record
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from dispensary.events import publish
from dispensary.inputs import date_problem, text_problem
from pos.models import PickupOrder, PickupOrderLine, Register
from pos.selectors.carts import drawer_open_get
from pos.selectors.checks import minimum_age_get
from pos.services import TenderInput
from pos.services.drawers import drawer_open

DRIVER_TRIP_STATUSES = (Trip.Status.SENT, Trip.Status.DEPARTED, Trip.Status.RETURNED)
ACTIVE_TRIP_STATUSES = (Trip.Status.SENT, Trip.Status.DEPARTED)
LIVE_ORDER_STATUSES = (PickupOrder.Status.RESERVED, PickupOrder.Status.CHECKED_IN)
# What a driver may give as the reason a stop was not delivered (the store's cancellation only when it happened).
DRIVER_RETURN_REASONS = {
    StopVisit.ReturnReason.REFUSED,
    StopVisit.ReturnReason.NO_ID,
    StopVisit.ReturnReason.NOBODY_HOME,
    StopVisit.ReturnReason.UNDER_AGE,
    StopVisit.ReturnReason.CANCELLED,
}
ID_REFUSED_REASONS = {StopVisit.ReturnReason.NO_ID, StopVisit.ReturnReason.UNDER_AGE}
MAX_BATCH = 50


class DriverActionConflict(Conflict):
    """The action cannot be applied as the phone asks (the order was cancelled, the stop is closed, a step is
    missing, the ID was refused): `message` says what happened, details.todo what the driver should do."""

    code = "driver_action_conflict"


def _conflict(message: str, todo: str, *, reason: str) -> DriverActionConflict:
    return DriverActionConflict(message, details={"todo": todo, "reason": reason})


# --- Reads ------------------------------------------------------------------------------------------------------


def driver_profile_for_user(user) -> DriverProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return DriverProfile.objects.filter(user=user, is_active=True).first()


def _driver_trips(user):
    return Trip.objects.filter(driver__user=user, status__in=DRIVER_TRIP_STATUSES).select_related(
        "store", "vehicle", "driver__user"
    )


def driver_trip_list(*, user, now: dt.datetime | None = None) -> list[Trip]:
    """The signed-in driver's trips of today (each store's local day) that were sent to them: never anyone
    else's."""
    now = now or timezone.now()
    trips = list(
        _driver_trips(user).filter(
            day__gte=now.date() - dt.timedelta(days=1), day__lte=now.date() + dt.timedelta(days=1)
        )
    )
    return [trip for trip in trips if trip.day == store_local_date(trip.store, at=now)]


def driver_trip_get(*, user, trip_id: int) -> Trip:
    """The driver's own trip, or NotFound: another driver's trip, a trip not sent yet, or any trip for a member
    who is not its driver (a budtender, a manager) does not exist here."""
    trip = _driver_trips(user).filter(pk=trip_id).first()
    if trip is None:
        raise NotFound("No such trip.")
    return trip


def _first_name_and_initial(customer) -> str:
    first = (customer.first_name or "").strip() or "Customer"
    last = (customer.last_name or "").strip()
    return f"{first} {last[0].upper()}." if last else first


def _visit_data(visit: StopVisit | None) -> dict:
    if visit is None:
        return {"arrived_at": None, "id_passed": None, "id_method": "", "return_reason": "", "conflict": ""}
    return {
        "arrived_at": visit.arrived_at.isoformat() if visit.arrived_at else None,
        "id_passed": visit.id_passed,
        "id_method": visit.id_method,
        "return_reason": visit.return_reason,
        "conflict": visit.conflict,
    }


def _proof_data(proof: DeliveryProof | None) -> dict | None:
    """What the phone shows of a stop's proof already at the store (never the images)."""
    if proof is None:
        return None
    return {"signed_name": proof.signed_name, "captured_at": proof.captured_at.isoformat()}


def driver_trip_data(trips: list[Trip], *, now: dt.datetime | None = None) -> dict:
    """The trips as the phone keeps them: stops in planned order with what to hand over and collect, and the
    minimum age the phone applies when it checks an ID offline. Queries: one for the stops (with order,
    customer and visit), one for the lines (with product and package), and the rules per store and customer
    type: bounded whatever the number of stops."""
    now = now or timezone.now()
    stops = (
        TripStop.objects.filter(trip__in=[trip.pk for trip in trips])
        .select_related("order__order__customer", "visit", "proof")
        .prefetch_related(
            Prefetch(
                "order__order__lines",
                queryset=PickupOrderLine.objects.select_related("product", "package").order_by("pk"),
            )
        )
        .order_by("trip_id", "sequence")
    )
    by_trip: dict[int, list] = {trip.pk: [] for trip in trips}
    ages: dict[tuple[int, str], int | None] = {}
    stores = {trip.pk: trip.store for trip in trips}
    for stop in stops:
        delivery: DeliveryOrder = stop.order
        order = delivery.order
        store = stores[stop.trip_id]
        age_key = (store.pk, order.customer_type)
        if age_key not in ages:
            try:
                ages[age_key] = minimum_age_get(
                    store=store, customer_type=order.customer_type, on=store_local_date(store, at=now)
                )
            except ApplicationError:
                ages[age_key] = None
        tz = store.tz
        lat, lng = f"{delivery.latitude}", f"{delivery.longitude}"
        collect = order.estimated_total + delivery.fee
        by_trip[stop.trip_id].append(
            {
                "id": stop.pk,
                "sequence": stop.sequence,
                "status": stop.status,
                "order_id": order.pk,
                "order_status": order.status,
                "customer": _first_name_and_initial(order.customer),
                "customer_type": order.customer_type,
                "address": delivery.address_text,
                "latitude": lat,
                "longitude": lng,
                "navigation": {
                    "geo": f"geo:{lat},{lng}?q={lat},{lng}",
                    "maps": f"https://www.google.com/maps/dir/?api=1&destination={lat},{lng}",
                },
                "window": (
                    f"{delivery.window_start.astimezone(tz):%-I:%M %p} – {delivery.window_end.astimezone(tz):%-I:%M %p}"
                ),
                "window_start": delivery.window_start.isoformat(),
                "window_end": delivery.window_end.isoformat(),
                "planned_arrival": f"{stop.planned_arrival.astimezone(tz):%-I:%M %p}",
                "items": [
                    {
                        "product": line.product.name,
                        "tag": line.package.tag,
                        "quantity": f"{line.quantity.normalize():f}",
                    }
                    for line in order.lines.all()
                ],
                "goods": f"{order.estimated_total:.2f}",
                "fee": f"{delivery.fee:.2f}",
                "collect": f"{collect:.2f}",
                "note": order.note,
                "minimum_age": ages[age_key],
                "visit": _visit_data(getattr(stop, "visit", None)),
                "proof": _proof_data(getattr(stop, "proof", None)),
            }
        )
    return {
        "generated_at": now.isoformat(),
        "trips": [
            {
                "id": trip.pk,
                "status": trip.status,
                "status_label": trip.get_status_display(),
                "store": trip.store.name,
                "store_phone": trip.store.phone,
                "today": store_local_date(trip.store, at=now).isoformat(),
                "vehicle": f"{trip.vehicle.colour} {trip.vehicle.make} {trip.vehicle.model}, {trip.vehicle.plate}",
                "planned_start": f"{trip.planned_start.astimezone(trip.store.tz):%-I:%M %p}",
                "stops": by_trip[trip.pk],
            }
            for trip in trips
        ],
    }


# --- The actions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    key: str
    kind: str
    stop_id: int | None = None
    trip_id: int | None = None
    payload: dict | None = None
    happened_at: str | None = None


def _parse_key(raw) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed(
            "Each action needs the key the phone made for it (a UUID).", details={"key": ["Not a UUID."]}
        ) from None


def _parse_instant(raw, *, now: dt.datetime) -> dt.datetime:
    """When the phone says the action happened: an aware ISO time, never in the future (a phone's clock that
    runs ahead is clipped to the server's)."""
    if raw in (None, ""):
        return now
    try:
        value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed(
            "Give the action's time with its UTC offset.", details={"happened_at": ["Not an aware time."]}
        )
    return min(value, now)


def _coordinate(payload: dict, name: str, limit: int) -> Decimal | None:
    raw = payload.get(name)
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and abs(value) <= limit else None


def _bounded_number(raw, low: float, high: float, *, whole: bool = False):
    """An optional number the phone sent (accuracy, speed, heading): None when absent, not a number or out of
    range; browsers send null for what they do not know."""
    if raw in (None, "") or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(value) and low <= value <= high):
        return None
    return int(value) if whole else value


def _parse_date(raw, field: str) -> dt.date | None:
    if raw in (None, ""):
        return None
    try:
        value = dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed("Give the date as year-month-day.", details={field: ["Not a date."]}) from None
    problem = date_problem(value)
    if problem:
        raise ValidationFailed(problem, details={field: [problem]})
    return value


def _stop_state(stop: TripStop, visit: StopVisit) -> dict:
    return {"id": stop.pk, "status": stop.status, **_visit_data(visit)}


def _require_open(stop: TripStop, order: PickupOrder, *, kind: str) -> None:
    if stop.trip.status not in ACTIVE_TRIP_STATUSES:
        raise _conflict(
            f"Trip {stop.trip_id} is {stop.trip.get_status_display().lower()}: nothing more can be recorded on it.",
            "Call the store.",
            reason="trip_closed",
        )
    if stop.status != TripStop.Status.PENDING:
        raise _conflict(
            f"Stop {stop.sequence} is already closed ({stop.get_status_display().lower()}).",
            "Nothing to do: go on to the next stop.",
            reason="stop_closed",
        )
    if order.status not in LIVE_ORDER_STATUSES and kind != DriverAction.Kind.RETURNED:
        raise _conflict(
            f"The store cancelled order {order.pk} while you were on the road.",
            "Do not hand it over: keep the goods in the car and mark the stop not delivered (order cancelled).",
            reason="order_cancelled",
        )


def _arrived(*, stop, visit, order, happened_at, **_) -> str:
    _require_open(stop, order, kind=DriverAction.Kind.ARRIVED)
    if visit.arrived_at is None:
        visit.arrived_at = happened_at
        visit.save(update_fields=["arrived_at", "updated_at"])
    return {"message": f"Arrived at stop {stop.sequence}.", "todo": ""}


def _id_checked(*, stop, visit, order, happened_at, payload, user, **_) -> str:
    _require_open(stop, order, kind=DriverAction.Kind.ID_CHECKED)
    if visit.arrived_at is None:
        raise _conflict(
            f"Stop {stop.sequence}: the ID check came before arriving.",
            "Tap Arrived, then check the ID again.",
            reason="out_of_order",
        )
    store = stop.trip.store
    minimum_age = minimum_age_get(
        store=store, customer_type=order.customer_type, on=store_local_date(store, at=happened_at)
    )
    scan_text = str(payload.get("scan_text") or "")
    if scan_text:
        method = "scan"
        result = id_verify(
            store=store,
            staff=user,
            minimum_age=minimum_age,
            scan_text=scan_text,
            customer=order.customer,
            at=happened_at,
        )
    else:
        method = "typed"
        date_of_birth = _parse_date(payload.get("date_of_birth"), "date_of_birth")
        expires_on = _parse_date(payload.get("expires_on"), "expires_on")
        if date_of_birth is None or expires_on is None:
            raise ValidationFailed(
                "Type the date of birth and the ID's expiry date, or scan the back of the ID.",
                details={"date_of_birth": ["Required."], "expires_on": ["Required."]},
            )
        result = id_verify(
            store=store,
            staff=user,
            minimum_age=minimum_age,
            date_of_birth=date_of_birth,
            expires_on=expires_on,
            customer=order.customer,
            at=happened_at,
        )
    visit.id_verification = result.verification
    visit.id_method = method
    visit.id_passed = result.passed
    visit.id_checked_at = happened_at
    visit.id_latitude = _coordinate(payload, "latitude", 90)
    visit.id_longitude = _coordinate(payload, "longitude", 180)
    visit.save()
    if not result.passed:
        # The check is recorded (a regulator asks for refusals too); the answer tells the driver to stop.
        return {
            "message": f"ID refused: {' '.join(result.check.problems)}",
            "todo": "Do not hand over. Mark the stop not delivered (under age or no valid ID); "
            "the goods stay in the car.",
        }
    return {"message": f"ID checked: {result.check.age}, at least {minimum_age}.", "todo": ""}


def _trip_register(trip: Trip, *, user, now) -> Register:
    """The trip's own register with an open drawer (opened at zero): the cash collected at its doors is the
    trip's, counted when the car is back. Called with the trip's row locked, so one register per trip."""
    register, _ = Register.objects.get_or_create(store=trip.store, name=f"Trip {trip.pk}")
    if drawer_open_get(register=register) is None:
        drawer_open(register=register, staff=user, opening_amount=Decimal("0"), now=now)
    return register


def _delivered(*, stop, visit, order, happened_at, payload, user, key, now, **_) -> str:
    _require_open(stop, order, kind=DriverAction.Kind.DELIVERED)
    if visit.arrived_at is None or visit.id_verification_id is None:
        raise _conflict(
            f"Stop {stop.sequence}: the hand-over came before the ID check.",
            "Check the ID, then hand over.",
            reason="out_of_order",
        )
    if not visit.id_passed:
        raise _conflict(
            f"Stop {stop.sequence}: the store's rules refused the ID, so this hand-over is not a sale.",
            "Mark the stop not delivered (under age or no valid ID). If you already handed the goods over, "
            "call the store: the manager has been told.",
            reason="id_refused",
        )
    if not DeliveryProof.objects.filter(stop=stop).exists():
        # 4 CCR 15420(a)(9): the customer's signature (or the written reason there is none) before the goods
        # change hands; the phone sends its "proof" action just before "delivered".
        raise _conflict(
            f"Stop {stop.sequence}: the hand-over came before the proof of delivery, so it is not a sale yet.",
            "Take the customer's signature (or write why there is none), then tap Complete again.",
            reason="no_proof",
        )
    collected = payload.get("collected")
    try:
        cash = Decimal(str(collected)) if collected not in (None, "") else order.estimated_total
    except InvalidOperation:
        raise ValidationFailed(
            "Give the cash collected as a number.", details={"collected": ["Not a number."]}
        ) from None
    register = _trip_register(stop.trip, user=user, now=now)
    sale = delivery_order_complete(
        delivery=stop.order,
        register=register,
        driver=user,
        id_verification=visit.id_verification,
        tenders=[TenderInput("cash", cash)],
        idempotency_key=f"driver-{key}",
        now=happened_at,
    )
    visit.sale = sale
    visit.save(update_fields=["sale", "updated_at"])
    stop.status = TripStop.Status.DELIVERED
    stop.completed_at = happened_at
    stop.save(update_fields=["status", "completed_at"])
    # Once per stop: a stop leaves "pending" once, and a replayed action never runs its effect again.
    publish(
        OrderDelivered(
            **_stop_facts(stop, order),
            sale_id=sale.pk,
            delivered_at=happened_at.isoformat(),
        )
    )
    return {"message": f"Stop {stop.sequence} handed over: receipt {sale.receipt_number}.", "todo": ""}


def _stop_facts(stop: TripStop, order: PickupOrder) -> dict:
    """The facts OrderDelivered and OrderReturned share (delivery.events)."""
    return {
        "organization_id": stop.trip.organization_id,
        "store_id": stop.trip.store_id,
        "trip_id": stop.trip_id,
        "stop_id": stop.pk,
        "order_id": order.pk,
        "delivery_order_id": stop.order_id,
        "customer_id": order.customer_id,
    }


def _returned(*, stop, visit, order, happened_at, payload, user, **_) -> str:
    _require_open(stop, order, kind=DriverAction.Kind.RETURNED)
    reason = str(payload.get("reason") or "")
    if reason not in DRIVER_RETURN_REASONS:
        raise ValidationFailed(
            "Say why the stop was not delivered: refused, no ID, nobody home or under age.",
            details={"reason": ["Unknown reason."]},
        )
    if reason == StopVisit.ReturnReason.CANCELLED and order.status in LIVE_ORDER_STATUSES:
        raise ValidationFailed(
            "The order is not cancelled: say why the stop was not delivered.",
            details={"reason": ["The order is not cancelled."]},
        )
    if visit.id_passed is False and reason not in ID_REFUSED_REASONS:
        raise _conflict(
            f"Stop {stop.sequence}: the ID was refused, so the reason is under age or no valid ID.",
            "Mark it not delivered with one of those two reasons.",
            reason="id_refused",
        )
    visit.return_reason = reason
    visit.save(update_fields=["return_reason", "updated_at"])
    stop.status = TripStop.Status.RETURNED
    stop.completed_at = happened_at
    stop.save(update_fields=["status", "completed_at"])
    audit_record(
        actor=user,
        action="delivery_stop.returned",
        instance=stop,
        after={"reason": reason, "order_id": order.pk, "trip_id": stop.trip_id},
        organization=stop.trip.store.organization,
        store=stop.trip.store,
    )
    label = StopVisit.ReturnReason(reason).label.lower()
    publish(
        OrderReturned(
            **_stop_facts(stop, order),
            reason=reason,
            reason_text=StopVisit.ReturnReason(reason).label,
            returned_at=happened_at.isoformat(),
        )
    )
    return {
        "message": f"Stop {stop.sequence} not delivered ({label}): the goods stay in the car.",
        "todo": "",
    }


def _proof(*, stop, visit, order, happened_at, payload, user, **_) -> dict:
    """The signature, photo, time and place of a hand-over: taken at the door just before Complete, which the
    server refuses without it; one per stop (a delivered stop may still receive it, for hand-overs recorded
    before the proof was required). The images are checked before anything is written."""
    if stop.status == TripStop.Status.RETURNED:
        raise _conflict(
            f"Stop {stop.sequence} was marked not delivered: a proof of delivery does not belong to it.",
            "Nothing to do: go on to the next stop.",
            reason="stop_closed",
        )
    if stop.status == TripStop.Status.PENDING:
        _require_open(stop, order, kind=DriverAction.Kind.PROOF)
        if visit.id_passed is not True:
            raise _conflict(
                f"Stop {stop.sequence}: the proof of delivery came before a passed ID check.",
                "Check the ID, then take the signature.",
                reason="out_of_order",
            )
    if DeliveryProof.objects.filter(stop=stop).exists():
        raise _conflict(
            f"Stop {stop.sequence} already has its proof of delivery.",
            "Nothing to do: the first one is kept.",
            reason="proof_exists",
        )
    proof = proof_input_parse(payload)
    delivery_proof_record(stop=stop, driver=stop.trip.driver, proof=proof, captured_at=happened_at, user=user)
    signed = f"signed by {proof.signed_name}" if proof.signature else "not signed"
    return {"message": f"Stop {stop.sequence}: proof of delivery kept ({signed}).", "todo": ""}


EFFECTS = {
    DriverAction.Kind.PROOF: _proof,
    DriverAction.Kind.ARRIVED: _arrived,
    DriverAction.Kind.ID_CHECKED: _id_checked,
    DriverAction.Kind.DELIVERED: _delivered,
    DriverAction.Kind.RETURNED: _returned,
}


def _answer(action: DriverAction, *, replayed: bool) -> dict:
    return {**action.answer, "replayed": replayed}


def driver_action_apply(
    *, user, action: ActionInput, now: dt.datetime | None = None, evaluate: bool = True
) -> dict:
    """Apply one action from the driver's phone exactly once. The key is stored with the first answer in the
    same transaction as the effect: the same key again returns that answer with no second effect (also when
    two copies arrive at once: the key's unique constraint decides). An action on a stop that is not the
    driver's raises NotFound and is not stored; bad input raises ValidationFailed. An action the rules refuse
    (the order cancelled, the stop closed, a step missing, the ID refused) is stored with its refusal: the
    answer's `outcome` is "conflict" with the message and what to do. A hand-over the server refuses is told
    to the managers (audit record and the visit's conflict). A new position then has live tracking judge the
    trip (`evaluate`; a batch judges each trip once, after its last position)."""
    now = now or timezone.now()
    driver = driver_profile_for_user(user)
    if driver is None:
        raise NotFound("No such trip.")
    key = _parse_key(action.key)
    if action.kind not in DriverAction.Kind.values:
        raise ValidationFailed("Unknown action.", details={"kind": [str(action.kind)[:20]]})
    first = DriverAction.objects.filter(driver=driver, key=key).first()
    if first is not None:
        return _check_same(first, action)
    payload = action.payload if isinstance(action.payload, dict) else {}
    for name, value in payload.items():
        # A NUL byte cannot be stored (PostgreSQL's JSON refuses it): refused before anything is written.
        problem = text_problem(value, max_length=len(value)) if isinstance(value, str) else None
        if problem:
            raise ValidationFailed(problem, details={str(name)[:40]: [problem]})
    happened_at = _parse_instant(action.happened_at, now=now)

    if action.kind == DriverAction.Kind.POSITION:
        trip = Trip.objects.filter(pk=action.trip_id, driver=driver, status__in=DRIVER_TRIP_STATUSES).first()
        if trip is None:
            raise NotFound("No such trip.")
        stop = None
    else:
        stop = (
            TripStop.objects.filter(
                pk=action.stop_id, trip__driver=driver, trip__status__in=DRIVER_TRIP_STATUSES
            )
            .select_related("trip")
            .first()
        )
        if stop is None:
            raise NotFound("No such stop.")
        trip = stop.trip
    try:
        with transaction.atomic():
            record = DriverAction(
                driver=driver,
                key=key,
                trip=trip,
                stop=stop,
                kind=action.kind,
                payload=_stored_payload(payload),
                happened_at=happened_at,
                received_at=now,
                outcome=DriverAction.Outcome.APPLIED,
            )
            try:
                with transaction.atomic():
                    record.save()
            except IntegrityError:
                raise _Replayed from None
            record.answer = _apply(record, user=user, payload=payload, now=now)
            record.outcome = record.answer["outcome"]
            record.save(update_fields=["answer", "outcome"])
    except _Replayed:
        return _check_same(DriverAction.objects.get(driver=driver, key=key), action)
    if evaluate and record.kind == DriverAction.Kind.POSITION:
        tracking_evaluate(trip_id=record.trip_id, now=now)
    return _answer(record, replayed=False)


class _Replayed(Exception):
    """The key was stored by a concurrent copy of the same action: its answer is the one."""


def _check_same(first: DriverAction, action: ActionInput) -> dict:
    same_target = first.stop_id == action.stop_id if first.stop_id else first.trip_id == action.trip_id
    if first.kind != action.kind or not same_target:
        raise Conflict(
            "This action's key was used for another action.",
            details={"key": [str(first.key)]},
            code="idempotency_key_reused",
        )
    return _answer(first, replayed=True)


def _stored_payload(payload: dict) -> dict:
    # The barcode's text is personal data (name, address, ID number): the check's record keeps what the law
    # asks for; the action keeps only that a barcode was read.
    kept = {key: value for key, value in payload.items() if key not in ("scan_text", "signature", "photo")}
    if payload.get("scan_text"):
        kept["scanned"] = True
    # The proof's images are stored once, as files (delivery.proofs), not in the action's record.
    for image in ("signature", "photo"):
        if payload.get(image):
            kept[f"{image}_sent"] = True
    return {key: str(value)[:200] for key, value in kept.items()}


def _apply(record: DriverAction, *, user, payload: dict, now) -> dict:
    base = {"key": str(record.key), "kind": record.kind, "stop_id": record.stop_id, "trip_id": record.trip_id}
    if record.kind == DriverAction.Kind.POSITION:
        latitude, longitude = _coordinate(payload, "latitude", 90), _coordinate(payload, "longitude", 180)
        if latitude is None or longitude is None:
            raise ValidationFailed(
                "Give the position's latitude and longitude.",
                details={"position": ["Missing or out of range."]},
            )
        TripPosition.objects.create(
            trip_id=record.trip_id,
            driver_id=record.driver_id,
            action=record,
            recorded_at=record.happened_at,
            received_at=now,
            latitude=latitude,
            longitude=longitude,
            accuracy_m=_bounded_number(payload.get("accuracy"), 0, 1_000_000, whole=True),
            speed_mps=_bounded_number(payload.get("speed"), 0, 200),
            heading=_bounded_number(payload.get("heading"), 0, 360),
        )
        return {**base, "outcome": "applied", "message": "Position recorded.", "todo": "", "stop": None}
    # The trip first, then the stop: the same order as every writer of a trip's stops.
    Trip.objects.select_for_update().filter(pk=record.trip_id).first()
    stop = (
        TripStop.objects.select_for_update()
        .select_related("trip__store__organization")
        .get(pk=record.stop_id)
    )
    order = PickupOrder.objects.select_for_update().select_related("customer").get(pk=stop.order.order_id)
    visit, _ = StopVisit.objects.get_or_create(stop=stop)
    try:
        with transaction.atomic():
            said = EFFECTS[record.kind](
                stop=stop,
                visit=visit,
                order=order,
                happened_at=record.happened_at,
                payload=payload,
                user=user,
                key=record.key,
                now=now,
            )
    except ValidationFailed as error:
        visit.refresh_from_db()
        stop.refresh_from_db()
        return {
            **base,
            "outcome": "conflict",
            "message": error.message,
            "todo": "Correct it and try again.",
            "reason": "invalid",
            "stop": _stop_state(stop, visit),
        }
    except DriverActionConflict as error:
        visit.refresh_from_db()
        stop.refresh_from_db()
        if record.kind == DriverAction.Kind.DELIVERED and error.details.get("reason") in (
            "id_refused",
            "order_cancelled",
        ):
            _handover_refused(stop=stop, visit=visit, user=user, message=error.message, record=record)
        return {
            **base,
            "outcome": "conflict",
            "message": error.message,
            "todo": error.details.get("todo", ""),
            "reason": error.details.get("reason", ""),
            "stop": _stop_state(stop, visit),
        }
    except ApplicationError as error:
        # The sale's own rules (limits, stock, tender): the hand-over did not become a sale.
        visit.refresh_from_db()
        stop.refresh_from_db()
        if record.kind == DriverAction.Kind.DELIVERED:
            _handover_refused(stop=stop, visit=visit, user=user, message=error.message, record=record)
        return {
            **base,
            "outcome": "conflict",
            "message": error.message,
            "todo": "Do not hand over; call the store.",
            "reason": error.code,
            "stop": _stop_state(stop, visit),
        }
    return {**base, "outcome": "applied", **said, "stop": _stop_state(stop, visit)}


def _handover_refused(*, stop: TripStop, visit: StopVisit, user, message: str, record: DriverAction) -> None:
    """The phone recorded a hand-over that the server refused (it may have happened offline): the manager must
    know, so the visit keeps the words and the audit log has the record."""
    visit.conflict = message
    visit.save(update_fields=["conflict", "updated_at"])
    audit_record(
        actor=user,
        action="delivery_stop.handover_refused",
        instance=stop,
        after={
            "message": message,
            "key": str(record.key),
            "trip_id": stop.trip_id,
            "order_id": stop.order.order_id,
        },
        organization=stop.trip.store.organization,
        store=stop.trip.store,
    )


def driver_actions_apply(*, user, actions: list, now: dt.datetime | None = None) -> list[dict]:
    """A batch from the phone's queue, in the order the phone sent it: each applied on its own (one refused or
    unknown does not stop the others); each answer carries an HTTP-like status for the phone."""
    if not isinstance(actions, list) or len(actions) > MAX_BATCH:
        raise ValidationFailed(
            f"Send a list of at most {MAX_BATCH} actions.", details={"actions": ["A list, at most 50."]}
        )
    results = []
    moved: list[int] = []  # trips with a new position in this batch, judged once each at the end
    for raw in actions:
        if not isinstance(raw, dict):
            results.append({"status": 400, "outcome": "invalid", "message": "An action is an object."})
            continue
        item = ActionInput(
            key=raw.get("key"),
            kind=raw.get("kind"),
            stop_id=_int_or_none(raw.get("stop_id")),
            trip_id=_int_or_none(raw.get("trip_id")),
            payload=raw.get("payload"),
            happened_at=raw.get("happened_at"),
        )
        try:
            answer = driver_action_apply(user=user, action=item, now=now, evaluate=False)
        except ApplicationError as error:
            results.append(
                {
                    "status": error.status,
                    "key": str(raw.get("key")),
                    "outcome": "invalid" if error.status != 404 else "not_found",
                    "code": error.code,
                    "message": error.message,
                    "todo": "Call the store." if error.status == 404 else "Correct it and try again.",
                }
            )
            continue
        results.append({"status": 200 if answer["outcome"] == "applied" else 409, **answer})
        if (
            answer["kind"] == DriverAction.Kind.POSITION
            and not answer["replayed"]
            and answer["trip_id"] not in moved
        ):
            moved.append(answer["trip_id"])
    for trip_id in moved:
        tracking_evaluate(trip_id=trip_id, now=now)
    return results


def _int_or_none(raw) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
