"""Marketing consent at the counter: the current choice, the disclosure text, one optional box per channel that
is never ticked for the customer; a save records only what changed, with time, staff and version."""

import re

import pytest

from dispensary.consent import disclosure_get, disclosure_text
from dispensary.models import AuditRecord, MarketingConsent
from dispensary.services import marketing_consent_record
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
VERSIONS = {"sms_version": "sms-2025-01", "email_version": "email-2025-01", "age_affirmed": "on"}


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com")


def url(customer):
    return f"/pos/customers/{customer.pk}/consent/"


def test_the_partial_shows_the_disclosures_with_unticked_boxes(
    client, budtender, customer, organization, store
):
    client.force_login(budtender)
    response = client.get(url(customer), **HTMX)
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert content.count("Not asked") == 2
    assert re.search(r'name="sms" value="on"\s+aria-describedby', content)
    assert re.search(r'name="email" value="on"\s+aria-describedby', content)
    assert " checked" not in content
    assert disclosure_text(disclosure_get("sms"), business=organization.name) in content
    assert disclosure_text(disclosure_get("email"), business=organization.name) in content
    assert 'name="sms_version" value="sms-2025-01"' in content
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.after) == (budtender, store, {"via": "pos_consent"})


def test_ticking_one_box_records_that_channel_only(client, budtender, customer, store):
    client.force_login(budtender)
    response = client.post(url(customer), {"sms": "on", **VERSIONS}, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Recorded: opted in to text messages (waiting for the customer&#x27;s YES by text)." in content
    consent = MarketingConsent.objects.get()
    assert (
        consent.channel,
        consent.granted,
        consent.disclosure_version,
        consent.staff,
        consent.store,
        consent.source,
    ) == (
        "sms",
        True,
        "sms-2025-01",
        budtender,
        store,
        "counter",
    )
    assert consent.recorded_at is not None
    assert (consent.awaiting_confirmation, consent.age_affirmed, consent.purpose) == (True, True, "marketing")
    assert "Waiting for the customer's YES" in content
    assert 'name="sms" value="on" checked' in content
    assert re.search(r'name="email" value="on"\s+aria-describedby', content)


def test_saving_without_changes_records_nothing_and_unticking_withdraws(client, budtender, customer, store):
    marketing_consent_record(
        customer=customer,
        channel="sms",
        granted=True,
        age_affirmed=True,
        disclosure_version="sms-2025-01",
        staff=budtender,
        store=store,
    )
    client.force_login(budtender)
    response = client.post(url(customer), {"sms": "on", **VERSIONS}, **HTMX)
    assert "No change" in response.content.decode()
    assert MarketingConsent.objects.count() == 1
    response = client.post(url(customer), {"email": "on", **VERSIONS}, **HTMX)
    assert "Recorded: opted out of text messages and opted in to email." in response.content.decode()
    assert list(MarketingConsent.objects.order_by("id").values_list("channel", "granted")) == [
        ("sms", True),
        ("sms", False),
        ("email", True),
    ]


def test_a_refused_choice_records_nothing_for_either_channel(client, budtender, organization):
    customer = CustomerFactory(organization=organization, email="")
    client.force_login(budtender)
    response = client.post(url(customer), {"sms": "on", "email": "on", **VERSIONS}, **HTMX)
    assert response.status_code == 200
    assert (
        "Add the customer&#x27;s email address before recording email consent." in response.content.decode()
    )
    assert MarketingConsent.objects.count() == 0
    response = client.post(
        url(customer), {"sms": "on", "sms_version": "sms-1999", "email_version": "email-2025-01"}
    )
    assert "Unknown disclosure version" in response.content.decode()
    assert MarketingConsent.objects.count() == 0


def test_without_htmx_a_save_redirects_to_the_page(client, budtender, customer):
    client.force_login(budtender)
    response = client.post(url(customer), {"email": "on", **VERSIONS})
    assert response.status_code == 302 and response["Location"] == url(customer)
    page = client.get(url(customer)).content.decode()
    assert "<html" in page and "Recorded: opted in to email." in page


def test_permissions(client, organization, store, customer):
    officer = UserFactory(organization=organization, roles=["compliance_officer"], stores=[store])
    client.force_login(officer)
    assert client.get(url(customer), **HTMX).status_code == 200  # may read, not change
    assert "Save marketing choices" not in client.get(url(customer), **HTMX).content.decode()
    assert client.post(url(customer), {"sms": "on", **VERSIONS}).status_code == 403
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    client.force_login(driver)
    assert client.get(url(customer)).status_code == 403
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    client.force_login(budtender)
    assert client.post(url(CustomerFactory()), {"sms": "on", **VERSIONS}).status_code == 404
    assert MarketingConsent.objects.count() == 0


def test_an_opt_in_without_the_21_plus_affirmation_is_refused_and_the_register_is_kept(
    client, budtender, customer
):
    client.force_login(budtender)
    versions = {"sms_version": "sms-2025-01", "email_version": "email-2025-01"}
    response = client.post(url(customer), {"email": "on", **versions}, **HTMX)
    assert response.status_code == 200
    assert "must confirm they are 21 or older" in response.content.decode()
    assert MarketingConsent.objects.count() == 0
    form = client.get(url(customer) + "?register=Register%202", **HTMX).content.decode()
    assert 'name="age_affirmed" value="on"' in form and 'name="register_label" value="Register 2"' in form
    client.post(url(customer), {"email": "on", "register_label": "Register 2", **VERSIONS}, **HTMX)
    consent = MarketingConsent.objects.get()
    assert (consent.channel, consent.granted, consent.awaiting_confirmation, consent.register_label) == (
        "email",
        True,
        False,
        "Register 2",
    )
