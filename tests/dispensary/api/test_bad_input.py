"""Each class of bad input, in every field of every API operation (from the OpenAPI schema): a clear 4xx in the
error body, never a 5xx, and nothing implausible stored. The schemathesis fuzz (test_schema) covers random
input; this covers the classes the probe of issue 10 found, on purpose, on SQLite and PostgreSQL."""

import json
import uuid

import pytest

from delivery.models import DeliveryAddress
from dispensary.inputs import JSON_MAX_DEPTH
from dispensary.models import AuditRecord, Customer, Store
from inventory.models import IncomingTransfer, Package, Product, StockMovement
from pos.models import PickupOrder, Sale
from tests.bad_input.crawl import BAD_VALUES, HUGE_IDS, implausible_values
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db

# Values no field of any kind may store: these must always be refused.
ALWAYS_REFUSED = {"nul", "long"}
TAG = "1A4FF0100000022000000101"
HEADER = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,harvest_batch,expires_on,lab_status"
MANIFEST_ROW = {
    "manifest_number": "0000123456",
    "shipper_license": "C11-0000001-LIC",
    "shipper_name": "Coastal Farms",
    "tag": "1A4FF0100000022000000201",
    "sku": "FLW-1",
    "quantity": "20",
    "harvest_batch": "HB-7",
    "expires_on": "2027-04-01",
    "lab_status": "passed",
}


def manifest(**changes) -> str:
    row = {**MANIFEST_ROW, **changes}
    return HEADER + "\n" + ",".join(row[column] for column in HEADER.split(",")) + "\n"


def variants(value, path=()):
    """(path, value) for each leaf of a JSON body: where a bad value can go."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from variants(item, (*path, key))
    elif isinstance(value, list) and value:
        yield from variants(value[0], (*path, 0))
    else:
        yield path


def replaced(body, path, new):
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


@pytest.fixture
def world(organization, store, make_api_client):
    customer = CustomerFactory(organization=organization, phone="+14155550134", home_store=store)
    product = ProductFactory(organization=organization, sku="FLW-1")
    package = receive(store, product, "100", tag=TAG)
    _, caller = make_api_client()
    response = caller.post(
        "/api/v1/inventory/transfers", {"store": store.pk, "csv": manifest()}, format="json"
    )
    assert response.status_code == 201, response.json()
    transfer = response.json()
    return {
        "caller": caller,
        "customer": customer,
        "product": product,
        "package": package,
        "transfer_id": transfer["id"],
        "line_id": transfer["lines"][0]["id"],
        "store": store,
    }


def writes(world) -> dict:
    store, customer, product = world["store"], world["customer"], world["product"]
    transfer, line = world["transfer_id"], world["line_id"]
    return {
        ("post", "/api/v1/customers"): {
            "phone": "+14155550199",
            "first_name": "Ada",
            "last_name": "Byron",
            "date_of_birth": "1990-05-01",
            "email": "ada@example.com",
            "customer_type": "adult_use",
            "home_store": store.pk,
            "notes": "Prefers mornings",
        },
        ("patch", f"/api/v1/customers/{customer.pk}"): {
            "first_name": "Ada",
            "date_of_birth": "1990-05-01",
            "notes": "",
        },
        ("post", "/api/v1/pickup-orders"): {
            "store": store.pk,
            "customer": customer.pk,
            "customer_type": "adult_use",
            "lines": [{"product": product.pk, "quantity": "1"}],
            "pickup_after": None,
            "note": "",
            "external_reference": "",
        },
        ("post", "/api/v1/delivery-orders"): {
            "store": store.pk,
            "customer": customer.pk,
            "customer_type": "adult_use",
            "lines": [{"product": product.pk, "quantity": "1"}],
            "address": {
                "line1": "1 Market St",
                "city": "San Francisco",
                "region": "CA",
                "postal_code": "94105",
                "latitude": "37.75",
                "longitude": "-122.45",
            },
            "window_start": "2026-03-10T14:00:00-07:00",
            "window_end": "2026-03-10T15:00:00-07:00",
            "age_verification": {"method": "online", "reference": "V-1", "verified_by": "IDme"},
            "note": "",
        },
        ("post", f"/api/v1/inventory/packages/{world['package'].pk}/adjustments"): {
            "quantity": "1",
            "reason": "entry_error",
            "note": "",
        },
        ("post", "/api/v1/inventory/transfers"): {"store": store.pk, "csv": manifest(tag=TAG[:-3] + "301")},
        ("post", f"/api/v1/inventory/transfers/{transfer}/scans"): {
            "tag": MANIFEST_ROW["tag"],
            "quantity": "20",
        },
        ("post", f"/api/v1/inventory/transfers/{transfer}/lines/{line}/decision"): {"decision": "accepted"},
        ("post", "/api/v1/compliance/limits/check"): {
            "jurisdiction": "US-CO",
            "date": "2026-03-01",
            "customer": {"type": "adult_use", "age": 34, "resident": True},
            "history": [
                {"at": "2026-03-01T10:00:00-07:00", "lines": [{"bucket": "flower_g", "amount": "10"}]}
            ],
            "cart": [{"bucket": "concentrate_g", "amount": "4"}],
        },
        ("post", "/api/v1/auth/token"): {"username": "nobody", "password": "wrong-password", "name": ""},
    }


def counts() -> tuple:
    return (
        Customer.objects.count(),
        PickupOrder.objects.count(),
        DeliveryAddress.objects.count(),
        StockMovement.objects.count(),
        IncomingTransfer.objects.count(),
        Sale.objects.count(),
    )


@pytest.mark.timeout(600)
def test_each_class_of_bad_input_in_each_write_field_is_refused(world):
    caller, failures = world["caller"], []
    for (method, url), body in writes(world).items():
        for path in variants(body):
            for label, value in BAD_VALUES.items():
                before = counts()
                response = getattr(caller, method)(
                    url, replaced(body, path, value), format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
                )
                where = f"{method.upper()} {url} {'.'.join(map(str, path))}={label}"
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {where}")
                elif label in ALWAYS_REFUSED and response.status_code < 400:
                    failures.append(f"accepted {where}")
                elif label in ALWAYS_REFUSED and counts() != before:
                    failures.append(f"wrote {where}")
                if response.status_code >= 400:
                    assert set(response.json()) == {"code", "message", "details"}, where

    assert failures == []
    assert implausible_values() == []


@pytest.mark.parametrize("column", ["quantity", "expires_on", "tag", "sku", "shipper_name", "harvest_batch"])
def test_each_class_of_bad_input_in_each_manifest_column_is_refused(world, column):
    caller = world["caller"]
    before = IncomingTransfer.objects.count()
    for label, value in BAD_VALUES.items():
        response = caller.post(
            "/api/v1/inventory/transfers",
            {
                "store": world["store"].pk,
                "csv": manifest(**{"tag": TAG[:-3] + "401", "manifest_number": f"M-{label}", column: value}),
            },
            format="json",
        )
        assert response.status_code < 500, (column, label)
        if label in ALWAYS_REFUSED or column in {"quantity", "expires_on"}:
            assert response.status_code == 400, (column, label, response.json())
    # Text columns take the numbers and dates as text (a batch named "1e11" is a name).
    accepted = 0 if column in {"quantity", "expires_on"} else len(set(BAD_VALUES) - ALWAYS_REFUSED)
    assert IncomingTransfer.objects.count() <= before + accepted
    assert implausible_values() == []


def test_a_manifest_quantity_of_1e11_is_refused_and_the_transfer_still_reads(world):
    caller = world["caller"]
    for quantity in ("1e11", "100000000000", "1000001", "1e-30"):
        response = caller.post(
            "/api/v1/inventory/transfers",
            {"store": world["store"].pk, "csv": manifest(quantity=quantity, tag=TAG[:-3] + "501")},
            format="json",
        )
        assert response.status_code == 400, quantity
        assert "quantity" in response.json()["message"]
    scan = caller.post(
        f"/api/v1/inventory/transfers/{world['transfer_id']}/scans",
        {"tag": MANIFEST_ROW["tag"], "quantity": "1e11"},
        format="json",
    )
    assert scan.status_code == 400
    assert caller.get(f"/api/v1/inventory/transfers/{world['transfer_id']}").status_code == 200


def test_an_adjustment_beyond_a_million_is_refused(world):
    package = world["package"]
    before = Package.objects.get(pk=package.pk).quantity_on_hand
    for quantity in ("1e9", "1000000000", "-1e9", "1234567890123456789012345678901234567890"):
        response = world["caller"].post(
            f"/api/v1/inventory/packages/{package.pk}/adjustments",
            {"quantity": quantity, "reason": "entry_error"},
            format="json",
        )
        assert response.status_code == 400, quantity
    assert Package.objects.get(pk=package.pk).quantity_on_hand == before


@pytest.mark.parametrize("date_of_birth", ["2030-01-01", "1800-01-01", "9999-12-31"])
def test_an_implausible_date_of_birth_is_refused(world, date_of_birth):
    customer = world["customer"]
    response = world["caller"].patch(
        f"/api/v1/customers/{customer.pk}", {"date_of_birth": date_of_birth}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["details"]["date_of_birth"] == ["A date of birth is between 1900-01-01 and today."]
    customer.refresh_from_db()
    assert customer.date_of_birth != __import__("datetime").date.fromisoformat(date_of_birth)


@pytest.mark.timeout(300)
def test_each_class_of_bad_input_in_query_parameters_and_path_ids(world, anonymous):
    caller, failures = world["caller"], []
    schema = anonymous.get("/api/schema/", {"format": "json"}).json()
    ids = {
        "customer_id": world["customer"].pk,
        "store_id": world["store"].pk,
        "product_id": world["product"].pk,
        "package_id": world["package"].pk,
        "transfer_id": world["transfer_id"],
        "line_id": world["line_id"],
        "sale_id": 1,
        "order_id": 1,
        "hook_id": 1,
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            url = path.format(**ids)
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            if method == "get":
                for name in names:
                    for label, value in BAD_VALUES.items():
                        response = caller.get(url, {name: value})
                        if response.status_code >= 500:
                            failures.append(f"{response.status_code} GET {path} ?{name}={label}")
                        if label in ALWAYS_REFUSED and response.status_code < 400:
                            failures.append(f"accepted GET {path} ?{name}={label}")
            for name in (p["name"] for p in operation.get("parameters", []) if p["in"] == "path"):
                for label, huge in HUGE_IDS.items():
                    response = getattr(caller, method)(path.format(**{**ids, name: huge}), {}, format="json")
                    if response.status_code != 404:
                        failures.append(f"{response.status_code} {method.upper()} {path} {name}={label}")

    assert failures == []


def test_deeply_nested_json_is_a_400(world):
    deep = "[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1)
    very_deep = "[" * 100_000 + "]" * 100_000

    nested_objects = '{"notes": ' + '{"a": ' * 50 + "1" + "}" * 51

    for body in (deep, very_deep, nested_objects):
        response = world["caller"].generic(
            "PATCH", f"/api/v1/customers/{world['customer'].pk}", body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"
        assert "nests deeper" in response.json()["message"]


def test_a_nul_in_a_json_key_or_value_is_a_400(world):
    for body in ('{"first_name": "Ad\\u0000a"}', '{"first\\u0000name": "Ada"}', '{"notes": "bell\\u0007"}'):
        response = world["caller"].generic(
            "PATCH", f"/api/v1/customers/{world['customer'].pk}", body, content_type="application/json"
        )
        assert response.status_code == 400, body
    world["customer"].refresh_from_db()
    assert world["customer"].first_name != "Ad\x00a"


@pytest.mark.parametrize("size", [2_700_000, 6_000_000])
def test_a_body_over_the_limit_is_a_413(world, size):
    body = json.dumps({"notes": "x" * size})
    before = AuditRecord.objects.count()

    response = world["caller"].generic(
        "PATCH", f"/api/v1/customers/{world['customer'].pk}", body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert AuditRecord.objects.count() == before


def test_net_unit_is_null_rather_than_an_empty_string(world):
    product = Product.objects.get(pk=world["product"].pk)
    product.net_unit = ""
    product.save(update_fields=["net_unit"])

    response = world["caller"].get(f"/api/v1/inventory/products/{product.pk}")

    assert response.status_code == 200
    assert response.json()["net_unit"] is None
    assert Store.objects.exists()
