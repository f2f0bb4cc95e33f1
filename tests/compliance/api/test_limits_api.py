"""POST /api/v1/compliance/limits/check: the command's input and output over the API, for menus (menu:read)
and staff who may view their store; errors in the one error body."""

import io
import json

import pytest
from django.core.management import call_command

from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/compliance/limits/check"
COMPLIANCE_OPERATIONS = {("POST", "/api/v1/compliance/limits/check")}

EXAMPLE = {
    "jurisdiction": "US-CO",
    "date": "2026-03-01",
    "customer": {"type": "adult_use", "age": 34, "resident": True},
    "history": [{"at": "2026-03-01T10:00:00-07:00", "lines": [{"bucket": "flower_g", "amount": "10"}]}],
    "cart": [{"bucket": "concentrate_g", "amount": "4"}],
}


@pytest.fixture
def menu(make_api_client):
    return make_api_client(scopes=["menu:read"])[1]


def test_a_menu_gets_the_same_verdict_as_the_command(menu, tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(EXAMPLE))
    out = io.StringIO()
    call_command("check_limits", str(path), stdout=out)

    response = menu.post(URL, EXAMPLE, format="json")

    assert response.status_code == 200
    assert response.json() == json.loads(out.getvalue())
    assert response.json()["allowed"] is True


def test_a_line_over_the_limit_is_explained(menu):
    cart = [
        {"bucket": "concentrate_g", "amount": "4"},
        {"amounts": {"flower_g": "4.5"}, "label": "Gelato 4.5g"},
    ]

    response = menu.post(URL, {**EXAMPLE, "cart": cart}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert body["allowed"] is False
    assert [v["message"] for v in body["violations"]] == [
        "Line 2 (Gelato 4.5g) would bring flower and equivalents to 28.5 g of the 28 g daily limit: 0.5 g over."
    ]


def test_staff_with_view_store_may_check(organization, store, staff_caller):
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store])

    assert staff_caller(budtender).post(URL, EXAMPLE, format="json").status_code == 200


def test_staff_without_a_role_is_forbidden(organization, store, staff_caller):
    nobody = UserFactory(organization=organization, roles=[], stores=[store])

    response = staff_caller(nobody).post(URL, EXAMPLE, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_an_api_client_without_menu_read_is_forbidden(make_api_client):
    _, caller = make_api_client(scopes=["stores:read", "inventory:read"])

    assert caller.post(URL, EXAMPLE, format="json").status_code == 403


def test_anonymous_is_unauthorized(anonymous):
    assert anonymous.post(URL, EXAMPLE, format="json").status_code == 401


def test_the_store_zone_decides_the_local_day(menu, store):
    # The factory's store is in California: Los Angeles time decides "today".
    history = [{"at": "2026-03-01T23:30:00-08:00", "lines": [{"bucket": "flower_g", "amount": "28.5"}]}]
    body = {**EXAMPLE, "jurisdiction": "US-CA", "store": store.pk, "history": history}
    cart = [{"bucket": "flower_g", "amount": "1"}]

    same_day = menu.post(URL, {**body, "cart": cart}, format="json").json()
    next_day = menu.post(URL, {**body, "date": "2026-03-02", "cart": cart}, format="json").json()

    assert same_day["time_zone"] == "America/Los_Angeles"
    assert same_day["allowed"] is False
    assert next_day["allowed"] is True


def test_a_store_the_caller_does_not_reach_is_not_found(menu, foreign_store, organization):
    other = StoreFactory(organization=organization)

    for store in (foreign_store, other):
        response = menu.post(URL, {**EXAMPLE, "jurisdiction": "US-CA", "store": store.pk}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_store_of_another_state_is_invalid(menu, store):
    response = menu.post(URL, {**EXAMPLE, "store": store.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["details"] == {"jurisdiction": ["The store follows US-CA's rules, not US-CO's."]}


def test_an_unknown_jurisdiction_is_not_found(menu):
    response = menu.post(URL, {**EXAMPLE, "jurisdiction": "US-ZZ"}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No rules for jurisdiction US-ZZ.",
        "details": {"jurisdiction": ["Unknown: US-ZZ."]},
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cart": []}, "cart"),
        ({"cart": [{"bucket": "flour_g", "amount": "1"}]}, "cart"),
        ({"cart": [{"bucket": "flower_g"}]}, "cart[0]"),
        ({"customer": {"type": "tourist", "age": 30}}, "customer"),
        ({"date": "tomorrow"}, "date"),
        ({"history": [{"at": "2026-03-01T10:00:00", "lines": []}]}, "history[0].at"),
        (
            {"history": [{"at": "2026-03-01T10:00:00Z", "lines": [], "customer_type": "x"}]},
            "history[0].customer_type",
        ),
    ],
)
def test_bad_input_is_a_400_in_the_error_body(menu, change, field):
    response = menu.post(URL, {**EXAMPLE, **change}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid"
    assert body["message"]
    assert field in body["details"]


def test_nothing_is_written(menu, django_assert_max_num_queries):
    # Auth and throttling aside, the check reads the rules (six queries) and writes nothing.
    with django_assert_max_num_queries(12) as queries:
        menu.post(URL, EXAMPLE, format="json")

    assert not [
        q
        for q in queries.captured_queries
        if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"} and "compliance_" in q["sql"]
    ]
