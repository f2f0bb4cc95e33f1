"""The inventory operations in the OpenAPI schema (the core's test_schema fuzzes every operation)."""

import pytest

pytestmark = pytest.mark.django_db

INVENTORY_OPERATIONS = {
    ("GET", "/api/v1/inventory/products"),
    ("GET", "/api/v1/inventory/products/{product_id}"),
    ("GET", "/api/v1/inventory/menu"),
    ("GET", "/api/v1/inventory/packages"),
    ("GET", "/api/v1/inventory/packages/{package_id}"),
    ("POST", "/api/v1/inventory/packages/{package_id}/adjustments"),
    ("GET", "/api/v1/inventory/movements"),
    ("POST", "/api/v1/inventory/transfers"),
    ("GET", "/api/v1/inventory/transfers/{transfer_id}"),
    ("POST", "/api/v1/inventory/transfers/{transfer_id}/scans"),
    ("POST", "/api/v1/inventory/transfers/{transfer_id}/lines/{line_id}/decision"),
    ("POST", "/api/v1/inventory/transfers/{transfer_id}/complete"),
}


@pytest.fixture
def schema(anonymous):
    return anonymous.get("/api/schema/", {"format": "json"}).json()


def test_inventory_operations_are_documented_with_their_errors_and_keys(schema):
    documented = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api/v1/inventory/")
    }
    assert documented == INVENTORY_OPERATIONS
    for method, path in INVENTORY_OPERATIONS:
        operation = schema["paths"][path][method.lower()]
        assert operation["operationId"].startswith("inventory_")
        assert {"401", "403", "429"} <= set(operation["responses"])
        names = [parameter["name"] for parameter in operation.get("parameters", [])]
        assert ("Idempotency-Key" in names) is (method == "POST")
    imported = schema["paths"]["/api/v1/inventory/transfers"]["post"]["requestBody"]["content"]
    assert set(imported) == {"multipart/form-data", "application/json"}
