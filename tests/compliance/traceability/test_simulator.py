"""The Metrc simulator's behaviour, driven through the real provider over the in-process transport."""

import datetime as dt
import threading
from decimal import Decimal

import pytest

from compliance.traceability import metrc
from compliance.traceability.base import (
    Operation,
    PatientStatus,
    Rejected,
    RowError,
    StateTransfer,
    TransientFailure,
)
from compliance.traceability.simulator import MetrcSimulator
from tests.compliance.traceability.conftest import (
    CA_LICENSE,
    LA,
    MI_LICENSE,
    SALE_AT,
    USER,
    VENDOR,
    make_provider,
)

RECIPIENT = {
    "name": "J. Doe",
    "street1": "1 Main St",
    "city": "Oakland",
    "state": "CA",
    "postal_code": "94612",
}


def sale(label, quantity="1", unit="g", total="10", number=None):
    return metrc.receipt_object(
        SALE_AT,
        LA,
        "adult_use",
        transactions=[metrc.transaction_object(label, quantity, unit, total)],
        external_receipt_number=number,
    )


def rejected_rows(provider, operation, objects) -> list[RowError]:
    with pytest.raises(Rejected) as caught:
        provider.submit(operation, objects)
    assert caught.value.status_code == 400
    return caught.value.errors


def test_a_sale_takes_quantity_and_a_void_gives_it_back(simulator, provider):
    receipt = provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER", "3.5", total="45")]).ids[0]
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal("24.5")
    stored = simulator.receipts(CA_LICENSE)[0]
    assert stored["SalesDateTime"] == "2025-03-01T14:05:00.000"
    assert stored["Transactions"] == [
        {
            "PackageLabel": "TAG-FLOWER",
            "Quantity": 3.5,
            "UnitOfMeasure": "Grams",
            "TotalAmount": 45.0,
            "QuantitySold": 3.5,
            "UnitOfMeasureName": "Grams",  # as Metrc answers a receipt's lines
        }
    ]

    update = metrc.receipt_object(
        SALE_AT,
        LA,
        "adult_use",
        transactions=[metrc.transaction_object("TAG-FLOWER", 7, "g", 80)],
        receipt_id=receipt,
    )
    provider.submit(Operation.SALES_RECEIPT_UPDATE, [update])
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal("21")

    provider.submit(Operation.SALES_RECEIPT_VOID, [metrc.receipt_void_object(receipt)])
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal("28")
    assert rejected_rows(provider, Operation.SALES_RECEIPT_VOID, [{"Id": receipt}]) == [
        RowError(0, f"Receipt {receipt} is already voided.")
    ]


def test_unknown_finished_on_hold_untested_and_oversold_packages_are_refused_row_by_row(simulator, provider):
    simulator.seed_package(CA_LICENSE, "TAG-DONE", 3, "Grams", "Old", finished=True)
    simulator.seed_package(CA_LICENSE, "TAG-HOLD", 3, "Grams", "Held", on_hold=True)
    simulator.seed_package(CA_LICENSE, "TAG-LAB", 3, "Grams", "Untested", lab_testing_state="TestPending")
    objects = [
        sale("TAG-FLOWER", "20"),
        sale("TAG-UNKNOWN"),
        sale("TAG-DONE"),
        sale("TAG-HOLD"),
        sale("TAG-LAB"),
        sale("TAG-FLOWER", "9"),  # 20 + 9 > 28: the request is judged as a whole
        sale("TAG-CART", "1", unit="g"),
    ]
    assert rejected_rows(provider, Operation.SALES_RECEIPT_CREATE, objects) == [
        RowError(1, f"Package TAG-UNKNOWN was not found at facility {CA_LICENSE}."),
        RowError(2, "Package TAG-DONE is finished."),
        RowError(3, "Package TAG-HOLD is on hold."),
        RowError(4, "Package TAG-LAB has not passed lab testing (TestPending)."),
        RowError(5, "Package TAG-FLOWER has 8 Grams available; 9 cannot be sold."),
        RowError(6, "Package TAG-CART is counted in Each, not Grams."),
    ]
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal(28)  # all or nothing
    assert simulator.receipts(CA_LICENSE) == []


def test_missing_required_fields_are_row_errors(simulator, provider):
    objects = [
        {"SalesCustomerType": "Consumer", "Transactions": [{"PackageLabel": "TAG-FLOWER", "Quantity": 1}]},
        {"SalesDateTime": "2025-03-01T14:05:00Z", "SalesCustomerType": "Patient", "Transactions": []},
    ]
    assert rejected_rows(provider, Operation.SALES_RECEIPT_CREATE, objects) == [
        RowError(0, "SalesDateTime is required"),
        RowError(0, "UnitOfMeasure is required"),
        RowError(0, "TotalAmount is required"),
        RowError(1, "SalesDateTime must be the facility's local date and time without an offset"),
        RowError(1, "PatientLicenseNumber is required for a patient or caregiver sale."),
        RowError(1, "Transactions may not be empty"),
    ]


def test_adjustments_need_a_known_reason_a_note_where_required_and_stay_above_zero(simulator, provider):
    day = dt.date(2025, 3, 1)
    provider.submit(
        Operation.PACKAGE_ADJUST, [metrc.adjustment_object("TAG-FLOWER", "-2.5", "g", "Waste", day)]
    )
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal("25.5")
    assert rejected_rows(
        provider,
        Operation.PACKAGE_ADJUST,
        [
            metrc.adjustment_object("TAG-FLOWER", -1, "g", "Theft", day),
            metrc.adjustment_object("TAG-FLOWER", -1, "g", "Lost it", day),
            metrc.adjustment_object("TAG-CART", -11, "each", "Scale Variance", day),
        ],
    ) == [
        RowError(0, "AdjustmentReason Theft requires a ReasonNote."),
        RowError(
            1, "AdjustmentReason Lost it is not one of Drying, Entry Error, Scale Variance, Theft, Waste."
        ),
        RowError(2, "Package TAG-CART would fall below zero (-1 Each)."),
    ]
    reasons = provider.adjustment_reasons()
    assert [(r.name, r.requires_note) for r in reasons][:2] == [("Drying", False), ("Entry Error", True)]


def test_a_retailer_delivery_from_loading_to_return(simulator, provider):
    driver = {"name": "Sam", "employee_id": "E-1", "license_number": "D1", "vehicle_make": "Toyota",
              "vehicle_model": "Prius", "vehicle_plate": "8ABC123"}  # fmt: skip
    van = provider.submit(
        Operation.RETAILER_DELIVERY_CREATE,
        [metrc.retailer_delivery_object(SALE_AT, LA, driver=driver,
                                        packages=[metrc.retailer_package_object("TAG-FLOWER", 14, "g", 180)])],
    ).ids[0]  # fmt: skip
    # While on the vehicle, the package cannot be sold over the counter.
    assert rejected_rows(provider, Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")]) == [
        RowError(0, f"Package TAG-FLOWER is on retailer delivery {van}.")
    ]
    provider.submit(Operation.RETAILER_DELIVERY_DEPART, [metrc.retailer_delivery_depart_object(van)])
    on_van = metrc.retailer_delivery_sale_object(
        van, SALE_AT, LA, "adult_use", recipient=RECIPIENT,
        transactions=[metrc.transaction_object("TAG-FLOWER", "3.5", "g", 45)],
    )  # fmt: skip
    provider.submit(Operation.RETAILER_DELIVERY_SALE, [on_van])
    too_much = metrc.retailer_delivery_sale_object(
        van, SALE_AT, LA, "adult_use", recipient=RECIPIENT,
        transactions=[metrc.transaction_object("TAG-FLOWER", 11, "g", 140)],
    )  # fmt: skip
    assert rejected_rows(provider, Operation.RETAILER_DELIVERY_SALE, [too_much]) == [
        RowError(0, "Package TAG-FLOWER has 10.5 left on the vehicle.")
    ]
    provider.submit(
        Operation.RETAILER_DELIVERY_RESTOCK,
        [metrc.retailer_delivery_restock_object(van, SALE_AT, LA,
                                                packages=[metrc.retailer_package_object("TAG-CART", 4, "each", 120)])],
    )  # fmt: skip
    assert simulator.retailer_delivery(CA_LICENSE, van)["Loaded"] == {"TAG-FLOWER": "10.5", "TAG-CART": "4"}
    provider.submit(
        Operation.RETAILER_DELIVERY_END,
        [metrc.retailer_delivery_end_object(van, SALE_AT, LA, packages=[
            metrc.retailer_end_package_object("TAG-FLOWER", "10.5", "g"),
            metrc.retailer_end_package_object("TAG-CART", 4, "each"),
        ])],
    )  # fmt: skip
    assert simulator.retailer_delivery(CA_LICENSE, van)["State"] == "Ended"
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal("24.5")
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").retailer_delivery_id is None
    provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])  # back on the shelf


def test_a_sales_delivery_with_a_return(simulator, provider):
    delivery = metrc.sales_delivery_object(
        SALE_AT, LA, "adult_use", recipient=RECIPIENT, transactions=[metrc.transaction_object("TAG-CART", 3, "each", 90)],
        driver={"name": "Sam", "employee_id": "E-1", "license_number": "D1", "phone": "+15105550100",
                "vehicle_make": "Toyota", "vehicle_model": "Prius", "vehicle_plate": "8ABC123"},
        planned_route="Mission St to 1 Main St", estimated_departure=SALE_AT,
        estimated_arrival=SALE_AT + dt.timedelta(minutes=30),
    )  # fmt: skip
    delivery_id = provider.submit(Operation.SALES_DELIVERY_CREATE, [delivery]).ids[0]
    assert simulator.package(CA_LICENSE, "TAG-CART").quantity == 7
    complete = metrc.sales_delivery_complete_object(
        delivery_id, SALE_AT, LA, accepted_packages=["TAG-CART"], payment_type="Cash",
        returned_packages=[metrc.returned_package_object("TAG-CART", 1, "each", "Damaged")],
    )  # fmt: skip
    provider.submit(Operation.SALES_DELIVERY_COMPLETE, [complete])
    assert simulator.package(CA_LICENSE, "TAG-CART").quantity == 8
    assert rejected_rows(provider, Operation.SALES_DELIVERY_COMPLETE, [complete]) == [
        RowError(0, f"Delivery {delivery_id} is already completed.")
    ]


def test_incoming_transfers_with_their_packages(simulator, provider):
    simulator.seed_transfer(
        CA_LICENSE, "0000123456", shipper_license="C11-0000001-LIC", shipper_name="Coastal Farms",
        packages=[{"label": "TAG-IN-1", "item": "Blue Dream 3.5g", "quantity": 24, "unit": "Each"},
                  {"label": "TAG-IN-2", "item": "OG Kush bulk", "quantity": "453.6", "unit": "Grams"}],
    )  # fmt: skip
    transfers = provider.incoming_transfers()
    assert transfers == [
        StateTransfer(
            manifest_number="0000123456", shipper_license="C11-0000001-LIC", shipper_name="Coastal Farms",
            packages=[
                {"label": "TAG-IN-1", "item_name": "Blue Dream 3.5g", "quantity": Decimal(24),
                 "unit_of_measure": "Each", "lab_testing_state": "TestPassed", "shipment_state": "Shipped"},
                {"label": "TAG-IN-2", "item_name": "OG Kush bulk", "quantity": Decimal("453.6"),
                 "unit_of_measure": "Grams", "lab_testing_state": "TestPassed", "shipment_state": "Shipped"},
            ],
            transfer_id=transfers[0].transfer_id,
            delivery_ids=transfers[0].delivery_ids,
        )
    ]  # fmt: skip
    assert len(transfers[0].delivery_ids) == 1


def test_patient_status_where_the_state_offers_it(simulator, clock, provider):
    simulator.seed_patient(MI_LICENSE, "PT-1", flower_ounces_available="2.5")
    michigan = make_provider(simulator, clock, license_number=MI_LICENSE)
    status = michigan.patient_status("PT-1")
    assert status == PatientStatus(
        "PT-1", active=True,
        allotments={"flower_oz": Decimal("2.5"), "thc_oz": Decimal("0.5"), "purchase_amount_days": Decimal(30)},
    )  # fmt: skip
    assert michigan.patient_status("PT-UNKNOWN") == PatientStatus("PT-UNKNOWN", active=False)
    calls = simulator.call_count
    assert provider.patient_status("PT-1") is None  # California's Metrc has no patient lookup
    assert simulator.call_count == calls


def test_gets_over_the_rate_limit_answer_429_and_the_provider_waits(simulator, provider, clock):
    simulator.set_faults(get_rate_limit=2)
    for _ in range(3):
        provider.adjustment_reasons()
    statuses = [r.path for r in simulator.requests]
    assert len(statuses) == 4  # the third GET in the same second was refused once
    assert len(clock.sleeps) == 1 and 1.0 <= clock.sleeps[0] <= 1.5  # Retry-After: 1, plus jitter
    provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])  # writes are not rate limited
    assert len(clock.sleeps) == 1


def test_every_fifth_call_fails_and_the_provider_rides_it_out(simulator, provider, clock):
    simulator.seed_package(CA_LICENSE, "TAG-BULK", 1000, "Grams", "Bulk")
    simulator.set_faults(fail_every=5)
    for _ in range(20):
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-BULK", "1")])
    assert len(simulator.receipts(CA_LICENSE)) == 20
    assert simulator.package(CA_LICENSE, "TAG-BULK").quantity == Decimal(980)
    assert simulator.call_count == 24  # calls 5, 10, 15 and 20 failed and were retried
    assert len(clock.sleeps) == 4 and all(0.25 <= sleep <= 0.5 for sleep in clock.sleeps)


def test_random_faults_are_reproducible_with_a_seed(clock):
    def pattern(seed):
        sim = MetrcSimulator(seed=seed, clock=clock, sleep=clock.sleep)
        sim.add_credentials(VENDOR, USER)
        sim.add_facility(CA_LICENSE, user_keys=[USER])
        sim.set_faults(fail_probability=0.3, get_rate_limit=None)
        outcomes = []
        for _ in range(30):
            response = sim.handle("GET", "/packages/v2/active", {"licenseNumber": CA_LICENSE},
                                  {"Authorization": "Basic dmVuZG9yLWtleS0xOnVzZXIta2V5LTE="}, b"")  # fmt: skip
            outcomes.append(response.status)
        return outcomes

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert 3 <= pattern(1).count(500) <= 18


def test_latency_is_added_to_every_call(simulator, provider, clock):
    simulator.set_faults(latency_seconds=0.25)
    provider.adjustment_reasons()
    assert clock.sleeps == [0.25]


def test_a_timeout_after_processing_applies_the_write_but_loses_the_answer(simulator, clock):
    provider = make_provider(simulator, clock, timeout=0.1)
    simulator.set_faults(timeout_every=1, timeout_after_processing=True)
    with pytest.raises(TransientFailure):
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert len(simulator.receipts(CA_LICENSE)) == 1  # what a resend must not duplicate


def test_concurrent_sales_never_oversell(simulator):
    simulator.seed_package(CA_LICENSE, "TAG-RACE", 50, "Each", "Pre-roll")
    accepted, refused = [], []

    def sell():
        provider = make_provider(simulator, _NoClock(), max_attempts=1)
        for _ in range(10):
            try:
                provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-RACE", 1, unit="each")])
                accepted.append(1)
            except Rejected:
                refused.append(1)

    threads = [threading.Thread(target=sell) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(accepted), len(refused)) == (50, 30)
    assert simulator.package(CA_LICENSE, "TAG-RACE").quantity == 0


class _NoClock:
    def sleep(self, seconds):
        pass


def test_a_write_can_be_applied_and_its_answer_lost(simulator, provider, clock):
    simulator.set_faults(lose_after_every=1, lost_answer="504")
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER", "2")])
    assert caught.value.outcome_unknown and caught.value.status_code == 504
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal(26)  # applied all the same


def test_a_write_can_be_lost_before_it_is_applied(simulator, clock):
    provider = make_provider(simulator, clock, timeout=0.05)
    simulator.set_faults(timeout_every=1, timeout_seconds=0.05)
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER", "2")])
    assert caught.value.outcome_unknown
    assert simulator.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal(28)  # never applied


def test_injected_429_carries_retry_after(simulator, clock):
    provider = make_provider(simulator, clock, max_attempts=1)
    simulator.set_faults(fail_every=1, fail_statuses=(429,), fail_retry_after="7")
    with pytest.raises(TransientFailure) as caught:
        provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    assert (caught.value.status_code, caught.value.retry_after, caught.value.outcome_unknown) == (
        429,
        7,
        False,
    )
    assert simulator.receipts(CA_LICENSE) == []


def test_receipts_are_listed_by_sales_date(simulator, provider):
    provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER")])
    sold_at = simulator.receipts(CA_LICENSE)[0]["SalesDateTime"]
    assert [r["SalesDateTime"] for r in provider.receipts_sold_around(sold_at)] == [sold_at]
    far = (dt.datetime.fromisoformat(sold_at[:19]) + dt.timedelta(days=3)).isoformat()
    assert list(provider.receipts_sold_around(far)) == []


def test_the_state_survives_a_restart_in_its_journal(tmp_path, clock):
    journal = tmp_path / "db.sqlite3-metrc-simulator.jsonl"

    def started():
        sim = MetrcSimulator(seed=7, clock=clock, sleep=clock.sleep, state_file=journal)
        sim.add_credentials(VENDOR, USER)
        sim.add_facility(CA_LICENSE, jurisdiction="US-CA", user_keys=[USER])
        return sim

    first = started()
    first.seed_package(CA_LICENSE, "TAG-FLOWER", Decimal("28"), "Grams", "Blue Dream")
    provider = make_provider(first, clock)
    provider.submit(Operation.SALES_RECEIPT_CREATE, [sale("TAG-FLOWER", "2", number="R-1")])
    receipt_id = provider.receipt_id_by_external_number("R-1")
    provider.submit(
        Operation.PACKAGE_ADJUST,
        [metrc.adjustment_object("TAG-FLOWER", "-1", "g", "Waste", dt.date(2025, 3, 1))],
    )
    first.set_faults(lose_after_every=1)  # applied, answer lost: still on the state's books after a restart
    with pytest.raises(TransientFailure):
        provider.submit(Operation.SALES_RECEIPT_VOID, [{"Id": receipt_id}])
    first.close()

    second = started()
    assert second.package(CA_LICENSE, "TAG-FLOWER").quantity == Decimal(27)  # 28 - 2 - 1 + 2
    [receipt] = second.receipts(CA_LICENSE)
    assert (receipt["Id"], receipt["ExternalReceiptNumber"], receipt["IsArchived"]) == (
        receipt_id,
        "R-1",
        True,
    )
    assert make_provider(second, clock).receipt_id_by_external_number("R-1") == receipt_id
    # New ids continue after the old ones.
    second.seed_package(CA_LICENSE, "TAG-NEW", 1, "Each", "New")
    assert second.package(CA_LICENSE, "TAG-NEW").id > receipt_id
