import time

import pytest
from django.utils import timezone

from inventory.models import Package, StockMovement
from inventory.services import package_adjust
from tests.factories import UserFactory
from tests.inventory.api.conftest import local_day
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db
PACKAGES = "/api/v1/inventory/packages"
MOVEMENTS = "/api/v1/inventory/movements"


def ids(caller, url, **params):
    response = caller.get(url, params)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- packages -------------------------------------------------------------------------------------------


def test_package_detail_with_lab_results(make_api_client, package):
    _, caller = make_api_client(scopes=["inventory:read"])

    body = caller.get(f"{PACKAGES}/{package.pk}").json()

    assert body["tag"] == package.tag
    assert body["product"]["sku"] == "BD-35"
    assert (body["quantity_on_hand"], body["quantity_allocated"], body["quantity_available"]) == (
        "10",
        "0",
        "10",
    )
    assert body["expires_on"] == local_day(package.store, 30).isoformat()
    assert [(r["lab_name"], r["thc_percent"], r["tests"], r["passed"]) for r in body["lab_results"]] == [
        ("SC Labs", "24.50", {"pesticides": "pass"}, True)
    ]


def test_client_limited_to_one_store_sees_only_its_packages(
    make_api_client, store, package, other_package, foreign_package
):
    _, caller = make_api_client(scopes=["inventory:read"], stores=[store])

    assert ids(caller, PACKAGES) == [package.pk]
    assert ids(caller, PACKAGES, store=other_package.store_id) == []
    assert caller.get(f"{PACKAGES}/{other_package.pk}").status_code == 404
    assert caller.get(f"{PACKAGES}/{foreign_package.pk}").status_code == 404
    assert caller.get(f"{PACKAGES}/{package.pk}").status_code == 200


def test_staff_see_the_packages_of_their_stores(organization, store, package, other_package, staff_caller):
    caller = staff_caller(UserFactory(organization=organization, roles=["budtender"], stores=[store]))

    assert ids(caller, PACKAGES) == [package.pk]
    assert caller.get(f"{PACKAGES}/{other_package.pk}").status_code == 404


def test_package_filters(make_api_client, organization, store, other_store, product):
    edible = ProductFactory(organization=organization, category="edible")
    flower = receive(store, product, 5)
    gummies = receive(store, edible, 5, location=Package.Location.VAULT)
    held = receive(other_store, product, 5)
    Package.objects.filter(pk=held.pk).update(status=Package.Status.ON_HOLD)
    _, caller = make_api_client(scopes=["inventory:read"], stores=[store, other_store])

    assert ids(caller, PACKAGES, store=store.pk) == [flower.pk, gummies.pk]
    assert ids(caller, PACKAGES, product=product.pk) == [flower.pk, held.pk]
    assert ids(caller, PACKAGES, category="edible") == [gummies.pk]
    assert ids(caller, PACKAGES, status="on_hold") == [held.pk]
    assert ids(caller, PACKAGES, location="vault") == [gummies.pk]
    assert ids(caller, PACKAGES, location="vault", category="flower") == []


def test_available_follows_the_sellable_rules_in_each_stores_local_day(
    make_api_client, organization, store, other_store, product
):
    other_store.time_zone = (
        "Pacific/Kiritimati"  # UTC+14: its today is a day or two ahead of the first store's
    )
    other_store.save()
    sellable = receive(store, product, 5, expires_on=local_day(store, 0))
    expired = receive(store, product, 5, expires_on=local_day(store, -1))
    failed = receive(store, product, 5, lab_status=Package.LabStatus.FAILED)
    vault = receive(store, product, 5, location=Package.Location.VAULT)
    finished = receive(store, product, 5)
    package_adjust(package=finished, quantity=-5, reason="damaged", actor=None)
    # Not expired in the first store's today, but expired in its own.
    expired_there = receive(other_store, product, 5, expires_on=local_day(other_store, -1))
    fresh_there = receive(other_store, product, 5, expires_on=local_day(other_store, 0))
    _, caller = make_api_client(scopes=["inventory:read"], stores=[store, other_store])

    assert ids(caller, PACKAGES, available="true") == [sellable.pk, fresh_there.pk]
    assert sorted(ids(caller, PACKAGES, available="false")) == sorted(
        [expired.pk, failed.pk, vault.pk, finished.pk, expired_there.pk]
    )


@pytest.mark.parametrize("rows", [5, 40])
def test_package_list_query_count_does_not_grow(
    rows, make_api_client, store, product, django_assert_num_queries
):
    for _ in range(rows):
        receive(store, product, 1)
    _, caller = make_api_client(scopes=["inventory:read"])
    caller.get(PACKAGES)

    # Client by prefix, count, one page with its products; `available` adds the client's stores.
    with django_assert_num_queries(3):
        assert caller.get(PACKAGES).json()["count"] == rows
    with django_assert_num_queries(4):
        assert caller.get(PACKAGES, {"available": "true"}).json()["count"] == rows


@pytest.mark.parametrize("params", [{"status": "lost"}, {"location": "attic"}, {"category": "snacks"}])
def test_package_filter_with_an_unknown_choice_is_a_400(params, make_api_client):
    _, caller = make_api_client(scopes=["inventory:read"])

    response = caller.get(PACKAGES, params)

    assert response.status_code == 400
    assert list(response.json()["details"]) == list(params)


# --- movements ------------------------------------------------------------------------------------------


def test_movements_are_the_ledger_of_reached_stores_in_id_order(
    make_api_client, store, package, other_package, foreign_package
):
    adjusted = package_adjust(package=package, quantity=-2, reason="damaged", note="dropped", actor=None)
    _, caller = make_api_client(scopes=["inventory:read"], stores=[store])

    body = caller.get(MOVEMENTS).json()

    assert body["count"] == 2
    received, adjustment = body["results"]
    assert received["id"] < adjustment["id"]
    assert (received["kind"], received["quantity"], received["package"]) == ("received", "10", package.pk)
    assert adjustment == {
        "id": adjusted.pk,
        "store": store.pk,
        "package": package.pk,
        "tag": package.tag,
        "kind": "adjusted",
        "quantity": "-2",
        "allocated_delta": "0",
        "actor_label": "system",
        "reason": "damaged",
        "note": "dropped",
        "reference_type": "",
        "reference_id": "",
        "created_at": adjustment["created_at"],
    }


def test_movement_filters(make_api_client, store, other_store, package, other_package):
    # Movements are append-only (PostgreSQL refuses an UPDATE), so the time filters are tested against a
    # boundary taken between the received movements and the adjustment.
    received = StockMovement.objects.get(package=package, kind="received")
    other_received = StockMovement.objects.get(package=other_package)
    time.sleep(0.01)
    boundary = timezone.now().isoformat()
    time.sleep(0.01)
    adjusted = package_adjust(package=package, quantity=1, reason="entry_error", actor=None)
    _, caller = make_api_client(scopes=["inventory:read"], stores=[store, other_store])

    assert ids(caller, MOVEMENTS, store=other_store.pk) == [other_received.pk]
    assert ids(caller, MOVEMENTS, package=package.pk) == [received.pk, adjusted.pk]
    assert ids(caller, MOVEMENTS, kind="adjusted") == [adjusted.pk]
    assert ids(caller, MOVEMENTS, package=package.pk, created_after=boundary) == [adjusted.pk]
    assert ids(caller, MOVEMENTS, created_before=boundary) == sorted([received.pk, other_received.pk])
    bad = caller.get(MOVEMENTS, {"created_after": "last week"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"


def test_movements_are_read_only(make_api_client, package):
    _, caller = make_api_client()

    response = caller.post(MOVEMENTS, {"kind": "adjusted"})

    assert response.status_code == 405
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize("rows", [5, 40])
def test_movement_list_query_count_does_not_grow(
    rows, make_api_client, store, product, django_assert_num_queries
):
    for _ in range(rows):
        receive(store, product, 1)
    _, caller = make_api_client(scopes=["inventory:read"])
    caller.get(MOVEMENTS)

    with django_assert_num_queries(3):
        assert caller.get(MOVEMENTS).json()["count"] == rows


@pytest.mark.parametrize("value", ["-6.071773510497385e+78", "1.5", "abc", "0", "99999999999999999999"])
@pytest.mark.parametrize("name", ["store", "product"])
def test_id_filters_refuse_what_is_no_id(make_api_client, name, value):
    _, caller = make_api_client(scopes=["inventory:read"])
    response = caller.get("/api/v1/inventory/packages", {name: value})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    movements = caller.get("/api/v1/inventory/movements", {"package": value})
    assert movements.status_code == 400
