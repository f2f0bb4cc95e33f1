"""The stock list and the package page: scoping to the current store, permissions per role, filters, live
re-rendering after each action, and bad input that writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import LabResult, Package, StockMovement, WasteRecord
from inventory.services import Reference, StockRequest, stock_allocate
from tests.inventory.factories import ProductFactory, days, receive
from tests.inventory.web.conftest import HTMX

pytestmark = pytest.mark.django_db
D = Decimal


def movement_count() -> int:
    return StockMovement.objects.count()


# --- Stock list -----------------------------------------------------------------------------------------


def test_lists_only_the_current_stores_packages(client, login, staff, store, sister_store, product):
    here = receive(store, product, 7)
    there = receive(sister_store, product, 9)
    content = login(staff("budtender")).get("/inventory/").content.decode()
    assert here.tag in content
    assert there.tag not in content


def test_filters_and_search(client, login, staff, store, organization):
    flower = ProductFactory(organization=organization, name="Sour Diesel", category="flower", sku="SD-1")
    edible = ProductFactory(organization=organization, name="Mango Gummies", category="edible", sku="MG-1")
    a = receive(store, flower, 5, harvest_batch="BATCH-77", expires_on=days(10))
    b = receive(store, edible, 5, location="vault", expires_on=days(90))
    c = receive(store, edible, 3, status=Package.Status.ON_HOLD)
    client = login(staff("manager"))

    def tags(query):
        return {p.tag for p in client.get("/inventory/", query).context["page"].object_list}

    assert tags({}) == {a.tag, b.tag, c.tag}
    assert tags({"q": "diesel"}) == {a.tag}
    assert tags({"q": "mg-1"}) == {b.tag, c.tag}
    assert tags({"q": "batch-77"}) == {a.tag}
    assert tags({"q": b.tag[-6:]}) == {b.tag}
    assert tags({"category": "edible"}) == {b.tag, c.tag}
    assert tags({"location": "vault"}) == {b.tag}
    assert tags({"status": "on_hold"}) == {c.tag}
    assert tags({"expiring": "on"}) == {a.tag}
    assert tags({"category": "nonsense"}) == {a.tag, b.tag, c.tag}  # unknown values are ignored


def test_finished_packages_are_hidden_unless_asked(client, login, staff, store, product, manager):
    from inventory.services import package_adjust

    package = receive(store, product, 2)
    package_adjust(package=package, quantity=-2, reason="damaged", actor=manager)
    client = login(staff("manager"))
    assert client.get("/inventory/").context["page"].paginator.count == 0
    assert client.get("/inventory/", {"status": "all"}).context["page"].paginator.count == 1


def test_low_stock_is_the_products_available_quantity_below_its_reorder_point(
    client, login, staff, store, organization
):
    low = ProductFactory(organization=organization, name="Low One", reorder_point=D(10))
    fine = ProductFactory(organization=organization, name="Fine One", reorder_point=D(10))
    low_a, low_b = receive(store, low, 4), receive(store, low, 5)  # 9 available < 10
    fine_a = receive(store, fine, 12)
    stock_allocate(
        store=store,
        requests=[StockRequest(product_id=fine.pk, quantity=D(1))],
        actor=None,
        reference=Reference("order", "1"),
    )  # 11 available: still fine
    response = login(staff("manager")).get("/inventory/", {"low": "on"})
    assert {p.tag for p in response.context["page"].object_list} == {low_a.tag, low_b.tag}
    content = response.content.decode()
    assert content.count('class="inv-row--low"') == 2
    all_rows = login(staff("manager")).get("/inventory/").content.decode()
    assert all_rows.count('class="inv-row--low"') == 2 and fine_a.tag in all_rows


def test_badges_for_expired_failed_lab_and_on_hold(client, login, staff, store, product):
    receive(store, product, 1, expires_on=days(-3))  # days() is UTC; the store is behind
    receive(store, product, 1, lab_status="failed")
    receive(store, product, 1, status=Package.Status.ON_HOLD)
    content = login(staff("manager")).get("/inventory/").content.decode()
    assert ">Expired<" in content
    assert 'badge--red">Failed<' in content
    assert ">On hold<" in content


def test_htmx_filtering_returns_only_the_results(client, login, staff, store, product):
    receive(store, product, 1)
    response = login(staff("manager")).get(
        "/inventory/", {"q": "blue"}, HTTP_HX_TARGET="stock-results", **HTMX
    )
    content = response.content.decode()
    assert "<html" not in content and "Blue Dream" in content


def test_pagination_keeps_the_filters(client, login, staff, store, product):
    for _ in range(51):
        receive(store, product, 1)
    content = login(staff("manager")).get("/inventory/", {"q": "blue", "location": "sales_floor"}).content
    assert b"?q=blue&amp;location=sales_floor&amp;page=2" in content


def _stock_list_queries(client, store, organization, n):
    for number in range(n):
        product = ProductFactory(organization=organization, reorder_point=D(3))
        receive(store, product, number % 5 + 1, expires_on=days(number - 10), harvest_batch=f"B{number}")
    client.get("/inventory/")  # warm the session and caches of the first request
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/inventory/")
    assert response.status_code == 200
    return len(queries), len(response.context["page"].object_list)


def test_stock_list_query_count_does_not_grow_with_rows(client, login, staff, store, organization):
    client = login(staff("manager"))
    with_5 = _stock_list_queries(client, store, organization, 5)
    with_40 = _stock_list_queries(client, store, organization, 35)  # 35 more: 40 rows on the page
    assert with_5[1] == 5 and with_40[1] == 40
    assert with_5[0] == with_40[0] == 8  # the member's roles read once per page


# --- Package detail -------------------------------------------------------------------------------------


def test_package_of_another_store_is_404(client, login, staff, store, sister_store, product):
    elsewhere = receive(sister_store, product, 3)
    client = login(staff("manager", stores=[store, sister_store]))  # may work there, but is at `store` now
    session = client.session
    session["current_store_id"] = store.pk
    session.save()
    assert client.get(f"/inventory/packages/{elsewhere.pk}/").status_code == 404
    response = client.post(
        f"/inventory/packages/{elsewhere.pk}/adjust/", {"reason": "damaged", "quantity": "-1"}
    )
    assert response.status_code == 404
    assert client.post(f"/inventory/packages/{elsewhere.pk}/move/", {"location": "vault"}).status_code == 404
    assert (
        client.post(f"/inventory/packages/{elsewhere.pk}/waste/", {"reason": "damaged", "quantity": "1"})
    ).status_code == 404
    assert Package.objects.get(pk=elsewhere.pk).quantity_on_hand == D(3)


def test_detail_shows_fields_lab_results_and_the_whole_ledger(client, login, staff, store, product, manager):
    package = receive(
        store,
        product,
        10,
        harvest_batch="HB-9",
        supplier_name="Coastal",
        supplier_license="CULT-1",
        expires_on=dt.date(2031, 1, 2),
    )
    from inventory.services import package_adjust

    package_adjust(package=package, quantity=-2, reason="damaged", actor=manager, note="crushed box")
    result = LabResult.objects.create(
        package=package,
        lab_name="SC Labs",
        tested_on=dt.date(2030, 6, 1),
        passed=True,
        thc_percent=D("24.10"),
        tests={"pesticides": "pass"},
    )
    result.document.save("coa.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    response = login(staff("budtender")).get(f"/inventory/packages/{package.pk}/")
    content = response.content.decode()
    for text in ("HB-9", "Coastal", "CULT-1", "Jan 2, 2031", "SC Labs", "pesticides: pass", "crushed box"):
        assert text in content
    assert "−2" in content and "+10" in content
    assert f"/inventory/packages/{package.pk}/lab-results/{result.pk}/coa/" in content
    assert "Record adjustment" not in content  # a budtender sees no actions
    download = client.get(f"/inventory/packages/{package.pk}/lab-results/{result.pk}/coa/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert "attachment" in download["Content-Disposition"]


def test_budtender_can_view_but_not_adjust(client, login, staff, store, product):
    package = receive(store, product, 5)
    client = login(staff("budtender"))
    assert client.get(f"/inventory/packages/{package.pk}/").status_code == 200
    before = movement_count()
    for action, data in [
        ("adjust", {"reason": "damaged", "quantity": "-1"}),
        ("waste", {"reason": "damaged", "quantity": "1"}),
        ("move", {"location": "vault"}),
    ]:
        assert client.post(f"/inventory/packages/{package.pk}/{action}/", data).status_code == 403
    assert movement_count() == before


def test_adjust_rerenders_with_current_quantities(client, login, staff, store, product):
    package = receive(store, product, 5)
    response = login(staff("inventory_manager")).post(
        f"/inventory/packages/{package.pk}/adjust/",
        {"reason": "entry_error", "quantity": "2", "note": "miscount"},
        **HTMX,
    )
    content = response.content.decode()
    assert "<html" not in content
    assert 'data-testid="on-hand">7 ' in content
    assert "Adjusted" in content and "miscount" in content
    movement = StockMovement.objects.filter(package=package).latest("id")
    assert (movement.kind, movement.quantity, movement.reason) == ("adjusted", D(2), "entry_error")


def test_adjust_without_htmx_redirects_back(client, login, staff, store, product):
    package = receive(store, product, 5)
    response = login(staff("manager")).post(
        f"/inventory/packages/{package.pk}/adjust/", {"reason": "damaged", "quantity": "-1"}
    )
    assert response.status_code == 302 and response["Location"] == f"/inventory/packages/{package.pk}/"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "", "quantity": "-1"}, "This field is required."),
        ({"reason": "made_up", "quantity": "-1"}, "Select a valid choice."),
        ({"reason": "damaged", "quantity": "abc"}, "Enter a number."),
        ({"reason": "damaged", "quantity": "0"}, "non-zero amount"),
        ({"reason": "damaged", "quantity": "-4"}, "it cannot go down by 4"),  # 3 of the 5 are allocated
    ],
)
def test_bad_adjustment_shows_the_error_and_writes_nothing(
    client, login, staff, store, product, data, message
):
    package = receive(store, product, 5)
    stock_allocate(
        store=store,
        requests=[StockRequest(product_id=product.pk, quantity=D(3))],
        actor=None,
        reference=Reference("order", "9"),
    )
    before = movement_count()
    response = login(staff("manager")).post(f"/inventory/packages/{package.pk}/adjust/", data, **HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert movement_count() == before
    assert Package.objects.get(pk=package.pk).quantity_on_hand == D(5)


def test_destruction_needs_method_weight_and_a_witness(client, login, staff, store, product):
    package = receive(store, product, 5)
    manager = staff("manager")
    response = login(manager).post(
        f"/inventory/packages/{package.pk}/waste/", {"reason": "destroyed", "quantity": "2"}, **HTMX
    )
    content = response.content.decode()
    assert "Destruction needs the method, the waste weight and a witness." in content
    assert "A second staff member must witness destruction." in content
    assert WasteRecord.objects.count() == 0 and Package.objects.get(pk=package.pk).quantity_on_hand == D(5)


def test_witness_is_chosen_from_active_staff_of_the_store(client, login, staff, store, sister_store, product):
    package = receive(store, product, 5)
    manager = staff("manager")
    witness = staff("budtender", first_name="Wanda", last_name="Witness")
    elsewhere = staff("budtender", stores=[sister_store], first_name="Elsa")
    inactive = staff("budtender", is_active=False, first_name="Ina")
    client = login(manager)
    form = client.get(f"/inventory/packages/{package.pk}/").context["waste_form"]
    choices = set(form.fields["witness"].queryset)
    assert witness in choices
    assert not {manager, elsewhere, inactive} & choices

    bad = client.post(
        f"/inventory/packages/{package.pk}/waste/",
        {
            "reason": "destroyed",
            "quantity": "2",
            "method": "compost",
            "waste_weight_g": "40",
            "witness": elsewhere.pk,
        },
        **HTMX,
    )
    assert "Select a valid choice" in bad.content.decode()
    assert WasteRecord.objects.count() == 0

    good = client.post(
        f"/inventory/packages/{package.pk}/waste/",
        {
            "reason": "destroyed",
            "quantity": "2",
            "method": "compost",
            "waste_weight_g": "40",
            "witness": witness.pk,
        },
        **HTMX,
    )
    assert 'data-testid="on-hand">3 ' in good.content.decode()
    record = WasteRecord.objects.get()
    assert (record.quantity, record.method, record.waste_weight_g, record.witness) == (
        D(2),
        "compost",
        D(40),
        witness,
    )


def test_waste_more_than_available_is_refused(client, login, staff, store, product):
    package = receive(store, product, 2)
    response = login(staff("manager")).post(
        f"/inventory/packages/{package.pk}/waste/", {"reason": "damaged", "quantity": "3"}, **HTMX
    )
    assert "has 2 available to waste" in response.content.decode()
    assert WasteRecord.objects.count() == 0


def test_move_and_bad_move(client, login, staff, store, product):
    package = receive(store, product, 2)
    client = login(staff("manager"))
    bad = client.post(f"/inventory/packages/{package.pk}/move/", {"location": "roof"}, **HTMX)
    assert "Select a valid choice" in bad.content.decode()
    assert Package.objects.get(pk=package.pk).location == "sales_floor"
    good = client.post(
        f"/inventory/packages/{package.pk}/move/", {"location": "vault", "detail": "Safe 2"}, **HTMX
    )
    assert "is now in Vault" in good.content.decode()
    package.refresh_from_db()
    assert (package.location, package.location_detail) == ("vault", "Safe 2")
    assert StockMovement.objects.filter(package=package, kind="moved").count() == 1


def test_waste_log_lists_the_stores_records(client, login, staff, store, sister_store, product, manager):
    from inventory.services.waste import package_waste

    here = receive(store, product, 5)
    there = receive(sister_store, product, 5)
    package_waste(package=here, quantity=1, reason="theft_shrinkage", actor=manager)
    package_waste(package=there, quantity=1, reason="damaged", actor=manager)
    content = login(staff("manager")).get("/inventory/waste/").content.decode()
    assert here.tag in content and there.tag not in content
    assert "Theft or shrinkage" in content and "Flagged for state" in content
    assert login(staff("budtender")).get("/inventory/waste/").status_code == 403
