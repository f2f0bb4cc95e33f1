"""Every request body the Metrc provider builds, validated against its operation's request schema in the
OpenAPI document (corrected as shared/reference/metrc/README.md says) - and the validator refusing bad ones."""

import copy
import datetime as dt
from decimal import Decimal

import pytest

from compliance.traceability import metrc
from compliance.traceability.base import Operation
from tests.compliance.traceability.conftest import CA_LICENSE, LA, SALE_AT
from tests.compliance.traceability.openapi import ROUTES, SPEC_PATH, assert_valid_request, request_errors

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"Metrc OpenAPI document not at {SPEC_PATH}")

RECIPIENT = {"name": "J. Doe", "street1": "1 Main St", "city": "Oakland", "county": "Alameda", "state": "CA",
             "postal_code": "94612"}  # fmt: skip
DRIVER = {"employee_id": "E-7", "name": "Sam Driver", "license_number": "D1234567", "phone": "+15105550100",
          "vehicle_make": "Toyota", "vehicle_model": "Prius", "vehicle_plate": "8ABC123"}  # fmt: skip
LINE = metrc.transaction_object("TAG-FLOWER", "3.5", "g", "45.00", price="40.00", excise_tax="5.00")


def built_objects() -> dict[Operation, dict]:
    return {
        Operation.SALES_RECEIPT_CREATE: metrc.receipt_object(
            SALE_AT, LA, "medical", "PAT-1", transactions=[LINE], external_receipt_number="S-100"
        ),
        Operation.SALES_RECEIPT_UPDATE: metrc.receipt_object(
            SALE_AT, LA, "adult_use", transactions=[LINE], receipt_id=1234
        ),
        Operation.PACKAGE_ADJUST: metrc.adjustment_object(
            "TAG-FLOWER", "-1.25", "g", "Waste", dt.date(2025, 3, 1), "Dropped on the floor"
        ),
        Operation.SALES_DELIVERY_CREATE: metrc.sales_delivery_object(
            SALE_AT, LA, "adult_use", transactions=[LINE], recipient=RECIPIENT, driver=DRIVER,
            estimated_departure=SALE_AT, estimated_arrival=SALE_AT + dt.timedelta(minutes=40),
            transporter_facility_license=CA_LICENSE,
        ),
        Operation.SALES_DELIVERY_COMPLETE: metrc.sales_delivery_complete_object(
            77, SALE_AT, LA, accepted_packages=["TAG-FLOWER"],
            returned_packages=[metrc.returned_package_object("TAG-CART", 1, "each", "Refused")],
            payment_type="Cash",
        ),
        Operation.RETAILER_DELIVERY_CREATE: metrc.retailer_delivery_object(
            SALE_AT, LA, packages=[metrc.retailer_package_object("TAG-FLOWER", 14, "g", "180.00")], driver=DRIVER,
            estimated_departure=SALE_AT,
        ),
        Operation.RETAILER_DELIVERY_DEPART: metrc.retailer_delivery_depart_object(88),
        Operation.RETAILER_DELIVERY_SALE: metrc.retailer_delivery_sale_object(
            88, SALE_AT, LA, "adult_use", transactions=[LINE], recipient=RECIPIENT, phone="+15105550101"
        ),
        Operation.RETAILER_DELIVERY_RESTOCK: metrc.retailer_delivery_restock_object(
            88, SALE_AT, LA,
            packages=[metrc.retailer_package_object("TAG-CART", 2, "each", "60.00", remove_current_package=False)],
        ),
        Operation.RETAILER_DELIVERY_END: metrc.retailer_delivery_end_object(
            88, SALE_AT, LA, packages=[metrc.retailer_end_package_object("TAG-FLOWER", "10.5", "g")]
        ),
        Operation.PACKAGE_FINISH: metrc.package_finish_object("TAG-FLOWER", dt.date(2025, 3, 1)),
        Operation.PACKAGE_UNFINISH: metrc.package_unfinish_object("TAG-FLOWER"),
    }  # fmt: skip


@pytest.mark.parametrize("operation", [op for op in Operation if op not in metrc.DELETES])
def test_each_builder_matches_its_operations_request_schema(operation):
    method, path = metrc.WRITE_ROUTES[operation]
    assert_valid_request(method, path, [built_objects()[operation]])


def test_every_write_the_provider_sends_matches_its_schema(simulator, provider):
    """A day through the provider against the simulator; every body that went over the wire is checked."""
    simulator.seed_package(CA_LICENSE, "TAG-VAN", 20, "Grams", "OG Kush")
    simulator.seed_package(CA_LICENSE, "TAG-VAN2", 5, "Each", "Gummies")
    receipt = provider.submit(
        Operation.SALES_RECEIPT_CREATE,
        [metrc.receipt_object(SALE_AT, LA, "adult_use", transactions=[LINE], external_receipt_number="S-1")],
    ).ids[0]
    provider.submit(
        Operation.SALES_RECEIPT_UPDATE,
        [metrc.receipt_object(SALE_AT, LA, "adult_use", transactions=[LINE], receipt_id=receipt)],
    )
    provider.submit(Operation.SALES_RECEIPT_VOID, [metrc.receipt_void_object(receipt)])
    provider.submit(
        Operation.PACKAGE_ADJUST,
        [metrc.adjustment_object("TAG-FLOWER", -1, "g", "Scale Variance", dt.date(2025, 3, 1))],
    )
    delivery = provider.submit(
        Operation.SALES_DELIVERY_CREATE,
        [metrc.sales_delivery_object(SALE_AT, LA, "adult_use", transactions=[LINE], recipient=RECIPIENT,
                                     driver=DRIVER, planned_route="Mission St to Main St",
                                     estimated_departure=SALE_AT, estimated_arrival=SALE_AT)],
    ).ids[0]  # fmt: skip
    provider.submit(
        Operation.SALES_DELIVERY_COMPLETE,
        [metrc.sales_delivery_complete_object(delivery, SALE_AT, LA, accepted_packages=["TAG-FLOWER"])],
    )
    van = provider.submit(
        Operation.RETAILER_DELIVERY_CREATE,
        [metrc.retailer_delivery_object(SALE_AT, LA, driver=DRIVER,
                                        packages=[metrc.retailer_package_object("TAG-VAN", 10, "g", "100")])],
    ).ids[0]  # fmt: skip
    provider.submit(
        Operation.RETAILER_DELIVERY_RESTOCK,
        [metrc.retailer_delivery_restock_object(van, SALE_AT, LA,
                                                packages=[metrc.retailer_package_object("TAG-VAN2", 2, "each", "40")])],
    )  # fmt: skip
    provider.submit(Operation.RETAILER_DELIVERY_DEPART, [metrc.retailer_delivery_depart_object(van)])
    provider.submit(
        Operation.RETAILER_DELIVERY_SALE,
        [metrc.retailer_delivery_sale_object(van, SALE_AT, LA, "adult_use", recipient=RECIPIENT,
                                             transactions=[metrc.transaction_object("TAG-VAN", 3.5, "g", 45)])],
    )  # fmt: skip
    provider.submit(
        Operation.RETAILER_DELIVERY_END,
        [metrc.retailer_delivery_end_object(van, SALE_AT, LA, packages=[
            metrc.retailer_end_package_object("TAG-VAN", "6.5", "g"),
            metrc.retailer_end_package_object("TAG-VAN2", 2, "each"),
        ])],
    )  # fmt: skip

    simulator.seed_package(CA_LICENSE, "TAG-EMPTY", 0, "Grams", "OG Kush")
    provider.submit(Operation.PACKAGE_FINISH, [metrc.package_finish_object("TAG-EMPTY", dt.date(2025, 3, 1))])
    provider.submit(Operation.PACKAGE_UNFINISH, [metrc.package_unfinish_object("TAG-EMPTY")])

    writes = [r for r in simulator.requests if r.method in ("POST", "PUT")]
    assert {(r.method, r.path) for r in writes} == ROUTES
    for request in writes:
        assert_valid_request(request.method, request.path, request.body)
    assert [r.path for r in simulator.requests if r.method == "DELETE"] == [f"/sales/v2/receipts/{receipt}"]


def _receipt() -> dict:
    return copy.deepcopy(built_objects()[Operation.SALES_RECEIPT_CREATE])


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda r: r["Transactions"][0].update(Quantity="3.5"), "'3.5' is not of type 'number'"),
        (lambda r: r["Transactions"][0].pop("TotalAmount"), "'totalamount' is a required property"),
        (lambda r: r.pop("SalesDateTime"), "'salesdatetime' is a required property"),
        (lambda r: r.update(SalesCustomerType=None), "None is not of type 'string'"),
        (lambda r: r.update(SalesDateTime="2025-03-01T14:05:00.000-08:00"), "does not match"),
        (lambda r: r.update(SalesDateTime="2025-03-01T22:05:00Z"), "does not match"),
        (lambda r: r.update(Transactions="TAG-FLOWER"), "is not of type 'array'"),
        (
            lambda r: r["Transactions"][0].update(Quantiy=1),
            "Additional properties are not allowed ('quantiy'",
        ),
        (lambda r: r.update(salesDateTime="2025-03-01T14:05:00.000"), "sent twice"),
    ],
    ids=[
        "string-quantity",
        "missing-total",
        "missing-date",
        "null-customer-type",
        "offset",
        "utc-z",
        "transactions-not-array",
        "misspelt-field",
        "same-name-twice",
    ],  # fmt: skip
)
def test_the_validator_refuses_a_broken_receipt(breakage, expected):
    receipt = _receipt()
    breakage(receipt)
    errors = request_errors("POST", "/sales/v2/receipts", [receipt])
    assert errors, "the validator accepted a broken body"
    assert any(expected in error for error in errors), errors


def test_the_validator_refuses_broken_adjustments_and_retailer_ends():
    adjustment = built_objects()[Operation.PACKAGE_ADJUST]
    assert request_errors(
        "POST", "/packages/v2/adjust", [{**adjustment, "AdjustmentDate": "2025-03-01T00:00:00"}]
    )
    assert request_errors(
        "POST", "/packages/v2/adjust", [{k: v for k, v in adjustment.items() if k != "AdjustmentReason"}]
    )
    end = built_objects()[Operation.RETAILER_DELIVERY_END]
    broken = copy.deepcopy(end)
    del broken["Packages"][0]["EndUnitOfMeasure"]
    assert any("'endunitofmeasure' is a required property" in e for e in request_errors(
        "POST", "/sales/v2/deliveries/retailer/end", [broken]))  # fmt: skip
    assert request_errors("POST", "/sales/v2/deliveries/retailer/depart", [{"RetailerDeliveryId": "88"}])
    update = built_objects()[Operation.SALES_RECEIPT_UPDATE]
    assert any("'id' is a required property" in e for e in request_errors(
        "PUT", "/sales/v2/receipts", [{k: v for k, v in update.items() if k != "Id"}]))  # fmt: skip


def test_pascal_and_camel_case_names_are_the_same_field():
    receipt = _receipt()
    camel = {key[0].lower() + key[1:]: value for key, value in receipt.items()}
    assert request_errors("POST", "/sales/v2/receipts", [camel]) == []


@pytest.mark.parametrize(
    ("customer_type", "extra", "expected"),
    [
        (
            "caregiver",
            {"caregiver_license": "CG-9"},
            {"SalesCustomerType": "Caregiver", "CaregiverLicenseNumber": "CG-9"},
        ),
        (
            "external_patient",
            {"patient_registration_location_id": 3},
            {"SalesCustomerType": "ExternalPatient", "PatientRegistrationLocationId": 3},
        ),
    ],
)
def test_caregiver_and_external_patient_receipts_match_the_schema(customer_type, extra, expected):
    receipt = metrc.receipt_object(
        SALE_AT, LA, customer_type, "PAT-1", transactions=[LINE], external_receipt_number="S-7", **extra
    )
    assert {key: receipt[key] for key in expected} == expected
    assert receipt["PatientLicenseNumber"] == "PAT-1"
    assert_valid_request("POST", "/sales/v2/receipts", [receipt])


def test_a_quantity_goes_in_the_unit_the_state_holds_the_package_in():
    assert metrc.state_quantity("3.5", "g") == (Decimal("3.500"), "Grams")
    assert metrc.state_quantity("3.5", "g", "lb") == (Decimal("0.007716"), "Pounds")
    assert metrc.state_quantity("28.349523125", "g", "oz") == (Decimal("1.000000"), "Ounces")
    assert metrc.state_quantity("2", "each", "") == (Decimal("2.000"), "Each")
    line = metrc.transaction_object("TAG-FLOWER", *metrc.state_quantity("453.592", "g", "lb"), "100")
    assert (line["Quantity"], line["UnitOfMeasure"]) == (0.999999, "Pounds")
    assert metrc.platform_quantity("1", "Pounds", "g") == Decimal("453.592")
    assert metrc.platform_quantity("16", "Ounces", "g") == Decimal("453.592")
