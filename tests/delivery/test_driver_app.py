# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""The driver app's actions: each applied once under the phone's key, in order per stop, conflicts answered in
plain words, the ID check deciding the hand-over, and only the driver's own trips."""

import uuid
from decimal import Decimal as D

import pytest
from django.utils import timezone

from compliance.models import IdVerification
from delivery.driver_app import (
    ActionInput,
    driver_action_apply,
    driver_actions_apply,
    driver_trip_data,
    driver_trip_list,
)
from delivery.models import DriverAction, StopVisit, TripStop
from delivery.services_orders import delivery_order_cancel
from dispensary.errors import Conflict, NotFound, ValidationFailed
from dispensary.models import AuditRecord
from inventory.models import Package
from inventory.selectors import ledger_mismatch_list
from pos.models import DrawerSession, PickupOrder, Register, Sale
from tests.compliance.test_idcards import CALIFORNIA_V8  # the register's own sample barcode
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    local,
    now,
    package,
    product,
    zone,
)

GOOD_ID = {"date_of_birth": "1990-05-17", "expires_on": "2030-01-01", "local_passed": True}
# The least proof of delivery the rules accept (4 CCR 15420(a)(9)): no signature, and the driver's reason why.
PROOF = {"no_signature_reason": "Customer's hands full, refused to sign"}


def send(user, kind, stop=None, key=None, trip=None, **payload):
    return driver_action_apply(
        user=user,
        action=ActionInput(
            key=key or str(uuid.uuid4()),
            kind=kind,
            stop_id=stop.pk if stop else None,
            trip_id=trip.pk if trip else None,
            payload=payload,
            happened_at=timezone.now().isoformat(),
        ),
    )


def stops(route):
    return list(route["trip"].stops.order_by("sequence"))


def test_the_whole_door_once_each_and_a_replayed_key_has_one_effect(clock, route, package):
    dana = route["dana"].user
    first, *_ = stops(route)
    clock.move_to(local(14, 10))
    arrived = send(dana, "arrived", first, key="11111111-1111-4111-8111-111111111111")
    checked = send(dana, "id_checked", first, **GOOD_ID)
    clock.move_to(local(14, 15))
    assert send(dana, "proof", first, **PROOF)["outcome"] == "applied"
    key = str(uuid.uuid4())
    delivered = send(dana, "delivered", first, key=key, collected="55.01")

    assert [arrived["outcome"], checked["outcome"], delivered["outcome"]] == ["applied"] * 3
    first.refresh_from_db()
    visit = StopVisit.objects.get(stop=first)
    sale = Sale.objects.get()
    assert (first.status, first.completed_at, visit.sale_id, visit.id_method, visit.id_passed) == (
        "delivered",
        local(14, 15),
        sale.pk,
        "typed",
        True,
    )
    assert (visit.arrived_at, visit.id_checked_at) == (local(14, 10), local(14, 10))
    assert PickupOrder.objects.get(pk=first.order.order_id).status == "completed"
    # The sale went through the trip's own register, its drawer opened at zero.
    register = Register.objects.get(name=f"Trip {route['trip'].pk}")
    assert (sale.register_id, DrawerSession.objects.get(register=register).opening_amount) == (
        register.pk,
        D("0"),
    )

    # The phone lost the answers and sends everything again: the first answers, no second effect.
    again = send(dana, "delivered", first, key=key, collected="55.01")
    arrived_again = send(dana, "arrived", first, key="11111111-1111-4111-8111-111111111111")
    assert (again["replayed"], again["message"]) == (True, delivered["message"])
    assert arrived_again["replayed"] is True
    assert Sale.objects.count() == 1
    assert DriverAction.objects.filter(stop=first).count() == 4
    assert IdVerification.objects.count() == 1
    package.refresh_from_db()
    assert (package.quantity_on_hand, package.quantity_allocated) == (
        D("9"),
        D("3"),
    )  # the three other orders still allocated
    assert ledger_mismatch_list(store=route["trip"].store) == []


def test_no_hand_over_without_the_proof_of_delivery(clock, route, package):
    """4 CCR 15420(a)(9): a hand-over without a signature or a written reason is refused and changes nothing;
    with the proof sent, the same hand-over goes through."""
    dana = route["dana"].user
    first, *_ = stops(route)
    send(dana, "arrived", first)
    send(dana, "id_checked", first, **GOOD_ID)
    refused = send(dana, "delivered", first, collected="55.01")
    assert (refused["outcome"], refused["reason"], refused["message"], refused["todo"]) == (
        "conflict",
        "no_proof",
        "Stop 1: the hand-over came before the proof of delivery, so it is not a sale yet.",
        "Take the customer's signature (or write why there is none), then tap Complete again.",
    )
    first.refresh_from_db()
    package.refresh_from_db()
    assert (first.status, Sale.objects.count(), Register.objects.count()) == ("pending", 0, 0)
    assert (package.quantity_on_hand, package.quantity_allocated) == (D("10"), D("4"))
    assert StopVisit.objects.get(stop=first).conflict == ""
    assert PickupOrder.objects.get(pk=first.order.order_id).status == "reserved"

    assert send(dana, "proof", first, **PROOF)["outcome"] == "applied"
    assert send(dana, "delivered", first, collected="55.01")["outcome"] == "applied"
    first.refresh_from_db()
    assert (first.status, Sale.objects.count()) == ("delivered", 1)


def test_a_key_reused_for_another_action_is_refused(clock, route):
    dana = route["dana"].user
    first, second, _ = stops(route)
    send(dana, "arrived", first, key="22222222-2222-4222-8222-222222222222")
    with pytest.raises(Conflict):
        send(dana, "arrived", second, key="22222222-2222-4222-8222-222222222222")
    assert StopVisit.objects.filter(stop=second, arrived_at__isnull=False).count() == 0


def test_out_of_order_actions_are_refused_with_what_to_do(clock, route):
    dana = route["dana"].user
    first, second, _ = stops(route)
    check_first = send(dana, "id_checked", first, **GOOD_ID)
    deliver_first = send(dana, "delivered", second, collected="55.01")

    assert (check_first["outcome"], check_first["reason"], check_first["todo"]) == (
        "conflict",
        "out_of_order",
        "Tap Arrived, then check the ID again.",
    )
    assert (deliver_first["outcome"], deliver_first["reason"]) == ("conflict", "out_of_order")
    assert IdVerification.objects.count() == 0
    assert Sale.objects.count() == 0
    assert set(TripStop.objects.values_list("status", flat=True)) == {"pending"}
    # A refused action is kept with its answer: replaying it says the same.
    assert DriverAction.objects.filter(outcome="conflict").count() == 2


def test_an_order_cancelled_meanwhile_is_a_conflict_and_the_stop_can_be_returned(clock, route, manager):
    dana = route["dana"].user
    first, *_ = stops(route)
    send(dana, "arrived", first)
    delivery_order_cancel(delivery=first.order, actor=manager, reason="Customer called")

    check = send(dana, "id_checked", first, **GOOD_ID)
    assert (check["outcome"], check["reason"]) == ("conflict", "order_cancelled")
    assert check["message"] == f"The store cancelled order {first.order.order_id} while you were on the road."
    assert "do not hand it over" in check["todo"].lower()

    # The phone handed it over offline before it heard: no sale, and the manager is told.
    handed = send(dana, "delivered", first, collected="55.01")
    assert (handed["outcome"], handed["reason"], Sale.objects.count()) == ("conflict", "order_cancelled", 0)
    assert AuditRecord.objects.filter(action="delivery_stop.handover_refused").count() == 1

    returned = send(dana, "returned", first, reason="cancelled")
    first.refresh_from_db()
    assert (returned["outcome"], first.status, first.visit.return_reason) == (
        "applied",
        "returned",
        "cancelled",
    )
    # Closed now: anything more on the stop is a conflict.
    late = send(dana, "arrived", first)
    assert (late["outcome"], late["reason"]) == ("conflict", "stop_closed")


def test_an_under_age_customer_blocks_the_hand_over(clock, route):
    dana = route["dana"].user
    first, *_ = stops(route)
    send(dana, "arrived", first)
    seventeen = "2008-06-01"  # 17 on March 10, 2026
    check = send(
        dana, "id_checked", first, date_of_birth=seventeen, expires_on="2030-01-01", local_passed=False
    )

    assert check["outcome"] == "applied"
    assert check["message"].startswith("ID refused: Under age: 17, the minimum is 21.")
    assert check["stop"]["id_passed"] is False
    verification = IdVerification.objects.get()
    assert (verification.passed, StopVisit.objects.get(stop=first).id_verification_id) == (
        False,
        verification.pk,
    )

    handed = send(dana, "delivered", first, collected="55.01")
    assert (handed["outcome"], handed["reason"]) == ("conflict", "id_refused")
    assert Sale.objects.count() == 0
    # The phone may have handed over offline: the manager is told.
    assert AuditRecord.objects.filter(action="delivery_stop.handover_refused").count() == 1
    assert StopVisit.objects.get(stop=first).conflict.startswith("Stop 1: the store's rules refused the ID")

    wrong_reason = send(dana, "returned", first, reason="nobody_home")
    assert (wrong_reason["outcome"], wrong_reason["reason"]) == ("conflict", "id_refused")
    returned = send(dana, "returned", first, reason="under_age")
    first.refresh_from_db()
    assert (returned["outcome"], first.status) == ("applied", "returned")
    # The goods stay on the trip: still allocated to the order until they are back at the store.
    assert Package.objects.get().quantity_allocated == D("4")


def test_an_expired_id_blocks_the_hand_over(clock, route):
    dana = route["dana"].user
    first, *_ = stops(route)
    send(dana, "arrived", first)
    check = send(dana, "id_checked", first, date_of_birth="1990-05-17", expires_on="2025-01-01")
    assert check["message"] == "ID refused: The ID expired on Jan 01, 2025."
    assert send(dana, "delivered", first)["reason"] == "id_refused"


def test_a_scanned_barcode_is_parsed_by_the_server(clock, route):
    dana = route["dana"].user
    first, *_ = stops(route)
    send(dana, "arrived", first)
    check = send(dana, "id_checked", first, scan_text=CALIFORNIA_V8, latitude="37.75")
    visit = StopVisit.objects.get(stop=first)
    assert (check["outcome"], visit.id_method, visit.id_passed, visit.id_latitude) == (
        "applied",
        "scan",
        True,
        D("37.750000"),
    )
    # The barcode's text (name, address, ID number) is not kept with the action.
    assert DriverAction.objects.get(kind="id_checked").payload == {"latitude": "37.75", "scanned": "True"}


def test_only_the_drivers_own_stops(clock, route, budtender, manager):
    first, *_ = stops(route)
    eve = route["eve"].user
    for user in (eve, budtender, manager):
        with pytest.raises(NotFound):
            send(user, "arrived", first)
    with pytest.raises(NotFound):
        send(route["dana"].user, "position", trip=route["other"], latitude="37.7", longitude="-122.4")
    assert DriverAction.objects.count() == 0
    assert [trip.pk for trip in driver_trip_list(user=route["dana"].user)] == [route["trip"].pk]
    assert driver_trip_list(user=manager) == []


def test_bad_input_is_refused_and_writes_nothing(clock, route):
    dana = route["dana"].user
    first, *_ = stops(route)
    with pytest.raises(ValidationFailed):
        send(dana, "arrived", first, key="not-a-uuid")
    with pytest.raises(ValidationFailed):
        send(dana, "teleported", first)
    results = driver_actions_apply(
        user=dana, actions=[{"key": str(uuid.uuid4()), "kind": "arrived", "stop_id": 99999}, "x"]
    )
    assert [r["status"] for r in results] == [404, 400]
    assert DriverAction.objects.count() == 0
    send(dana, "arrived", first)
    typed_badly = send(dana, "id_checked", first, date_of_birth="17/05/1990", expires_on="2030-01-01")
    assert (typed_badly["outcome"], typed_badly["message"]) == (
        "conflict",
        "Give the date as year-month-day.",
    )
    assert IdVerification.objects.count() == 0


def test_positions_are_recorded(clock, route):
    answer = send(route["dana"].user, "position", trip=route["trip"], latitude="37.751", longitude="-122.449")
    assert answer["outcome"] == "applied"
    assert DriverAction.objects.get(kind="position").payload == {
        "latitude": "37.751",
        "longitude": "-122.449",
    }


def test_the_trips_data_in_a_bounded_number_of_queries(clock, route, django_assert_max_num_queries):
    dana = route["dana"].user
    trips = driver_trip_list(user=dana)
    with django_assert_max_num_queries(6):
        data = driver_trip_data(trips)
    stop = data["trips"][0]["stops"][0]
    assert {
        key: stop[key]
        for key in ("sequence", "customer", "window", "goods", "fee", "collect", "note", "minimum_age")
    } == {
        "sequence": 1,
        "customer": "Ada L.",
        "window": "2:00 PM – 4:00 PM",
        "goods": "55.01",
        "fee": "4.99",
        "collect": "60.00",
        "note": "Ring twice",
        "minimum_age": 21,
    }
    assert stop["items"] == [
        {"product": stop["items"][0]["product"], "tag": Package.objects.get().tag, "quantity": "1"}
    ]
    assert stop["navigation"]["geo"] == "geo:37.750000,-122.450000?q=37.750000,-122.450000"
    assert [s["customer"] for s in data["trips"][0]["stops"]] == ["Ada L.", "Bob M.", "Cy Y."]
