"""The OpenAPI schema: valid and warning-free, documented auth and errors, docs served offline, and the API
fuzzed from it (schemathesis): no 500, and every answer as the schema describes it."""

import re

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispensary.models import Customer
from dispensary.scopes import SCOPES
from dispensary.wsgi import application
from tests.compliance.api.test_limits_api import COMPLIANCE_OPERATIONS
from tests.factories import CustomerFactory
from tests.inventory.api.test_schema import INVENTORY_OPERATIONS

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("POST", "/api/v1/auth/token"),
    ("DELETE", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/token/rotate"),
    ("GET", "/api/v1/stores"),
    ("GET", "/api/v1/stores/{store_id}"),
    ("GET", "/api/v1/customers"),
    ("POST", "/api/v1/customers"),
    ("GET", "/api/v1/customers/lookup"),
    ("GET", "/api/v1/customers/{customer_id}"),
    ("PATCH", "/api/v1/customers/{customer_id}"),
    ("GET", "/api/v1/customers/{customer_id}/purchases"),
    ("GET", "/api/v1/customers/{customer_id}/loyalty"),
    ("GET", "/api/v1/sales"),
    ("GET", "/api/v1/sales/{sale_id}"),
    ("GET", "/api/v1/pickup-orders"),
    ("POST", "/api/v1/pickup-orders"),
    ("GET", "/api/v1/pickup-orders/{order_id}"),
    ("POST", "/api/v1/pickup-orders/{order_id}/cancel"),
    *INVENTORY_OPERATIONS,
    *COMPLIANCE_OPERATIONS,
}


@pytest.fixture
def schema(anonymous):
    response = anonymous.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_generation_is_valid_and_warning_free(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0.3")


def test_every_operation_is_documented_once(schema):
    documented = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}

    assert documented == OPERATIONS
    operation_ids = [
        operation["operationId"] for item in schema["paths"].values() for operation in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_bearer_keys_and_the_error_body_are_documented(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "details", "message"]
    customers = schema["paths"]["/api/v1/customers"]
    assert customers["get"]["security"][0] == {"bearerAuth": []}
    assert set(customers["post"]["responses"]) == {"201", "400", "401", "403", "409", "422", "429"}
    assert customers["post"]["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert [parameter["name"] for parameter in customers["post"]["parameters"]] == ["Idempotency-Key"]
    assert schema["paths"]["/api/v1/auth/token"]["post"].get("security") in (None, [])


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_load_only_local_assets(url, anonymous):
    response = anonymous.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert references, "the page loads its assets"
    # Vendored assets, and Swagger UI's start-up script served by the page itself (no inline script).
    assert all(
        reference.startswith("/static/drf_spectacular_sidecar/") or reference == "/api/docs/?script="
        for reference in references
    ), references
    assert re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE) is None
    if url == "/api/docs/":
        html = anonymous.get(url, {"script": ""}).content.decode()
        assert re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE) is None
    assert "/api/schema/" in html


def test_swagger_ui_does_not_call_the_online_validator(anonymous):
    assert '"validatorUrl": null' in anonymous.get("/api/docs/", {"script": ""}).content.decode()


@pytest.fixture
def keep_the_test_connection():
    """schemathesis calls the WSGI application itself, not Django's test client, so each request would end
    by closing the database connection, which inside the test's transaction breaks it on PostgreSQL. Django's
    test client keeps it open the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.timeout(120)
def test_fuzz_the_api_from_its_schema(organization, store, make_api_client, keep_the_test_connection):
    """Every operation, with generated data, as an API client holding every scope; ids of real rows too."""
    customer = CustomerFactory(organization=organization, phone="+14155550134", home_store=store)
    _, caller = make_api_client(scopes=list(SCOPES), stores=[store])
    authorization = caller._credentials["HTTP_AUTHORIZATION"]
    api = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    real_ids = {"customer_id": customer.pk, "store_id": store.pk}
    seen = []

    for result in api.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) == ("DELETE", "/api/v1/auth/token"):
            continue  # it would revoke nothing (API clients may not) and is covered in test_tokens
        strategies = [operation.as_strategy()]
        path_ids = {name: value for name, value in real_ids.items() if "{" + name + "}" in operation.path}
        if path_ids:
            strategies.append(operation.as_strategy(path_parameters=path_ids))
        for strategy in strategies:

            @settings(
                max_examples=15,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case):
                response = case.call(headers={"Authorization": authorization})
                case.validate_response(response, checks=checks)
                seen.append((case.method, case.path, response.status_code))

            run()

    statuses = {(method, path): set() for method, path, _ in seen}
    for method, path, status in seen:
        statuses[method, path].add(status)
    assert set(statuses) == OPERATIONS - {("DELETE", "/api/v1/auth/token")}
    assert all(status < 500 for codes in statuses.values() for status in codes)
    # The fuzzing reached the real rows, not only 404s.
    assert 200 in statuses["GET", "/api/v1/customers/{customer_id}"]
    assert 200 in statuses["GET", "/api/v1/stores/{store_id}"]
    assert Customer.objects.filter(organization=organization).exists()
