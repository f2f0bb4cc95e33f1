"""POST /api/v1/customers/{id}/consent: a web form's or an import's grant or revocation for the ledger, with the
21+ affirmation required to grant marketing and double opt-in for texts."""

import pytest

from dispensary.models import EventDelivery, MarketingConsent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(organization, store):
    return CustomerFactory(organization=organization, phone="+14155550134", home_store=store)


def test_a_web_form_grant_waits_for_the_customers_yes(budtender, customer, staff_caller):
    response = staff_caller(budtender).post(
        f"/api/v1/customers/{customer.pk}/consent",
        {
            "channel": "sms",
            "granted": True,
            "age_affirmed": True,
            "disclosure_version": "sms-2025-01",
            "source": "web",
            "ip_address": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (iPhone)",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["purpose"], body["granted"], body["awaiting_confirmation"], body["source"]) == (
        "marketing",
        True,
        True,
        "web",
    )
    consent = MarketingConsent.objects.get()
    assert (consent.staff, consent.ip_address, consent.user_agent) == (
        budtender,
        "203.0.113.7",
        "Mozilla/5.0 (iPhone)",
    )
    assert EventDelivery.objects.filter(event__name="customer.sms_consent_confirmation_requested").exists()


def test_without_the_affirmation_or_for_another_organization_nothing_is_written(
    budtender, customer, staff_caller
):
    caller = staff_caller(budtender)
    base = {"channel": "sms", "granted": True, "disclosure_version": "sms-2025-01"}
    response = caller.post(f"/api/v1/customers/{customer.pk}/consent", base, format="json")
    assert response.status_code == 400 and "age_affirmed" in response.json()["details"]
    response = caller.post(
        f"/api/v1/customers/{customer.pk}/consent", {**base, "age_affirmed": False}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["details"] == {
        "age_affirmed": [
            "The customer must confirm they are 21 or older before agreeing to marketing messages."
        ]
    }
    stranger = CustomerFactory()
    response = caller.post(
        f"/api/v1/customers/{stranger.pk}/consent", {**base, "age_affirmed": True}, format="json"
    )
    assert response.status_code == 404
    assert MarketingConsent.objects.count() == 0
