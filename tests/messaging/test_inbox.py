"""The inbox of customers' texts: staff see their stores' unanswered texts, answer one (a transactional reply
through the queue) or mark it handled; handled ones behind a filter; a store's inbox only for its staff."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.navigation import nav_links_for
from messaging.models import InboundMessage, OutboundMessage
from messaging.queue import queue_drain
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.messaging.inbound_helpers import inbound_post, sid

pytestmark = pytest.mark.django_db
ADA = "+14155550134"


def text_in(store, body="Do you have the mango gummies?", customer=None, **extra):
    return InboundMessage.objects.create(
        organization=store.organization,
        store=store,
        customer=customer,
        from_number=customer.phone if customer else "+14155550177",
        to_number="+14155550100",
        body=body,
        provider_message_id=sid(),
        kind=InboundMessage.Kind.OTHER,
        received_at=timezone.now(),
        **extra,
    )


def test_staff_see_their_stores_unanswered_texts(client, ada, shop, budtender):
    inbound_post(client, "Are you open on Sunday?")
    inbound_post(client, "STOP", from_number="+14155550166")  # a keyword: handled at once, not in the inbox
    client.force_login(budtender)
    page = client.get("/messaging/inbox/").content.decode()
    assert page.count("data-inbound=") == 1
    assert "Are you open on Sunday?" in page and "Ada Lovelace" in page
    assert f'href="/customers/{ada.pk}/"' in page
    assert "(415) 555-0134" in page and "Send answer" in page


def test_answering_queues_a_reply_and_marks_it_handled(client, ada, shop, budtender):
    inbound_post(client, "Are you open on Sunday?")
    inbound = InboundMessage.objects.get()
    client.force_login(budtender)
    response = client.post(f"/messaging/inbox/{inbound.pk}/reply/", {"body": "Yes, 10 to 6."})
    assert response.status_code == 302 and response["Location"] == "/messaging/inbox/"
    queue_drain()
    inbound.refresh_from_db()
    assert (inbound.handled_by, inbound.handled_at is not None, inbound.reply.body) == (
        budtender,
        True,
        "Yes, 10 to 6.",
    )
    reply = OutboundMessage.objects.get()
    assert (reply.category, reply.purpose, reply.customer, reply.store, reply.status) == (
        "transactional",
        "reply",
        ada,
        shop,
        "sent",
    )
    assert "data-inbound=" not in client.get("/messaging/inbox/").content.decode()
    handled = client.get("/messaging/inbox/?show=handled").content.decode()
    assert "Are you open on Sunday?" in handled and "Answer: Yes, 10 to 6." in handled
    # Answering again writes nothing more.
    client.post(f"/messaging/inbox/{inbound.pk}/reply/", {"body": "Again"})
    assert OutboundMessage.objects.count() == 1


def test_an_empty_answer_is_refused_and_marking_handled_needs_no_answer(client, shop, budtender):
    inbound = text_in(shop)
    client.force_login(budtender)
    client.post(f"/messaging/inbox/{inbound.pk}/reply/", {"body": "   "})
    inbound.refresh_from_db()
    assert (inbound.handled_at, OutboundMessage.objects.count()) == (None, 0)
    client.post(f"/messaging/inbox/{inbound.pk}/handled/")
    inbound.refresh_from_db()
    assert (inbound.handled_by, inbound.reply, OutboundMessage.objects.count()) == (budtender, None, 0)


def test_a_stores_inbox_is_only_for_its_staff(client, shop, organization):
    other_store = StoreFactory(organization=organization)
    elsewhere = UserFactory(organization=organization, roles=["budtender"], stores=[other_store])
    inbound = text_in(shop)
    client.force_login(elsewhere)
    assert "data-inbound=" not in client.get("/messaging/inbox/").content.decode()
    assert client.post(f"/messaging/inbox/{inbound.pk}/reply/", {"body": "Hi"}).status_code == 404
    assert client.post(f"/messaging/inbox/{inbound.pk}/handled/").status_code == 404
    far_store = StoreFactory()
    other_org = UserFactory(organization=far_store.organization, roles=["manager"], stores=[far_store])
    client.force_login(other_org)
    assert client.post(f"/messaging/inbox/{inbound.pk}/handled/").status_code == 404
    driver = UserFactory(organization=organization, roles=["driver"], stores=[shop])
    client.force_login(driver)
    assert client.get("/messaging/inbox/").status_code == 403
    inbound.refresh_from_db()
    assert inbound.handled_at is None and OutboundMessage.objects.count() == 0


def test_texts_of_no_store_are_for_managers(client, shop, budtender, manager):
    text_in(shop, body="For the store")
    InboundMessage.objects.create(
        organization=shop.organization,
        from_number="+14155550177",
        to_number="+14155550100",
        body="For nobody in particular",
        provider_message_id=sid(),
        kind="other",
        received_at=timezone.now(),
    )
    client.force_login(budtender)
    assert client.get("/messaging/inbox/").content.decode().count("data-inbound=") == 1
    client.force_login(manager)
    assert client.get("/messaging/inbox/").content.decode().count("data-inbound=") == 2


def test_the_inbox_query_count_does_not_grow_with_its_rows(client, shop, budtender):
    client.force_login(budtender)
    text_in(shop, customer=CustomerFactory(organization=shop.organization))
    client.get("/messaging/inbox/")
    with CaptureQueriesContext(connection) as one:
        client.get("/messaging/inbox/")
    for _ in range(5):
        text_in(shop, customer=CustomerFactory(organization=shop.organization))
    with CaptureQueriesContext(connection) as six:
        page = client.get("/messaging/inbox/").content.decode()
    assert page.count("data-inbound=") == 6
    assert len(six) == len(one)


def test_the_inbox_link_is_in_the_messaging_menu(shop, budtender, organization, store):
    links = nav_links_for(budtender, "/messaging/inbox/")
    assert {"label": "Inbox", "url": "/messaging/inbox/", "group": "messaging", "active": True} in links
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    assert all(link["label"] != "Inbox" for link in nav_links_for(driver, "/"))
