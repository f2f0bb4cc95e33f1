import pytest

from dispensary.services import api_client_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_lists_only_the_stores_granted_to_them(
    budtender, store, other_store, foreign_store, staff_caller
):
    response = staff_caller(budtender).get("/api/v1/stores")

    assert response.status_code == 200
    assert response.json()["count"] == 1
    [row] = response.json()["results"]
    assert row["id"] == store.pk
    assert row["code"] == store.code
    assert row["time_zone"] == "America/Los_Angeles"
    assert row["opening_hours"]["mon"] == [["09:00", "21:00"]]


def test_api_client_lists_only_its_chosen_stores(make_api_client, store, other_store, foreign_store):
    _, caller = make_api_client(scopes=["stores:read"], stores=[other_store])

    response = caller.get("/api/v1/stores")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [other_store.pk]


def test_api_client_limited_to_store_a_does_not_see_store_b(make_api_client, store, other_store):
    _, caller = make_api_client(scopes=["stores:read"], stores=[store])

    assert caller.get(f"/api/v1/stores/{store.pk}").status_code == 200
    response = caller.get(f"/api/v1/stores/{other_store.pk}")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_store_detail_of_another_organization_is_not_found(manager, foreign_store, staff_caller):
    response = staff_caller(manager).get(f"/api/v1/stores/{foreign_store.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_of_another_store_does_not_see_this_one(organization, store, other_store, staff_caller):
    colleague = UserFactory(organization=organization, roles=["manager"], stores=[other_store])

    assert staff_caller(colleague).get(f"/api/v1/stores/{store.pk}").status_code == 404
    assert staff_caller(colleague).get(f"/api/v1/stores/{other_store.pk}").status_code == 200


@pytest.mark.parametrize(
    "role", ["owner", "manager", "compliance_officer", "inventory_manager", "budtender", "driver"]
)
def test_every_role_may_read_its_stores(role, organization, store, staff_caller):
    member = UserFactory(organization=organization, roles=[role], stores=[store])

    assert staff_caller(member).get(f"/api/v1/stores/{store.pk}").status_code == 200


def test_staff_without_a_role_is_forbidden(organization, store, staff_caller):
    member = UserFactory(organization=organization, stores=[store])

    response = staff_caller(member).get("/api/v1/stores")

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "You do not have permission to perform this action.",
        "details": {},
    }


def test_api_client_without_the_scope_is_forbidden(make_api_client, store):
    _, caller = make_api_client(scopes=["customers:read"])

    assert caller.get("/api/v1/stores").status_code == 403
    assert caller.get(f"/api/v1/stores/{store.pk}").status_code == 403


def test_anonymous_is_unauthorized(anonymous, store):
    for url in ("/api/v1/stores", f"/api/v1/stores/{store.pk}"):
        response = anonymous.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert response.json()["code"] == "not_authenticated"


def test_revoked_api_client_is_unauthorized(make_api_client):
    client, caller = make_api_client()
    api_client_revoke(client=client, actor=None)

    response = caller.get("/api/v1/stores")

    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "This API client has been revoked.",
        "details": {},
    }


def test_writes_to_stores_are_not_allowed(make_api_client):
    _, caller = make_api_client()

    response = caller.post("/api/v1/stores", {"name": "New"})

    assert response.status_code == 405
    assert response.json() == {
        "code": "method_not_allowed",
        "message": 'Method "POST" not allowed.',
        "details": {},
    }


def test_inactive_stores_are_not_listed(budtender, store, staff_caller):
    store.is_active = False
    store.save()

    response = staff_caller(budtender).get("/api/v1/stores")

    assert response.json()["count"] == 0
