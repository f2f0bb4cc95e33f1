"""The send queue page: the queue now (waiting, held by quiet hours with when they go, retrying, being sent,
sent in the last hour), each sender's configured and actual rate, the backlog's progress and time left, the
recent refusals; the stores the member works at only; a fixed number of queries; live refresh by HTMX."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import OutboundMessage, Sender
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/messaging/queue/"
NOW = dt.datetime(2026, 3, 11, 18, 0, tzinfo=dt.UTC)


def message(store, number, **fields):
    defaults = {
        "organization_id": store.organization_id,
        "store_id": store.pk,
        "channel": "sms",
        "purpose": "pickup",
        "to": f"+1415555{3000 + number:04d}",
        "body": "Ready.",
        "status_changed_at": NOW,
    }
    return OutboundMessage(**{**defaults, **fields})


@pytest.fixture
def queue_rows(store, clock):
    clock.move_to(NOW)
    sender = Sender.objects.create(
        organization=store.organization,
        store=store,
        channel="sms",
        address="+14155550001",
        registration="toll_free",
        use_case="notifications",
        rate_per_second=3,
    )
    rows = []
    for number in range(4):  # waiting now
        rows.append(message(store, number))
    rows.append(  # held by quiet hours until 8 AM in California
        message(
            store,
            10,
            send_after=NOW + dt.timedelta(hours=8),
            gate_reasons=["quiet_hours: 9 PM to 8 AM in US-CA"],
        )
    )
    rows.append(message(store, 11, send_after=NOW + dt.timedelta(seconds=40)))  # retrying after an outage
    rows.append(message(store, 12, status="sending"))
    for number in range(20, 26):  # sent in the last five minutes through the sender
        rows.append(
            message(store, number, status="sent", sender=sender, sent_at=NOW - dt.timedelta(seconds=30))
        )
    rows.append(
        message(
            store,
            30,
            status="refused",
            category="marketing",
            purpose="campaign",
            gate_reasons=["no_consent: the customer has not agreed to marketing messages by sms."],
        )
    )
    other_store = StoreFactory(organization=store.organization)
    rows.append(message(other_store, 40))  # a store the manager does not work at
    OutboundMessage.objects.bulk_create(rows)
    # The backlog started when the oldest message still waiting was queued.
    OutboundMessage.objects.update(created_at=NOW - dt.timedelta(minutes=2))
    return sender


def test_a_manager_sees_the_queue_now(client, manager, store, queue_rows):
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    overview = response.context["overview"]
    assert (
        overview.due,
        overview.held,
        overview.retrying,
        overview.sending,
        overview.sent_last_hour,
    ) == (4, 1, 1, 1, 6)
    [held] = overview.held_messages
    assert (held.to, held.send_after) == ("+14155553010", NOW + dt.timedelta(hours=8))
    [rate] = overview.senders
    assert (rate.label, rate.rate_per_second, rate.actual_per_second) == ("+14155550001", 3, 6 / 300)
    backlog = overview.backlog
    # 14 messages of this store since the backlog started: 7 no longer waiting (6 sent, 1 refused).
    assert (backlog.total, backlog.done, backlog.remaining, backlog.percent) == (14, 7, 7, 50)
    assert backlog.seconds_left == pytest.approx(7 / (6 / 300))
    assert response.context["time_left"] == "5 min 50 s"
    [refusal] = overview.refusals
    assert refusal.gate_reasons == ["no_consent: the customer has not agreed to marketing messages by sms."]
    page = response.content.decode()
    assert 'hx-trigger="every 5s"' in page
    assert '<progress id="backlog-progress" max="14" value="7">' in page
    assert "quiet_hours: 9 PM to 8 AM in US-CA" in page and "+14155553040" not in page


def test_the_refresh_is_the_board_alone(client, manager, queue_rows):
    client.force_login(manager)
    response = client.get(URL, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and 'data-figure="due">4<' in page


def test_the_number_of_queries_does_not_grow_with_the_queue(client, manager, store, queue_rows):
    client.force_login(manager)
    client.get(URL)  # the member and the session are read once
    with CaptureQueriesContext(connection) as small:
        client.get(URL, HTTP_HX_REQUEST="true")
    OutboundMessage.objects.bulk_create(
        [message(store, 100 + number) for number in range(200)]
        + [
            message(
                store, 400 + number, send_after=timezone.now() + dt.timedelta(hours=1), gate_reasons=["q"]
            )
            for number in range(50)
        ]
        + [message(store, 500 + number, status="refused", gate_reasons=["r"]) for number in range(50)]
    )
    with CaptureQueriesContext(connection) as large:
        response = client.get(URL, HTTP_HX_REQUEST="true")
    assert response.context["overview"].due == 204
    assert len(large) == len(small)
    assert len(large) <= 14


def test_an_empty_queue_says_so(client, manager):
    client.force_login(manager)
    page = client.get(URL).content.decode()
    assert "Nothing waiting." in page and "No refusal." in page and "Nothing held." in page


@pytest.mark.parametrize("role", ["budtender", "driver", "inventory_manager"])
def test_other_roles_are_refused(client, organization, store, role):
    member = UserFactory(organization=organization, roles=[role], stores=[store])
    client.force_login(member)
    assert client.get(URL).status_code == 403


def test_anonymous_goes_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_another_organization_sees_none_of_it(client, queue_rows):
    stranger_store = StoreFactory(organization=OrganizationFactory())
    stranger = UserFactory(organization=stranger_store.organization, roles=["owner"], stores=[stranger_store])
    client.force_login(stranger)
    overview = client.get(URL).context["overview"]
    assert (overview.due, overview.senders, overview.refusals, overview.backlog.total) == (0, [], [], 0)


def test_the_menu_offers_the_queue_and_the_senders(client, manager, queue_rows):
    client.force_login(manager)
    page = client.get(URL).content.decode()
    assert 'href="/messaging/queue/"' in page and 'href="/messaging/senders/"' in page
