"""The state's records of a trip from the doors to its end (issue 13 part 6), through the sync queue: a sale at a
door is reported as the retailer delivery's sale for that stop in California (POST .../retailer/sale) and as the
completion of the stop's sales delivery elsewhere (PUT /sales/v2/deliveries/complete), never as a receipt too;
when the car is back, California's retailer delivery ends with what is left of every package, the other states
complete the sales deliveries of the stops not delivered with their packages returned and the state's reasons;
packages the trip emptied are finished after that (a package on a retailer delivery cannot be finished)."""

import datetime as dt

from compliance.models import SyncRecord
from compliance.reporting.state_lists import _cached
from compliance.reporting.sync import sync_record_create
from compliance.traceability.base import Operation
from compliance.traceability.metrc import (
    package_finish_object,
    retailer_delivery_end_object,
    retailer_delivery_sale_object,
    retailer_end_package_object,
    returned_package_object,
    sales_delivery_complete_object,
    state_quantity,
)
from compliance.traceability.registry import store_license
from delivery.events import TripReturned
from delivery.models import StopVisit, Trip, TripStop
from delivery.services_closing import trip_all_stops, trip_balance
from delivery.state_records import RETAILER, SALES, _recipient, trip_state_mode
from dispensary.clock import store_local_date
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Store
from inventory.models import Package

REFERENCE_TYPE = "delivery.trip"  # the trip's page and the dashboard follow these reports (trip_records)

# Our reasons for a stop not delivered -> the state's return reason (GET /sales/v2/deliveries/returnreasons),
# in order of preference; "Other" with our words as the note where the state has none closer.
RETURN_REASONS = {
    StopVisit.ReturnReason.REFUSED: ("Customer Refused",),
    StopVisit.ReturnReason.NOBODY_HOME: ("Customer Not Present", "Customer Not Home"),
    StopVisit.ReturnReason.NO_ID: ("Customer Refused",),
    StopVisit.ReturnReason.UNDER_AGE: ("Customer Refused",),
    StopVisit.ReturnReason.CANCELLED: ("Other",),
}
OTHER = "Other"


def delivery_sale_stop(sale_id) -> TripStop | None:
    """The trip stop whose hand-over this sale is, or None for a sale at the counter."""
    return (
        TripStop.objects.select_related(
            "trip__store__organization", "order__order__customer", "order__address", "visit"
        )
        .filter(order__order__sale__id=sale_id)
        .exclude(status=TripStop.Status.RETURNED)
        .first()
    )


def _file(trip: Trip, kind: str, objects: list[dict], labels) -> SyncRecord:
    return sync_record_create(
        store=trip.store,
        kind=kind,
        payload=objects,
        order_keys=[f"trip:{trip.pk}", *labels],
        source_event=delivering_event_uuid(),
        reference=(REFERENCE_TYPE, trip.pk),
    )


def delivery_sale_report(event, store: Store, *, transactions: list[dict], customer: dict) -> bool:
    """Report a delivered order's sale as the state's delivery record asks (True), or leave it to the receipt
    (False: a sale at the counter, a state without delivery records, a trip the state holds no record of)."""
    stop = delivery_sale_stop(event.sale_id)
    if stop is None:
        return False
    trip = stop.trip
    mode = trip_state_mode(store.jurisdiction)
    labels = [line["package_label"] for line in event.lines]
    sold_at = dt.datetime.fromisoformat(event.completed_at)
    if mode == RETAILER and trip.state_reference:
        obj = retailer_delivery_sale_object(
            int(trip.state_reference),
            sold_at,
            store.tz,
            customer["customer_type"],
            transactions=transactions,
            recipient=_recipient(stop),
            patient_license=customer.get("patient_license"),
            estimated_arrival=stop.planned_arrival,
        )
        _file(trip, Operation.RETAILER_DELIVERY_SALE.value, [obj], labels)
        return True
    if mode == SALES and stop.state_reference:
        obj = sales_delivery_complete_object(
            int(stop.state_reference),
            sold_at,
            store.tz,
            accepted_packages=list(dict.fromkeys(labels)),
        )
        _file(trip, Operation.SALES_DELIVERY_COMPLETE.value, [obj], labels)
        return True
    return False


def state_return_reason(store: Store, reason: str) -> tuple[str, str]:
    """The state's return reason for ours, and the note that goes with it (our words)."""
    label = StopVisit.ReturnReason(reason).label if reason else "Not delivered"
    offered = _cached(
        store, store_license(store), "delivery-return-reasons", lambda p: p.delivery_return_reasons()
    )
    names = {item.name.lower(): item.name for item in offered or []}
    for wanted in RETURN_REASONS.get(reason, ()):
        if not names or wanted.lower() in names:
            return names.get(wanted.lower(), wanted), label
    return names.get(OTHER.lower(), OTHER), label


@handles(TripReturned)
def on_trip_returned(event: TripReturned) -> None:
    trip = (
        Trip.objects.select_related("store__organization", "driver__user", "vehicle")
        .filter(pk=event.trip_id)
        .first()
    )
    if trip is None:
        return
    store = trip.store
    mode = trip_state_mode(store.jurisdiction)
    stops = trip_all_stops(trip)
    balance = trip_balance(trip, stops)
    returned_at = dt.datetime.fromisoformat(event.returned_at)
    labels = [entry.package.tag for entry in balance.packages]
    if mode == RETAILER and trip.state_reference:
        packages = []
        for entry in balance.packages:
            quantity, unit = state_quantity(
                entry.left - entry.sold, entry.package.unit, entry.package.state_unit
            )
            packages.append(retailer_end_package_object(entry.package.tag, quantity, unit))
        _file(
            trip,
            Operation.RETAILER_DELIVERY_END.value,
            [
                retailer_delivery_end_object(
                    int(trip.state_reference), returned_at, store.tz, packages=packages
                )
            ],
            labels,
        )
    elif mode == SALES:
        completions = []
        for stop in balance.returned:
            if not stop.state_reference:
                continue
            visit = getattr(stop, "visit", None)
            reason, note = state_return_reason(store, visit.return_reason if visit else "")
            arrived = (visit.arrived_at if visit else None) or stop.completed_at or returned_at
            completions.append(
                sales_delivery_complete_object(
                    int(stop.state_reference),
                    arrived,
                    store.tz,
                    accepted_packages=[],
                    returned_packages=[
                        returned_package_object(
                            line.package.tag,
                            *state_quantity(line.quantity, line.package.unit, line.package.state_unit),
                            reason,
                            note,
                        )
                        for line in stop.order.order.lines.all()
                    ],
                )
            )
        if completions:
            _file(trip, Operation.SALES_DELIVERY_COMPLETE.value, completions, labels)
    if not ((mode == RETAILER and trip.state_reference) or mode == SALES):
        return  # the sales went as receipts, which finished what they emptied
    emptied = [
        package.tag
        for package in Package.objects.filter(
            pk__in=[entry.package.pk for entry in balance.packages], quantity_on_hand=0
        )
        .only("tag")
        .order_by("tag")
    ]
    if emptied:
        day = store_local_date(store, at=returned_at)
        sync_record_create(
            store=store,
            kind=Operation.PACKAGE_FINISH.value,
            payload=[package_finish_object(tag, day) for tag in emptied],
            order_keys=[f"trip:{trip.pk}", *emptied],
            source_event=delivering_event_uuid(),
            reference=(REFERENCE_TYPE, trip.pk),
            license_number=store_license(store),
        )
