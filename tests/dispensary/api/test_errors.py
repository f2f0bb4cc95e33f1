"""Every API error has one body, {code, message, details}, whatever raised it."""

import pytest

from dispensary.api.throttling import PrincipalRateThrottle
from dispensary.models import Customer

pytestmark = pytest.mark.django_db


def assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], dict)
    return body


def test_400(make_api_client):
    _, caller = make_api_client()
    body = assert_error_body(caller.post("/api/v1/customers", {"phone": "x"}), 400, "invalid")
    assert body["details"]["first_name"] == ["This field is required."]


def test_400_for_a_malformed_json_body(make_api_client):
    _, caller = make_api_client()
    response = caller.post("/api/v1/customers", data="{not json", content_type="application/json")
    assert_error_body(response, 400, "parse_error")


def test_401(anonymous):
    assert_error_body(anonymous.get("/api/v1/customers"), 401, "not_authenticated")


def test_403(make_api_client):
    _, caller = make_api_client(scopes=[])
    assert_error_body(caller.get("/api/v1/customers"), 403, "permission_denied")


def test_404(make_api_client):
    _, caller = make_api_client()
    assert_error_body(caller.get("/api/v1/customers/424242"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("delete", "/api/v1/customers", "GET, HEAD, OPTIONS, POST"),
        ("put", "/api/v1/customers/1", "GET, HEAD, OPTIONS, PATCH"),
        ("get", "/api/v1/auth/token", "DELETE, OPTIONS, POST"),
        ("post", "/api/v1/customers/lookup", None),
    ],
)
def test_405(method, url, allow, make_api_client):
    _, caller = make_api_client()
    response = getattr(caller, method)(url)
    body = assert_error_body(response, 405, "method_not_allowed")
    assert body["message"] == f'Method "{method.upper()}" not allowed.'
    if allow:
        assert response["Allow"] == allow


def test_409(make_api_client, customer):
    _, caller = make_api_client()
    response = caller.post(
        "/api/v1/customers", {"phone": customer.phone, "first_name": "A", "last_name": "B"}
    )
    body = assert_error_body(response, 409, "duplicate_customer")
    assert body["details"]["customer_id"] == customer.pk


def test_429_with_the_wait(make_api_client, monkeypatch):
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "2/min"})
    _, caller = make_api_client()

    answers = [caller.get("/api/v1/stores") for _ in range(3)]

    assert [answer.status_code for answer in answers[:2]] == [200, 200]
    body = assert_error_body(answers[2], 429, "throttled")
    assert 0 < body["details"]["retry_after_seconds"] <= 60
    assert answers[2]["Retry-After"] == str(body["details"]["retry_after_seconds"])


def test_429_throttles_writes_before_they_write(make_api_client, monkeypatch):
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "1/min"})
    _, caller = make_api_client()
    caller.get("/api/v1/stores")

    response = caller.post(
        "/api/v1/customers", {"phone": "+14155550177", "first_name": "A", "last_name": "B"}
    )

    assert_error_body(response, 429, "throttled")
    assert Customer.objects.count() == 0


def test_each_caller_has_its_own_rate(make_api_client, monkeypatch):
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "1/min"})
    _, first = make_api_client()
    _, second = make_api_client()

    assert first.get("/api/v1/stores").status_code == 200
    assert first.get("/api/v1/stores").status_code == 429
    assert second.get("/api/v1/stores").status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/customers/-1", "/api/v1/customers/abc", "/api/v1/nothing", "/api/"])
def test_404_for_unknown_api_urls_is_json(url, anonymous):
    body = assert_error_body(anonymous.get(url), 404, "not_found")
    assert body == {"code": "not_found", "message": "Not found.", "details": {}}


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_writes_to_unknown_api_urls_are_json_404s_not_csrf_pages(method, organization):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v1/customers/-5", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
