import pytest

from dispensary.models import AuditRecord, Customer, IdempotencyKey, OutboxEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = {"phone": "(415) 555-0177", "first_name": "Grace", "last_name": "Hopper"}


def test_a_retried_create_returns_the_first_answer_and_creates_one_customer(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])

    first = caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY="order-42")
    retry = caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY="order-42")

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Customer.objects.count() == 1
    assert AuditRecord.objects.filter(action="customer.created").count() == 1
    assert OutboxEvent.objects.filter(name="customer.created").count() == 1
    record = IdempotencyKey.objects.get()
    assert (record.endpoint, record.key, record.response_status) == (
        "POST /api/v1/customers",
        "order-42",
        201,
    )


def test_without_a_key_a_second_create_is_a_duplicate(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])

    caller.post("/api/v1/customers", NEW)
    second = caller.post("/api/v1/customers", NEW)

    assert second.status_code == 409
    assert IdempotencyKey.objects.count() == 0


def test_a_key_reused_with_another_body_is_refused(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])
    caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY="k1")

    response = caller.post("/api/v1/customers", {**NEW, "last_name": "Other"}, HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used with a different request.",
        "details": {"Idempotency-Key": "k1"},
    }
    assert list(Customer.objects.values_list("last_name", flat=True)) == ["Hopper"]


def test_keys_belong_to_their_caller(make_api_client, organization):
    _, first_caller = make_api_client(scopes=["customers:write"])
    _, second_caller = make_api_client(scopes=["customers:write"])

    first = first_caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY="same")
    second = second_caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY="same")

    # The second caller's key is its own: its request runs and meets the first customer's phone.
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["details"]["customer_id"] == first.json()["id"]


def test_a_failed_write_does_not_keep_the_key(make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])

    failed = caller.post("/api/v1/customers", {**NEW, "phone": "555"}, HTTP_IDEMPOTENCY_KEY="k2")
    assert failed.status_code == 400
    assert IdempotencyKey.objects.count() == 0

    fixed = caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY="k2")
    assert fixed.status_code == 201
    assert Customer.objects.count() == 1


def test_a_retried_update_is_replayed_not_reapplied(budtender, organization, store, staff_caller):
    customer = Customer.objects.create(
        organization=organization, phone="+14155550134", first_name="A", last_name="B"
    )
    caller = staff_caller(budtender)
    url = f"/api/v1/customers/{customer.pk}"

    first = caller.patch(url, {"notes": "first"}, HTTP_IDEMPOTENCY_KEY="u1")
    # Someone else changes the record in between; the retry must not overwrite it.
    staff_caller(UserFactory(organization=organization, roles=["manager"], stores=[store])).patch(
        url, {"notes": "second"}
    )
    retry = caller.patch(url, {"notes": "first"}, HTTP_IDEMPOTENCY_KEY="u1")

    assert retry.status_code == 200
    assert retry.json() == first.json()
    customer.refresh_from_db()
    assert customer.notes == "second"
    assert AuditRecord.objects.filter(action="customer.updated").count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space"])
def test_a_malformed_key_is_a_400(key, make_api_client):
    _, caller = make_api_client(scopes=["customers:write"])

    response = caller.post("/api/v1/customers", NEW, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Customer.objects.count() == 0
