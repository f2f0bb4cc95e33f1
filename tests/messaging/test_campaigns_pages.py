"""The campaign pages: owners and managers only, another organization's campaign is 404, bad input re-renders
with its messages and writes nothing, a draft only is edited, the live preview counts a text's parts, Schedule,
the test to staff, Cancel, the progress endpoint and the results; the list in a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.campaigns import campaign_schedule, campaigns_send_due
from messaging.models import Campaign, MessageConversion, MessageStatusEvent, OutboundMessage
from messaging.queue import queue_drain
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.messaging.campaign_helpers import customers, draft, everyone, utc

pytestmark = pytest.mark.django_db
NOW = utc("2027-03-13T20:00:00Z")  # Saturday noon in San Francisco
LIST = "/messaging/campaigns/"


@pytest.fixture
def signed_in(client, owner, clock):
    clock.move_to(NOW)
    client.force_login(owner)
    return client


def form_data(segment, **fields):
    data = {
        "name": "Weekend sale",
        "segment": segment.pk,
        "channel": "sms",
        "topic": "weekend sale",
        "subject": "",
        "body": "{store_name}: hi {first_name}, 20% off.",
        "variant_b_subject": "",
        "variant_b_body": "",
        "test_share": "20",
        "winner_metric": "",
        "winner_after_hours": "4",
        "coupon_promotion": "",
        "coupon_valid_days": "14",
        "send_on": "2027-03-14",
        "send_at": "10:00",
    }
    data.update(fields)
    return data


def test_only_owners_and_managers_see_campaigns_and_another_organizations_is_404(client, west, owner, clock):
    clock.move_to(NOW)
    campaign = draft(west.organization, owner)
    budtender = UserFactory(organization=west.organization, roles=["budtender"], stores=[west])
    client.force_login(budtender)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{campaign.pk}/").status_code == 403
    assert client.post(f"{LIST}{campaign.pk}/cancel/").status_code == 403

    manager = UserFactory(organization=west.organization, roles=["manager"], stores=[west])
    client.force_login(manager)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}{campaign.pk}/").status_code == 200

    other_store = StoreFactory(organization=OrganizationFactory())
    stranger = UserFactory(organization=other_store.organization, roles=["owner"], stores=[other_store])
    client.force_login(stranger)
    assert client.get(f"{LIST}{campaign.pk}/").status_code == 404
    assert client.get(f"{LIST}{campaign.pk}/edit/").status_code == 404
    assert client.get(f"{LIST}{campaign.pk}/progress/").status_code == 404
    assert client.post(f"{LIST}{campaign.pk}/cancel/").status_code == 404
    assert client.post(f"{LIST}{campaign.pk}/schedule/").status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    client.logout()
    assert client.get(LIST).status_code == 302


def test_a_draft_is_written_and_bad_input_re_renders_with_its_messages(signed_in, west):
    segment = everyone(west.organization)
    page = signed_in.get(f"{LIST}new/")
    assert page.status_code == 200

    bad = signed_in.post(f"{LIST}new/", form_data(segment, topic="", body="Hi {nickname}", test_share="500"))
    assert bad.status_code == 400
    text = bad.content.decode()
    assert (
        "Unknown variable: {nickname}." in text or "Ensure this value is less than or equal to 100." in text
    )
    bad = signed_in.post(f"{LIST}new/", form_data(segment, topic="", body="Hi {nickname}"))
    assert bad.status_code == 400
    assert "Unknown variable: {nickname}." in bad.content.decode()
    assert "Say what it is about" in bad.content.decode()
    assert not Campaign.objects.exists()

    saved = signed_in.post(f"{LIST}new/", form_data(segment))
    campaign = Campaign.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"{LIST}{campaign.pk}/"
    assert (campaign.status, campaign.send_on, campaign.send_at) == (
        "draft",
        dt.date(2027, 3, 14),
        dt.time(10),
    )

    edited = signed_in.post(f"{LIST}{campaign.pk}/edit/", form_data(segment, name="Big weekend"))
    assert edited.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Big weekend"


def test_the_live_preview_counts_a_texts_characters_and_parts(signed_in, west):
    body = "Hi {first_name}! " + "x" * 150
    page = signed_in.post(f"{LIST}preview/", {"channel": "sms", "body": body, "variant_b_body": "B 😀"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Hi Ada! " in text
    assert "181 characters · 2 parts · GSM-7" in text  # with the opt-out line
    assert "Variant B" in text and "UCS-2" in text


def test_schedule_test_send_progress_results_and_no_edit_once_scheduled(signed_in, west, owner, clock):
    people = customers(west, 3, start=2100)
    CustomerFactory(organization=west.organization, phone="+14155552900", home_store=west)  # never agreed
    campaign = draft(west.organization, owner)
    detail = signed_in.get(f"{LIST}{campaign.pk}/")
    assert detail.status_code == 200
    assert detail.context["estimate"].reachable == 3 and detail.context["estimate"].segment == 4

    bad_test = signed_in.post(f"{LIST}{campaign.pk}/test/", {"to": "nope"})
    assert bad_test.status_code == 400
    assert "mobile number, for example (415) 555-0134" in bad_test.content.decode()
    assert not OutboundMessage.objects.exists()
    test = signed_in.post(f"{LIST}{campaign.pk}/test/", {"to": "415-555-0199"})
    assert test.status_code == 302
    sent = OutboundMessage.objects.get()
    assert (sent.to, sent.purpose, sent.body[:7]) == ("+14155550199", "test", "[Test] ")

    assert signed_in.post(f"{LIST}{campaign.pk}/schedule/").status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_total) == ("scheduled", 3)
    edit = signed_in.get(f"{LIST}{campaign.pk}/edit/")
    assert edit.status_code == 302 and edit["Location"] == f"{LIST}{campaign.pk}/"
    again = signed_in.post(f"{LIST}{campaign.pk}/schedule/", follow=True)
    assert "scheduled already" in again.content.decode()

    progress = signed_in.get(f"{LIST}{campaign.pk}/progress/")
    assert progress.status_code == 200
    assert 'hx-trigger="every 2s"' in progress.content.decode()
    assert progress.context["progress"].waiting == 3

    campaigns_send_due(NOW)
    queue_drain(now=NOW)
    first = OutboundMessage.objects.get(customer=people[0], purpose="campaign")
    MessageStatusEvent.objects.create(message=first, status="clicked", source="webhook", occurred_at=NOW)

    with CaptureQueriesContext(connection) as queries:
        progress = signed_in.get(f"{LIST}{campaign.pk}/progress/")
    text = progress.content.decode()
    assert "3 of 3" in text and 'hx-trigger="every 2s"' not in text  # sent: no more polling
    assert "awaiting the carrier&#x27;s report: <strong>3</strong>" in text
    fragment_queries = len(queries)

    page = signed_in.get(f"{LIST}{campaign.pk}/")
    results = page.context["results"]
    assert results["rows"][-1][:6] == ["Total", 3, 3, 0, 0, 1]
    assert results["chart"]["labels"] == ["Everyone", "Total"]
    assert 'data-chart="results"' in page.content.decode()
    assert fragment_queries <= 8


def test_cancel_from_the_page_and_refusals_in_plain_words(signed_in, west, owner, clock):
    customers(west, 2, start=2100)
    segment = everyone(west.organization)
    first = draft(west.organization, owner, segment=segment)
    campaign_schedule(campaign=first, actor=owner)
    campaigns_send_due(NOW)
    queue_drain(now=NOW)
    second = draft(west.organization, owner, name="Second", segment=segment, topic="menu")
    campaign_schedule(campaign=second, actor=owner)
    campaigns_send_due(NOW + dt.timedelta(minutes=5))
    queue_drain(now=NOW + dt.timedelta(minutes=5))
    page = signed_in.get(f"{LIST}{second.pk}/")
    assert page.context["results"]["refusals"] == [
        {"code": "smart_sending", "words": "Another marketing message went out shortly before", "messages": 2}
    ]
    assert "Another marketing message went out shortly before: <strong>2</strong>" in page.content.decode()

    later = draft(
        west.organization,
        owner,
        name="Later",
        segment=segment,
        send_on=dt.date(2027, 3, 20),
        send_at=dt.time(10),
    )
    signed_in.post(f"{LIST}{later.pk}/schedule/")
    cancelled = signed_in.post(f"{LIST}{later.pk}/cancel/", follow=True)
    assert "Cancelled: 2 recipients not queued yet will get nothing." in cancelled.content.decode()
    later.refresh_from_db()
    assert later.status == "cancelled"


def sale_made(store, register, staff):
    from pos.models import Sale

    return Sale.objects.create(
        store=store,
        register=register,
        customer_type="adult_use",
        staff=staff,
        local_date=dt.date(2027, 3, 13),
        completed_at=NOW,
        receipt_number="R-1",
        idempotency_key="sale-1",
    )


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST).status_code == 200
    return len(queries)


def test_the_list_shows_status_time_recipients_progress_revenue_in_fixed_queries(
    signed_in, west, owner, register
):
    customers(west, 2, start=2100)
    segment = everyone(west.organization)
    one = draft(west.organization, owner, segment=segment)
    campaign_schedule(campaign=one, actor=owner)
    campaigns_send_due(NOW)
    message = OutboundMessage.objects.filter(origin__campaign=one).first()
    MessageConversion.objects.create(
        message=message,
        sale=sale_made(west, register, owner),
        kind="code",
        revenue=Decimal("42.00"),
        occurred_at=NOW,
    )
    small = _list_queries(signed_in)
    for number in range(5):
        draft(west.organization, owner, name=f"Draft {number}", segment=segment)
    large = _list_queries(signed_in)
    assert small == large
    page = signed_in.get(LIST)
    rows = list(page.context["page"].object_list)
    assert len(rows) == 6
    scheduled = next(row for row in rows if row.pk == one.pk)
    assert (scheduled.queued, scheduled.recipients_total, scheduled.first_due) == (2, 2, NOW)
    assert scheduled.revenue == Decimal("42.00")
    assert "$42.00" in page.content.decode()


def test_the_demo_has_a_sent_campaign_with_results_and_a_scheduled_one(db, client):
    from dispensary import demo as core_demo
    from dispensary.models import User
    from messaging import demo as messaging_demo

    core_demo.demo_load()
    added = messaging_demo.demo_load()
    assert added["campaigns"] == 2
    sent = Campaign.objects.get(name="Weekend edibles, 20% off")
    scheduled = Campaign.objects.get(name="New menu this Friday")
    assert (sent.status, sent.winner) == ("sent", "b")
    assert scheduled.status == "scheduled" and scheduled.recipients_total > 0
    assert messaging_demo.demo_load()["campaigns"] == 0

    client.force_login(User.objects.get(username="manager"))
    assert client.get(LIST).status_code == 200
    page = client.get(f"{LIST}{sent.pk}/")
    assert page.status_code == 200
    total = page.context["results"]["total"]
    assert total.recipients == sent.recipients_total and total.delivered > 0 and total.clicked > 0
    assert page.context["results"]["refusals"][0]["code"] == "smart_sending"
