"""Receiving against the state: manifest quantities in pounds and ounces become exact grams, the state's unit
is remembered on the package, and a receipt is checked against the state's incoming transfer (transfers
incoming, the transfer's deliveries, their packages)."""

from decimal import Decimal as D

import pytest

from compliance.state_feed import (
    StateUnavailable,
    count_state_quantities_fill,
    state_transfers_import,
    transfer_state_check,
)
from compliance.traceability.base import TransientFailure
from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import MetrcSimulator
from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from inventory.models import IncomingTransfer, Package, TransferLine
from inventory.services.counts import count_open
from inventory.services.receiving import (
    transfer_complete,
    transfer_import_csv,
    transfer_line_decide,
    transfer_scan,
)
from tests.factories import StoreFactory
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db
VENDOR, USER = "vendor-key", "user-key"
A, B, C, X = (f"1A4FF01000000220000009{n:02d}" for n in range(4))
HEADER = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,unit\n"


@pytest.fixture
def simulator(store):
    sim = MetrcSimulator()
    sim.add_credentials(VENDOR, USER)
    sim.add_facility(store.license_adult_use, jurisdiction=store.jurisdiction, user_keys=[USER])
    sim.set_faults(get_rate_limit=None)
    return sim


def provider(store, sim):
    return MetrcProvider(
        base_url="http://simulator.invalid",
        vendor_key=VENDOR,
        user_key=USER,
        license_number=store.license_adult_use,
        jurisdiction=store.jurisdiction,
        transport=sim.transport(),
        timeout=1,
    )


@pytest.fixture
def bulk(organization):
    return ProductFactory(organization=organization, sold_by="g", sku="BULK-1", state_item_name="Gelato Bulk")


@pytest.fixture
def jars(organization):
    return ProductFactory(
        organization=organization, sold_by="each", sku="JAR-1", state_item_name="Gelato 3.5g"
    )


def csv(*rows: str) -> str:
    return HEADER + "".join(f"M-100,C11-0000009-LIC,Valley Farms,{row}\n" for row in rows)


# --- Units on manifests -------------------------------------------------------------------------------------


def test_a_manifest_of_one_pound_is_453_592_grams_and_the_package_remembers_pounds(
    store, bulk, jars, manager
):
    transfer = transfer_import_csv(
        store=store, content=csv(f"{A},BULK-1,1,lb", f"{B},JAR-1,12,"), actor=manager
    )
    lines = {line.tag: line for line in transfer.lines.all()}
    assert (lines[A].expected_quantity, lines[A].state_unit) == (D("453.592"), "lb")
    assert (lines[B].expected_quantity, lines[B].state_unit) == (D("12"), "")
    for tag in (A, B):
        transfer_scan(transfer=transfer, tag=tag, actor=manager)
        transfer_line_decide(line=TransferLine.objects.get(tag=tag), accept=True, actor=manager)
    transfer_complete(transfer=transfer, actor=manager)
    package = Package.objects.get(tag=A)
    assert (package.quantity_on_hand, package.unit, package.state_unit) == (D("453.592"), "g", "lb")


def test_sixteen_ounces_are_a_pound_of_grams_not_sixteen(store, bulk, manager):
    transfer = transfer_import_csv(store=store, content=csv(f"{A},BULK-1,16,Ounces"), actor=manager)
    line = transfer.lines.get()
    assert (line.expected_quantity, line.state_unit) == (D("453.592"), "oz")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"{B},JAR-1,2,lb", "not in lb"),
        (f"{A},BULK-1,2,litres", "Unknown unit"),
        (f"{A},BULK-1,0.001,mg", "less than 0.001"),
    ],
)
def test_a_unit_that_does_not_fit_is_refused_and_nothing_is_written(store, bulk, jars, manager, row, message):
    with pytest.raises(ValidationFailed) as refused:
        transfer_import_csv(store=store, content=csv(row), actor=manager)
    assert message in str(refused.value.details)
    assert not IncomingTransfer.objects.exists()


def test_the_states_manifest_in_pounds_is_received_in_grams(store, bulk, jars, simulator, manager):
    simulator.seed_transfer(
        store.license_adult_use,
        "0000777002",
        shipper_license="C11-0000009-LIC",
        shipper_name="Valley Farms",
        packages=[
            {"label": A, "item": "Gelato Bulk", "quantity": 2, "unit": "Pounds"},
            {"label": B, "item": "Gelato 3.5g", "quantity": 24, "unit": "Each"},
            {"label": C, "item": "Mystery", "quantity": 8, "unit": "Ounces"},
        ],
    )
    (transfer,) = state_transfers_import(store=store, actor=manager, provider=provider(store, simulator))
    lines = {line.tag: line for line in transfer.lines.all()}
    assert (lines[A].expected_quantity, lines[A].state_unit) == (D("907.185"), "lb")
    assert (lines[B].expected_quantity, lines[B].state_unit) == (D("24"), "")
    assert (lines[C].expected_quantity, lines[C].state_unit) == (D("226.796"), "oz")  # unknown item: grams
    # The provider went through the transfer's deliveries, as Metrc's routes require.
    paths = [request.path for request in simulator.requests]
    assert paths[0] == "/transfers/v2/incoming"
    assert paths[1].startswith("/transfers/v2/") and paths[1].endswith("/deliveries")
    assert paths[2].startswith("/transfers/v2/deliveries/") and paths[2].endswith("/packages")
    # The list names the licence; a transfer's deliveries and their packages take none (Metrc's routes).
    assert [request.query.get("licenseNumber") for request in simulator.requests] == [
        store.license_adult_use,
        None,
        None,
    ]


def test_the_count_sheet_shows_the_states_pounds_in_grams(store, bulk, simulator, manager):
    from tests.inventory.factories import receive

    package = receive(store, bulk, D("453.592"), state_unit="lb")
    simulator.seed_package(store.license_adult_use, package.tag, "0.5", "Pounds", bulk.name)
    count = count_open(store=store, scope="full", actor=manager)
    count_state_quantities_fill(count=count, actor=manager, provider=provider(store, simulator))
    assert count.lines.get().state_quantity == D("226.796")


# --- Checking a receipt against the state's incoming transfer ----------------------------------------------


def seed_state_manifest(store, simulator, number="M-100"):
    simulator.seed_transfer(
        store.license_adult_use,
        number,
        shipper_license="C11-0000009-LIC",
        shipper_name="Valley Farms",
        packages=[
            {"label": A, "item": "Gelato Bulk", "quantity": 1, "unit": "Pounds"},
            {"label": B, "item": "Gelato 3.5g", "quantity": 12, "unit": "Each"},
            {"label": X, "item": "Gelato 3.5g", "quantity": 6, "unit": "Each"},
        ],
    )


def test_a_receipt_matching_the_states_manifest_says_so(store, bulk, jars, simulator, manager):
    seed_state_manifest(store, simulator)
    transfer = transfer_import_csv(
        store=store,
        content=csv(f"{A},BULK-1,453.592,g", f"{B},JAR-1,12,", f"{X},JAR-1,6,each"),
        actor=manager,
    )
    check = transfer_state_check(transfer=transfer, actor=manager, provider=provider(store, simulator))
    assert (check.found, check.matches, check.packages_checked) == (True, True, 3)


def test_a_receipt_is_checked_against_the_states_manifest(store, bulk, jars, simulator, manager):
    """The state shipped 1 lb of A, 12 of B and 6 of X. Our manifest holds A as 1 g (the bug this catches: a
    pound read as one unit), B counted 11 at the door, C that the state never shipped, and no X."""
    seed_state_manifest(store, simulator)
    transfer = transfer_import_csv(
        store=store, content=csv(f"{A},BULK-1,1,g", f"{B},JAR-1,12,", f"{C},JAR-1,4,"), actor=manager
    )
    transfer_scan(transfer=transfer, tag=B, quantity="11", actor=manager)
    check = transfer_state_check(transfer=transfer, actor=manager, provider=provider(store, simulator))
    found = {(d.tag, d.kind): d for d in check.differences}
    assert set(found) == {
        (A, "quantity"),
        (B, "quantity"),
        (X, "not_on_our_manifest"),
        (C, "missing_at_state"),
    }
    assert (found[A, "quantity"].ours, found[A, "quantity"].state) == (D("1"), D("453.592"))
    assert (found[B, "quantity"].ours, found[B, "quantity"].state) == (D("11"), D("12"))
    assert "received here" in found[B, "quantity"].message
    assert not check.matches
    audit = AuditRecord.objects.get(action="transfer.checked_against_state")
    assert {(d["tag"], d["kind"]) for d in audit.after["differences"]} == set(found)
    assert TransferLine.objects.get(tag=A).expected_quantity == D("1")  # the check changes nothing


def test_a_manifest_the_state_does_not_list_is_reported_as_such(store, bulk, simulator, manager):
    seed_state_manifest(store, simulator, number="OTHER-1")
    transfer = transfer_import_csv(store=store, content=csv(f"{A},BULK-1,1,lb"), actor=manager)
    check = transfer_state_check(transfer=transfer, actor=manager, provider=provider(store, simulator))
    assert (check.found, check.matches, check.differences) == (False, False, [])


class Unreachable:
    def incoming_transfer(self, manifest_number):
        raise TransientFailure("connection refused")


def test_an_unreachable_state_is_a_clear_error(store, bulk, manager):
    transfer = transfer_import_csv(store=store, content=csv(f"{A},BULK-1,1,lb"), actor=manager)
    with pytest.raises(StateUnavailable, match="could not be reached"):
        transfer_state_check(transfer=transfer, actor=manager, provider=Unreachable())
    assert not AuditRecord.objects.filter(action="transfer.checked_against_state").exists()


def test_the_check_page(client, store, bulk, jars, simulator, manager, budtender, monkeypatch, organization):
    from compliance.traceability import registry

    monkeypatch.setattr(
        registry, "provider_for_store", lambda for_store, **kw: provider(for_store, simulator)
    )
    seed_state_manifest(store, simulator)
    transfer = transfer_import_csv(
        store=store, content=csv(f"{A},BULK-1,1,g", f"{B},JAR-1,12,"), actor=manager
    )
    client.force_login(manager)
    page = client.get(f"/inventory/receiving/{transfer.pk}/")
    assert f"/compliance/state/transfers/{transfer.pk}/check/".encode() in page.content
    response = client.post(f"/compliance/state/transfers/{transfer.pk}/check/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "2 differences" in text and "the state ships 1 Pounds (453.592 g)" in text
    assert client.get(f"/compliance/state/transfers/{transfer.pk}/check/").status_code == 405
    other_store_transfer = IncomingTransfer.objects.create(
        store=StoreFactory(organization=organization),
        manifest_number="ELSEWHERE",
        shipper_license="x",
        shipper_name="x",
    )
    assert client.post(f"/compliance/state/transfers/{other_store_transfer.pk}/check/").status_code == 404
    client.force_login(budtender)
    assert client.post(f"/compliance/state/transfers/{transfer.pk}/check/").status_code == 403
