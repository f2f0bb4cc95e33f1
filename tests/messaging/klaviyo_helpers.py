"""Fixtures of the Klaviyo tests: the local fake on a free port (real sockets, the klaviyo-api package on the
other side), the organization's account saved through the service, and the outbox's deliveries of the
Klaviyo handlers run by hand (in a test, nothing commits, so nothing is dispatched after a commit)."""

import pytest

from dispensary.events import deliver
from dispensary.models import EventDelivery
from messaging.fake_klaviyo import FakeKlaviyo
from messaging.klaviyo_services import klaviyo_account_save

KEY = "pk_test_0123456789abcdef"  # noqa: S105 - the fake's key in tests


@pytest.fixture
def klaviyo_fake(settings):
    server = FakeKlaviyo(api_keys=(KEY,), retry_after=30).start()
    settings.KLAVIYO = {
        **settings.KLAVIYO,
        "API_URL": server.url,
        "TIMEOUT_SECONDS": 2,
        "IN_PROCESS": "inline",
    }
    yield server
    server.stop()


@pytest.fixture
def klaviyo(klaviyo_fake, organization, manager):
    return klaviyo_account_save(
        organization=organization,
        actor=manager,
        enabled=True,
        api_key=KEY,
        email_list_id="EMAILS1",
        sms_list_id="SMS1",
    )


def klaviyo_deliveries(event_name: str, *, status=None):
    rows = EventDelivery.objects.filter(event__name=event_name, handler__startswith="messaging.klaviyo_sync.")
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("pk")


def deliver_klaviyo(event_name: str) -> list[str]:
    """Run every pending Klaviyo delivery of the event once; their outcomes."""
    return [deliver(delivery.pk).status for delivery in klaviyo_deliveries(event_name, status="pending")]
