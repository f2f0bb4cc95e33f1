"""The rules in the Django admin: listed, editable, and every change audited."""

import pytest

from compliance.models import PurchaseLimit
from dispensary.models import AuditRecord
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, organization, store):
    client.force_login(
        UserFactory(organization=organization, is_staff=True, is_superuser=True, stores=[store])
    )
    return client


@pytest.mark.parametrize("model", ["jurisdiction", "purchaselimit", "agerule", "deliveryrule", "taxrate"])
def test_every_rule_list_opens(admin_client, model):
    response = admin_client.get(f"/admin/compliance/{model}/")

    assert response.status_code == 200


def test_changing_a_limit_and_its_terms_is_audited(admin_client):
    limit = PurchaseLimit.objects.get(jurisdiction__code="US-CO", customer_type="adult_use")
    terms = list(limit.terms.order_by("id"))
    data = {
        "jurisdiction": limit.jurisdiction_id,
        "customer_type": "adult_use",
        "residency": "any",
        "age_min": "",
        "age_max": "",
        "label": limit.label,
        "amount": "28.350",
        "unit": "g",
        "window": "local_day",
        "window_days": "",
        "effective_from": "2022-01-01",
        "effective_to": "",
        "citation": limit.citation,
        "confirmed": "",
        "note": limit.note,
        "terms-TOTAL_FORMS": str(len(terms)),
        "terms-INITIAL_FORMS": str(len(terms)),
        "terms-MIN_NUM_FORMS": "1",
        "terms-MAX_NUM_FORMS": "1000",
    }
    for index, term in enumerate(terms):
        data |= {
            f"terms-{index}-id": term.pk,
            f"terms-{index}-limit": limit.pk,
            f"terms-{index}-bucket": term.bucket,
            f"terms-{index}-factor": "3.543750" if term.bucket == "concentrate_g" else term.factor,
        }

    response = admin_client.post(f"/admin/compliance/purchaselimit/{limit.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    limit.refresh_from_db()
    assert str(limit.amount) == "28.350"
    records = {r.action: r for r in AuditRecord.objects.filter(object_type="compliance.purchaselimit")}
    assert set(records) == {"compliance.rule_changed", "compliance.rule_terms_changed"}
    assert records["compliance.rule_changed"].before["amount"] == "28.000"
    assert records["compliance.rule_changed"].after["amount"] == "28.350"
    factors = {t["bucket"]: t["factor"] for t in records["compliance.rule_terms_changed"].after["terms"]}
    assert factors["concentrate_g"] == "3.543750"


def test_deleting_a_rule_is_audited(admin_client):
    limit = PurchaseLimit.objects.filter(jurisdiction__code="US-NV").first()

    response = admin_client.post(f"/admin/compliance/purchaselimit/{limit.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert AuditRecord.objects.get(action="compliance.rule_deleted").before["label"] == limit.label
