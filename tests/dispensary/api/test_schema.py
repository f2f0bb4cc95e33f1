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
    ("POST", "/api/v1/customers/{customer_id}/consent"),
    ("GET", "/api/v1/customers/{customer_id}/purchases"),
    ("GET", "/api/v1/customers/{customer_id}/loyalty"),
    ("GET", "/api/v1/sales"),
    ("GET", "/api/v1/sales/{sale_id}"),
    ("GET", "/api/v1/pickup-orders"),
    ("POST", "/api/v1/pickup-orders"),
    ("GET", "/api/v1/pickup-orders/{order_id}"),
    ("POST", "/api/v1/pickup-orders/{order_id}/cancel"),
    ("POST", "/api/v1/delivery-orders"),
    ("GET", "/api/v1/delivery-orders/{order_id}"),
    ("POST", "/api/v1/delivery-orders/{order_id}/cancel"),
    ("POST", "/api/v1/delivery-quotes"),
    ("GET", "/api/v1/delivery-zones"),
    ("GET", "/api/v1/orders/{order_id}/status"),
    ("GET", "/api/v1/hooks"),
    ("POST", "/api/v1/hooks"),
    ("DELETE", "/api/v1/hooks/{hook_id}"),
    ("GET", "/api/v1/triggers/new-customer"),
    ("GET", "/api/v1/triggers/sale-completed"),
    ("GET", "/api/v1/triggers/order-delivered"),
    ("GET", "/api/v1/triggers/points-earned"),
    ("POST", "/api/v1/actions/customer-upsert"),
    ("POST", "/api/v1/actions/points-add"),
    ("POST", "/api/v1/actions/message-send"),
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
def test_fuzz_the_api_from_its_schema(
    organization, store, make_api_client, keep_the_test_connection, monkeypatch
):
    """Every operation, with generated data, as an API client holding every scope; ids of real rows too. The
    client's rate limit is lifted: with every operation fuzzed it would answer 429 before the last ones (the
    throttle has its own tests)."""
    from dispensary.api.throttling import PrincipalRateThrottle

    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "1000000/min"})
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


# One value of each class of bad input the probe of issue 10 found (tests/bad_input/crawl.py has them all).
HOSTILE = {
    "nul": "ab\x00cd",
    "1e11": "1e11",
    "digits40": "1234567890123456789012345678901234567890",
    "year9999": "9999-12-31",
    "long": "x" * 100_000,
}


def _body_properties(schema: dict, operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    body = content.get("schema", {})
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return list(body.get("properties", {}))


@pytest.mark.timeout(300)
def test_fuzz_each_class_of_bad_input_through_the_schema(
    organization, store, make_api_client, keep_the_test_connection
):
    """Every query parameter and body property of every operation given each class of bad input, and every path
    id one beyond 64 bits, through the WSGI application as the fuzz above: never a 5xx; the always-refused
    classes (NUL, 100,000 characters) always a 4xx."""
    customer = CustomerFactory(organization=organization, phone="+14155550134")
    _, caller = make_api_client(scopes=list(SCOPES), stores=[store])
    headers = {"Authorization": caller._credentials["HTTP_AUTHORIZATION"]}
    api = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    # Read from the loaded schema: a request through Django's test client would reconnect the signals that
    # close the test's connection (see keep_the_test_connection).
    schema = api.raw_schema
    real_ids = {"customer_id": customer.pk, "store_id": store.pk}
    failures, sent = [], []

    def send(operation, label, where, **parts):
        response = operation.Case(**parts).call(headers=headers)
        sent.append(response.status_code)
        if response.status_code >= 500 or (label in {"nul", "long"} and response.status_code < 400):
            failures.append(
                f"{response.status_code} {operation.method.upper()} {operation.path} {where}={label}"
            )

    for result in api.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) == ("DELETE", "/api/v1/auth/token"):
            continue
        raw = schema["paths"][operation.path][operation.method.lower()]
        path_names = [p["name"] for p in raw.get("parameters", []) if p["in"] == "path"]
        ids = {name: real_ids.get(name, 1) for name in path_names}
        for label, value in HOSTILE.items():
            for parameter in (p["name"] for p in raw.get("parameters", []) if p["in"] == "query"):
                send(operation, label, f"?{parameter}", path_parameters=ids, query={parameter: value})
            for name in _body_properties(schema, raw):
                send(
                    operation,
                    label,
                    name,
                    path_parameters=ids,
                    body={name: value},
                    media_type="application/json",
                )
        for name in path_names:
            for label, huge in {"2**64": 2**64, "digits5000": int("9" * 4000)}.items():
                response = operation.Case(path_parameters={**ids, name: huge}).call(headers=headers)
                if response.status_code != 404:
                    failures.append(
                        f"{response.status_code} {operation.method.upper()} {operation.path} {name}={label}"
                    )

    assert failures == []
