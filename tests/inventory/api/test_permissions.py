"""Who may call each inventory endpoint: anonymous callers, API clients by scope, staff by role."""

import pytest

from inventory.models import IncomingTransfer, StockMovement
from inventory.services.receiving import transfer_import_csv
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db
TAG = "1A4FF0100000022000000101"
CSV = (
    "manifest_number,shipper_license,shipper_name,tag,sku,quantity\n"
    f"M-1,C11-0000001-LIC,Coastal Farms,{TAG},FLW-1,5\n"
)


@pytest.fixture
def world(organization, store, package):
    ProductFactory(organization=organization, sku="FLW-1")
    transfer = transfer_import_csv(store=store, content=CSV, actor=None)
    return {"package": package, "transfer": transfer, "line": transfer.lines.get()}


def reads(world, store):
    transfer = world["transfer"]
    return [
        ("/api/v1/inventory/products", {}),
        (f"/api/v1/inventory/products/{world['package'].product_id}", {}),
        ("/api/v1/inventory/packages", {}),
        (f"/api/v1/inventory/packages/{world['package'].pk}", {}),
        ("/api/v1/inventory/movements", {}),
        (f"/api/v1/inventory/transfers/{transfer.pk}", {}),
    ]


def writes(world, store):
    transfer = world["transfer"]
    url = f"/api/v1/inventory/transfers/{transfer.pk}"
    return [
        ("/api/v1/inventory/transfers", {"store": store.pk, "csv": CSV.replace("M-1", "M-2")}),
        (f"{url}/scans", {"tag": TAG}),
        (f"{url}/lines/{world['line'].pk}/decision", {"decision": "accepted"}),
        (f"{url}/complete", {}),
        (
            f"/api/v1/inventory/packages/{world['package'].pk}/adjustments",
            {"quantity": "-1", "reason": "damaged"},
        ),
    ]


def test_anonymous_gets_401_everywhere(anonymous, world, store):
    responses = [anonymous.get(url, params) for url, params in reads(world, store)]
    responses.append(anonymous.get("/api/v1/inventory/menu", {"store": store.pk}))
    responses += [anonymous.post(url, body) for url, body in writes(world, store)]

    assert [r.status_code for r in responses] == [401] * 12
    assert {r.json()["code"] for r in responses} == {"not_authenticated"}
    assert IncomingTransfer.objects.count() == 1
    assert StockMovement.objects.count() == 1


# (scopes, reads, writes)
SCOPE_MATRIX = [
    (["inventory:read"], 200, 403),
    (["inventory:write"], 403, "ok"),
    (["menu:read", "stores:read", "customers:read", "customers:write"], 403, 403),
    ([], 403, 403),
]


@pytest.mark.parametrize(("scopes", "read", "write"), SCOPE_MATRIX)
def test_api_client_scope_matrix(scopes, read, write, make_api_client, world, store):
    _, caller = make_api_client(scopes=scopes)

    assert [caller.get(url, params).status_code for url, params in reads(world, store)] == [read] * 6
    statuses = [caller.post(url, body).status_code for url, body in writes(world, store)]
    assert statuses == ([201, 200, 200, 200, 201] if write == "ok" else [403] * 5)
    assert IncomingTransfer.objects.count() == (2 if write == "ok" else 1)
    assert StockMovement.objects.count() == (3 if write == "ok" else 1)  # received, adjusted, received


# (role, stock reads, transfer detail, writes) per dispensary.roles
ROLE_MATRIX = [
    ("owner", 200, 200, "ok"),
    ("manager", 200, 200, "ok"),
    ("inventory_manager", 200, 200, "ok"),
    ("compliance_officer", 200, 200, 403),
    ("budtender", 200, 403, 403),
    ("driver", 403, 403, 403),
]


@pytest.mark.parametrize(("role", "read", "transfer_read", "write"), ROLE_MATRIX)
def test_staff_role_matrix(role, read, transfer_read, write, organization, store, world, staff_caller):
    caller = staff_caller(UserFactory(organization=organization, roles=[role], stores=[store]))

    assert [caller.get(url, params).status_code for url, params in reads(world, store)] == [read] * 5 + [
        transfer_read
    ]
    statuses = [caller.post(url, body).status_code for url, body in writes(world, store)]
    assert statuses == ([201, 200, 200, 200, 201] if write == "ok" else [403] * 5)
    assert StockMovement.objects.filter(kind="adjusted").count() == (1 if write == "ok" else 0)


def test_budtender_can_read_stock_but_not_adjust_it(budtender, package, staff_caller):
    caller = staff_caller(budtender)

    assert caller.get(f"/api/v1/inventory/packages/{package.pk}").status_code == 200
    response = caller.post(
        f"/api/v1/inventory/packages/{package.pk}/adjustments", {"quantity": "-1", "reason": "damaged"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    package.refresh_from_db()
    assert package.quantity_on_hand == 10


def test_staff_of_another_store_reach_none_of_this_stores_objects(
    organization, other_store, world, staff_caller
):
    caller = staff_caller(UserFactory(organization=organization, roles=["manager"], stores=[other_store]))
    transfer = world["transfer"]

    assert caller.get("/api/v1/inventory/packages").json()["count"] == 0
    assert caller.get("/api/v1/inventory/movements").json()["count"] == 0
    assert caller.get(f"/api/v1/inventory/packages/{world['package'].pk}").status_code == 404
    assert caller.get(f"/api/v1/inventory/transfers/{transfer.pk}").status_code == 404
    statuses = [caller.post(url, body).status_code for url, body in writes(world, world["package"].store)[1:]]
    assert statuses == [404] * 4
    # Products are the organization's catalog, shared by its stores.
    assert caller.get("/api/v1/inventory/products").json()["count"] == 2


def test_another_organizations_staff_reach_nothing(foreign_manager, world, staff_caller):
    caller = staff_caller(foreign_manager)

    assert caller.get("/api/v1/inventory/products").json()["count"] == 0
    assert caller.get("/api/v1/inventory/packages").json()["count"] == 0
    assert caller.get(f"/api/v1/inventory/products/{world['package'].product_id}").status_code == 404
    assert caller.get(f"/api/v1/inventory/packages/{world['package'].pk}").status_code == 404
