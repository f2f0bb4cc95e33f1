from decimal import Decimal

import pytest

from inventory.models import Package, Product
from inventory.services import package_adjust, stock_allocate
from inventory.services.stock import Reference, StockRequest
from tests.factories import UserFactory
from tests.inventory.api.conftest import local_day
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/inventory/products"
MENU = "/api/v1/inventory/menu"


# --- products -------------------------------------------------------------------------------------------


def test_products_list_the_organizations_catalog_with_limit_amounts(
    make_api_client, product, foreign_product
):
    ProductLimitAmountFactory(product=product, bucket="infused_thc_mg", amount="10")
    _, caller = make_api_client(scopes=["inventory:read"])

    response = caller.get(PRODUCTS)

    assert response.status_code == 200
    assert response.json()["count"] == 1
    [row] = response.json()["results"]
    assert row == {
        "id": product.pk,
        "name": "Blue Dream 3.5g",
        "brand": "Coastal Farms",
        "category": "flower",
        "strain": "Blue Dream",
        "sold_by": "each",
        "net_amount": "3.5",
        "net_unit": "g",
        "thc_mg": None,
        "cbd_mg": None,
        "thc_percent": "24.50",
        "cbd_percent": None,
        "price": "45.00",
        "sku": "BD-35",
        "barcode": "",
        "is_active": True,
        "limit_amounts": [
            {"bucket": "flower_g", "amount": "3.5"},
            {"bucket": "infused_thc_mg", "amount": "10"},
        ],
    }


def test_products_filter_on_category_active_and_search(make_api_client, organization, product):
    gummies = ProductFactory(
        organization=organization, name="Sour Gummies", brand="Kiva", category="edible", strain=""
    )
    retired = ProductFactory(
        organization=organization, name="Old Vape", category="vape", strain="", is_active=False
    )
    _, caller = make_api_client(scopes=["inventory:read"])

    def ids(**params):
        return [row["id"] for row in caller.get(PRODUCTS, params).json()["results"]]

    assert ids(category="edible") == [gummies.pk]
    assert ids(active="false") == [retired.pk]
    assert ids(active="true") == [product.pk, gummies.pk]
    assert ids(search="kiva") == [gummies.pk]
    assert ids(search="dream") == [product.pk]
    assert ids(search="BD-35") == [product.pk]
    assert ids(search="dream", category="edible") == []


def test_products_filter_on_an_unknown_category_is_a_400(make_api_client):
    _, caller = make_api_client(scopes=["inventory:read"])

    response = caller.get(PRODUCTS, {"category": "snacks"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["details"]) == ["category"]


def test_products_are_paginated(make_api_client, organization):
    for number in range(5):
        ProductFactory(organization=organization, name=f"Product {number}")
    _, caller = make_api_client(scopes=["inventory:read"])

    body = caller.get(PRODUCTS, {"page_size": 2, "page": 3}).json()

    assert body["count"] == 5
    assert [row["name"] for row in body["results"]] == ["Product 4"]
    assert body["next"] is None


def test_product_detail_and_another_organizations_product(make_api_client, product, foreign_product):
    _, caller = make_api_client(scopes=["inventory:read"])

    assert caller.get(f"{PRODUCTS}/{product.pk}").json()["limit_amounts"] == [
        {"bucket": "flower_g", "amount": "3.5"}
    ]
    missing = caller.get(f"{PRODUCTS}/{foreign_product.pk}")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "Not found.", "details": {}}


@pytest.mark.parametrize("rows", [5, 40])
def test_products_query_count_does_not_grow(rows, make_api_client, organization, django_assert_num_queries):
    for _ in range(rows):
        ProductLimitAmountFactory(product=ProductFactory(organization=organization))
    _, caller = make_api_client(scopes=["inventory:read"])
    caller.get(PRODUCTS)

    # Client by prefix, count, page, limit amounts of the page.
    with django_assert_num_queries(4):
        assert caller.get(PRODUCTS).json()["count"] == rows


# --- menu -----------------------------------------------------------------------------------------------


def menu(caller, store, **params):
    response = caller.get(MENU, {"store": store.pk, **params})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_menu_sums_sellable_packages_per_product(make_api_client, organization, store, other_store):
    flower = ProductFactory(organization=organization, name="Flower", thc_percent="21.00", cbd_percent="0.50")
    gummies = ProductFactory(
        organization=organization,
        name="Gummies",
        category="edible",
        brand="Kiva",
        strain="",
        thc_percent=None,
        thc_mg="100",
        cbd_mg="5",
        net_amount="50",
        price="20.00",
    )
    receive(store, flower, 10)
    receive(store, flower, 4, expires_on=local_day(store, 3))
    allocated = receive(store, gummies, 6)
    stock_allocate(
        store=store,
        requests=[StockRequest(product_id=gummies.pk, quantity=Decimal(2), package_id=allocated.pk)],
        actor=None,
        reference=Reference("order", "1"),
    )
    receive(other_store, gummies, 50)  # another store's stock is not on this store's menu
    _, caller = make_api_client(scopes=["menu:read"])

    assert menu(caller, store) == [
        {
            "id": gummies.pk,
            "name": "Gummies",
            "brand": "Kiva",
            "category": "edible",
            "strain": "",
            "sold_by": "each",
            "net_amount": "50",
            "net_unit": "g",
            "thc_percent": None,
            "cbd_percent": None,
            "thc_mg": "100",
            "cbd_mg": "5",
            "price": "20.00",
            "quantity_available": "4",
        },
        {
            "id": flower.pk,
            "name": "Flower",
            "brand": "Coastal Farms",
            "category": "flower",
            "strain": "Blue Dream",
            "sold_by": "each",
            "net_amount": "3.5",
            "net_unit": "g",
            "thc_percent": "21.00",
            "cbd_percent": "0.50",
            "thc_mg": None,
            "cbd_mg": None,
            "price": "45.00",
            "quantity_available": "14",
        },
    ]


def test_menu_leaves_out_what_cannot_be_sold(make_api_client, organization, store):
    def product_with(quantity, **details):
        product = ProductFactory(organization=organization)
        receive(store, product, quantity, **details)
        return product

    sellable = product_with(3)
    product_with(3, expires_on=local_day(store, -1))
    product_with(3, lab_status=Package.LabStatus.FAILED)
    product_with(3, location=Package.Location.VAULT)
    on_hold = product_with(3)
    Package.objects.filter(product=on_hold).update(status=Package.Status.ON_HOLD)
    sold_out = product_with(3)
    package_adjust(package=sold_out.packages.get(), quantity=-3, reason="damaged", actor=None)
    retired = product_with(3)
    Product.objects.filter(pk=retired.pk).update(is_active=False)
    today = product_with(3, expires_on=local_day(store, 0))  # expires today: still sellable today
    ProductFactory(organization=organization)  # never received
    _, caller = make_api_client(scopes=["menu:read"])

    rows = menu(caller, store)

    assert sorted(row["id"] for row in rows) == [sellable.pk, today.pk]


def test_menu_agrees_with_package_sellable_list(make_api_client, organization, store):
    from inventory.selectors import package_sellable_list

    products = [ProductFactory(organization=organization) for _ in range(3)]
    products.append(ProductFactory(organization=organization, sold_by="g"))
    receive(store, products[0], 2, expires_on=local_day(store, -1))
    receive(store, products[0], 3, expires_on=local_day(store, 1))
    receive(store, products[1], 5, lab_status=Package.LabStatus.FAILED)
    receive(store, products[2], 5, location=Package.Location.QUARANTINE)
    receive(store, products[3], "1.25")
    _, caller = make_api_client(scopes=["menu:read"])

    feed = {row["id"]: row["quantity_available"] for row in menu(caller, store)}

    expected = {}
    for product in products:
        total = sum(p.quantity_available for p in package_sellable_list(store=store, product_id=product.pk))
        if total:
            expected[product.pk] = format(total.normalize(), "f")
    assert feed == expected == {products[0].pk: "3", products[3].pk: "1.25"}


def test_menu_of_a_store_the_caller_does_not_reach_is_a_404(
    make_api_client, store, other_store, foreign_store
):
    _, caller = make_api_client(scopes=["menu:read"], stores=[store])

    assert caller.get(MENU, {"store": other_store.pk}).status_code == 404
    assert caller.get(MENU, {"store": foreign_store.pk}).status_code == 404
    assert caller.get(MENU, {"store": 999999}).status_code == 404


@pytest.mark.parametrize("params", [{}, {"store": "abc"}, {"store": "0"}])
def test_menu_needs_a_store_id(params, make_api_client):
    _, caller = make_api_client(scopes=["menu:read"])

    response = caller.get(MENU, params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["details"]) == ["store"]


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [(["menu:read"], 200), (["inventory:read"], 403), (["inventory:write", "stores:read"], 403), ([], 403)],
)
def test_menu_needs_the_menu_scope(scopes, expected, make_api_client, store):
    _, caller = make_api_client(scopes=scopes)

    assert caller.get(MENU, {"store": store.pk}).status_code == expected


@pytest.mark.parametrize(("role", "expected"), [("budtender", 200), ("manager", 200), ("driver", 403)])
def test_menu_for_staff_needs_view_product_and_the_store(
    role, expected, organization, store, other_store, staff_caller
):
    caller = staff_caller(UserFactory(organization=organization, roles=[role], stores=[store]))

    assert caller.get(MENU, {"store": store.pk}).status_code == expected
    assert caller.get(MENU, {"store": other_store.pk}).status_code == (404 if expected == 200 else 403)


def test_menu_anonymous_is_a_401(anonymous, store):
    response = anonymous.get(MENU, {"store": store.pk})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("count", [5, 40])
def test_menu_query_count_does_not_grow_with_products(
    count, make_api_client, organization, store, django_assert_num_queries
):
    for number in range(count):
        product = ProductFactory(organization=organization)
        receive(store, product, 2)
        receive(store, product, 1, expires_on=local_day(store, number % 3 - 1))
    _, caller = make_api_client(scopes=["menu:read"])
    caller.get(MENU, {"store": store.pk})

    # Client by prefix, the store among the client's, count, one page with the sums: 4 for 5 products or 40.
    with django_assert_num_queries(4):
        rows = menu(caller, store)

    assert len(rows) == count
    assert {row["quantity_available"] for row in rows} == {"2", "3"}
