# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The message list and a message's page: filters, pages, only the member's stores, every customer shown is a
logged read, the gate's reasons and the timeline in plain words, bad input answered with words, and a number
of queries that does not grow with the messages."""

import datetime as dt

import pytest

from dispensary.models import AuditRecord
from messaging.models import OutboundMessage
from tests.messaging.deliverability_fixtures import (  # noqa: F401 - fixtures
    history,
    message,
    queries_counted,
)

pytestmark = pytest.mark.django_db
URL = "/messaging/messages/"


def shown(response):
    return [row.pk for row in response.context["page"].object_list]


def test_the_list_shows_the_members_stores_newest_first(client, history):
    client.force_login(history["manager"])
    response = client.get(URL)
    assert response.status_code == 200
    expected = list(
        OutboundMessage.objects.filter(store__in=[history["store_a"], history["store_b"]])
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    assert shown(response) == expected and len(expected) == 14
    foreign = OutboundMessage.objects.get(store=history["foreign"])
    assert foreign.pk not in shown(response)
    client.force_login(history["manager_a"])
    assert {row.store_id for row in client.get(URL).context["page"].object_list} == {history["store_a"].pk}


def test_the_filters(client, history):
    client.force_login(history["manager"])
    assert [
        row.error_code for row in client.get(URL, {"status": "undelivered"}).context["page"].object_list
    ] == [
        "bounce",
        "30007",
    ]
    assert len(shown(client.get(URL, {"channel": "email"}))) == 3
    assert len(shown(client.get(URL, {"store": history["store_b"].pk}))) == 2
    customer = history["customer"]
    by_phone = client.get(URL, {"to": "(415) 555-0199"})
    assert len(shown(by_phone)) == 11  # every text of the fixture goes to that number
    assert len(shown(client.get(URL, {"to": "PAT@example.com"}))) == 3
    assert customer.pk in {row.customer_id for row in by_phone.context["page"].object_list}


@pytest.mark.parametrize(
    "query",
    [{"to": "not a phone"}, {"status": "lost"}, {"channel": "fax"}, {"store": "99999999999999999999999"}],
)
def test_bad_filters_are_refused_with_words(client, history, query):
    client.force_login(history["manager"])
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response.context["page"] is None
    assert 'role="alert"' in response.content.decode()


def test_each_customer_shown_is_a_logged_read(client, history):
    client.force_login(history["manager"])
    before = AuditRecord.objects.filter(action="customer.viewed").count()
    client.get(URL)
    reads = AuditRecord.objects.filter(action="customer.viewed").order_by("pk")[before:]
    assert [(row.object_id, row.after) for row in reads] == [
        (str(history["customer"].pk), {"via": "messaging:messages"})
    ]


def test_the_list_pages_and_its_queries_stay_fixed(client, history):
    client.force_login(history["manager"])
    client.get(URL)
    with queries_counted() as few:
        client.get(URL)
    at = dt.datetime(2026, 3, 9, 18, 0, tzinfo=dt.UTC)
    for _ in range(60):
        message(history["store_a"], "sms", "delivered", at, customer=history["customer"])
    with queries_counted() as many:
        response = client.get(URL)
    assert len(shown(response)) == 50
    assert response.context["page"].paginator.num_pages == 2
    assert len(client.get(URL, {"page": 2}).context["page"].object_list) == 24
    # The session, the member, their stores, the count, the page, the logged reads (one insert), ...
    assert len(many) == len(few) == 9


def test_a_message_page_shows_the_body_reasons_and_timeline_in_words(client, history):
    client.force_login(history["manager"])
    refused = OutboundMessage.objects.get(status="refused")
    response = client.get(f"{URL}{refused.pk}/")
    assert response.status_code == 200
    assert response.context["reasons"] == [
        {
            "code": "no_consent",
            "title": "No consent for this purpose and channel",
            "words": "the customer has not agreed to marketing messages by sms.",
        },
        {
            "code": "suppressed",
            "title": "The address is suppressed (STOP, bounce, complaint, invalid)",
            "words": "stopped",
        },
    ]
    page = response.content.decode()
    assert "Your receipt" in page and "Not sent (refused by the rules)" in page
    assert [(step["event"].status, step["source"]) for step in response.context["timeline"]] == [
        ("queued", "Queue"),
        ("refused", "Carrier's report"),
    ]
    # Reading it is a logged read of the customer's record.
    read = AuditRecord.objects.filter(action="customer.viewed").latest("pk")
    assert (read.object_id, read.after) == (str(history["customer"].pk), {"via": "messaging:message"})

    filtered = OutboundMessage.objects.get(error_code="30007")
    page = client.get(f"{URL}{filtered.pk}/").content.decode()
    assert "Error 30007: The carrier filtered the message as spam (carrier violation)." in page
    # Without a customer, the read is logged on the message.
    assert (
        AuditRecord.objects.filter(action="messaging.message_viewed", object_id=str(filtered.pk)).count() == 1
    )


def test_a_message_of_another_store_is_not_found(client, history):
    client.force_login(history["manager_a"])
    other = OutboundMessage.objects.filter(store=history["store_b"]).first()
    foreign = OutboundMessage.objects.get(store=history["foreign"])
    assert client.get(f"{URL}{other.pk}/").status_code == 404
    assert client.get(f"{URL}{foreign.pk}/").status_code == 404
    assert client.get(f"{URL}99999999999999999999999/").status_code == 404
    client.force_login(history["budtender"])
    assert client.get(f"{URL}{other.pk}/").status_code == 403
