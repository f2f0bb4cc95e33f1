"""The Alpine IQ and Springbig settings page: owners and managers only, the key never shown back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dispensary.models import AuditRecord
from messaging.models import LoyaltySyncLog, LoyaltySyncSettings
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

URL = "/messaging/integrations/loyalty/"


def test_budtenders_may_not_open_or_post(client, budtender):
    client.force_login(budtender)
    assert client.get(URL).status_code == 403
    assert client.post(reverse("messaging:loyalty_sync_save", args=["alpine"]), {}).status_code == 403
    assert LoyaltySyncSettings.objects.count() == 0


def test_a_manager_saves_a_key_that_is_never_shown_back(client, manager, organization):
    client.force_login(manager)
    assert client.get(URL).status_code == 200
    secret = "aiq-live-SECRET-key-9876"
    response = client.post(
        reverse("messaging:loyalty_sync_save", args=["alpine"]),
        {
            "alpine-enabled": "on",
            "alpine-api_key": secret,
            "alpine-account_id": "1234",
            "alpine-location": "Mission",
        },
    )
    assert response.status_code == 302
    row = LoyaltySyncSettings.objects.get(organization=organization, vendor="alpine")
    assert (row.enabled, row.api_key, row.account_id, row.location) == (True, secret, "1234", "Mission")
    page = client.get(URL).content.decode()
    assert secret not in page and "…9876" in page
    # Saving again without a key keeps the saved one; the audit trail never holds it.
    client.post(
        reverse("messaging:loyalty_sync_save", args=["alpine"]),
        {"alpine-enabled": "on", "alpine-account_id": "1234"},
    )
    row.refresh_from_db()
    assert row.api_key == secret
    audits = AuditRecord.objects.filter(action="loyalty_sync.settings_changed")
    assert audits.count() == 2
    assert all(secret not in str(record.after) + str(record.before) for record in audits)


def test_turning_on_without_a_key_is_refused_with_nothing_written(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("messaging:loyalty_sync_save", args=["springbig"]),
        {"springbig-enabled": "on", "springbig-account_id": "greenleaf"},
    )
    assert response.status_code == 400
    assert "Enter the API key before turning the sync on." in response.content.decode()
    assert LoyaltySyncSettings.objects.count() == 0
    assert client.post(reverse("messaging:loyalty_sync_save", args=["nope"]), {}).status_code == 404


def test_sync_now_pulls_and_another_organizations_settings_stay_apart(client, manager, alpine, alpine_fake):
    other = OrganizationFactory()
    LoyaltySyncSettings.objects.create(
        organization=other, vendor="springbig", enabled=True, api_key="other-org-5555"
    )
    alpine_fake.persona_add(phone="4155550177", first_name="Cy")
    client.force_login(manager)
    page = client.get(URL).content.decode()
    assert "…5555" not in page and "…" + alpine.api_key[-4:] in page
    response = client.post(reverse("messaging:loyalty_sync_now", args=["alpine"]), follow=True)
    assert "Alpine IQ: 1 members checked" in response.content.decode()
    assert alpine.links.count() == 1


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_log(client, manager, alpine):
    client.force_login(manager)
    client.get(URL)  # warm the per-process caches
    with CaptureQueriesContext(connection) as first:
        assert client.get(URL).status_code == 200
    LoyaltySyncLog.objects.bulk_create(
        LoyaltySyncLog(settings=alpine, kind="imported", detail=f"row {n}", created_at=timezone.now())
        for n in range(15)
    )
    with CaptureQueriesContext(connection) as second:
        assert client.get(URL).status_code == 200
    assert len(second) == len(first)
