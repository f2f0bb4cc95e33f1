"""The state's records of delivery trips through the sync queue (issue 12 part 6): a sent trip's retailer
delivery (California) or sales deliveries (other Metrc delivery states), filed once per event after the
trip's transaction commits; California's depart call when the car leaves; the voids of a trip cancelled
before it left; and each answer of the state written back on the trip (delivery.services_trips)."""

from compliance.models import SyncRecord
from compliance.reporting.sync import (
    sync_record_create,
    sync_record_mark_manual,
    sync_record_retry,
    sync_settled_register,
)
from delivery.events import TripCancelled, TripDeparted, TripSent, TripStateRefiled
from delivery.models import Trip
from delivery.services_trips import trip_state_settle
from delivery.state_records import (
    StateRecords,
    trip_create_records,
    trip_depart_records,
    trip_void_records,
)
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import User

REFERENCE_TYPE = "delivery.trip"


def _trip(trip_id: int) -> Trip | None:
    return (
        Trip.objects.select_related("store__organization", "driver__user", "vehicle")
        .filter(pk=trip_id)
        .first()
    )


def _file(trip: Trip, records: StateRecords) -> SyncRecord:
    return sync_record_create(
        store=trip.store,
        kind=records.kind,
        payload=records.objects,
        # A refused report of the trip holds back its later ones ("trip:" keys); its packages keep their order
        # with the store's other reports of them.
        order_keys=[f"trip:{trip.pk}", *records.labels],
        source_event=delivering_event_uuid(),
        reference=(REFERENCE_TYPE, trip.pk),
    )


def _actor(user_id):
    return User.objects.filter(pk=user_id).first() if user_id else None


@handles(TripSent)
def on_trip_sent(event: TripSent) -> None:
    trip = _trip(event.trip_id)
    if trip is None or trip.status != Trip.Status.SENT:
        return
    records = trip_create_records(trip)
    if records is not None:
        _file(trip, records)


@handles(TripStateRefiled)
def on_trip_state_refiled(event: TripStateRefiled) -> None:
    """Send the trip's refused reports again. A create the state accepted nothing of is rebuilt from the trip
    as it is now (an order given another package, say); one partly accepted is resent from where it stopped."""
    trip = _trip(event.trip_id)
    if trip is None:
        return
    actor = _actor(event.by_id)
    refused = list(
        SyncRecord.objects.filter(
            reference_type=REFERENCE_TYPE, reference_id=str(trip.pk), status=SyncRecord.Status.FAILED
        ).order_by("id")
    )
    for record in refused:
        payload = None
        answer = record.state_answer if isinstance(record.state_answer, dict) else {}
        if record.kind in ("retailer_delivery.create", "sales_delivery.create") and not answer.get("done"):
            rebuilt = trip_create_records(trip)
            if rebuilt is not None and rebuilt.kind == record.kind:
                payload = rebuilt.objects
        sync_record_retry(record=record, actor=actor, payload=payload)


@handles(TripDeparted)
def on_trip_departed(event: TripDeparted) -> None:
    trip = _trip(event.trip_id)
    if trip is None:
        return
    records = trip_depart_records(trip)
    if records is not None:
        _file(trip, records)


@handles(TripCancelled)
def on_trip_cancelled(event: TripCancelled) -> None:
    """Void what the state holds of the trip; its refused reports leave the queue (nothing of them is at the
    state, and the trip will not leave)."""
    trip = _trip(event.trip_id)
    if trip is None:
        return
    actor = _actor(event.by_id)
    for record in SyncRecord.objects.filter(
        reference_type=REFERENCE_TYPE, reference_id=str(trip.pk), status=SyncRecord.Status.FAILED
    ):
        sync_record_mark_manual(
            record=record,
            actor=actor,
            note=f"Trip {trip.pk} was cancelled before it left; the state refused this report, so it holds "
            "nothing of it and nothing is to be entered.",
        )
    records = trip_void_records(
        trip.store.jurisdiction,
        retailer_delivery_id=event.retailer_delivery_id,
        sales_delivery_ids=list(event.sales_delivery_ids),
    )
    if records is not None:
        _file(trip, records)


def on_trip_record_settled(*, record: SyncRecord, accepted: bool, ids: list, message: str) -> None:
    trip_state_settle(
        trip_id=int(record.reference_id), kind=record.kind, accepted=accepted, ids=ids, message=message
    )


sync_settled_register(REFERENCE_TYPE, on_trip_record_settled)
