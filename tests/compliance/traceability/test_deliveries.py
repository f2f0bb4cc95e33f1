"""The state's delivery records (issue 12 part 6): California's retailer delivery (the vehicle's inventory
ledger) and other states' sales deliveries, through the provider's typed methods against the simulator: Metrc's
rules, refusals carrying the state's messages, exactly once under lost answers and retries, and every request
body checked against the OpenAPI document."""

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from compliance.traceability import metrc
from compliance.traceability.base import (
    CarriedPackage,
    DeliveryLine,
    DeliveryNotOffered,
    DeliverySale,
    Driver,
    EndPackage,
    Operation,
    Recipient,
    Rejected,
    RetailerDeliveryEnd,
    RetailerDeliveryPlan,
    RetailerRestock,
    ReturnedPackage,
    SalesDeliveryCompletion,
    SalesDeliveryPlan,
    TransientFailure,
    Vehicle,
)
from compliance.traceability.simulator import MetrcSimulator, serve_in_thread
from tests.compliance.traceability.conftest import (
    CA_LICENSE,
    LA,
    MI_LICENSE,
    SALE_AT,
    USER,
    VENDOR,
    make_provider,
)
from tests.compliance.traceability.openapi import SPEC_PATH, assert_valid_request

DETROIT = "America/Detroit"
DRIVER = Driver(name="Sam Driver", employee_id="E-7", license_number="D1234567", phone="+15105550100")
VAN = Vehicle(make="Toyota", model="Prius", plate="8ABC123")
ALICE = Recipient(name="Alice Doe", street1="1 Main St", city="Oakland", state="CA", postal_code="94612")
BOB = Recipient(name="Bob Roe", street1="9 Elm St", city="Oakland", state="CA", postal_code="94610")
DEPART = SALE_AT + dt.timedelta(minutes=20)


def order(recipient, *lines, at=SALE_AT, route=""):
    return DeliverySale(
        sold_at=at,
        customer_type="adult_use",
        recipient=recipient,
        lines=[
            DeliveryLine(label, Decimal(str(q)), unit, Decimal(str(total))) for label, q, unit, total in lines
        ],
        planned_route=route,
        estimated_arrival=at + dt.timedelta(minutes=45),
        phone_for_questions="+15105550199",
    )


def plan(*packages, sales=(), at=SALE_AT):
    return RetailerDeliveryPlan(
        created_at=at,
        driver=DRIVER,
        vehicle=VAN,
        packages=[
            CarriedPackage(label, Decimal(str(q)), unit, Decimal(str(price)))
            for label, q, unit, price in packages
        ],
        estimated_departure=DEPART,
        sales=list(sales),
    )


def counter_sale(label, quantity="1", unit="g"):
    return metrc.receipt_object(
        SALE_AT, LA, "adult_use", transactions=[metrc.transaction_object(label, quantity, unit, 10)]
    )


def writes(simulator, path=None):
    return [r for r in simulator.requests if r.method != "GET" and (path is None or r.path == path)]


# ----------------------------------------------------------------------------------------------------------
# California: the retailer delivery


def test_a_california_trip_from_loading_to_return(simulator, provider):
    van = provider.retailer_delivery_create(
        plan(("TAG-FLOWER", 14, "g", 180), ("TAG-CART", 4, "each", 120),
             sales=[order(ALICE, ("TAG-FLOWER", "3.5", "g", 45), route="Main St first")]),
        zone=LA,
    )  # fmt: skip
    record = provider.retailer_delivery_get(van)
    assert record["DriversLicenseNumber"] == "D1234567" and record["VehicleLicensePlateNumber"] == "8ABC123"
    # The processed order is recorded with the delivery: 3.5 g of the 14 g carried are sold.
    assert [d["RecipientName"] for d in record["Destinations"]] == ["Alice Doe"]
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal("24.5")
    assert [(d.id, d.departed) for d in provider.retailer_deliveries()] == [(van, False)]
    assert provider.retailer_deliveries()[0].packages == {
        "TAG-FLOWER": Decimal("10.5"),
        "TAG-CART": Decimal(4),
    }

    # A package on the vehicle cannot be sold at the counter.
    with pytest.raises(Rejected) as refused:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [counter_sale("TAG-FLOWER")])
    assert refused.value.messages == [f"Package TAG-FLOWER is on retailer delivery {van}."]

    provider.retailer_delivery_depart(van)
    assert provider.retailer_deliveries()[0].departed
    provider.retailer_delivery_sale(van, order(BOB, ("TAG-CART", 1, "each", 30), at=DEPART), zone=LA)
    provider.retailer_delivery_restock(
        RetailerRestock(van, DEPART + dt.timedelta(minutes=30), [CarriedPackage("TAG-CART", 2, "each", 60)]),
        zone=LA,
    )
    assert provider.retailer_deliveries()[0].packages == {
        "TAG-FLOWER": Decimal("10.5"),
        "TAG-CART": Decimal(5),
    }

    # Carried 14 g, sold 3.5 g: 10.5 g must come back; 6 carried, 1 sold: 5 must come back.
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_end(
            RetailerDeliveryEnd(van, DEPART + dt.timedelta(hours=2),
                                [EndPackage("TAG-FLOWER", 10, "g"), EndPackage("TAG-CART", 5, "each")]),
            zone=LA,
        )  # fmt: skip
    assert refused.value.messages == [
        "Package TAG-FLOWER: 14 carried and 3.5 sold leave 10.5, not 10; the end must account for every package."
    ]
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_end(
            RetailerDeliveryEnd(van, DEPART + dt.timedelta(hours=2), [EndPackage("TAG-FLOWER", "10.5", "g")]),
            zone=LA,
        )
    assert refused.value.messages == ["Packages TAG-CART need an EndQuantity."]
    provider.retailer_delivery_end(
        RetailerDeliveryEnd(van, DEPART + dt.timedelta(hours=2),
                            [EndPackage("TAG-FLOWER", "10.5", "g"), EndPackage("TAG-CART", 5, "each")]),
        zone=LA,
    )  # fmt: skip
    assert provider.retailer_deliveries() == []
    [ended] = provider.retailer_deliveries(active=False)
    assert ended.id == van and ended.completed and ended.departed
    # Back on the shelf: the counter may sell it again.
    provider.submit(Operation.SALES_RECEIPT_CREATE, [counter_sale("TAG-FLOWER")])
    assert simulator.package(CA_LICENSE, "TAG-CART").quantity == 9  # 10 - the 1 sold at Bob's door


def test_a_trip_departs_once_and_only_before_its_end(simulator, provider):
    van = provider.retailer_delivery_create(plan(("TAG-CART", 2, "each", 60)), zone=LA)
    provider.retailer_delivery_depart(van)
    # Sent again as it is (not through the exactly-once method), the state refuses a second departure.
    with pytest.raises(Rejected) as refused:
        provider.submit(Operation.RETAILER_DELIVERY_DEPART, [metrc.retailer_delivery_depart_object(van)])
    assert refused.value.status_code == 400
    assert refused.value.messages == [f"Retailer delivery {van} is Departed."]
    provider.retailer_delivery_end(
        RetailerDeliveryEnd(van, DEPART, [EndPackage("TAG-CART", 2, "each")]), zone=LA
    )
    with pytest.raises(Rejected) as refused:
        provider.submit(Operation.RETAILER_DELIVERY_DEPART, [metrc.retailer_delivery_depart_object(van)])
    assert refused.value.messages == [f"Retailer delivery {van} is Ended."]
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_sale(van, order(BOB, ("TAG-CART", 1, "each", 30)), zone=LA)
    assert refused.value.messages == [f"Retailer delivery {van} is Ended."]


def test_a_trip_carries_no_more_than_a_package_holds_and_sells_no_more_than_it_carries(simulator, provider):
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_create(plan(("TAG-FLOWER", 30, "g", 400)), zone=LA)
    assert refused.value.messages == ["Package TAG-FLOWER has 28 Grams; 30 cannot be loaded."]
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_create(
            plan(("TAG-FLOWER", 7, "g", 90), sales=[order(ALICE, ("TAG-FLOWER", 8, "g", 100))]), zone=LA
        )
    assert refused.value.messages == ["Package TAG-FLOWER has 7 left on the vehicle."]
    assert simulator.retailer_delivery(CA_LICENSE, 1) is None and provider.retailer_deliveries() == []

    van = provider.retailer_delivery_create(plan(("TAG-FLOWER", 7, "g", 90)), zone=LA)
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_sale(van, order(ALICE, ("TAG-FLOWER", 8, "g", 100)), zone=LA)
    assert refused.value.messages == ["Package TAG-FLOWER has 7 left on the vehicle."]
    with pytest.raises(Rejected) as refused:  # a package the vehicle does not carry
        provider.retailer_delivery_sale(van, order(ALICE, ("TAG-CART", 1, "each", 30)), zone=LA)
    assert refused.value.messages == [f"Package TAG-CART is not on retailer delivery {van}."]
    with pytest.raises(Rejected) as refused:  # a second vehicle cannot load it
        provider.retailer_delivery_create(plan(("TAG-FLOWER", 1, "g", 10), at=DEPART), zone=LA)
    assert refused.value.messages == [f"Package TAG-FLOWER is on retailer delivery {van}."]
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == 28  # nothing was taken by the refusals


def test_a_trip_needs_its_driver_and_vehicle(simulator, provider):
    bare = metrc.retailer_delivery_object(
        SALE_AT, LA, driver={}, packages=[metrc.retailer_package_object("TAG-CART", 1, "each", 30)]
    )
    with pytest.raises(Rejected) as refused:
        provider.submit(Operation.RETAILER_DELIVERY_CREATE, [bare])
    assert refused.value.messages == [
        "DriverEmployeeId is required", "DriverName is required", "DriversLicenseNumber is required",
        "VehicleMake is required", "VehicleModel is required", "VehicleLicensePlateNumber is required",
    ]  # fmt: skip


def test_a_trip_not_yet_departed_can_be_voided_and_gives_its_packages_back(simulator, provider):
    van = provider.retailer_delivery_create(
        plan(("TAG-FLOWER", 14, "g", 180), sales=[order(ALICE, ("TAG-FLOWER", 2, "g", 25))]), zone=LA
    )
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == 26
    provider.retailer_delivery_void(van)
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == 28
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").retailer_delivery_id is None
    assert [d.voided for d in provider.retailer_deliveries(active=False)] == [True]
    provider.retailer_delivery_void(van)  # again: already voided, nothing sent
    assert len(writes(simulator, f"/sales/v2/deliveries/retailer/{van}")) == 1

    departed = provider.retailer_delivery_create(plan(("TAG-CART", 2, "each", 60)), zone=LA)
    provider.retailer_delivery_depart(departed)
    with pytest.raises(Rejected) as refused:
        provider.retailer_delivery_void(departed)
    assert refused.value.messages == [f"Retailer delivery {departed} is Departed and cannot be voided."]


# ----------------------------------------------------------------------------------------------------------
# Other states: sales deliveries


@pytest.fixture
def michigan(simulator, clock):
    simulator.seed_package(MI_LICENSE, "MI-FLOWER", 28, "Grams", "Blue Dream")
    simulator.seed_package(MI_LICENSE, "MI-GUMMY", 10, "Each", "Gummies")
    return make_provider(simulator, clock, license_number=MI_LICENSE)


def sales_plan(*lines, at=SALE_AT, recipient=None):
    recipient = recipient or Recipient(
        name="Carol Poe", street1="5 Woodward Ave", city="Detroit", state="MI", postal_code="48226"
    )
    return SalesDeliveryPlan(
        sale=order(recipient, *lines, at=at),
        driver=DRIVER,
        vehicle=VAN,
        planned_route="Woodward Ave north to 5 Woodward Ave",
        estimated_departure=at + dt.timedelta(minutes=10),
        estimated_arrival=at + dt.timedelta(minutes=40),
    )


def test_a_sales_delivery_completed_with_a_return_and_the_states_reasons(simulator, michigan):
    reasons = michigan.delivery_return_reasons()
    assert "Customer Refused" in [r.name for r in reasons]
    assert [r.name for r in reasons if r.requires_note] == ["Other"]

    delivery = michigan.sales_delivery_create(
        sales_plan(("MI-FLOWER", "3.5", "g", 45), ("MI-GUMMY", 2, "each", 40)), zone=DETROIT
    )
    record = michigan.sales_delivery_get(delivery)
    assert record["PlannedRoute"] == "Woodward Ave north to 5 Woodward Ave"
    assert record["EstimatedDepartureDateTime"] == "2025-03-01T17:15:00.000"  # Detroit's local time
    assert record["DriverName"] == "Sam Driver" and record["VehicleLicensePlateNumber"] == "8ABC123"
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 8
    assert [d.id for d in michigan.sales_deliveries()] == [delivery]

    arrived = SALE_AT + dt.timedelta(minutes=42)

    def completion(*returned, accepted=("MI-FLOWER",)):
        return SalesDeliveryCompletion(delivery, arrived, list(accepted), list(returned), payment_type="Cash")

    cases = [
        (completion(ReturnedPackage("MI-GUMMY", 1, "each", "Lost in the post")),
         "ReturnReason Lost in the post is not one of Customer Refused, Damaged, Incorrect Item, "
         "Customer Not Present, Other."),
        (completion(ReturnedPackage("MI-GUMMY", 1, "each", "Other")), "ReturnReason Other requires a ReturnReasonNote."),
        (completion(), "Packages MI-GUMMY must be accepted or returned."),
        (completion(ReturnedPackage("MI-GUMMY", 3, "each", "Damaged")), "Package MI-GUMMY: 3 returned, 2 delivered."),
    ]  # fmt: skip
    for bad, message in cases:
        with pytest.raises(Rejected) as refused:
            michigan.sales_delivery_complete(bad, zone=DETROIT)
        assert refused.value.messages == [message]
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 8  # refusals changed nothing

    michigan.sales_delivery_complete(
        completion(
            ReturnedPackage("MI-GUMMY", 1, "each", "Customer Refused"), accepted=("MI-FLOWER", "MI-GUMMY")
        ),
        zone=DETROIT,
    )
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 9
    assert michigan.sales_deliveries() == []
    [done] = michigan.sales_deliveries(active=False)
    assert done.id == delivery and done.completed and not done.voided
    with pytest.raises(Rejected) as refused:
        michigan.sales_delivery_void(delivery)
    assert refused.value.messages == [f"Delivery {delivery} is completed and cannot be voided."]


def test_a_sales_delivery_needs_its_recipient_route_times_driver_and_vehicle(simulator, michigan):
    bare = metrc.sales_delivery_object(
        SALE_AT, DETROIT, "adult_use", recipient={"name": "Carol Poe"}, driver={},
        transactions=[metrc.transaction_object("MI-GUMMY", 1, "each", 20)],
    )  # fmt: skip
    with pytest.raises(Rejected) as refused:
        michigan.submit(Operation.SALES_DELIVERY_CREATE, [bare])
    assert refused.value.messages == [
        "RecipientAddressStreet1 is required", "RecipientAddressCity is required",
        "RecipientAddressState is required", "RecipientAddressPostalCode is required",
        "PhoneNumberForQuestions is required", "DriverEmployeeId is required", "DriverName is required",
        "DriversLicenseNumber is required", "VehicleMake is required", "VehicleModel is required",
        "VehicleLicensePlateNumber is required", "PlannedRoute is required",
        "EstimatedDepartureDateTime is required", "EstimatedArrivalDateTime is required",
    ]  # fmt: skip
    with pytest.raises(Rejected) as refused:
        michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 11, "each", 220)), zone=DETROIT)
    assert refused.value.messages == ["Package MI-GUMMY has 10 Each available; 11 cannot be sold."]
    assert michigan.sales_deliveries() == [] and simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 10


def test_a_sales_delivery_voided_gives_its_packages_back(simulator, michigan):
    delivery = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 3, "each", 60)), zone=DETROIT)
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 7
    michigan.sales_delivery_void(delivery)
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 10
    assert michigan.sales_delivery_get(delivery)["VoidedDate"]
    michigan.sales_delivery_void(delivery)  # already voided: nothing sent
    assert len(writes(simulator, f"/sales/v2/deliveries/{delivery}")) == 1
    # A new delivery with the same facts is not mistaken for the voided one.
    assert michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 3, "each", 60)), zone=DETROIT) != delivery


def test_deliveries_only_where_the_states_metrc_offers_them(simulator, clock):
    simulator.add_facility("OK-R-1", jurisdiction="US-OK", user_keys=[USER])
    oklahoma = make_provider(simulator, clock, license_number="OK-R-1", jurisdiction="US-OK")
    with pytest.raises(DeliveryNotOffered):
        oklahoma.sales_delivery_create(sales_plan(("MI-GUMMY", 1, "each", 20)), zone="America/Chicago")
    with pytest.raises(DeliveryNotOffered):
        oklahoma.retailer_deliveries()
    # The simulator has no such routes for that licence either (as the state's Metrc has none).
    unguarded = make_provider(simulator, clock, license_number="OK-R-1", jurisdiction="")
    with pytest.raises(Rejected) as refused:
        unguarded.submit(Operation.SALES_DELIVERY_CREATE, [{"SalesDateTime": "2025-03-01T14:05:00.000"}])
    assert refused.value.status_code == 404
    assert writes(simulator) == [writes(simulator)[0]] and simulator.facilities["OK-R-1"].deliveries == {}


# ----------------------------------------------------------------------------------------------------------
# Exactly once: a lost answer, then a retry


def test_every_delivery_write_survives_a_lost_answer_after_the_state_applied_it(
    simulator, provider, michigan
):
    """Each answer to a write is lost after the state applied it: the provider reads the state's record and
    never sends the write a second time."""
    simulator.set_faults(lose_after_every=1)  # every write's answer is lost, after it was applied
    van = provider.retailer_delivery_create(
        plan(("TAG-FLOWER", 14, "g", 180), ("TAG-CART", 2, "each", 60),
             sales=[order(ALICE, ("TAG-FLOWER", 2, "g", 25))]),
        zone=LA,
    )  # fmt: skip
    provider.retailer_delivery_depart(van)
    provider.retailer_delivery_sale(van, order(BOB, ("TAG-FLOWER", 3, "g", 35), at=DEPART), zone=LA)
    provider.retailer_delivery_restock(
        RetailerRestock(van, DEPART + dt.timedelta(minutes=5), [CarriedPackage("TAG-CART", 3, "each", 90)]),
        zone=LA,
    )
    provider.retailer_delivery_end(
        RetailerDeliveryEnd(van, DEPART + dt.timedelta(hours=1),
                            [EndPackage("TAG-FLOWER", 9, "g"), EndPackage("TAG-CART", 5, "each")]),
        zone=LA,
    )  # fmt: skip
    delivery = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT)
    michigan.sales_delivery_complete(SalesDeliveryCompletion(delivery, DEPART, ["MI-GUMMY"]), zone=DETROIT)
    other = michigan.sales_delivery_create(sales_plan(("MI-FLOWER", 1, "g", 12), at=DEPART), zone=DETROIT)
    michigan.sales_delivery_void(other)

    sent = [(r.method, r.path) for r in writes(simulator)]
    assert len(sent) == len(set(sent)) + 1  # each write once; the two creates of Michigan share a path
    assert sent.count(("POST", "/sales/v2/deliveries")) == 2
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == 23  # 28 - 2 - 3, once each
    assert simulator.package(CA_LICENSE, "TAG-CART").quantity == 10
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 8
    assert simulator.package(MI_LICENSE, "MI-FLOWER").quantity == 28
    assert len(simulator.facilities[CA_LICENSE].retailer_deliveries) == 1
    assert len(simulator.facilities[MI_LICENSE].deliveries) == 2


def test_a_write_lost_before_the_state_applied_it_is_sent_again_once(simulator, provider, michigan):
    simulator.queue_response(504, timeout=True, methods=("POST",))  # the first POST never reaches Metrc
    van = provider.retailer_delivery_create(plan(("TAG-CART", 2, "each", 60)), zone=LA)
    assert len(writes(simulator, "/sales/v2/deliveries/retailer")) == 2
    assert list(simulator.facilities[CA_LICENSE].retailer_deliveries) == [van]
    simulator.queue_response(504, timeout=True, methods=("PUT",))
    delivery = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 1, "each", 20)), zone=DETROIT)
    michigan.sales_delivery_complete(SalesDeliveryCompletion(delivery, DEPART, ["MI-GUMMY"]), zone=DETROIT)
    assert michigan.sales_deliveries(active=False)[0].completed
    assert len(writes(simulator, "/sales/v2/deliveries/complete")) == 2


class ReadsFailAfterAWrite(httpx.BaseTransport):
    """The simulator in process, answering 503 to every read made after a write (while `failing`)."""

    def __init__(self, inner):
        self.inner = inner
        self.failing = True
        self.wrote = False

    def handle_request(self, request):
        if request.method != "GET":
            self.wrote = True
        elif self.failing and self.wrote:
            return httpx.Response(503, json={"Message": "Service Unavailable."}, request=request)
        return self.inner.handle_request(request)


def test_a_caller_retrying_after_a_failure_finds_its_earlier_write(simulator, clock, provider, michigan):
    """The answer is lost and the reads that would settle it fail too: the call fails as outcome unknown; the
    caller (the trip) tries again later and the state's record is found, not written twice."""
    flaky = ReadsFailAfterAWrite(simulator.transport())
    michigan = make_provider(simulator, clock, license_number=MI_LICENSE, transport=flaky)
    simulator.set_faults(lose_after_every=1)
    with pytest.raises(TransientFailure) as failed:
        michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT)
    assert failed.value.outcome_unknown
    assert len(simulator.facilities[MI_LICENSE].deliveries) == 1  # the state has it; the caller cannot tell
    flaky.failing = False
    simulator.set_faults(lose_after_every=None)
    delivery = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT)
    assert list(simulator.facilities[MI_LICENSE].deliveries) == [delivery]
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 8
    # The same for a trip: created twice by a retrying caller, one delivery at the state.
    first = provider.retailer_delivery_create(plan(("TAG-CART", 2, "each", 60)), zone=LA)
    assert provider.retailer_delivery_create(plan(("TAG-CART", 2, "each", 60)), zone=LA) == first
    provider.retailer_delivery_depart(first)
    provider.retailer_delivery_depart(first)  # the state shows the departure: nothing is sent
    sale = order(BOB, ("TAG-CART", 1, "each", 30), at=DEPART)
    provider.retailer_delivery_sale(first, sale, zone=LA)
    provider.retailer_delivery_sale(first, sale, zone=LA)
    assert len(writes(simulator, "/sales/v2/deliveries/retailer")) == 1
    assert len(writes(simulator, "/sales/v2/deliveries/retailer/depart")) == 1
    assert len(writes(simulator, "/sales/v2/deliveries/retailer/sale")) == 1
    assert simulator.package(CA_LICENSE, "TAG-CART").quantity == 9


# ----------------------------------------------------------------------------------------------------------
# The published document


@pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"Metrc OpenAPI document not at {SPEC_PATH}")
def test_every_delivery_request_matches_the_openapi_document(simulator, provider, michigan):
    van = provider.retailer_delivery_create(
        plan(("TAG-FLOWER", 14, "g", 180), sales=[order(ALICE, ("TAG-FLOWER", 2, "g", 25), route="Main St")]),
        zone=LA,
    )
    provider.retailer_delivery_depart(van)
    provider.retailer_delivery_sale(van, order(BOB, ("TAG-FLOWER", 1, "g", 12), at=DEPART), zone=LA)
    provider.retailer_delivery_restock(
        RetailerRestock(van, DEPART, [CarriedPackage("TAG-CART", 2, "each", 60, replace_current=False)],
                        estimated_departure=DEPART),
        zone=LA,
    )  # fmt: skip
    provider.retailer_delivery_end(
        RetailerDeliveryEnd(
            van, DEPART, [EndPackage("TAG-FLOWER", 11, "g"), EndPackage("TAG-CART", 2, "each")]
        ),
        zone=LA,
    )
    delivery = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT)
    michigan.sales_delivery_complete(
        SalesDeliveryCompletion(delivery, DEPART, [], [ReturnedPackage("MI-GUMMY", 2, "each", "Other", "Wrong flavour")],
                                payment_type="Card"),
        zone=DETROIT,
    )  # fmt: skip
    other = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 1, "each", 20), at=DEPART), zone=DETROIT)
    michigan.sales_delivery_void(other)
    spare = provider.retailer_delivery_create(plan(("TAG-CART", 1, "each", 30), at=DEPART), zone=LA)
    provider.retailer_delivery_void(spare)

    sent = writes(simulator)
    assert {(r.method, r.path) for r in sent} == {
        ("POST", "/sales/v2/deliveries/retailer"), ("POST", "/sales/v2/deliveries/retailer/depart"),
        ("POST", "/sales/v2/deliveries/retailer/sale"), ("POST", "/sales/v2/deliveries/retailer/restock"),
        ("POST", "/sales/v2/deliveries/retailer/end"), ("POST", "/sales/v2/deliveries"),
        ("PUT", "/sales/v2/deliveries/complete"), ("DELETE", f"/sales/v2/deliveries/{other}"),
        ("DELETE", f"/sales/v2/deliveries/retailer/{spare}"),
    }  # fmt: skip
    for request in sent:
        assert request.query.get("licenseNumber") in (CA_LICENSE, MI_LICENSE)
        if request.method == "DELETE":
            assert request.body is None
        else:
            assert_valid_request(request.method, request.path, request.body)
    create = next(r.body[0] for r in sent if r.path == "/sales/v2/deliveries/retailer")
    assert create["Destinations"][0]["RecipientName"] == "Alice Doe"
    assert create["Destinations"][0]["EstimatedArrivalDateTime"] == "2025-03-01T14:50:00.000"
    sale = next(r.body[0] for r in sent if r.path == "/sales/v2/deliveries/retailer/sale")
    assert (sale["RecipientName"], sale["PhoneNumberForQuestions"]) == ("Bob Roe", "+15105550199")
    assert sale["SalesDateTime"] == "2025-03-01T14:25:00.000"
    michigan_sale = next(r.body[0] for r in sent if r.path == "/sales/v2/deliveries")
    assert michigan_sale["PhoneNumberForQuestions"] == "+15105550199"
    assert michigan_sale["PlannedRoute"] == "Woodward Ave north to 5 Woodward Ave"
    assert (michigan_sale["DriversLicenseNumber"], michigan_sale["VehicleMake"]) == ("D1234567", "Toyota")
    for request in (r for r in simulator.requests if r.method == "GET"):
        assert "licenseNumber" in request.query, request.path


# ----------------------------------------------------------------------------------------------------------
# Over a real socket


@pytest.fixture
def http_simulator():
    simulator = MetrcSimulator(seed=5)
    simulator.add_credentials(VENDOR, USER)
    simulator.add_facility(CA_LICENSE, jurisdiction="US-CA", user_keys=[USER])
    simulator.add_facility(MI_LICENSE, jurisdiction="US-MI", user_keys=[USER])
    simulator.seed_package(CA_LICENSE, "TAG-FLOWER", 28, "Grams", "Blue Dream")
    simulator.seed_package(MI_LICENSE, "MI-GUMMY", 10, "Each", "Gummies")
    server, thread, url = serve_in_thread(simulator)
    yield simulator, url
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("lost_answer", ["504", "drop"])
def test_a_trip_over_http_with_every_answer_lost(http_simulator, lost_answer):
    simulator, url = http_simulator

    def over_http(license_number, jurisdiction):
        return metrc.MetrcProvider(
            base_url=url, vendor_key=VENDOR, user_key=USER, license_number=license_number,
            jurisdiction=jurisdiction, timeout=2.0, backoff_base=0.01,
        )  # fmt: skip

    california, michigan = over_http(CA_LICENSE, "US-CA"), over_http(MI_LICENSE, "US-MI")
    simulator.set_faults(lose_after_every=1, lost_answer=lost_answer)
    van = california.retailer_delivery_create(plan(("TAG-FLOWER", 10, "g", 120)), zone=LA)
    california.retailer_delivery_depart(van)
    california.retailer_delivery_sale(van, order(BOB, ("TAG-FLOWER", 4, "g", 50), at=DEPART), zone=LA)
    california.retailer_delivery_end(
        RetailerDeliveryEnd(van, DEPART, [EndPackage("TAG-FLOWER", 6, "g")]), zone=LA
    )
    delivery = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT)
    michigan.sales_delivery_complete(
        SalesDeliveryCompletion(delivery, DEPART, [], [ReturnedPackage("MI-GUMMY", 2, "each", "Damaged")]),
        zone=DETROIT,
    )
    assert len(writes(simulator)) == 6  # each write once
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == 24
    assert simulator.package(MI_LICENSE, "MI-GUMMY").quantity == 10
    simulator.set_faults(lose_after_every=None)
    assert [d.completed for d in california.retailer_deliveries(active=False)] == [True]
    assert [d.completed for d in michigan.sales_deliveries(active=False)] == [True]
    # A refusal over HTTP carries the state's words.
    with pytest.raises(Rejected) as refused:
        california.retailer_delivery_sale(van, order(ALICE, ("TAG-FLOWER", 1, "g", 12)), zone=LA)
    assert refused.value.status_code == 400
    assert refused.value.messages == [f"Retailer delivery {van} is Ended."]


def test_a_restarted_simulator_remembers_its_deliveries(tmp_path, clock):
    journal = tmp_path / "metrc-simulator.jsonl"

    def started():
        sim = MetrcSimulator(seed=7, clock=clock, sleep=clock.sleep, state_file=journal)
        sim.add_credentials(VENDOR, USER)
        sim.add_facility(CA_LICENSE, jurisdiction="US-CA", user_keys=[USER])
        sim.add_facility(MI_LICENSE, jurisdiction="US-MI", user_keys=[USER])
        return sim

    first = started()
    first.seed_package(CA_LICENSE, "TAG-FLOWER", 28, "Grams", "Blue Dream")
    first.seed_package(MI_LICENSE, "MI-GUMMY", 10, "Each", "Gummies")
    california = make_provider(first, clock)
    van = california.retailer_delivery_create(plan(("TAG-FLOWER", 10, "g", 120)), zone=LA)
    california.retailer_delivery_depart(van)
    california.retailer_delivery_sale(van, order(BOB, ("TAG-FLOWER", 4, "g", 50), at=DEPART), zone=LA)
    michigan = make_provider(first, clock, license_number=MI_LICENSE)
    voided = michigan.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT)
    michigan.sales_delivery_void(voided)
    first.close()

    second = started()
    assert second.package(CA_LICENSE, "TAG-FLOWER").quantity == 24
    assert second.package(CA_LICENSE, "TAG-FLOWER").retailer_delivery_id == van
    assert second.package(MI_LICENSE, "MI-GUMMY").quantity == 10
    california = make_provider(second, clock)
    assert [(d.id, d.departed) for d in california.retailer_deliveries()] == [(van, True)]
    california.retailer_delivery_end(
        RetailerDeliveryEnd(van, DEPART, [EndPackage("TAG-FLOWER", 6, "g")]), zone=LA
    )
    assert make_provider(second, clock, license_number=MI_LICENSE).sales_deliveries(active=False)[0].voided
    second.close()


def test_lost_answers_are_settled_from_records_in_the_documents_own_shape():
    """Another Metrc (not our simulator) answering in the document's camelCase shapes: SaleDelivery with
    quantitySold lines, Retailer with actualDepartureDateTime. A lost answer is settled from them."""
    state = {"deliveries": [], "retailer": {"id": 41, "actualDepartureDateTime": None}, "posts": 0}

    def answer(request):
        path, method = request.url.path, request.method
        if method == "POST" and path == "/sales/v2/deliveries":
            state["posts"] += 1
            body = json.loads(request.content)[0]
            state["deliveries"].append({
                "id": 900 + state["posts"], "salesDateTime": body["SalesDateTime"],
                "recipientName": body["RecipientName"],
                "transactions": [{"packageLabel": t["PackageLabel"], "quantitySold": t["Quantity"],
                                  "unitOfMeasureName": t["UnitOfMeasure"]} for t in body["Transactions"]],
                "salesDeliveryState": "InTransit", "voidedDate": None,
            })  # fmt: skip
            return httpx.Response(504, json={"Message": "Gateway Timeout."})
        if method == "POST" and path == "/sales/v2/deliveries/retailer/depart":
            state["posts"] += 1
            state["retailer"]["actualDepartureDateTime"] = "2025-03-01T14:30:00"
            raise httpx.ReadTimeout("lost", request=request)
        if method == "GET" and path == "/sales/v2/deliveries/retailer/41":
            return httpx.Response(200, json=state["retailer"])
        if method == "GET" and path in ("/sales/v2/deliveries/active", "/sales/v2/deliveries/inactive"):
            data = state["deliveries"] if path.endswith("active") and "inactive" not in path else []
            return httpx.Response(200, json={"data": data, "total": len(data), "page": 1, "totalPages": 1})
        return httpx.Response(404, json={"Message": "No HTTP resource."})

    fake = metrc.MetrcProvider(
        base_url="http://metrc.test", vendor_key="v", user_key="u", license_number=MI_LICENSE,
        jurisdiction="US-MI", transport=httpx.MockTransport(answer), sleep=lambda seconds: None,
    )  # fmt: skip
    assert fake.sales_delivery_create(sales_plan(("MI-GUMMY", 2, "each", 40)), zone=DETROIT) == 901
    fake.retailer_delivery_depart(41)
    assert state["posts"] == 2
