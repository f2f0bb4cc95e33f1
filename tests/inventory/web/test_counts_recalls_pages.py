"""Counts (blind entry, review and approval) and recalls (open, hold, CSV export) through their screens."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from inventory.models import CountLine, InventoryCount, Package, Recall, StockMovement
from inventory.recall_parties import Party, register_party_resolver
from inventory.services import Reference, StockRequest, stock_sell
from inventory.services.counts import count_enter, count_open
from inventory.services.recalls import recall_open
from tests.factories import OrganizationFactory, StoreFactory
from tests.inventory.factories import ProductFactory, receive
from tests.inventory.web.conftest import HTMX

pytestmark = pytest.mark.django_db
D = Decimal
SYSTEM = "37.125"  # a quantity that appears nowhere else on the sheet


@pytest.fixture
def bulk(organization):
    return ProductFactory(organization=organization, name="House Shake", sku="SHAKE-1", sold_by="g")


@pytest.fixture
def counter(staff):
    """Counts, but may not approve: budtender plus the count permissions."""
    user = staff("budtender")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="inventory", codename__in=["view_inventorycount", "change_inventorycount"]
        )
    )
    return user


@pytest.fixture
def count(store, bulk, manager):
    receive(store, bulk, D(SYSTEM), tag="1A4FF0100000022000000777")
    return count_open(store=store, scope=InventoryCount.Scope.FULL, actor=manager)


def test_count_sheet_is_blind_for_counters(client, login, counter, count):
    login(counter)
    sheet = client.get(f"/inventory/counts/{count.pk}/").content.decode()
    assert "1A4FF0100000022000000777" in sheet
    assert SYSTEM not in sheet and "37.1" not in sheet
    assert "Variance" not in sheet and "Platform" not in sheet
    assert "Review and approve" not in sheet
    assert client.get(f"/inventory/counts/{count.pk}/review/").status_code == 403

    entered = client.post(
        f"/inventory/counts/{count.pk}/enter/", {"tag": "1a4ff0100000022000000777", "quantity": "36"}, **HTMX
    ).content.decode()
    assert "counted 36." in entered
    assert SYSTEM not in entered and "37.1" not in entered and "−1.125" not in entered
    assert CountLine.objects.get().counted_quantity == D(36)


def test_count_entry_errors_write_nothing(client, login, counter, count):
    login(counter)
    url = f"/inventory/counts/{count.pk}/enter/"
    unknown = client.post(url, {"tag": "1A4FF0100000022000000999", "quantity": "1"}, **HTMX).content.decode()
    assert "Package 1A4FF0100000022000000999 is not on this count sheet." in unknown
    bad = client.post(url, {"tag": "1A4FF0100000022000000777", "quantity": "-2"}, **HTMX).content.decode()
    assert "Counted quantities are zero or more" in bad
    missing = client.post(url, {"tag": "1A4FF0100000022000000777", "quantity": ""}, **HTMX).content.decode()
    assert "Scan a tag and type the counted quantity." in missing
    assert CountLine.objects.get().counted_quantity is None


def test_open_count_by_scope_and_bad_scope(client, login, staff, store, bulk):
    receive(store, bulk, 5, location="vault")
    client = login(staff("inventory_manager"))
    bad = client.post("/inventory/counts/open/", {"scope": "category", "category": ""})
    assert "Choose a product category to count." in bad.content.decode()
    assert InventoryCount.objects.count() == 0
    response = client.post("/inventory/counts/open/", {"scope": "location", "location": "vault"})
    count = InventoryCount.objects.get()
    assert response["Location"] == f"/inventory/counts/{count.pk}/"
    assert (count.scope, count.scope_value, count.lines.count()) == ("location", "vault", 1)


def test_review_shows_platform_state_and_variance_then_approves(client, login, staff, counter, count):
    count_enter(count=count, tag="1A4FF0100000022000000777", quantity="36", actor=counter)
    approver = staff("manager")
    client = login(approver)
    review = client.get(f"/inventory/counts/{count.pk}/review/").content.decode()
    assert SYSTEM.rstrip("0") in review  # 37.125 as platform quantity
    assert "−1.125" in review  # the variance
    assert ">—<" in review  # the state's quantity is not synced yet
    response = client.post(f"/inventory/counts/{count.pk}/approve/", follow=True)
    assert "approved: variances are now adjustments" in response.content.decode()
    movement = StockMovement.objects.filter(reason="count_variance").get()
    assert movement.quantity == D("-1.125")
    assert Package.objects.get().quantity_on_hand == D(36)


def test_counter_cannot_approve_their_own_count(client, login, store, bulk, manager):
    receive(store, bulk, 1)
    count = count_open(store=store, scope="full", actor=manager)
    for line in count.lines.select_related("package"):
        count_enter(count=count, tag=line.package.tag, quantity="1", actor=manager)
    response = login(manager).post(f"/inventory/counts/{count.pk}/approve/", follow=True)
    assert "approved by someone who did not count it" in response.content.decode()
    assert InventoryCount.objects.get(pk=count.pk).status == "open"


def test_another_stores_count_is_404(client, login, staff, sister_store, manager):
    elsewhere = count_open(store=sister_store, scope="full", actor=manager)
    client = login(staff("manager"))
    assert client.get(f"/inventory/counts/{elsewhere.pk}/").status_code == 404
    assert client.post(f"/inventory/counts/{elsewhere.pk}/approve/").status_code == 404


# --- Recalls --------------------------------------------------------------------------------------------


@pytest.fixture
def recalled(store, sister_store, organization, manager):
    product = ProductFactory(organization=organization, name="Gelato Vape", sku="VAPE-G")
    here = receive(store, product, 6, harvest_batch="HB-RECALL", location="vault")
    there = receive(sister_store, product, 4, harvest_batch="HB-RECALL")
    stock_sell(
        store=sister_store,
        requests=[StockRequest(product_id=product.pk, quantity=D(1))],
        actor=manager,
        reference=Reference("web-test-sale", "S-1"),
    )
    register_party_resolver(
        "web-test-sale", lambda ids: {i: Party(7, "Ada Lovelace", "+14155550134") for i in ids}
    )
    recall = recall_open(
        organization=organization, criterion="harvest_batch", value="HB-RECALL", reason="Mould", actor=manager
    )
    return recall, here, there


def test_recall_page_lists_stock_of_every_store_and_sold_units(client, login, staff, recalled):
    recall, here, there = recalled
    content = login(staff("compliance_officer")).get(f"/inventory/recalls/{recall.pk}/").content.decode()
    assert here.tag in content and there.tag in content and "Sister Store" in content and "Vault" in content
    assert "Ada Lovelace" in content
    assert "Put all on hold" in content  # compliance officers may open recalls and hold their stock


def test_put_all_on_hold(client, login, staff, recalled):
    recall, here, there = recalled
    client = login(staff("manager"))
    response = client.post(f"/inventory/recalls/{recall.pk}/hold/", follow=True)
    assert "2 packages put on hold as recalled." in response.content.decode()
    assert set(Package.objects.values_list("status", flat=True)) == {"recalled"}
    again = client.post(f"/inventory/recalls/{recall.pk}/hold/", follow=True)
    assert "already on hold" in again.content.decode()


def test_csv_exports(client, login, staff, recalled, store):
    recall, here, there = recalled
    client = login(staff("manager"))
    stock = client.get(f"/inventory/recalls/{recall.pk}/stock.csv")
    assert stock["Content-Type"] == "text/csv; charset=utf-8"
    assert stock["Content-Disposition"] == f'attachment; filename="recall-{recall.pk}-stock.csv"'
    rows = list(csv.reader(io.StringIO(stock.content.decode())))
    assert rows[0] == ["tag", "store", "product", "location", "status", "on_hand"]
    assert sorted(rows[1:]) == sorted(
        [
            [here.tag, store.name, "Gelato Vape", "Vault", "Active", "6"],
            [there.tag, "Sister Store", "Gelato Vape", "Sales floor", "Active", "3"],
        ]
    )
    sold = client.get(f"/inventory/recalls/{recall.pk}/sold.csv")
    rows = list(csv.reader(io.StringIO(sold.content.decode())))
    assert rows[0] == ["tag", "store", "quantity", "at", "reference", "customer", "phone", "delivery"]
    assert len(rows) == 2
    assert rows[1][:3] == [there.tag, "Sister Store", "1"]
    assert rows[1][4:] == ["web-test-sale S-1", "Ada Lovelace", "+14155550134", ""]


def test_open_recall_bad_input_and_success(client, login, staff, store, organization):
    product = ProductFactory(organization=organization, sku="TOP-1")
    receive(store, product, 1)
    client = login(staff("manager"))
    nothing = client.post(
        "/inventory/recalls/open/", {"criterion": "product", "value": "NOPE", "reason": "x"}
    )
    assert "No package matches product" in nothing.content.decode()
    missing = client.post(
        "/inventory/recalls/open/", {"criterion": "product", "value": "TOP-1", "reason": ""}
    )
    assert "This field is required." in missing.content.decode()
    assert Recall.objects.count() == 0
    response = client.post(
        "/inventory/recalls/open/", {"criterion": "product", "value": "TOP-1", "reason": "Lab"}
    )
    recall = Recall.objects.get()
    assert response["Location"] == f"/inventory/recalls/{recall.pk}/"


def test_another_organizations_recall_is_404_and_budtender_403(client, login, staff, manager):
    other_org = OrganizationFactory()
    other_store = StoreFactory(organization=other_org)
    product = ProductFactory(organization=other_org, sku="OTHER")
    receive(other_store, product, 1)
    recall = recall_open(organization=other_org, criterion="product", value="OTHER", reason="x", actor=None)
    client = login(staff("manager"))
    assert client.get(f"/inventory/recalls/{recall.pk}/").status_code == 404
    assert client.get(f"/inventory/recalls/{recall.pk}/stock.csv").status_code == 404
    assert client.post(f"/inventory/recalls/{recall.pk}/hold/").status_code == 404
    login(staff("budtender"))
    assert client.get("/inventory/recalls/").status_code == 403
