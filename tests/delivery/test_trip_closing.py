# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""Closing each stop and the trip (issue 13 part 6), against the Metrc simulator: a hand-over is a sale reported
as the state's delivery record of its stop (California: the retailer delivery's sale; elsewhere: the sales
delivery's completion), never as a receipt; ending the trip refuses while a stop is pending, returns the goods
not delivered to available stock, closes the trip's drawer with over/short and closes the state's records
(California's end accounting for every package); lost answers settle without duplicates."""

from decimal import Decimal as D

import pytest

from compliance.models import SyncRecord
from compliance.reporting.sync import sync_send_store
from delivery.services_closing import trip_balance, trip_end
from delivery.services_trips import TripRefused
from dispensary.errors import ApplicationError, Conflict
from dispensary.models import AuditRecord
from inventory.models import Package
from inventory.selectors import ledger_mismatch_list
from pos.models import DrawerSession, PickupOrder, Sale
from tests.delivery.closing_fixtures import (  # noqa: F401 - fixtures
    deliver_two_return_one,
    fresh,
    hand_over,
    road,
    road_stock,
    send,
    writes,
)
from tests.delivery.order_fixtures import local, now, product, zone  # noqa: F401 - fixtures
from tests.delivery.trip_fixtures import make_trip, organization, place_order, simulator, stocked, store  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_california_trip_sells_at_the_doors_as_the_retailer_deliverys_sales_and_ends_with_every_package(
    store, manager, simulator, road
):
    trip, package = road["trip"], road["package"]
    alice, bob, cy = road["stops"]
    hand_over(road["driver"], alice, alice.order.order.estimated_total + alice.order.fee)
    # One stop still to deliver: the trip does not end, and nothing changes.
    with pytest.raises(TripRefused) as refused:
        trip_end(trip=trip, by=manager, counted_cash="0", version=fresh(trip).version)
    assert "Stop 2 (Bob) is still to deliver" in str(refused.value)
    assert fresh(trip).status == "departed"
    assert DrawerSession.objects.get().status == "open"

    hand_over(road["driver"], bob, bob.order.order.estimated_total)
    send(road["driver"], "arrived", cy)
    send(road["driver"], "returned", cy, reason="nobody_home")

    sales = SyncRecord.objects.filter(kind="retailer_delivery.sale").order_by("id")
    assert [(r.status, r.reference_type) for r in sales] == [("accepted", "delivery.trip")] * 2
    assert not SyncRecord.objects.filter(kind="sales_receipt.create").exists()  # never a receipt too
    assert sales[0].payload[0]["RetailerDeliveryId"] == int(trip.state_reference)
    assert sales[0].payload[0]["RecipientName"] == "Alice Doe"
    assert [t["Quantity"] for t in sales[1].payload[0]["Transactions"]] == [2]
    van = simulator.facilities[store.license_adult_use].retailer_deliveries[int(trip.state_reference)]
    assert D(van["Loaded"][package.tag]) == D(1)  # 4 carried, 3 sold at the doors

    cash = Sale.objects.filter(status="completed").count()
    assert cash == 2
    balance = trip_balance(fresh(trip))
    assert [(e.left, e.sold, e.back) for e in balance.packages] == [(D(4), D(3), D(1))]
    assert balance.fees == alice.order.fee and balance.problems == []
    expected = balance.cash_sales + alice.order.fee
    ended = trip_end(
        trip=trip, by=manager, counted_cash=str(expected - D("1.50")), version=fresh(trip).version
    )

    assert (ended.status, ended.returned_at) == ("returned", local(14, 10))
    trip = fresh(trip)
    assert trip.state_status == "accepted"
    end = SyncRecord.objects.get(kind="retailer_delivery.end")
    assert end.status == "accepted"
    assert end.payload[0]["Packages"] == [
        {"Label": package.tag, "EndQuantity": 1, "EndUnitOfMeasure": "Each"}
    ]
    assert van["State"] == "Ended" and {k: D(v) for k, v in van["Ended"].items()} == {package.tag: D(1)}
    drawer = DrawerSession.objects.get()
    assert (drawer.status, drawer.expected_amount, drawer.counted_amount, drawer.over_short) == (
        "closed",
        expected,
        expected - D("1.50"),
        D("-1.50"),
    )
    # Cy's goods are available again; the order is cancelled with the driver's reason.
    package.refresh_from_db()
    assert (package.quantity_on_hand, package.quantity_allocated) == (D(7), D(0))
    order = PickupOrder.objects.get(pk=cy.order.order_id)
    assert order.status == "cancelled"
    cancelled = AuditRecord.objects.get(action="pickup_order.cancelled")
    assert cancelled.after["reason"] == f"Not delivered on trip {trip.pk}: Nobody home."
    assert ledger_mismatch_list(store=store) == []
    audit = AuditRecord.objects.get(action="trip.returned")
    assert audit.after["over_short"] == "-1.50" and audit.after["returned"][0]["label"] == "Nobody home"
    assert audit.after["packages"] == [
        {"tag": package.tag, "left": "4.000", "sold": "3.000", "back": "1.000"}
    ]
    # Ending again is refused and changes nothing.
    with pytest.raises(TripRefused):
        trip_end(trip=trip, by=manager, counted_cash="0", version=trip.version)
    assert SyncRecord.objects.filter(kind="retailer_delivery.end").count() == 1


def test_lost_answers_on_the_sale_and_the_end_settle_without_duplicates(store, manager, simulator, road):
    trip = road["trip"]
    alice, bob, cy = road["stops"]
    simulator.set_faults(lose_after_every=1)
    hand_over(road["driver"], alice, alice.order.order.estimated_total)
    simulator.set_faults(lose_after_every=0)
    sale = SyncRecord.objects.get(kind="retailer_delivery.sale")
    assert sale.status == "pending" and sale.state_answer["outcome_unknown"]
    SyncRecord.objects.filter(pk=sale.pk).update(next_attempt_at=None)
    sync_send_store(store_id=store.pk)
    sale.refresh_from_db()
    assert sale.status == "accepted" and sale.state_answer["found_by"] == "delivery_lookup"
    assert len(writes(simulator, "POST", "/sales/v2/deliveries/retailer/sale")) == 1

    hand_over(road["driver"], bob, bob.order.order.estimated_total)
    send(road["driver"], "arrived", cy)
    send(road["driver"], "returned", cy, reason="refused")
    expected = trip_balance(fresh(trip)).expected_cash
    simulator.set_faults(lose_after_every=1)
    trip_end(trip=trip, by=manager, counted_cash=str(expected), version=fresh(trip).version)
    simulator.set_faults(lose_after_every=0)
    end = SyncRecord.objects.get(kind="retailer_delivery.end")
    assert end.status == "pending" and fresh(trip).state_status == "pending"
    SyncRecord.objects.filter(pk=end.pk).update(next_attempt_at=None)
    sync_send_store(store_id=store.pk)
    end.refresh_from_db()
    assert end.status == "accepted" and end.state_answer["found_by"] == "delivery_lookup"
    assert fresh(trip).state_status == "accepted"
    assert len(writes(simulator, "POST", "/sales/v2/deliveries/retailer/end")) == 1
    assert DrawerSession.objects.get().over_short == D("0.00")


@pytest.mark.parametrize("store", ["US-MI"], indirect=True)
def test_other_states_complete_each_sales_delivery_with_accepted_and_returned_packages(
    store, manager, simulator, road
):
    trip, package = road["trip"], road["package"]
    alice, bob, cy = road["stops"]
    deliver_two_return_one(road, reason="refused")
    completions = SyncRecord.objects.filter(kind="sales_delivery.complete").order_by("id")
    assert [r.status for r in completions] == ["accepted", "accepted"]
    assert not SyncRecord.objects.filter(kind="sales_receipt.create").exists()
    assert completions[0].payload[0]["Id"] == int(alice.state_reference)
    assert completions[0].payload[0]["AcceptedPackages"] == [package.tag]
    assert completions[0].payload[0]["ReturnedPackages"] == []

    expected = trip_balance(fresh(trip)).expected_cash
    trip_end(trip=trip, by=manager, counted_cash=str(expected + D("2")), version=fresh(trip).version)
    returned = SyncRecord.objects.filter(kind="sales_delivery.complete").order_by("id").last()
    assert returned.status == "accepted"
    (obj,) = returned.payload
    assert obj["Id"] == int(cy.state_reference) and obj["AcceptedPackages"] == []
    assert obj["ReturnedPackages"] == [
        {
            "Label": package.tag,
            "ReturnQuantityVerified": 1,
            "ReturnUnitOfMeasure": "Each",
            "ReturnReason": "Customer Refused",
            "ReturnReasonNote": "Customer refused",
        }
    ]
    deliveries = simulator.facilities[store.license_adult_use].deliveries
    assert all(deliveries[int(stop.state_reference)]["Completed"] for stop in (alice, bob, cy))
    assert simulator.facilities[store.license_adult_use].packages[package.tag].quantity == D(7)
    assert fresh(trip).state_status == "accepted" and fresh(trip).status == "returned"
    assert DrawerSession.objects.get().over_short == D("2.00")
    assert len(writes(simulator, "PUT", "/sales/v2/deliveries/complete")) == 3


def test_bad_counted_cash_and_a_stale_version_change_nothing(store, manager, simulator, road):
    trip = road["trip"]
    deliver_two_return_one(road)
    version = fresh(trip).version
    with pytest.raises(ApplicationError) as bad:
        trip_end(trip=trip, by=manager, counted_cash="lots", version=version)
    assert "amount" in str(bad.value).lower()
    with pytest.raises(Conflict):
        trip_end(trip=trip, by=manager, counted_cash="10", version=version - 1)
    assert fresh(trip).status == "departed" and fresh(trip).version == version
    cy = road["stops"][2]
    assert PickupOrder.objects.get(pk=cy.order.order_id).status == "reserved"
    assert Package.objects.get(pk=road["package"].pk).quantity_allocated == D(1)
    assert DrawerSession.objects.get().status == "open"
    assert not SyncRecord.objects.filter(kind="retailer_delivery.end").exists()
    assert not AuditRecord.objects.filter(action="trip.returned").exists()


@pytest.mark.parametrize("road_stock", [4])
def test_a_package_the_trip_emptied_is_finished_at_the_state_after_the_end(store, manager, simulator, road):
    trip, package = road["trip"], road["package"]
    for stop in road["stops"]:
        hand_over(road["driver"], stop, stop.order.order.estimated_total)
    assert not SyncRecord.objects.filter(kind="package.finish").exists()  # on the vehicle: not yet
    trip_end(trip=trip, by=manager, counted_cash="0", version=fresh(trip).version)
    end = SyncRecord.objects.get(kind="retailer_delivery.end")
    finish = SyncRecord.objects.get(kind="package.finish")
    assert end.status == "accepted" and end.payload[0]["Packages"][0]["EndQuantity"] == 0
    assert finish.status == "accepted" and finish.id > end.id
    assert finish.payload == [{"Label": package.tag, "ActualDate": "2026-03-10"}]
    assert simulator.facilities[store.license_adult_use].packages[package.tag].quantity == D(0)
    assert DrawerSession.objects.get().over_short < 0  # nothing counted: short by the cash sales


@pytest.mark.parametrize("store", ["US-MI"], indirect=True)
def test_a_lost_answer_on_a_completion_settles_without_a_second_one(store, manager, simulator, road):
    alice = road["stops"][0]
    simulator.set_faults(lose_after_every=1)
    hand_over(road["driver"], alice, alice.order.order.estimated_total)
    simulator.set_faults(lose_after_every=0)
    record = SyncRecord.objects.get(kind="sales_delivery.complete")
    assert record.status == "pending"
    SyncRecord.objects.filter(pk=record.pk).update(next_attempt_at=None)
    sync_send_store(store_id=store.pk)
    record.refresh_from_db()
    assert record.status == "accepted" and record.state_answer["found_by"] == "delivery_lookup"
    assert len(writes(simulator, "PUT", "/sales/v2/deliveries/complete")) == 1
    assert simulator.facilities[store.license_adult_use].deliveries[int(alice.state_reference)]["Completed"]
