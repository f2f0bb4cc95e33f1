"""Receiving screens: manifest upload, the scan flow (htmx), line decisions and completion with discrepancies."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import IncomingTransfer, Package, TransferLine
from tests.inventory.factories import ProductFactory
from tests.inventory.web.conftest import HTMX

pytestmark = pytest.mark.django_db
D = Decimal
TAG_A = "1A4FF0300000029000000001"
TAG_B = "1A4FF0300000029000000002"
TAG_X = "1A4FF0300000029000000099"
HEADER = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,harvest_batch,harvest_date,packaged_on,expires_on,lab_status\n"


def manifest(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("manifest.csv", (HEADER + "".join(rows)).encode(), content_type="text/csv")


@pytest.fixture
def flower(organization):
    return ProductFactory(organization=organization, name="OG Kush 3.5g", sku="OG-35")


@pytest.fixture
def transfer(client, login, staff, flower):
    login(staff("inventory_manager"))
    client.post(
        "/inventory/receiving/upload/",
        {
            "manifest": manifest(
                f"MAN-100,CULT-9,Valley Farms,{TAG_A},OG-35,10,HB-1,2026-01-01,2026-02-01,2027-02-01,passed\n",
                f"MAN-100,CULT-9,Valley Farms,{TAG_B},OG-35,20,HB-1,,,,\n",
            )
        },
    )
    return IncomingTransfer.objects.get(manifest_number="MAN-100")


def test_upload_creates_a_transfer_and_opens_it(client, login, staff, flower):
    login(staff("manager"))
    response = client.post(
        "/inventory/receiving/upload/",
        {"manifest": manifest(f"MAN-1,CULT-9,Valley Farms,{TAG_A},OG-35,10,,,,,\n")},
    )
    transfer = IncomingTransfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/inventory/receiving/{transfer.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert TAG_A in page and "OG Kush 3.5g" in page and "autofocus" in page


def test_the_page_documents_the_csv_columns(client, login, staff):
    content = login(staff("manager")).get("/inventory/receiving/").content.decode()
    for column in (
        "manifest_number",
        "shipper_license",
        "shipper_name",
        "tag",
        "sku",
        "quantity",
        "harvest_batch",
        "harvest_date",
        "packaged_on",
        "expires_on",
        "lab_status",
    ):
        assert f">{column}<" in content


def test_bad_manifest_shows_the_errors_and_writes_nothing(client, login, staff, flower):
    response = login(staff("manager")).post(
        "/inventory/receiving/upload/",
        {"manifest": manifest("MAN-2,CULT-9,Valley Farms,not-a-tag,NOPE,-1,,,,,\n")},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "The manifest has errors (line 2:" in content
    assert "no product with SKU" in content
    assert IncomingTransfer.objects.count() == 0 and TransferLine.objects.count() == 0


def test_transfers_are_listed_pending_first_and_scoped_to_the_store(
    client, login, staff, store, sister_store
):
    IncomingTransfer.objects.create(
        store=store, manifest_number="DONE-1", shipper_license="L", shipper_name="S", status="completed"
    )
    IncomingTransfer.objects.create(
        store=store, manifest_number="OPEN-1", shipper_license="L", shipper_name="S"
    )
    IncomingTransfer.objects.create(
        store=sister_store, manifest_number="THERE-1", shipper_license="L", shipper_name="S"
    )
    page = login(staff("manager")).get("/inventory/receiving/").context["page"]
    assert [t.manifest_number for t in page.object_list] == ["OPEN-1", "DONE-1"]


def test_scan_flow(client, transfer):
    url = f"/inventory/receiving/{transfer.pk}/scan/"

    ok = client.post(url, {"tag": TAG_A.lower() + " "}, **HTMX).content.decode()
    assert "<html" not in ok
    assert f"{TAG_A}: 10 received." in ok
    assert 'id="scan_tag"' in ok and "autofocus" in ok  # the field is back, focused, for the next scan

    counted = client.post(url, {"tag": TAG_B, "quantity": "18"}, **HTMX).content.decode()
    assert f"{TAG_B}: 18 received." in counted and "Short by 2" in counted

    duplicate = client.post(url, {"tag": TAG_A}, **HTMX).content.decode()
    assert f"Package {TAG_A} was already scanned (10 received)." in duplicate

    malformed = client.post(url, {"tag": "12345"}, **HTMX).content.decode()
    assert "is not a package tag: 24 digits and capital letters." in malformed
    assert 'value="12345"' in malformed  # kept for correction

    unknown = client.post(url, {"tag": TAG_X}, **HTMX).content.decode()
    assert f"Package {TAG_X} is not on this manifest; enter the quantity received to record it." in unknown

    empty = client.post(url, {"tag": ""}, **HTMX).content.decode()
    assert "Scan or type a package tag." in empty

    bad_quantity = client.post(url, {"tag": TAG_X, "quantity": "lots"}, **HTMX).content.decode()
    assert "quantity &#x27;lots&#x27; is not a number" in bad_quantity

    lines = {line.tag: line for line in TransferLine.objects.filter(transfer=transfer)}
    assert set(lines) == {TAG_A, TAG_B}
    assert (lines[TAG_A].received_quantity, lines[TAG_B].received_quantity) == (D(10), D(18))

    unexpected = client.post(url, {"tag": TAG_X, "quantity": "3"}, **HTMX).content.decode()
    assert "is not on the manifest; recorded 3." in unexpected
    assert TransferLine.objects.get(tag=TAG_X).on_manifest is False


def test_decide_and_complete_shows_the_discrepancies(client, transfer, login, staff):
    scan = f"/inventory/receiving/{transfer.pk}/scan/"
    client.post(scan, {"tag": TAG_A, "quantity": "9"}, **HTMX)  # 10 % short: flagged for the state
    client.post(scan, {"tag": TAG_X, "quantity": "1"}, **HTMX)  # not on the manifest
    line_a = TransferLine.objects.get(tag=TAG_A)
    line_x = TransferLine.objects.get(tag=TAG_X)

    cannot = client.post(
        f"/inventory/receiving/{transfer.pk}/lines/{line_x.pk}/decide/", {"decision": "accept"}, **HTMX
    ).content.decode()
    assert "is not on the manifest and has no product; reject it." in cannot

    incomplete = client.post(f"/inventory/receiving/{transfer.pk}/complete/")
    assert "Accept or reject every scanned package first (2 left)." in incomplete.content.decode()
    assert IncomingTransfer.objects.get(pk=transfer.pk).status == "pending"

    accepted = client.post(
        f"/inventory/receiving/{transfer.pk}/lines/{line_a.pk}/decide/", {"decision": "accept"}, **HTMX
    ).content.decode()
    assert f"{TAG_A} accepted." in accepted
    client.post(
        f"/inventory/receiving/{transfer.pk}/lines/{line_x.pk}/decide/", {"decision": "reject"}, **HTMX
    )

    response = client.post(f"/inventory/receiving/{transfer.pk}/complete/", follow=True)
    content = response.content.decode()
    assert "is received into stock. 3 discrepancies are flagged for the state." in content
    assert "Shortage" in content and "Unexpected package" in content and "Missing package" in content
    assert content.count("Flagged for state") == 3
    assert Package.objects.get(tag=TAG_A).quantity_on_hand == D(9)
    assert 'id="scan_tag"' not in content  # nothing more to scan


def test_budtender_cannot_open_receiving_and_counter_cannot_decide(client, login, staff, transfer, store):
    login(staff("budtender"))
    assert client.get("/inventory/receiving/").status_code == 403
    assert client.get(f"/inventory/receiving/{transfer.pk}/").status_code == 403
    assert client.post(f"/inventory/receiving/{transfer.pk}/scan/", {"tag": TAG_A}).status_code == 403
    assert TransferLine.objects.filter(scanned_at__isnull=False).count() == 0


def test_another_stores_transfer_is_404(client, login, staff, sister_store):
    elsewhere = IncomingTransfer.objects.create(
        store=sister_store, manifest_number="X-1", shipper_license="L", shipper_name="S"
    )
    login(staff("manager"))
    assert client.get(f"/inventory/receiving/{elsewhere.pk}/").status_code == 404
    assert client.post(f"/inventory/receiving/{elsewhere.pk}/scan/", {"tag": TAG_A}).status_code == 404
    assert client.post(f"/inventory/receiving/{elsewhere.pk}/complete/").status_code == 404
