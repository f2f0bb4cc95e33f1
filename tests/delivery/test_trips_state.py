# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The state's records of a trip before the car leaves (issue 12 part 6): California's retailer delivery filed
when the trip is sent, accepted, then the depart call when it leaves; a refusal blocks the departure with the
state's words until a retry after the fix is accepted; lost answers never duplicate a record at the state;
other Metrc states' sales deliveries per stop; states without delivery records; cancelling voids them once."""

import datetime as dt
from decimal import Decimal as D

import pytest

from compliance.models import SyncRecord
from delivery.models import Trip, TripStop
from delivery.services_trips import TripRefused, trip_cancel_sent, trip_depart, trip_retry_state, trip_send
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord, OutboxEvent, Store
from pos.models import PickupOrderLine
from tests.delivery.order_fixtures import NOW, now, product, zone  # noqa: F401 - fixtures
from tests.delivery.trip_fixtures import make_trip, organization, place_order, simulator, stocked, store  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def writes(sim, method=None, path=None):
    return [
        r
        for r in sim.requests
        if r.method != "GET" and (method is None or r.method == method) and (path is None or r.path == path)
    ]


@pytest.fixture
def loaded(store, product, simulator, zone, now):
    """Two orders on a locked trip, their package known to the state."""
    package = stocked(store, product, simulator)
    first = place_order(store, product, first_name="Alice", quantity=1)
    second = place_order(store, product, first_name="Bob", quantity=2, hour=15, line1="9 Elm St")
    trip = make_trip(store, [first, second])
    return trip, package


def fresh(trip):
    return Trip.objects.get(pk=trip.pk)


def test_a_california_trip_is_sent_accepted_by_the_state_and_departs(store, manager, simulator, loaded):
    trip, package = loaded
    sent = trip_send(trip=trip, by=manager, version=trip.version)
    assert sent.status == "sent"
    trip = fresh(trip)
    record = SyncRecord.objects.get(kind="retailer_delivery.create")
    assert (record.status, record.reference_type, record.reference_id) == (
        "accepted",
        "delivery.trip",
        str(trip.pk),
    )
    assert (trip.state_status, trip.state_message) == ("accepted", "")
    state = simulator_provider(simulator, store)
    van = state.retailer_delivery_get(int(trip.state_reference))
    assert van["DriversLicenseNumber"] == "D7654321" and van["VehicleLicensePlateNumber"] == "8ABC123"
    carried = {p["PackageLabel"]: D(str(p["Quantity"])) for p in van["Packages"]}
    assert carried == {package.tag: D(3)}  # 1 + 2 allocated to the two orders
    assert not van.get("Destinations")  # nothing is sold before the doors
    assert trip.goods_value == D("135.00")
    departed = trip_depart(trip=trip, by=manager, version=trip.version)
    assert departed.status == "departed" and departed.departed_at == NOW
    depart = SyncRecord.objects.get(kind="retailer_delivery.depart")
    assert depart.status == "accepted" and depart.payload == [
        {"RetailerDeliveryId": int(trip.state_reference)}
    ]
    assert [(d.id, d.departed) for d in state.retailer_deliveries()] == [(int(trip.state_reference), True)]
    event = OutboxEvent.objects.get(name="delivery.trip_departed")
    first, second = trip.stops.order_by("sequence")
    assert event.payload["trip_id"] == trip.pk and event.payload["driver_first_name"] == "Sam"
    assert [(s["sequence"], s["order_id"], s["customer_id"]) for s in event.payload["stops"]] == [
        (1, first.order.order_id, first.order.order.customer_id),
        (2, second.order.order_id, second.order.order.customer_id),
    ]
    assert event.payload["stops"][0]["planned_arrival"] == first.planned_arrival.isoformat()
    assert list(
        AuditRecord.objects.filter(object_type="delivery.trip")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["trip.sent", "trip.state_accepted", "trip.departed", "trip.state_accepted"]


def test_a_refused_record_blocks_departure_with_the_states_words_until_a_retry_is_accepted(
    store, manager, simulator, loaded
):
    trip, package = loaded
    # The package is already on another retailer delivery at the state (another car, entered elsewhere).
    simulator.seed_package(store.license_adult_use, "TAG-OTHER", 5, "Each", "Other")
    other = _other_van(simulator, store, package.tag)
    trip_send(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    assert trip.state_status == "failed"
    assert f"Package {package.tag} is on retailer delivery {other}" in trip.state_message
    with pytest.raises(TripRefused) as refused:
        trip_depart(trip=trip, by=manager, version=trip.version)
    assert str(refused.value).startswith("The state has not accepted this trip's records yet: ")
    assert trip.state_message in str(refused.value)
    assert (
        fresh(trip).status == "sent"
        and not OutboxEvent.objects.filter(name="delivery.trip_departed").exists()
    )

    # The other delivery is voided at the state; the manager files the trip again.
    simulator_provider(simulator, store).retailer_delivery_void(other)
    trip_retry_state(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    assert trip.state_status == "accepted" and trip.state_message == ""
    record = SyncRecord.objects.get(kind="retailer_delivery.create")
    assert record.status == "accepted"
    assert (
        len(writes(simulator, "POST", "/sales/v2/deliveries/retailer")) == 3
    )  # other van, refused, accepted
    assert trip_depart(trip=trip, by=manager, version=trip.version).status == "departed"


def simulator_provider(sim, store):
    from compliance.traceability import registry

    return registry.provider_for_store(store)


def _other_van(sim, store, tag):
    from compliance.traceability.base import CarriedPackage, Driver, RetailerDeliveryPlan, Vehicle

    provider = simulator_provider(sim, store)
    return provider.retailer_delivery_create(
        RetailerDeliveryPlan(
            created_at=NOW - dt.timedelta(hours=1),
            driver=Driver(name="Other Driver", employee_id="E-9", license_number="X999"),
            vehicle=Vehicle(make="Ford", model="Transit", plate="7XYZ999"),
            packages=[CarriedPackage(tag, D(1), "each", D(45))],
        ),
        zone="America/Los_Angeles",
    )


def test_a_lost_answer_on_create_and_on_depart_never_duplicates_the_states_record(
    store, manager, simulator, loaded
):
    trip, _ = loaded
    simulator.set_faults(lose_after_every=1)  # every write is applied, then its answer lost
    trip_send(trip=trip, by=manager, version=trip.version)
    record = SyncRecord.objects.get(kind="retailer_delivery.create")
    assert record.status == "pending" and record.state_answer["outcome_unknown"]
    assert fresh(trip).state_status == "pending"
    from compliance.reporting.sync import sync_send_store

    simulator.set_faults(lose_after_every=0)
    record.next_attempt_at = None
    record.save(update_fields=["next_attempt_at"])
    sync_send_store(store_id=store.pk)
    record.refresh_from_db()
    assert record.status == "accepted" and record.state_answer["found_by"] == "delivery_lookup"
    trip = fresh(trip)
    assert trip.state_status == "accepted"
    assert len(writes(simulator, "POST", "/sales/v2/deliveries/retailer")) == 1
    assert len(simulator.facilities[store.license_adult_use].retailer_deliveries) == 1

    simulator.set_faults(lose_after_every=1)
    trip_depart(trip=trip, by=manager, version=trip.version)
    depart = SyncRecord.objects.get(kind="retailer_delivery.depart")
    assert depart.status == "pending"
    simulator.set_faults(lose_after_every=0)
    SyncRecord.objects.filter(pk=depart.pk).update(next_attempt_at=None)
    sync_send_store(store_id=store.pk)
    depart.refresh_from_db()
    assert depart.status == "accepted"
    assert len(writes(simulator, "POST", "/sales/v2/deliveries/retailer/depart")) == 1


@pytest.mark.parametrize("store", ["US-MI"], indirect=True)
def test_other_metrc_states_file_one_sales_delivery_per_stop(store, manager, simulator, loaded):
    trip, package = loaded
    trip_send(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    record = SyncRecord.objects.get()
    assert record.kind == "sales_delivery.create" and record.status == "accepted"
    assert trip.state_status == "accepted" and trip.state_reference == ""
    first, second = trip.stops.order_by("sequence")
    assert (
        first.state_reference and second.state_reference and first.state_reference != second.state_reference
    )
    alice, bob = record.payload
    assert (alice["RecipientName"], bob["RecipientName"]) == ("Alice Doe", "Bob Doe")
    assert alice["RecipientAddressStreet1"] == "1 Market St" and bob["RecipientAddressStreet1"] == "9 Elm St"
    assert alice["DriversLicenseNumber"] == "D7654321" and alice["VehicleLicensePlateNumber"] == "8ABC123"
    assert alice["PlannedRoute"].startswith("1. 1 Market St")
    assert alice["EstimatedDepartureDateTime"] == "2026-03-10T13:30:00.000"
    assert (alice["EstimatedArrivalDateTime"], bob["EstimatedArrivalDateTime"]) == (
        "2026-03-10T14:00:00.000",
        "2026-03-10T14:30:00.000",
    )
    assert [t["Quantity"] for t in alice["Transactions"]] == [1] and [
        t["Quantity"] for t in bob["Transactions"]
    ] == [2]
    assert trip_depart(trip=trip, by=manager, version=trip.version).status == "departed"
    assert SyncRecord.objects.count() == 1  # no departure record outside California

    # A sent trip cancelled before it leaves voids both sales deliveries, once.
    other = make_trip(
        store, [place_order(store, trip.stops.first().order.order.lines.first().product)], plate="5ZZZ555"
    )
    trip_send(trip=other, by=manager, version=other.version)
    other = fresh(other)
    (stop,) = other.stops.all()
    order_id = stop.order_id
    trip_cancel_sent(trip=other, by=manager, version=other.version)
    void = SyncRecord.objects.get(kind="sales_delivery.void")
    assert void.status == "accepted" and void.payload == [{"Id": int(stop.state_reference)}]
    assert fresh(other).status == "cancelled"
    assert not TripStop.objects.filter(order_id=order_id).exists()  # the order waits again
    assert len(writes(simulator, "DELETE")) == 1


def test_a_state_without_delivery_records_needs_none_and_the_trip_departs(store, manager, simulator, loaded):
    trip, _ = loaded
    # Oklahoma's Metrc offers no delivery endpoints (endpoints-by-state.md); its medical dispensaries deliver.
    Store.objects.filter(pk=store.pk).update(jurisdiction="US-OK")
    trip = fresh(trip)
    trip_send(trip=trip, by=manager, version=trip.version)
    assert fresh(trip).state_status == "not_required"
    assert not SyncRecord.objects.exists() and not simulator.requests
    assert trip_depart(trip=fresh(trip), by=manager).status == "departed"


def test_cancelling_a_sent_california_trip_voids_its_retailer_delivery_once(
    store, manager, simulator, loaded
):
    trip, package = loaded
    trip_send(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    van = int(trip.state_reference)
    simulator.set_faults(lose_after_every=1)
    trip_cancel_sent(trip=trip, by=manager, version=trip.version)
    void = SyncRecord.objects.get(kind="retailer_delivery.void")
    simulator.set_faults(lose_after_every=0)
    SyncRecord.objects.filter(pk=void.pk).update(next_attempt_at=None)
    from compliance.reporting.sync import sync_send_store

    sync_send_store(store_id=store.pk)
    void.refresh_from_db()
    assert void.status == "accepted"
    assert len(writes(simulator, "DELETE", f"/sales/v2/deliveries/retailer/{van}")) == 1
    assert not TripStop.objects.filter(trip=trip).exists()
    assert fresh(trip).status == "cancelled"


def test_stale_versions_and_wrong_states_change_nothing(store, manager, simulator, loaded):
    trip, _ = loaded
    with pytest.raises(Conflict):
        trip_send(trip=trip, by=manager, version=trip.version + 1)
    with pytest.raises(ValidationFailed):
        trip_send(trip=trip, by=manager, version="not a number")
    with pytest.raises(TripRefused):
        trip_depart(trip=trip, by=manager, version=trip.version)
    with pytest.raises(Conflict):
        trip_retry_state(trip=trip, by=manager, version=trip.version)
    assert fresh(trip).status == "locked" and fresh(trip).version == trip.version
    assert (
        not SyncRecord.objects.exists()
        and not AuditRecord.objects.filter(object_type="delivery.trip").exists()
    )


def test_the_vehicle_value_cap_is_checked_again_when_the_trip_is_sent(store, manager, simulator, loaded):
    trip, _ = loaded
    PickupOrderLine.objects.filter(order__delivery__stops__trip=trip).update(unit_price=D("4000.00"))
    with pytest.raises(TripRefused) as refused:
        trip_send(trip=trip, by=manager, version=trip.version)
    assert "$12,000.00 of goods" in str(refused.value) and "$10,000.00" in str(refused.value)
    assert fresh(trip).status == "locked" and not SyncRecord.objects.exists()


def test_a_refused_trip_cancelled_before_it_left_voids_nothing_and_leaves_the_queue(
    store, manager, simulator, loaded
):
    trip, package = loaded
    _other_van(simulator, store, package.tag)
    trip_send(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    assert trip.state_status == "failed"
    trip_cancel_sent(trip=trip, by=manager, version=trip.version, reason="Car broke down")
    trip = fresh(trip)
    assert (trip.status, trip.state_status) == ("cancelled", "not_required")
    record = SyncRecord.objects.get(kind="retailer_delivery.create")
    assert record.status == "manual" and f"Trip {trip.pk} was cancelled" in record.resolution_note
    assert not SyncRecord.objects.filter(kind="retailer_delivery.void").exists()
    assert not writes(simulator, "DELETE")
    assert not TripStop.objects.filter(trip=trip).exists()
    audit = AuditRecord.objects.get(action="trip.cancelled")
    assert audit.after["reason"] == "Car broke down" and len(audit.before["orders"]) == 2


def test_a_trip_waiting_for_the_states_answer_is_not_cancelled(store, manager, simulator, loaded):
    trip, _ = loaded
    simulator.set_faults(lose_after_every=1)
    trip_send(trip=trip, by=manager, version=trip.version)
    trip = fresh(trip)
    assert trip.state_status == "pending"
    with pytest.raises(TripRefused) as refused:
        trip_cancel_sent(trip=trip, by=manager, version=trip.version)
    assert "has not answered yet" in str(refused.value)
    assert fresh(trip).status == "sent" and TripStop.objects.filter(trip=trip).count() == 2


class SenderKilled(BaseException):
    """The sending process dies (nothing in it catches a BaseException)."""


def test_a_sender_killed_after_the_state_applied_the_create_never_files_it_twice(
    store, manager, simulator, loaded, monkeypatch
):
    """The retailer delivery reaches the state, then the sender dies before it reads the answer: the report stays
    claimed; once its lease is over the next sender finds the record at the state instead of filing it again."""
    import httpx

    from compliance.reporting.sync import sync_send_store
    from compliance.traceability import registry

    inner = registry.provider_for_store

    class Killing(httpx.BaseTransport):
        def __init__(self, transport):
            self.transport = transport

        def handle_request(self, request):
            response = self.transport.handle_request(request)
            if request.method == "POST":
                raise SenderKilled
            return response

    def killing_provider(for_store, **kwargs):
        provider = inner(for_store, **kwargs)
        provider._client._transport = Killing(provider._client._transport)
        return provider

    trip, _ = loaded
    monkeypatch.setattr(registry, "provider_for_store", killing_provider)
    with pytest.raises(SenderKilled):
        trip_send(trip=trip, by=manager, version=trip.version)
    record = SyncRecord.objects.get(kind="retailer_delivery.create")
    assert record.status == "sent" and fresh(trip).state_status == "pending"
    monkeypatch.setattr(registry, "provider_for_store", inner)
    SyncRecord.objects.filter(pk=record.pk).update(sent_at=record.sent_at - dt.timedelta(minutes=5))
    from compliance.models import SyncLane

    SyncLane.objects.filter(store=store).update(leased_until=None, lease_owner="")
    sync_send_store(store_id=store.pk)
    record.refresh_from_db()
    assert record.status == "accepted" and record.state_answer["found_by"] == "delivery_lookup"
    assert fresh(trip).state_status == "accepted"
    assert len(writes(simulator, "POST", "/sales/v2/deliveries/retailer")) == 1
