"""The Klaviyo settings page: owners and managers only, their own organization's account; the key saved
encrypted and never shown back (only its last characters); the test button; the backfill button and its
progress; bad input answered with a clear error and nothing written."""

import pytest
from django.urls import reverse

from dispensary.models import AuditRecord
from messaging.integration_keys import key_decrypt
from messaging.models import KlaviyoAccount, KlaviyoBackfill
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.messaging.klaviyo_helpers import KEY

pytestmark = pytest.mark.django_db
URL = "/messaging/integrations/klaviyo/"


@pytest.fixture
def fake(klaviyo_fake):
    return klaviyo_fake


def test_the_address_and_who_may_see_it(client, budtender, manager, organization):
    assert reverse("messaging:klaviyo") == URL
    client.force_login(budtender)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"enabled": "on", "api_key": KEY}).status_code == 403
    assert not KlaviyoAccount.objects.exists()
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    assert b"None saved" in response.content


def test_the_key_is_saved_encrypted_and_never_shown_back(client, manager, organization, fake):
    client.force_login(manager)
    response = client.post(
        URL, {"enabled": "on", "api_key": KEY, "email_list_id": "EMAILS1", "sms_list_id": "SMS1"}
    )
    assert response.status_code == 302
    account = KlaviyoAccount.objects.get(organization=organization)
    assert KEY not in account.api_key_encrypted and key_decrypt(account.api_key_encrypted) == KEY
    assert (account.enabled, account.api_key_hint, account.email_list_id) == (True, "…cdef", "EMAILS1")
    page = client.get(URL).content.decode()
    assert KEY not in page and "Saved, ending …cdef" in page
    assert 'name="api_key"' in page and 'value="pk_' not in page
    record = AuditRecord.objects.get(action="klaviyo.settings_changed")
    assert KEY not in str(record.before) + str(record.after)
    assert record.after["api_key"] == "…cdef"

    # Saving again without a key keeps the saved one.
    assert client.post(URL, {"enabled": "on", "api_key": "", "sms_list_id": "SMS2"}).status_code == 302
    account.refresh_from_db()
    assert key_decrypt(account.api_key_encrypted) == KEY and account.sms_list_id == "SMS2"


def test_bad_input_is_refused_and_nothing_is_written(client, manager, organization):
    client.force_login(manager)
    response = client.post(URL, {"enabled": "on", "api_key": "not-a-key"})
    assert response.status_code == 400
    assert "A Klaviyo private API key starts with pk_." in response.content.decode()
    response = client.post(URL, {"enabled": "on", "api_key": ""})
    assert response.status_code == 400
    assert "Enter the private API key before turning sync on." in response.content.decode()
    response = client.post(URL, {"api_key": KEY, "email_list_id": "no spaces!"})
    assert response.status_code == 400
    assert not KlaviyoAccount.objects.filter(api_key_hint__gt="").exists()
    assert not AuditRecord.objects.filter(action="klaviyo.settings_changed").exists()


def test_each_organization_sees_its_own_account(client, klaviyo):
    other = OrganizationFactory()
    other_manager = UserFactory(
        organization=other, roles=["manager"], stores=[StoreFactory(organization=other)]
    )
    client.force_login(other_manager)
    page = client.get(URL).content.decode()
    assert "None saved" in page and "…cdef" not in page
    client.post(URL, {"enabled": "", "api_key": "", "email_list_id": "X1"})
    klaviyo.refresh_from_db()
    assert klaviyo.email_list_id == "EMAILS1"


def test_send_a_test_event(client, manager, klaviyo, fake):
    manager.email = "sam@example.com"
    manager.save()
    client.force_login(manager)
    response = client.post(reverse("messaging:klaviyo_test"), follow=True)
    assert (
        "Klaviyo accepted a “Dispensary Platform Test” event for sam@example.com."
        in response.content.decode()
    )
    (event,) = fake.events
    assert event["metric"] == "Dispensary Platform Test"
    assert fake.profile_by(email="sam@example.com") is not None
    klaviyo.refresh_from_db()
    assert klaviyo.last_test_ok is True

    fake.api_keys = {"pk_some_other_key_123"}
    response = client.post(reverse("messaging:klaviyo_test"), follow=True)
    assert "Klaviyo refused the API key (401)" in response.content.decode()
    klaviyo.refresh_from_db()
    assert klaviyo.last_test_ok is False


def test_the_backfill_button_runs_it_and_shows_the_progress(
    client, manager, klaviyo, fake, store, django_capture_on_commit_callbacks
):
    from tests.factories import CustomerFactory

    CustomerFactory(organization=store.organization)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("messaging:klaviyo_backfill"), {"since": ""})
    assert response.status_code == 302
    backfill = KlaviyoBackfill.objects.get()
    assert (backfill.status, backfill.customers_done, backfill.started_by) == ("done", 1, manager)
    assert len(fake.profiles) == 1
    fragment = client.get(reverse("messaging:klaviyo_progress")).content.decode()
    assert "1 of 1 profiles, 0 of 0 sales (100%), 0 events sent" in fragment
    assert "hx-get" not in fragment  # done: no more polling
    response = client.post(reverse("messaging:klaviyo_backfill"), {"since": "yesterday"})
    assert response.status_code == 400 and KlaviyoBackfill.objects.count() == 1


def _failed_delivery(organization, n):
    from django.utils import timezone

    from dispensary.models import EventDelivery, OutboxEvent

    event = OutboxEvent.objects.create(name="pos.points_earned", organization_id=organization.pk, payload={})
    return EventDelivery.objects.create(
        event=event,
        handler="messaging.klaviyo_sync.on_points_earned",
        attempts=n,
        last_attempt_at=timezone.now(),
        next_attempt_at=timezone.now(),
        last_error="Traceback...\nKlaviyoUnavailable: Klaviyo did not answer as expected (503)",
        status="dead" if n >= 2 else "pending",
    )


def test_the_page_reads_a_fixed_number_of_queries(
    client, manager, klaviyo, organization, django_assert_num_queries
):
    from messaging.klaviyo_sync import record_write

    client.force_login(manager)

    def add(n):
        for i in range(n):
            record_write(
                account=klaviyo,
                kind="event",
                metric="Placed Order",
                unique_id=f"sale-{n}-{i}",
                reference=f"sale:{i}",
                status="rejected" if i % 2 else "sent",
                detail="Invalid",
            )
            _failed_delivery(organization, i + 1)
        KlaviyoBackfill.objects.create(account=klaviyo, created_at=klaviyo.updated_at)

    add(2)
    client.get(URL)
    with django_assert_num_queries(11):
        page = client.get(URL).content.decode()
    assert "Klaviyo did not answer as expected (503)" in page and "Gave up" in page
    add(6)
    with django_assert_num_queries(11):
        assert client.get(URL).status_code == 200
