"""What is reported to the state and how it is built, end to end: the point of sale and inventory services
commit, the outbox runs the reporting handlers, the sync queue sends to the in-process Metrc simulator (the
embedded default), and the tests read what the simulator holds afterwards."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from compliance.models import PatientRegistration, SyncRecord
from compliance.traceability import registry
from compliance.traceability.simulator import ADJUSTMENT_REASONS
from dispensary import events
from inventory.services import Reference, StockRequest, stock_sell
from inventory.services.stock import package_adjust
from inventory.services.waste import package_waste
from pos.events import SaleCompleted
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund, sale_void
from tests.factories import CustomerFactory, StoreFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory
from tests.inventory.factories import receive as receive_untested
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulator():
    """The process's in-process simulator, fresh for each test (and the state's lists not cached)."""
    registry.reset_shared_simulator()
    cache.clear()
    yield registry.shared_simulator()
    registry.reset_shared_simulator()
    cache.clear()


@pytest.fixture
def product(organization):
    product = ProductFactory(organization=organization, price=D("45.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("3.5"))
    return product


@pytest.fixture
def register(store, budtender):
    return register_with_drawer(store, budtender)


@pytest.fixture
def counter_sale(store, register, budtender, shipped_rules):
    """A sale through the checkout to a new adult customer."""
    from compliance.identity import id_verify

    keys = iter(range(1, 1000))

    def sell(package, quantity, *more):
        """`more`: further (package, quantity) lines."""
        customer = CustomerFactory(organization=store.organization)
        verification = id_verify(
            store=store,
            staff=budtender,
            minimum_age=21,
            date_of_birth=dt.date(1990, 5, 17),
            expires_on=timezone.localdate() + dt.timedelta(days=800),
            customer=customer,
        ).verification
        return checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type="adult_use",
            lines=[
                QuoteLineInput(p.product_id, D(q), package_id=p.pk) for p, q in [(package, quantity), *more]
            ],
            tenders=[TenderInput("cash", D("500"))],
            idempotency_key=f"state-report-{next(keys)}",
            id_verification=verification,
        )

    return sell


def receive(store, product, quantity, **details):
    """A package that passed lab testing (the state sells nothing else)."""
    return receive_untested(store, product, quantity, lab_status="passed", **details)


def records(store, kind=None):
    found = SyncRecord.objects.filter(store=store).order_by("id")
    return list(found.filter(kind=kind) if kind else found)


def state_package(simulator, store, package):
    registry.provider_for_store(store)  # the simulator learns the store's packages on first use
    return simulator.package(store.license_adult_use, package.tag)


# --- 1. Refunds: an empty receipt is voided; waste follows the receipt's update ------------------------------


def test_a_refund_of_every_line_voids_the_receipt_instead_of_emptying_it(
    store, product, simulator, counter_sale, budtender, manager
):
    package = receive(store, product, 10)
    sale = counter_sale(package, "3")
    line = sale.lines.get()
    sale_refund(
        sale=sale, lines=[(line, D("3"), True)], reason="Changed mind", actor=budtender, approver=manager
    )

    kinds = [(r.kind, r.status) for r in records(store)]
    assert kinds == [("sales_receipt.create", "accepted"), ("sales_receipt.void", "accepted")]
    (receipt,) = simulator.receipts(store.license_adult_use)
    assert receipt["IsArchived"] is True
    assert state_package(simulator, store, package).quantity == D("10")


def test_a_void_after_every_line_was_refunded_is_not_sent_twice(
    store, product, simulator, counter_sale, budtender, manager
):
    package = receive(store, product, 10)
    sale = counter_sale(package, "2")
    sale_refund(
        sale=sale,
        lines=[(sale.lines.get(), D("2"), True)],
        reason="Wrong item",
        actor=budtender,
        approver=manager,
    )
    sale_void(sale=sale, actor=budtender, approver=manager)
    assert [r.kind for r in records(store)] == ["sales_receipt.create", "sales_receipt.void"]
    assert all(r.status == "accepted" for r in records(store))


def test_a_refund_to_waste_updates_the_receipt_before_it_reports_the_waste(
    store, product, simulator, counter_sale, budtender, manager
):
    """The sale empties the package; two of five come back damaged. The state's package only holds them again
    once the receipt is updated, so: unfinish, update, waste, finish, and the state ends where the ledger is."""
    package = receive(store, product, 5)
    sale = counter_sale(package, "5")
    sale_refund(
        sale=sale,
        lines=[(sale.lines.get(), D("2"), False)],
        reason="Crushed",
        actor=budtender,
        approver=manager,
    )

    sent = records(store)
    assert [r.kind for r in sent] == [
        "sales_receipt.create",
        "package.finish",
        "package.unfinish",
        "sales_receipt.update",
        "package.adjust",
        "package.finish",
    ]
    assert all(r.status == "accepted" for r in sent), [(r.kind, r.last_error) for r in sent]
    adjustment = sent[4].payload[0]
    assert (adjustment["Label"], adjustment["Quantity"], adjustment["AdjustmentReason"]) == (
        package.tag,
        -2,
        "Waste",
    )
    (receipt,) = simulator.receipts(store.license_adult_use)
    assert [line["Quantity"] for line in receipt["Transactions"]] == [3]
    package.refresh_from_db()
    state = state_package(simulator, store, package)
    assert (package.quantity_on_hand, state.quantity, state.finished) == (D("0"), D("0"), True)


def test_waste_outside_a_refund_is_still_reported_on_its_own(store, product, simulator, manager):
    package = receive(store, product, 10)
    package_waste(package=package, quantity=D("4"), reason="expired", actor=manager)
    (adjust,) = records(store, "package.adjust")
    assert adjust.status == "accepted"
    assert adjust.payload[0]["Quantity"] == -4
    assert state_package(simulator, store, package).quantity == D("6")


# --- 4a. Finishing a package that reaches zero, unfinishing it on a return ---------------------------------


def test_a_package_sold_out_is_finished_and_a_void_unfinishes_it_first(
    store, product, simulator, counter_sale, budtender, manager
):
    package = receive(store, product, 2)
    sale = counter_sale(package, "2")
    state = state_package(simulator, store, package)
    assert (state.quantity, state.finished) == (D("0"), True)
    (finish,) = records(store, "package.finish")
    assert finish.payload == [
        {"Label": package.tag, "ActualDate": timezone.localdate(timezone=store.tz).isoformat()}
    ]

    sale_void(sale=sale, actor=budtender, approver=manager)
    assert [r.kind for r in records(store)] == [
        "sales_receipt.create",
        "package.finish",
        "package.unfinish",
        "sales_receipt.void",
    ]
    assert all(r.status == "accepted" for r in records(store))
    state = state_package(simulator, store, package)
    assert (state.quantity, state.finished) == (D("2"), False)


def test_an_adjustment_to_zero_finishes_and_one_back_up_unfinishes(store, product, simulator, manager):
    package = receive(store, product, 3)
    package_adjust(package=package, quantity="-3", reason="theft_shrinkage", actor=manager, note="Missing")
    assert state_package(simulator, store, package).finished is True
    package_adjust(package=package, quantity="1", reason="entry_error", actor=manager, note="Found one")
    assert [r.kind for r in records(store)] == [
        "package.adjust",
        "package.finish",
        "package.unfinish",
        "package.adjust",
    ]
    assert all(r.status == "accepted" for r in records(store)), [r.last_error for r in records(store)]
    state = state_package(simulator, store, package)
    assert (state.quantity, state.finished) == (D("1"), False)


def test_the_simulator_refuses_to_finish_a_package_that_still_holds_stock(store, product, simulator):
    from compliance.traceability.base import Operation, Rejected

    package = receive(store, product, 3)
    provider = registry.provider_for_store(store)
    with pytest.raises(Rejected, match="only an empty package can be finished"):
        provider.submit(Operation.PACKAGE_FINISH, [{"Label": package.tag, "ActualDate": "2026-03-01"}])
    with pytest.raises(Rejected, match="is not finished"):
        provider.submit(Operation.PACKAGE_UNFINISH, [{"Label": package.tag}])
    assert state_package(simulator, store, package).finished is False


# --- 4b. Adjustment reasons come from the state ------------------------------------------------------------


def test_adjustment_reasons_are_the_states_own(store, product, simulator, manager):
    """A state that names its waste reason differently: the report uses the state's name (and gives the note
    the state requires), so the state accepts it."""
    registry.provider_for_store(store)  # registers the store's facility
    simulator.set_adjustment_reasons(
        store.license_adult_use,
        [
            {"Name": "Waste (Unusable Product)", "RequiresNote": True, "RequiresWasteWeight": False},
            {"Name": "Theft", "RequiresNote": True, "RequiresWasteWeight": False},
            {"Name": "Incorrect Quantity", "RequiresNote": False, "RequiresWasteWeight": False},
        ],
    )
    package = receive(store, product, 10)
    package_waste(package=package, quantity=D("1"), reason="damaged", actor=manager)
    package_adjust(package=package, quantity="-1", reason="entry_error", actor=manager)
    sent = records(store, "package.adjust")
    assert [r.payload[0]["AdjustmentReason"] for r in sent] == [
        "Waste (Unusable Product)",
        "Incorrect Quantity",
    ]
    assert sent[0].payload[0]["ReasonNote"] == "damaged"
    assert all(r.status == "accepted" for r in sent), [r.last_error for r in sent]
    assert state_package(simulator, store, package).quantity == D("8")


def test_the_default_reasons_are_read_as_the_simulator_lists_them(store, simulator):
    reasons = registry.provider_for_store(store).adjustment_reasons()
    assert [reason.name for reason in reasons] == [reason["Name"] for reason in ADJUSTMENT_REASONS]


# --- 2. A store with both licences reports each sale under the customer's ----------------------------------


def publish_sale(store, package, quantity, *, sale_id, customer_type="adult_use", customer=None, **licences):
    """A sale as the checkout makes it: stock out through the ledger and SaleCompleted, in one transaction."""
    with transaction.atomic():
        stock_sell(
            store=store,
            requests=[StockRequest(package.product_id, D(quantity), package_id=package.pk)],
            actor=None,
            reference=Reference("sale", str(sale_id)),
        )
        events.publish(
            SaleCompleted(
                sale_id=sale_id,
                organization_id=store.organization_id,
                store_id=store.pk,
                completed_at=timezone.now().isoformat(),
                customer_type=customer_type,
                lines=[
                    {
                        "package_id": package.pk,
                        "package_label": package.tag,
                        "quantity": str(quantity),
                        "unit": package.unit,
                        "total_amount": "40.00",
                    }
                ],
                customer_id=customer.pk if customer else None,
                patient_license_number=licences.get("patient", ""),
                caregiver_license_number=licences.get("caregiver", ""),
            )
        )


@pytest.fixture
def dual_store(organization):
    return StoreFactory(
        organization=organization,
        license_adult_use="AU-R-000456",
        license_medical="PC-000789",
        jurisdiction="US-MI",
        time_zone="America/Detroit",
    )


def patient(store, card="MI-PAT-1", state="MI"):
    customer = CustomerFactory(organization=store.organization)
    PatientRegistration.objects.create(
        customer=customer, card_number=card, state=state, expires_on=dt.date(2099, 1, 1)
    )
    return customer


def test_each_sale_goes_under_the_licence_matching_its_customer(dual_store, organization, simulator):
    product = ProductFactory(organization=organization)
    package = receive(dual_store, product, 10)
    publish_sale(dual_store, package, 2, sale_id=1, customer_type="adult_use")
    publish_sale(
        dual_store,
        package,
        3,
        sale_id=2,
        customer_type="medical",
        customer=patient(dual_store),
        patient="MI-PAT-1",
    )
    adult = simulator.receipts("AU-R-000456")
    medical = simulator.receipts("PC-000789")
    assert [(r["ExternalReceiptNumber"], r["SalesCustomerType"]) for r in adult] == [
        (f"{dual_store.code}-1", "Consumer")
    ]
    assert [
        (r["ExternalReceiptNumber"], r["SalesCustomerType"], r["PatientLicenseNumber"]) for r in medical
    ] == [(f"{dual_store.code}-2", "Patient", "MI-PAT-1")]
    assert [r.license_number for r in records(dual_store, "sales_receipt.create")] == [
        "AU-R-000456",
        "PC-000789",
    ]
    # One inventory behind both licences: the state's package is down by both sales.
    assert simulator.package("AU-R-000456", package.tag).quantity == D("5")


def test_a_medical_sales_void_goes_under_the_medical_licence_too(dual_store, organization, simulator):
    from pos.events import SaleVoided

    product = ProductFactory(organization=organization)
    package = receive(dual_store, product, 10)
    publish_sale(
        dual_store,
        package,
        3,
        sale_id=7,
        customer_type="medical",
        customer=patient(dual_store),
        patient="MI-PAT-1",
    )
    with transaction.atomic():
        events.publish(
            SaleVoided(
                sale_id=7,
                organization_id=organization.pk,
                store_id=dual_store.pk,
                voided_at=timezone.now().isoformat(),
            )
        )
    (void,) = records(dual_store, "sales_receipt.void")
    assert (void.license_number, void.status) == ("PC-000789", "accepted")
    (receipt,) = simulator.receipts("PC-000789")
    assert receipt["IsArchived"] is True


# --- 4c. Caregivers and external patients, where the state has them ---------------------------------------


def test_a_caregiver_buying_for_a_patient_is_reported_as_a_caregiver_sale(
    dual_store, organization, simulator
):
    product = ProductFactory(organization=organization)
    package = receive(dual_store, product, 10)
    publish_sale(
        dual_store,
        package,
        1,
        sale_id=3,
        customer_type="medical",
        customer=patient(dual_store),
        patient="MI-PAT-1",
        caregiver="MI-CG-9",
    )
    (receipt,) = simulator.receipts("PC-000789")
    assert (
        receipt["SalesCustomerType"],
        receipt["PatientLicenseNumber"],
        receipt["CaregiverLicenseNumber"],
    ) == (
        "Caregiver",
        "MI-PAT-1",
        "MI-CG-9",
    )


def test_where_the_state_has_no_caregiver_sales_the_patient_is_reported(dual_store, organization, simulator):
    product = ProductFactory(organization=organization)
    package = receive(dual_store, product, 10)
    registry.provider_for_store(dual_store)
    for number in ("AU-R-000456", "PC-000789"):
        simulator.set_customer_types(number, ["Consumer", "Patient"])
    publish_sale(
        dual_store,
        package,
        1,
        sale_id=4,
        customer_type="medical",
        customer=patient(dual_store),
        patient="MI-PAT-1",
        caregiver="MI-CG-9",
    )
    (receipt,) = simulator.receipts("PC-000789")
    assert (receipt["SalesCustomerType"], receipt["CaregiverLicenseNumber"]) == ("Patient", None)
    assert records(dual_store)[0].status == "accepted"


def test_a_patient_registered_in_another_state_is_an_external_patient(dual_store, organization, simulator):
    product = ProductFactory(organization=organization)
    package = receive(dual_store, product, 10)
    visitor = patient(dual_store, card="CO-778", state="CO")
    publish_sale(
        dual_store, package, 1, sale_id=5, customer_type="medical", customer=visitor, patient="CO-778"
    )
    (receipt,) = simulator.receipts("PC-000789")
    locations = registry.provider_for_store(dual_store).patient_registration_locations()
    colorado = next(location["id"] for location in locations if location["name"] == "Colorado")
    assert (
        receipt["SalesCustomerType"],
        receipt["PatientLicenseNumber"],
        receipt["PatientRegistrationLocationId"],
    ) == ("ExternalPatient", "CO-778", colorado)


def test_caregiver_status_is_asked_only_where_the_state_offers_it(organization, simulator):
    new_jersey = StoreFactory(organization=organization, jurisdiction="US-NJ", time_zone="America/New_York")
    provider = registry.provider_for_store(new_jersey)
    simulator.seed_caregiver(new_jersey.license_adult_use, "NJ-CG-1")
    assert provider.caregiver_status("NJ-CG-1") is True
    assert provider.caregiver_status("NJ-CG-2") is False
    michigan = StoreFactory(organization=organization, jurisdiction="US-MI", time_zone="America/Detroit")
    calls = simulator.call_count
    assert registry.provider_for_store(michigan).caregiver_status("MI-CG-1") is None
    assert simulator.call_count == calls


# --- 3. Quantities in the unit the state holds the package in ----------------------------------------------


def test_a_package_the_state_holds_in_pounds_is_reported_in_pounds(store, organization, simulator):
    bulk = ProductFactory(organization=organization, sold_by="g", price=D("9.00"))
    package = receive(store, bulk, D("453.592"), state_unit="lb")
    state = state_package(simulator, store, package)
    assert (state.unit, state.quantity) == ("Pounds", D("0.999999"))
    publish_sale(store, package, D("3.5"), sale_id=11)
    (record,) = records(store)
    line = record.payload[0]["Transactions"][0]
    assert (line["Quantity"], line["UnitOfMeasure"]) == (0.007716, "Pounds")
    assert record.status == "accepted", record.last_error
    assert state_package(simulator, store, package).quantity == D("0.992283")


def test_when_the_states_reasons_cannot_be_read_the_report_still_goes_and_the_state_is_not_asked_again(
    store, product, simulator, manager
):
    package = receive(store, product, 10)
    registry.provider_for_store(store)
    simulator.record_requests = True
    simulator.queue_response(500, methods=["GET"])  # the one read of the reasons fails; no retry
    package_waste(package=package, quantity=D("1"), reason="damaged", actor=manager)
    package_waste(package=package, quantity=D("1"), reason="expired", actor=manager)
    sent = records(store, "package.adjust")
    assert [(r.payload[0]["AdjustmentReason"], r.status) for r in sent] == [("Waste", "accepted")] * 2
    reads = [r for r in simulator.requests if r.path == "/packages/v2/adjust/reasons"]
    assert len(reads) == 1


def test_a_partial_refund_unfinishes_a_sold_out_package_the_receipt_still_holds(
    store, organization, product, simulator, counter_sale, budtender, manager
):
    """The sale emptied A; B is refunded. The update restates A's line too, which the state takes only from an
    unfinished package: A is unfinished for it and finished again after."""
    other = ProductFactory(organization=organization, price=D("20.00"))
    a, b = receive(store, product, 2), receive(store, other, 10)
    sale = counter_sale(a, "2", (b, "1"))
    line_b = sale.lines.get(package=b)
    sale_refund(
        sale=sale, lines=[(line_b, D("1"), True)], reason="Wrong item", actor=budtender, approver=manager
    )
    sent = records(store)
    assert [(r.kind, [o.get("Label") for o in r.payload]) for r in sent] == [
        ("sales_receipt.create", [None]),
        ("package.finish", [a.tag]),
        ("package.unfinish", [a.tag]),
        ("sales_receipt.update", [None]),
        ("package.finish", [a.tag]),
    ]
    assert all(r.status == "accepted" for r in sent), [(r.kind, r.last_error) for r in sent]
    (receipt,) = simulator.receipts(store.license_adult_use)
    assert [(line["PackageLabel"], line["Quantity"]) for line in receipt["Transactions"]] == [(a.tag, 2)]
    state_a, state_b = state_package(simulator, store, a), state_package(simulator, store, b)
    assert (state_a.quantity, state_a.finished, state_b.quantity) == (D("0"), True, D("10"))
