from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dispensary.models import AuditRecord, IdempotencyKey, OutboxEvent
from inventory.models import IncomingTransfer, Package, ReceivingDiscrepancy, StockMovement, TransferLine
from inventory.services.receiving import transfer_import_csv, transfer_scan
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db
TRANSFERS = "/api/v1/inventory/transfers"
T1, T2, T3 = (f"1A4FF0100000022000000{n:03d}" for n in (101, 102, 103))
EXTRA = "1A4FF0100000022000000999"
HEADER = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,harvest_batch,expires_on,lab_status\n"


def manifest(*rows, number="0000123456"):
    return HEADER + "".join(f"{number},C11-0000001-LIC,Coastal Farms,{row}\n" for row in rows)


GOOD_CSV = manifest(f"{T1},FLW-1,20,HB-7,2027-04-01,passed", f"{T2},FLW-1,10,HB-7,,passed")


@pytest.fixture
def flower(organization):
    return ProductFactory(organization=organization, sku="FLW-1")


@pytest.fixture
def transfer(store, flower):
    return transfer_import_csv(store=store, content=GOOD_CSV, actor=None)


def adjust_url(package):
    return f"/api/v1/inventory/packages/{package.pk}/adjustments"


# --- import ---------------------------------------------------------------------------------------------


def test_import_from_json_text(make_api_client, store, flower):
    _, caller = make_api_client(scopes=["inventory:write"])

    response = caller.post(TRANSFERS, {"store": store.pk, "csv": GOOD_CSV})

    assert response.status_code == 201, response.json()
    body = response.json()
    transfer = IncomingTransfer.objects.get()
    assert (body["id"], body["store"], body["manifest_number"], body["status"]) == (
        transfer.pk,
        store.pk,
        "0000123456",
        "pending",
    )
    assert [
        (line["tag"], line["sku"], line["expected_quantity"], line["received_quantity"], line["decision"])
        for line in body["lines"]
    ] == [(T1, "FLW-1", "20", None, "pending"), (T2, "FLW-1", "10", None, "pending")]
    assert body["lines"][0]["expires_on"] == "2027-04-01"
    assert body["discrepancies"] == []
    assert AuditRecord.objects.filter(action="transfer.imported").count() == 1


def test_import_from_a_multipart_file(make_api_client, store, flower):
    _, caller = make_api_client(scopes=["inventory:write"])
    upload = SimpleUploadedFile("manifest.csv", ("\ufeff" + GOOD_CSV).encode(), content_type="text/csv")

    response = caller.post(TRANSFERS, {"store": store.pk, "file": upload}, format="multipart")

    assert response.status_code == 201, response.json()
    assert [line["tag"] for line in response.json()["lines"]] == [T1, T2]


def test_import_with_row_errors_writes_nothing(make_api_client, store, flower):
    _, caller = make_api_client(scopes=["inventory:write"])
    bad = manifest(f"{T1},FLW-1,20,,,passed", f"{T2},NOPE,ten,,,passed")

    response = caller.post(TRANSFERS, {"store": store.pk, "csv": bad}, HTTP_IDEMPOTENCY_KEY="m1")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["details"] == {
        "rows": {"3": ["no product with SKU 'NOPE'", "quantity 'ten' is not a number"]}
    }
    assert IncomingTransfer.objects.count() == 0
    assert TransferLine.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"csv": GOOD_CSV},
        {"store": "x", "csv": GOOD_CSV},
        {"store": 1},
        {"store": 1, "csv": GOOD_CSV, "file": "manifest.csv"},
    ],
)
def test_import_with_bad_input_is_a_400(payload, make_api_client, store, flower):
    _, caller = make_api_client(scopes=["inventory:write"])
    payload = {**payload, "store": store.pk} if payload.get("store") == 1 else payload

    response = caller.post(TRANSFERS, payload)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert IncomingTransfer.objects.count() == 0


def test_import_into_a_store_the_client_does_not_reach_is_refused(
    make_api_client, store, other_store, foreign_store, flower
):
    _, caller = make_api_client(scopes=["inventory:write"], stores=[store])

    for target in (other_store, foreign_store):
        response = caller.post(TRANSFERS, {"store": target.pk, "csv": GOOD_CSV})
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["store"]
    assert IncomingTransfer.objects.count() == 0


def test_importing_the_same_manifest_twice_is_a_409(make_api_client, store, transfer):
    _, caller = make_api_client(scopes=["inventory:write"])

    response = caller.post(TRANSFERS, {"store": store.pk, "csv": GOOD_CSV})

    assert response.status_code == 409
    assert response.json() == {
        "code": "conflict",
        "message": "Manifest 0000123456 was already imported for this store.",
        "details": {"manifest_number": "0000123456"},
    }
    assert IncomingTransfer.objects.count() == 1


def test_a_retried_import_returns_the_first_transfer(make_api_client, store, flower):
    _, caller = make_api_client(scopes=["inventory:write"])

    first = caller.post(TRANSFERS, {"store": store.pk, "csv": GOOD_CSV}, HTTP_IDEMPOTENCY_KEY="import-1")
    retry = caller.post(TRANSFERS, {"store": store.pk, "csv": GOOD_CSV}, HTTP_IDEMPOTENCY_KEY="import-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert IncomingTransfer.objects.count() == 1
    assert AuditRecord.objects.filter(action="transfer.imported").count() == 1


# --- transfer detail, scan, decide, complete ------------------------------------------------------------


def test_transfer_detail_and_another_stores_transfer(make_api_client, store, other_store, transfer, flower):
    other = transfer_import_csv(store=other_store, content=GOOD_CSV, actor=None)
    _, caller = make_api_client(scopes=["inventory:read"], stores=[store])

    assert caller.get(f"{TRANSFERS}/{transfer.pk}").json()["manifest_number"] == "0000123456"
    assert caller.get(f"{TRANSFERS}/{other.pk}").status_code == 404


def test_the_receiving_flow_into_stock(make_api_client, store, transfer):
    _, caller = make_api_client(scopes=["inventory:write", "inventory:read"])
    url = f"{TRANSFERS}/{transfer.pk}"

    scanned = caller.post(f"{url}/scans", {"tag": T1.lower(), "quantity": "19"})
    assert scanned.status_code == 200, scanned.json()
    assert (scanned.json()["tag"], scanned.json()["received_quantity"]) == (T1, "19")
    extra = caller.post(f"{url}/scans", {"tag": EXTRA, "quantity": "2"})
    assert (extra.json()["on_manifest"], extra.json()["product"]) == (False, None)

    line = TransferLine.objects.get(tag=T1)
    decided = caller.post(f"{url}/lines/{line.pk}/decision", {"decision": "accepted"})
    assert (decided.status_code, decided.json()["decision"]) == (200, "accepted")
    extra_line = TransferLine.objects.get(tag=EXTRA)
    assert caller.post(f"{url}/lines/{extra_line.pk}/decision", {"decision": "rejected"}).status_code == 200

    completed = caller.post(f"{url}/complete")

    assert completed.status_code == 200, completed.json()
    body = completed.json()
    assert body["status"] == "completed"
    package = Package.objects.get(tag=T1)
    assert (package.quantity_on_hand, package.location, package.store_id) == (Decimal(19), "vault", store.pk)
    assert {line["tag"]: line["package"] for line in body["lines"]} == {T1: package.pk, T2: None, EXTRA: None}
    assert sorted((d["tag"], d["kind"], d["report_to_state"]) for d in body["discrepancies"]) == [
        (T1, "shortage", True),
        (T2, "missing", True),
        (EXTRA, "unexpected", True),
    ]


def test_scan_failures(make_api_client, transfer):
    _, caller = make_api_client(scopes=["inventory:write"])
    url = f"{TRANSFERS}/{transfer.pk}/scans"

    not_a_tag = caller.post(url, {"tag": "nope"})
    assert (not_a_tag.status_code, not_a_tag.json()["code"]) == (400, "invalid")
    unexpected = caller.post(url, {"tag": EXTRA})
    assert unexpected.status_code == 400
    assert unexpected.json()["details"]["quantity"] == ["Required for a package that is not on the manifest."]
    negative = caller.post(url, {"tag": T1, "quantity": "-1"})
    assert negative.status_code == 400
    too_precise = caller.post(url, {"tag": T1, "quantity": "1.0001"})
    assert list(too_precise.json()["details"]) == ["quantity"]
    assert TransferLine.objects.filter(scanned_at__isnull=False).count() == 0

    assert caller.post(url, {"tag": T1}).status_code == 200
    twice = caller.post(url, {"tag": T1})
    assert (twice.status_code, twice.json()["code"]) == (409, "conflict")


def test_decide_failures(make_api_client, store, other_store, transfer, flower):
    _, caller = make_api_client(scopes=["inventory:write"], stores=[store])
    url = f"{TRANSFERS}/{transfer.pk}/lines"
    line = TransferLine.objects.get(tag=T1)
    other = transfer_import_csv(store=other_store, content=GOOD_CSV, actor=None)
    other_line = other.lines.get(tag=T1)

    unscanned = caller.post(f"{url}/{line.pk}/decision", {"decision": "accepted"})
    assert unscanned.status_code == 400
    assert unscanned.json()["message"] == f"Package {T1} has not been scanned; it cannot be accepted."
    assert caller.post(f"{url}/{line.pk}/decision", {"decision": "maybe"}).status_code == 400
    # A line of another transfer, or a transfer of a store the client does not reach, is not found.
    assert caller.post(f"{url}/{other_line.pk}/decision", {"decision": "rejected"}).status_code == 404
    other_url = f"{TRANSFERS}/{other.pk}/lines/{other_line.pk}/decision"
    assert caller.post(other_url, {"decision": "rejected"}).status_code == 404
    assert set(TransferLine.objects.values_list("decision", flat=True)) == {"pending"}


def test_complete_failures(make_api_client, transfer):
    transfer_scan(transfer=transfer, tag=T1, actor=None)
    _, caller = make_api_client(scopes=["inventory:write"])
    url = f"{TRANSFERS}/{transfer.pk}/complete"

    undecided = caller.post(url)

    assert undecided.status_code == 400
    assert undecided.json()["details"] == {"tags": [T1]}
    assert IncomingTransfer.objects.get().status == "pending"
    assert (Package.objects.count(), ReceivingDiscrepancy.objects.count()) == (0, 0)

    TransferLine.objects.filter(tag=T1).update(decision="rejected")
    assert caller.post(url).status_code == 200
    again = caller.post(url)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")


def test_a_retried_scan_and_completion_are_replayed(make_api_client, transfer):
    _, caller = make_api_client(scopes=["inventory:write"])
    url = f"{TRANSFERS}/{transfer.pk}"

    first_scan = caller.post(f"{url}/scans", {"tag": T1}, HTTP_IDEMPOTENCY_KEY="scan-1")
    retry_scan = caller.post(f"{url}/scans", {"tag": T1}, HTTP_IDEMPOTENCY_KEY="scan-1")
    assert (first_scan.status_code, retry_scan.status_code) == (200, 200)
    assert retry_scan.json() == first_scan.json()

    line = TransferLine.objects.get(tag=T1)
    caller.post(f"{url}/lines/{line.pk}/decision", {"decision": "accepted"}, HTTP_IDEMPOTENCY_KEY="d-1")
    first = caller.post(f"{url}/complete", HTTP_IDEMPOTENCY_KEY="done-1")
    retry = caller.post(f"{url}/complete", HTTP_IDEMPOTENCY_KEY="done-1")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Package.objects.count() == 1
    assert StockMovement.objects.filter(kind="received").count() == 1
    assert AuditRecord.objects.filter(action="transfer.completed").count() == 1


# --- adjustments ----------------------------------------------------------------------------------------


def test_adjust_a_package(make_api_client, package):
    _, caller = make_api_client(scopes=["inventory:write"])

    response = caller.post(adjust_url(package), {"quantity": "-2", "reason": "damaged", "note": "dropped"})

    assert response.status_code == 201, response.json()
    body = response.json()
    movement = StockMovement.objects.get(kind="adjusted")
    assert body["movement"]["id"] == movement.pk
    assert (body["movement"]["quantity"], body["movement"]["reason"], body["movement"]["note"]) == (
        "-2",
        "damaged",
        "dropped",
    )
    assert body["movement"]["actor_label"].startswith("api-client:Menu sync")
    assert (body["package"]["id"], body["package"]["quantity_on_hand"]) == (package.pk, "8")
    package.refresh_from_db()
    assert package.quantity_on_hand == Decimal(8)
    assert AuditRecord.objects.filter(action="package.adjusted").count() == 1


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"quantity": "-1", "reason": "lost_it"}, "invalid", "reason"),
        ({"quantity": "abc", "reason": "damaged"}, "invalid", "quantity"),
        ({"quantity": "0.0001", "reason": "damaged"}, "invalid", "quantity"),
        ({"reason": "damaged"}, "invalid", "quantity"),
        ({"quantity": "0", "reason": "damaged"}, "invalid_quantity", "quantity"),
        ({"quantity": "-11", "reason": "damaged"}, "invalid_quantity", "quantity"),
    ],
)
def test_adjust_with_bad_input_writes_nothing(payload, code, field, make_api_client, package):
    _, caller = make_api_client(scopes=["inventory:write"])

    response = caller.post(adjust_url(package), payload, HTTP_IDEMPOTENCY_KEY="adj")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert field in response.json()["details"]
    package.refresh_from_db()
    assert package.quantity_on_hand == Decimal(10)
    assert StockMovement.objects.filter(kind="adjusted").count() == 0
    assert AuditRecord.objects.filter(action="package.adjusted").count() == 0
    assert IdempotencyKey.objects.count() == 0


def test_adjust_a_package_of_a_store_the_caller_does_not_reach_is_a_404(
    make_api_client, store, other_package, foreign_package
):
    _, caller = make_api_client(scopes=["inventory:write"], stores=[store])

    for package in (other_package, foreign_package):
        response = caller.post(adjust_url(package), {"quantity": "-1", "reason": "damaged"})
        assert response.status_code == 404
    assert StockMovement.objects.filter(kind="adjusted").count() == 0


def test_a_retried_adjustment_is_applied_once(make_api_client, package):
    _, caller = make_api_client(scopes=["inventory:write"])
    payload = {"quantity": "-1", "reason": "theft_shrinkage"}

    first = caller.post(adjust_url(package), payload, HTTP_IDEMPOTENCY_KEY="adj-1")
    retry = caller.post(adjust_url(package), payload, HTTP_IDEMPOTENCY_KEY="adj-1")
    reused = caller.post(adjust_url(package), {**payload, "quantity": "-2"}, HTTP_IDEMPOTENCY_KEY="adj-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    package.refresh_from_db()
    assert package.quantity_on_hand == Decimal(9)
    assert StockMovement.objects.filter(kind="adjusted").count() == 1
    assert OutboxEvent.objects.filter(name="inventory.package_adjusted").count() == 1


def test_staff_adjustment_names_the_staff_member(organization, store, package, staff_caller):
    manager = UserFactory(organization=organization, roles=["inventory_manager"], stores=[store])

    response = staff_caller(manager).post(adjust_url(package), {"quantity": "1", "reason": "entry_error"})

    assert response.status_code == 201
    assert StockMovement.objects.get(kind="adjusted").actor == manager


def test_a_retry_with_another_file_under_the_same_name_is_not_replayed(make_api_client, store, flower):
    _, caller = make_api_client(scopes=["inventory:write", "inventory:read"])
    first = SimpleUploadedFile("manifest.csv", GOOD_CSV.encode(), content_type="text/csv")
    response = caller.post(
        TRANSFERS, {"store": store.pk, "file": first}, format="multipart", HTTP_IDEMPOTENCY_KEY="upload-1"
    )
    assert response.status_code == 201, response.json()
    other = SimpleUploadedFile(
        "manifest.csv", manifest(number="0000999999").encode(), content_type="text/csv"
    )
    retry = caller.post(
        TRANSFERS, {"store": store.pk, "file": other}, format="multipart", HTTP_IDEMPOTENCY_KEY="upload-1"
    )
    assert retry.status_code == 422
    assert retry.json()["code"] == "idempotency_key_reused"
    assert IncomingTransfer.objects.count() == 1
