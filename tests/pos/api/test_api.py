"""The point of sale's API: sales (read), pickup orders, a customer's purchases and loyalty."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from dispensary.models import AuditRecord
from inventory.models import Package
from inventory.selectors import ledger_mismatch_list
from pos.models import LoyaltyAccount, LoyaltyTier, PickupOrder, PointsEntry
from tests.factories import CustomerFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales"
ORDERS = "/api/v1/pickup-orders"


def customer_url(customer, what):
    return f"/api/v1/customers/{customer.pk}/{what}"


# --- sales ------------------------------------------------------------------------------------------------


def test_sale_detail_shows_lines_discounts_taxes_tenders_and_refunds(
    make_api_client, make_sale, customer, package
):
    sale = make_sale(customer, key="s1", quantity=2, discount_percent=D("10"))
    _, caller = make_api_client(scopes=["sales:read"])

    body = caller.get(f"{SALES}/{sale.pk}").json()

    assert (body["id"], body["status"], body["customer"], body["total"]) == (
        sale.pk,
        "completed",
        customer.pk,
        "99.02",
    )
    (line,) = body["lines"]
    assert {
        k: line[k]
        for k in ["tag", "quantity", "unit", "list_amount", "discount_amount", "net_amount", "total"]
    } == {
        "tag": package.tag,
        "quantity": "2",
        "unit": "each",
        "list_amount": "90.00",
        "discount_amount": "9.00",
        "net_amount": "81.00",
        "total": "99.02",
    }
    assert [(d["source"], d["amount"]) for d in line["discounts"]] == [("override", "9.00")]
    assert sorted((t["field"], t["amount"]) for t in line["taxes"]) == [
        ("excise_tax", "12.15"),
        ("sales_tax", "5.87"),
    ]
    assert [(t["kind"], t["applied"], t["change_due"]) for t in body["tenders"]] == [
        ("cash", "99.02", "400.98")
    ]
    assert body["refunds"] == []


def test_sales_list_filters_and_reaches_only_the_clients_stores(
    make_api_client, make_sale, customer, store, other_store, organization, budtender
):
    first = make_sale(customer, key="s1")
    second = make_sale(None, key="s2")
    other_product = ProductFactory(organization=organization)
    receive(other_store, other_product, 1)
    _, caller = make_api_client(scopes=["sales:read"])

    assert [s["id"] for s in caller.get(SALES).json()["results"]] == [second.pk, first.pk]
    assert [s["id"] for s in caller.get(SALES, {"customer": customer.pk}).json()["results"]] == [first.pk]
    today = first.local_date.isoformat()
    tomorrow = (first.local_date + dt.timedelta(days=1)).isoformat()
    assert caller.get(SALES, {"date_from": today, "date_to": today}).json()["count"] == 2
    assert caller.get(SALES, {"date_from": tomorrow}).json()["count"] == 0
    assert caller.get(SALES, {"status": "voided"}).json()["count"] == 0
    assert caller.get(SALES, {"status": "nonsense"}).status_code == 400
    # A client of the other store sees none of these, and their details are 404s.
    _, elsewhere = make_api_client(scopes=["sales:read"], stores=[other_store])
    assert elsewhere.get(SALES).json()["count"] == 0
    assert elsewhere.get(f"{SALES}/{first.pk}").status_code == 404


def test_sales_need_the_scope_or_the_permission(
    make_api_client, staff_caller, make_sale, store, organization
):
    sale = make_sale(None, key="s1")
    _, without = make_api_client(scopes=["customers:read"])
    assert without.get(SALES).status_code == 403
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    assert staff_caller(driver).get(f"{SALES}/{sale.pk}").status_code == 403
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    assert staff_caller(budtender).get(f"{SALES}/{sale.pk}").status_code == 200


def test_foreign_organizations_sales_are_not_found(make_sale, staff_caller, foreign_manager):
    sale = make_sale(None, key="s1")
    caller = staff_caller(foreign_manager)
    assert caller.get(f"{SALES}/{sale.pk}").status_code == 404
    assert caller.get(SALES).json()["count"] == 0


@pytest.mark.parametrize("rows", [1, 6])
def test_sales_list_query_count_does_not_grow(rows, make_api_client, make_sale, django_assert_num_queries):
    for number in range(rows):
        make_sale(None, key=f"s{number}")
    _, caller = make_api_client(scopes=["sales:read"])
    caller.get(SALES)

    # Client, count, page, and one per prefetch: lines, taxes, discounts, tenders, refunds (their
    # lines only when there are refunds).
    with django_assert_num_queries(8):
        assert caller.get(SALES).json()["count"] == rows


# --- pickup orders ---------------------------------------------------------------------------------------


def place(caller, store, customer, lines, *, key="order-1", **extra):
    return caller.post(
        ORDERS,
        {"store": store.pk, "customer": customer.pk, "customer_type": "adult_use", "lines": lines, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_placing_reserves_stock_and_a_retry_returns_the_first_order(
    make_api_client, store, customer, product, package
):
    client, caller = make_api_client(scopes=["orders:write", "orders:read"])

    response = place(caller, store, customer, [{"product": product.pk, "quantity": "2"}], note="Curbside")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["customer"], body["note"], body["estimated_total"]) == (
        "reserved",
        customer.pk,
        "Curbside",
        "110.03",
    )
    assert [(line["tag"], line["quantity"], line["unit_price"]) for line in body["lines"]] == [
        (package.tag, "2", "45.00")
    ]
    order = PickupOrder.objects.get()
    assert (order.api_client_id, order.source, order.idempotency_key) == (client.pk, "api", "order-1")
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("2")
    replay = place(caller, store, customer, [{"product": product.pk, "quantity": "2"}], note="Curbside")
    assert (replay.status_code, replay.json()["id"]) == (201, body["id"])
    # The order's own key decides too, under another header key.
    again = place(
        caller,
        store,
        customer,
        [{"product": product.pk, "quantity": "2"}],
        key="other",
        idempotency_key="order-1",
    )
    assert again.json()["id"] == body["id"]
    assert PickupOrder.objects.count() == 1
    assert caller.get(f"{ORDERS}/{body['id']}").json()["lines"] == body["lines"]
    assert [o["id"] for o in caller.get(ORDERS, {"status": "reserved"}).json()["results"]] == [body["id"]]


def test_an_idempotency_key_belongs_to_its_caller_not_to_the_store(
    make_api_client, staff_caller, manager, store, customer, product, package
):
    first_client, first = make_api_client(scopes=["orders:write", "orders:read"])
    second_client, second = make_api_client(scopes=["orders:write", "orders:read"])
    line = [{"product": product.pk, "quantity": "1"}]

    mine = place(first, store, customer, line, key="h1", idempotency_key="cart-42")
    theirs = place(second, store, customer, line, key="h2", idempotency_key="cart-42")
    staff = place(staff_caller(manager), store, customer, line, key="h3", idempotency_key="cart-42")

    assert (mine.status_code, theirs.status_code, staff.status_code) == (201, 201, 201)
    assert len({mine.json()["id"], theirs.json()["id"], staff.json()["id"]}) == 3
    owners = dict(PickupOrder.objects.values_list("pk", "idempotency_owner"))
    assert owners == {
        mine.json()["id"]: f"client:{first_client.pk}",
        theirs.json()["id"]: f"client:{second_client.pk}",
        staff.json()["id"]: f"user:{manager.pk}",
    }
    # Each caller's retry still finds its own order, never another's.
    assert (
        place(second, store, customer, line, key="h4", idempotency_key="cart-42").json()["id"]
        == (theirs.json()["id"])
    )
    assert PickupOrder.objects.count() == 3


def test_an_api_client_orders_only_for_the_customers_of_its_stores(
    make_api_client, store, other_store, organization, product, package
):
    elsewhere = CustomerFactory(organization=organization, home_store=other_store)
    _, caller = make_api_client(scopes=["orders:write"], stores=[store])

    response = place(caller, store, elsewhere, [{"product": product.pk, "quantity": "1"}])

    assert response.status_code == 400
    assert "customer" in response.json()["details"]
    assert PickupOrder.objects.count() == 0


def test_limit_refusal_is_422_with_the_violations(
    make_api_client, store, customer, organization, product, package
):
    ounce = ProductFactory(organization=organization)
    ProductLimitAmountFactory(product=ounce, bucket="flower_g", amount=D("28.5"))
    receive(store, ounce, 2)
    _, caller = make_api_client(scopes=["orders:write"])
    assert (
        place(caller, store, customer, [{"product": ounce.pk, "quantity": "1"}], key="a").status_code == 201
    )

    response = place(caller, store, customer, [{"product": product.pk, "quantity": "1"}], key="b")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "purchase_limit_exceeded"
    assert [(v["code"], v["over"], v["unit"]) for v in body["details"]["violations"]] == [
        ("limit_exceeded", "3.5", "g")
    ]
    assert body["details"]["limits"][0]["remaining"] == "0"
    assert PickupOrder.objects.count() == 1


def test_stock_shortfall_is_409_with_details(make_api_client, store, customer, organization):
    pre_roll = ProductFactory(organization=organization, name="Pre-roll")
    receive(store, pre_roll, 1)
    _, caller = make_api_client(scopes=["orders:write"])

    response = place(caller, store, customer, [{"product": pre_roll.pk, "quantity": "3"}])

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert (response.json()["details"]["requested"], response.json()["details"]["available"]) == ("3", "1")
    assert PickupOrder.objects.count() == 0


def test_bad_input_is_400_and_other_stores_or_customers_are_unknown(
    make_api_client, store, other_store, customer, foreign_customer, product, package
):
    _, caller = make_api_client(scopes=["orders:write"])
    assert place(caller, other_store, customer, [{"product": product.pk, "quantity": "1"}]).status_code == 400
    assert (
        place(caller, store, foreign_customer, [{"product": product.pk, "quantity": "1"}]).status_code == 400
    )
    assert place(caller, store, customer, []).status_code == 400
    assert place(caller, store, customer, [{"product": product.pk, "quantity": "0"}]).status_code == 400
    assert place(caller, store, customer, [{"product": product.pk, "quantity": "1.0001"}]).status_code == 400
    no_key = caller.post(
        ORDERS,
        {
            "store": store.pk,
            "customer": customer.pk,
            "customer_type": "adult_use",
            "lines": [{"product": product.pk, "quantity": "1"}],
        },
        format="json",
    )
    assert (no_key.status_code, no_key.json()["details"]) == (
        400,
        {"idempotency_key": ["Required without the header."]},
    )
    assert PickupOrder.objects.count() == 0


def test_cancel_releases_and_other_stores_orders_are_404(
    make_api_client, store, other_store, customer, product, package
):
    _, caller = make_api_client(scopes=["orders:write", "orders:read"])
    order_id = place(caller, store, customer, [{"product": product.pk, "quantity": "2"}]).json()["id"]
    _, elsewhere = make_api_client(scopes=["orders:write", "orders:read"], stores=[other_store])
    assert elsewhere.get(f"{ORDERS}/{order_id}").status_code == 404
    assert elsewhere.post(f"{ORDERS}/{order_id}/cancel", {"reason": "x"}, format="json").status_code == 404

    response = caller.post(f"{ORDERS}/{order_id}/cancel", {"reason": "Customer called"}, format="json")

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("0")
    assert ledger_mismatch_list(store=store) == []
    again = caller.post(f"{ORDERS}/{order_id}/cancel", {"reason": "Again"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "pickup_order_closed")


def test_orders_need_their_scopes_and_staff_their_permissions(
    make_api_client, staff_caller, store, customer, product, package, organization
):
    _, reader = make_api_client(scopes=["orders:read"])
    assert place(reader, store, customer, [{"product": product.pk, "quantity": "1"}]).status_code == 403
    _, writer = make_api_client(scopes=["orders:write"])
    order_id = place(writer, store, customer, [{"product": product.pk, "quantity": "1"}]).json()["id"]
    assert writer.get(ORDERS).status_code == 403
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    assert staff_caller(driver).get(f"{ORDERS}/{order_id}").status_code == 403
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    as_budtender = staff_caller(budtender)
    assert as_budtender.get(f"{ORDERS}/{order_id}").status_code == 200
    response = place(as_budtender, store, customer, [{"product": product.pk, "quantity": "1"}], key="staff-1")
    assert response.status_code == 201
    assert PickupOrder.objects.get(pk=response.json()["id"]).created_by == budtender


@pytest.mark.parametrize("rows", [1, 5])
def test_orders_list_query_count_does_not_grow(
    rows, make_api_client, store, organization, product, package, django_assert_num_queries
):
    _, caller = make_api_client(scopes=["orders:write", "orders:read"])
    for number in range(rows):
        customer = CustomerFactory(organization=organization, home_store=store)
        place(caller, store, customer, [{"product": product.pk, "quantity": "1"}], key=f"k{number}")
    caller.get(ORDERS)

    # Client, count, page (with store, customer, sale), lines (with product, package).
    with django_assert_num_queries(4):
        assert caller.get(ORDERS).json()["count"] == rows


# --- a customer's purchases and loyalty --------------------------------------------------------------------


def test_purchases_are_paginated_logged_and_limited_to_the_organization(
    make_api_client, make_sale, customer, foreign_customer
):
    sales = [make_sale(customer, key=f"s{n}") for n in range(3)]
    make_sale(None, key="anonymous")
    _, caller = make_api_client(scopes=["customers:read"])

    page = caller.get(customer_url(customer, "purchases"), {"page_size": 2}).json()

    assert page["count"] == 3
    assert [sale["id"] for sale in page["results"]] == [sales[2].pk, sales[1].pk]
    assert page["next"] is not None
    viewed = AuditRecord.objects.filter(action="customer.viewed", object_id=str(customer.pk))
    assert list(viewed.values_list("after", flat=True)) == [{"via": "api:purchases"}]
    assert caller.get(customer_url(foreign_customer, "purchases")).status_code == 404
    _, without = make_api_client(scopes=["sales:read"])
    assert without.get(customer_url(customer, "purchases")).status_code == 403


@pytest.mark.parametrize("rows", [1, 6])
def test_purchases_query_count_does_not_grow(
    rows, make_api_client, make_sale, customer, django_assert_num_queries
):
    for number in range(rows):
        make_sale(customer, key=f"s{number}")
    _, caller = make_api_client(scopes=["customers:read"])
    caller.get(customer_url(customer, "purchases"))

    # Client, customer, its organization and the audit record, count, page, and one per prefetch: lines,
    # taxes, discounts, tenders, refunds.
    with django_assert_num_queries(11):
        assert caller.get(customer_url(customer, "purchases")).json()["count"] == rows


def test_loyalty_shows_balance_tier_and_the_last_twelve_months(
    make_api_client, customer, organization, foreign_customer
):
    _, caller = make_api_client(scopes=["customers:read"])
    empty = caller.get(customer_url(customer, "loyalty")).json()
    assert (empty["customer"], empty["balance"], empty["tier"], empty["entries"]) == (
        customer.pk,
        0,
        None,
        [],
    )

    gold = LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=D("500.00"))
    account = LoyaltyAccount.objects.create(customer=customer, balance=120, tier=gold)
    now = timezone.now()
    PointsEntry.objects.create(
        account=account, kind="earned", points=100, remaining=0, created_at=now - dt.timedelta(days=400)
    )
    recent = PointsEntry.objects.create(
        account=account, kind="earned", points=120, remaining=120, created_at=now - dt.timedelta(days=3)
    )

    body = caller.get(customer_url(customer, "loyalty")).json()

    assert (body["balance"], body["tier"]) == (120, {"id": gold.pk, "name": "Gold", "min_spend": "500.00"})
    assert [(e["id"], e["kind"], e["points"]) for e in body["entries"]] == [(recent.pk, "earned", 120)]
    assert AuditRecord.objects.filter(action="customer.viewed", after={"via": "api:loyalty"}).count() == 2
    assert caller.get(customer_url(foreign_customer, "loyalty")).status_code == 404
