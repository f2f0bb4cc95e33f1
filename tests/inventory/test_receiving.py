from decimal import Decimal

import pytest

from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord
from inventory.models import IncomingTransfer, Package, ReceivingDiscrepancy, StockMovement, TransferLine
from inventory.services.receiving import (
    transfer_complete,
    transfer_import_csv,
    transfer_line_decide,
    transfer_scan,
)
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db
D = Decimal
T1, T2, T3, T4 = (f"1A4FF0100000022000000{n:03d}" for n in (101, 102, 103, 104))
EXTRA = "1A4FF0100000022000000999"
HEADER = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,harvest_batch,harvest_date,packaged_on,expires_on,lab_status\n"


@pytest.fixture
def products(organization):
    return {
        "FLW-1": ProductFactory(organization=organization, sku="FLW-1"),
        "BULK-1": ProductFactory(organization=organization, sku="BULK-1", sold_by="g"),
    }


def manifest(*rows):
    return HEADER + "".join(f"0000123456,C11-0000001-LIC,Coastal Farms,{row}\n" for row in rows)


def good_csv():
    return manifest(
        f"{T1},FLW-1,20,HB-7,2026-09-01,2026-10-01,2027-04-01,passed",
        f"{T2},FLW-1,10,HB-7,,,,passed",
        f"{T3},BULK-1,453.6,HB-8,,,,pending",
        f"{T4},FLW-1,5,,,,,",
    )


def test_import_creates_a_pending_transfer(store, products, manager):
    transfer = transfer_import_csv(store=store, content=good_csv().encode(), actor=manager)
    assert (transfer.manifest_number, transfer.shipper_name, transfer.status) == (
        "0000123456",
        "Coastal Farms",
        "pending",
    )
    lines = list(transfer.lines.order_by("tag"))
    assert [(line.tag, line.expected_quantity, line.product.sku) for line in lines] == [
        (T1, D(20), "FLW-1"),
        (T2, D(10), "FLW-1"),
        (T3, D("453.6"), "BULK-1"),
        (T4, D(5), "FLW-1"),
    ]
    assert lines[0].expires_on.isoformat() == "2027-04-01"
    assert AuditRecord.objects.filter(action="transfer.imported").count() == 1


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("tag,quantity\nX,1\n", "lacks the columns"),
        (HEADER, "no packages"),
        (manifest("1A4FF01,FLW-1,5,,,,,"), "not a package tag"),
        (manifest(f"{T1},NOPE,5,,,,,"), "no product with SKU"),
        (manifest(f"{T1},FLW-1,-5,,,,,"), "greater than zero"),
        (manifest(f"{T1},FLW-1,2.5,,,,,"), "whole units"),
        (manifest(f"{T1},FLW-1,5,,2026-13-01,,,"), "not a date"),
        (manifest(f"{T1},FLW-1,5,,,,,maybe"), "lab_status"),
        (manifest(f"{T1},FLW-1,5,,,,,", f"{T1},FLW-1,5,,,,,"), "appears twice"),
    ],
)
def test_bad_manifests_change_nothing(store, products, manager, content, fragment):
    with pytest.raises(ValidationFailed) as error:
        transfer_import_csv(store=store, content=content, actor=manager)
    assert fragment in error.value.message or fragment in str(error.value.details)
    assert IncomingTransfer.objects.count() == 0
    assert TransferLine.objects.count() == 0


def test_a_manifest_is_imported_once(store, products, manager):
    transfer_import_csv(store=store, content=good_csv(), actor=manager)
    with pytest.raises(Conflict):
        transfer_import_csv(store=store, content=good_csv(), actor=manager)
    assert IncomingTransfer.objects.count() == 1


def test_full_receiving_flow_with_every_kind_of_discrepancy(store, products, manager, settings):
    settings.INVENTORY = {"DISCREPANCY_REPORT_PERCENT": 5}
    transfer = transfer_import_csv(store=store, content=good_csv(), actor=manager)
    assert transfer_scan(transfer=transfer, tag=T1.lower(), actor=manager).received_quantity == D(20)
    transfer_scan(transfer=transfer, tag=T2, quantity="9", actor=manager)  # 10% short: reported
    transfer_scan(transfer=transfer, tag=T3, quantity="455", actor=manager)  # 0.3% over: not reported
    # T4 never arrives (missing); EXTRA was not on the manifest (unexpected).
    with pytest.raises(ValidationFailed, match="not on this manifest"):
        transfer_scan(transfer=transfer, tag=EXTRA, actor=manager)
    transfer_scan(transfer=transfer, tag=EXTRA, quantity="3", actor=manager)
    with pytest.raises(Conflict, match="already scanned"):
        transfer_scan(transfer=transfer, tag=T1, actor=manager)
    with pytest.raises(ValidationFailed):
        transfer_scan(transfer=transfer, tag="garbage", actor=manager)

    lines = {line.tag: line for line in transfer.lines.all()}
    with pytest.raises(ValidationFailed, match="Accept or reject"):
        transfer_complete(transfer=transfer, actor=manager)
    with pytest.raises(ValidationFailed, match="has not been scanned"):
        transfer_line_decide(line=lines[T4], accept=True, actor=manager)
    with pytest.raises(ValidationFailed, match="no product"):
        transfer_line_decide(line=lines[EXTRA], accept=True, actor=manager)
    transfer_line_decide(line=lines[T1], accept=True, actor=manager)
    transfer_line_decide(line=lines[T2], accept=True, actor=manager)
    transfer_line_decide(line=lines[T3], accept=False, actor=manager)
    transfer_line_decide(line=lines[EXTRA], accept=False, actor=manager)
    transfer_complete(transfer=transfer, actor=manager)

    transfer.refresh_from_db()
    assert transfer.status == "completed"
    stock = {p.tag: p for p in Package.objects.filter(store=store)}
    assert set(stock) == {T1, T2}
    assert stock[T1].quantity_on_hand == D(20) and stock[T2].quantity_on_hand == D(9)
    assert stock[T1].location == "vault" and stock[T1].lab_status == "passed"
    assert stock[T1].supplier_name == "Coastal Farms" and stock[T1].harvest_batch == "HB-7"
    assert (
        StockMovement.objects.filter(
            kind="received", reference_type="transfer", reference_id=str(transfer.pk)
        ).count()
        == 2
    )
    found = sorted(
        (d.line.tag, d.kind, d.expected_quantity, d.received_quantity, d.report_to_state)
        for d in ReceivingDiscrepancy.objects.select_related("line")
    )
    assert found == [
        (T2, "shortage", D(10), D(9), True),
        (T3, "overage", D("453.6"), D(455), False),
        (T4, "missing", D(5), None, True),
        (EXTRA, "unexpected", None, D(3), True),
    ]
    with pytest.raises(Conflict):
        transfer_scan(transfer=transfer, tag=T4, actor=manager)


def test_completion_rolls_back_entirely_if_a_tag_is_already_in_stock(store, products, manager):
    from tests.inventory.factories import receive

    receive(store, products["FLW-1"], 1, tag=T1)
    transfer = transfer_import_csv(
        store=store, content=manifest(f"{T1},FLW-1,20,,,,,", f"{T2},FLW-1,10,,,,,"), actor=manager
    )
    for tag in (T1, T2):
        line = transfer_scan(transfer=transfer, tag=tag, actor=manager)
        transfer_line_decide(line=line, accept=True, actor=manager)
    with pytest.raises(Conflict):
        transfer_complete(transfer=transfer, actor=manager)
    transfer.refresh_from_db()
    assert transfer.status == "pending"
    assert not Package.objects.filter(tag=T2).exists()
    assert ReceivingDiscrepancy.objects.count() == 0
