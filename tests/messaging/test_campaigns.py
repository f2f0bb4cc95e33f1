"""Campaigns: recipients frozen at each store's local time (two zones, a daylight-saving day), sending when
due, A/B test then the winner, exactly once across a crash, cancel, the test to staff, smart sending across two
campaigns, coupons per recipient."""

import datetime as dt

import pytest

from dispensary.errors import Conflict, ValidationFailed
from messaging import campaigns as campaigns_module
from messaging.campaigns import (
    CampaignError,
    campaign_cancel,
    campaign_estimate,
    campaign_progress,
    campaign_results,
    campaign_schedule,
    campaign_test_send,
    campaigns_send_due,
    local_instant,
)
from messaging.models import (
    Campaign,
    CampaignRecipient,
    MessageOrigin,
    MessageStatusEvent,
    OutboundMessage,
)
from messaging.queue import queue_drain
from messaging.retention import retention_key, retention_message_enqueue
from pos.models import Coupon, Promotion
from tests.messaging.campaign_helpers import customers, draft, everyone, utc

pytestmark = pytest.mark.django_db

# Saturday March 13, 2027: the next night the clocks of both stores go forward an hour.
SATURDAY_NOON = utc("2027-03-13T20:00:00Z")  # 12:00 PST, 15:00 EST
DST_DAY = dt.date(2027, 3, 14)


def due_times(campaign) -> dict[str, dt.datetime]:
    return {
        row.customer.phone: row.due_at
        for row in CampaignRecipient.objects.filter(campaign=campaign).select_related("customer")
    }


def test_each_store_gets_the_local_time_across_the_daylight_saving_change(clock, west, east, owner):
    clock.move_to(SATURDAY_NOON)
    customers(west, 1, start=2100)
    customers(east, 1, prefix="+1212555", start=2100)
    customers(west, 1, start=2200, home=False)  # no home store: the organization's first store (west)
    campaign = draft(west.organization, owner, send_on=DST_DAY, send_at=dt.time(10))

    campaign_schedule(campaign=campaign, actor=owner)

    assert due_times(campaign) == {
        "+14155552100": utc("2027-03-14T17:00:00Z"),  # 10:00 PDT (UTC-7 from 2:00 that night)
        "+12125552100": utc("2027-03-14T14:00:00Z"),  # 10:00 EDT (UTC-4)
        "+14155552200": utc("2027-03-14T17:00:00Z"),
    }
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_total) == ("scheduled", 3)
    # The same time the day before: standard time.
    assert local_instant(west, dt.date(2027, 3, 13), dt.time(10)) == utc("2027-03-13T18:00:00Z")
    # A time the clocks skip (02:30) falls an hour later on the clock; one they repeat is the first.
    assert local_instant(west, DST_DAY, dt.time(2, 30)) == utc("2027-03-14T10:30:00Z")  # 03:30 PDT
    assert local_instant(east, dt.date(2027, 11, 7), dt.time(1, 30)) == utc("2027-11-07T05:30:00Z")  # EDT


def test_a_time_already_past_today_means_now_and_a_past_day_is_refused(clock, west, east, owner):
    clock.move_to(SATURDAY_NOON)
    customers(west, 1, start=2100)
    customers(east, 1, prefix="+1212555", start=2100)
    today = draft(west.organization, owner, send_on=dt.date(2027, 3, 13), send_at=dt.time(13))
    campaign_schedule(campaign=today, actor=owner)
    assert due_times(today) == {
        "+14155552100": utc("2027-03-13T21:00:00Z"),  # 13:00 PST, still to come
        "+12125552100": SATURDAY_NOON,  # 13:00 EST has passed: now
    }

    yesterday = draft(
        west.organization, owner, name="Late", send_on=dt.date(2027, 3, 12), send_at=dt.time(13)
    )
    with pytest.raises(CampaignError, match="is past at every store"):
        campaign_schedule(campaign=yesterday, actor=owner)
    yesterday.refresh_from_db()
    assert yesterday.status == "draft"
    assert not CampaignRecipient.objects.filter(campaign=yesterday).exists()


def test_only_customers_who_agreed_on_the_channel_are_counted_and_frozen(clock, west, owner):
    clock.move_to(SATURDAY_NOON)
    agreed = customers(west, 3, start=2100)
    customers(west, 2, start=2300, agreed=False)
    customers(west, 1, start=2400, email="", agreed=True)
    campaign = draft(west.organization, owner)
    estimate = campaign_estimate(campaign)
    assert (estimate.segment, estimate.reachable, estimate.left_out) == (6, 4, 2)

    campaign_schedule(campaign=campaign, actor=owner)
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 4
    assert {agreed[0].pk, agreed[1].pk, agreed[2].pk} <= set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)
    )
    email = draft(west.organization, owner, name="By email", channel="email", subject="Sale")
    assert campaign_estimate(email).reachable == 0
    with pytest.raises(CampaignError, match="Nobody to send to"):
        campaign_schedule(campaign=email, actor=owner)


def test_due_recipients_are_queued_store_by_store_then_the_campaign_is_sent(clock, west, east, owner):
    clock.move_to(SATURDAY_NOON)
    west_people = customers(west, 2, start=2100)
    east_people = customers(east, 2, prefix="+1212555", start=2100)
    campaign = draft(west.organization, owner, send_on=DST_DAY, send_at=dt.time(10))
    campaign_schedule(campaign=campaign, actor=owner)

    assert campaigns_send_due(utc("2027-03-14T13:59:00Z")) == 0
    assert campaigns_send_due(utc("2027-03-14T14:00:00Z")) == 2  # 10:00 in Brooklyn
    queued = OutboundMessage.objects.filter(purpose="campaign")
    assert sorted(queued.values_list("customer_id", flat=True)) == sorted(c.pk for c in east_people)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.started_at) == ("sending", utc("2027-03-14T14:00:00Z"))
    progress = campaign_progress(campaign)
    assert (progress.total, progress.waiting, progress.queued) == (4, 2, 2)

    assert campaigns_send_due(utc("2027-03-14T17:00:00Z")) == 2  # 10:00 in San Francisco
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at) == ("sent", utc("2027-03-14T17:00:00Z"))
    message = OutboundMessage.objects.get(customer=west_people[0])
    assert message.key == retention_key("campaign", campaign.pk, west_people[0].pk)
    assert (message.category, message.topic, message.store_id) == ("marketing", "weekend sale", west.pk)
    assert message.body == (
        f"Green Leaf Mission: hi {west_people[0].first_name}, 20% off this weekend. Reply STOP to opt out."
    )
    assert MessageOrigin.objects.get(message=message).campaign_id == campaign.pk
    assert campaigns_send_due(utc("2027-03-14T18:00:00Z")) == 0
    assert OutboundMessage.objects.filter(purpose="campaign").count() == 4


def _click(message, at):
    MessageStatusEvent.objects.create(message=message, status="clicked", source="webhook", occurred_at=at)


def test_a_b_test_on_a_share_then_the_rest_get_the_winner(clock, west, owner):
    clock.move_to(SATURDAY_NOON)
    customers(west, 10, start=2100)
    campaign = draft(
        west.organization,
        owner,
        body="A: {first_name}, 20% off.",
        variant_b_body="B: {first_name}, a free pre-roll.",
        test_share=40,
        winner_metric="clicked",
        winner_after_hours=4,
    )
    campaign_schedule(campaign=campaign, actor=owner)
    variants = list(
        CampaignRecipient.objects.filter(campaign=campaign)
        .order_by("customer_id")
        .values_list("variant", flat=True)
    )
    assert sorted(variants) == ["", "", "", "", "", "", "a", "a", "b", "b"]
    # The draw is the same every time: a copy of the campaign tests the same customers.
    rest = CampaignRecipient.objects.filter(campaign=campaign, variant="")
    assert {row.due_at for row in rest} == {SATURDAY_NOON + dt.timedelta(hours=4)}

    assert campaigns_send_due(SATURDAY_NOON) == 4
    campaign.refresh_from_db()
    assert campaign.status == "testing"
    b_messages = OutboundMessage.objects.filter(origin__campaign=campaign, origin__variant="b")
    assert all(message.body.startswith("B: ") for message in b_messages)
    _click(b_messages[0], SATURDAY_NOON + dt.timedelta(hours=1))

    assert campaigns_send_due(SATURDAY_NOON + dt.timedelta(hours=3, minutes=59)) == 0
    assert campaigns_send_due(SATURDAY_NOON + dt.timedelta(hours=4)) == 6
    campaign.refresh_from_db()
    assert (campaign.winner, campaign.status) == ("b", "sent")
    rest_messages = OutboundMessage.objects.filter(origin__campaign=campaign, origin__variant="")
    assert rest_messages.count() == 6 and all(m.body.startswith("B: ") for m in rest_messages)
    by_variant, total = campaign_results(campaign)
    assert (by_variant["a"].recipients, by_variant["b"].recipients, by_variant[""].recipients) == (2, 2, 6)
    assert (by_variant["b"].clicked, total.recipients, total.clicked) == (1, 10, 1)


def test_a_tie_goes_to_a(clock, west, owner):
    clock.move_to(SATURDAY_NOON)
    customers(west, 4, start=2100)
    campaign = draft(
        west.organization,
        owner,
        variant_b_body="B words",
        test_share=50,
        winner_metric="opened",
        winner_after_hours=2,
    )
    campaign_schedule(campaign=campaign, actor=owner)
    campaigns_send_due(SATURDAY_NOON)
    campaigns_send_due(SATURDAY_NOON + dt.timedelta(hours=2))
    campaign.refresh_from_db()
    assert (campaign.winner, campaign.status) == ("a", "sent")
    assert OutboundMessage.objects.filter(origin__variant="", body__startswith="Green Leaf").count() == 2


def test_a_crash_mid_batch_then_a_second_run_sends_each_recipient_once(clock, west, owner, monkeypatch):
    clock.move_to(SATURDAY_NOON)
    people = customers(west, 7, start=2100)
    campaign = draft(west.organization, owner)
    campaign_schedule(campaign=campaign, actor=owner)
    # A message queued by a run whose link to the recipient was lost: the key finds it again.
    lost = retention_message_enqueue(
        customer=people[0],
        store=west,
        channel="sms",
        body="{store_name}: hi {first_name}, 20% off this weekend.",
        topic="weekend sale",
        key=retention_key("campaign", campaign.pk, people[0].pk),
        purpose="campaign",
        campaign=campaign,
    )
    monkeypatch.setattr(campaigns_module, "BATCH", 3)
    calls = {"n": 0}

    class WorkerKilled(Exception):
        pass

    def dying(**kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # the second batch, halfway
            raise WorkerKilled
        return retention_message_enqueue(**kwargs)

    monkeypatch.setattr(campaigns_module, "retention_message_enqueue", dying)
    with pytest.raises(WorkerKilled):
        campaigns_send_due(SATURDAY_NOON)
    assert CampaignRecipient.objects.filter(campaign=campaign, message__isnull=False).count() == 3
    assert OutboundMessage.objects.filter(purpose="campaign").count() == 3  # the second batch left nothing

    monkeypatch.setattr(campaigns_module, "retention_message_enqueue", retention_message_enqueue)
    assert campaigns_send_due(SATURDAY_NOON) == 4
    assert campaigns_send_due(SATURDAY_NOON) == 0
    messages = OutboundMessage.objects.filter(purpose="campaign")
    assert messages.count() == 7
    assert sorted(messages.values_list("customer_id", flat=True)) == sorted(p.pk for p in people)
    assert CampaignRecipient.objects.get(campaign=campaign, customer=people[0]).message_id == lost.pk
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_total) == ("sent", 7)


def test_cancel_stops_what_is_not_queued(clock, west, east, owner):
    clock.move_to(SATURDAY_NOON)
    customers(west, 2, start=2100)
    customers(east, 2, prefix="+1212555", start=2100)
    campaign = draft(west.organization, owner, send_on=DST_DAY, send_at=dt.time(10))
    campaign_schedule(campaign=campaign, actor=owner)
    campaigns_send_due(utc("2027-03-14T14:00:00Z"))

    assert campaign_cancel(campaign=campaign, actor=owner, now=utc("2027-03-14T15:00:00Z")) == 2
    assert campaigns_send_due(utc("2027-03-14T17:00:00Z")) == 0
    assert OutboundMessage.objects.filter(purpose="campaign").count() == 2
    campaign.refresh_from_db()
    assert campaign.status == "cancelled"
    with pytest.raises(Conflict):
        campaign_cancel(campaign=campaign, actor=owner)


def test_the_test_to_staff_is_marked_and_never_counted(clock, west, owner):
    clock.move_to(SATURDAY_NOON)
    customers(west, 2, start=2100)
    campaign = draft(
        west.organization, owner, variant_b_body="B: {first_name}!", test_share=50, winner_metric="clicked"
    )

    message = campaign_test_send(campaign=campaign, actor=owner, to="(415) 555-0199", store=west, variant="b")
    assert (message.to, message.purpose, message.category) == ("+14155550199", "test", "transactional")
    assert message.body == "[Test] B: Ada! Reply STOP to opt out."
    assert not MessageOrigin.objects.filter(message=message).exists()
    with pytest.raises(ValidationFailed, match="mobile number"):
        campaign_test_send(campaign=campaign, actor=owner, to="not a number", store=west)
    assert OutboundMessage.objects.count() == 1

    campaign_schedule(campaign=campaign, actor=owner)
    campaigns_send_due(SATURDAY_NOON)
    _, total = campaign_results(campaign)
    assert total.recipients == 2


def test_a_customer_in_two_campaigns_gets_the_second_refused_by_smart_sending(clock, west, owner):
    clock.move_to(SATURDAY_NOON)
    people = customers(west, 2, start=2100)
    segment = everyone(west.organization)
    first = draft(west.organization, owner, segment=segment)
    campaign_schedule(campaign=first, actor=owner)
    campaigns_send_due(SATURDAY_NOON)
    assert queue_drain(now=SATURDAY_NOON) == 2
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}

    later = SATURDAY_NOON + dt.timedelta(hours=2)
    clock.move_to(later)
    second = draft(west.organization, owner, name="Another", segment=segment, topic="new menu")
    campaign_schedule(campaign=second, actor=owner)
    campaigns_send_due(later)
    queue_drain(now=later)

    refused = OutboundMessage.objects.filter(origin__campaign=second)
    assert sorted(refused.values_list("customer_id", "status")) == sorted((p.pk, "refused") for p in people)
    reasons = refused.first().gate_reasons
    assert [reason.split(":")[0] for reason in reasons] == ["smart_sending"]
    assert campaigns_module.campaign_refusals(second) == [("smart_sending", 2)]
    progress = campaign_progress(second)
    assert (progress.total, progress.refused, progress.done_percent) == (2, 2, 100.0)


def test_each_recipient_gets_one_personal_code_carried_by_the_message(clock, west, owner):
    clock.move_to(SATURDAY_NOON)
    people = customers(west, 2, start=2100)
    promotion = Promotion.objects.create(
        organization=west.organization, name="20% off", kind="percent", value=20
    )
    campaign = draft(
        west.organization,
        owner,
        body="{first_name}: your code {coupon_code}",
        coupon_promotion=promotion,
        coupon_valid_days=7,
    )
    campaign_schedule(campaign=campaign, actor=owner)
    campaigns_send_due(SATURDAY_NOON)

    for customer in people:
        coupon = Coupon.objects.get(customer=customer)
        message = OutboundMessage.objects.get(customer=customer)
        assert coupon.message_id == str(message.key)
        assert coupon.code in message.body
        assert coupon.valid_until == SATURDAY_NOON + dt.timedelta(days=7)
        assert MessageOrigin.objects.get(message=message).coupon_id == coupon.pk
    assert Coupon.objects.count() == 2


def test_bad_drafts_are_refused_with_their_reasons(west, owner):
    segment = everyone(west.organization)
    with pytest.raises(ValidationFailed) as error:
        draft(west.organization, owner, segment=segment, body="Hi {nickname}", topic="", channel="sms")
    assert error.value.details == {
        "topic": ["Say what it is about (for example “weekend sale”): the states' caps count by subject."],
        "body": ["Unknown variable: {nickname}."],
    }
    with pytest.raises(ValidationFailed) as error:
        draft(west.organization, owner, segment=segment, body="{{first_name}}: {{coupon_code}}")
    assert error.value.details == {
        "coupon_promotion": ["The words use {coupon_code}: choose the promotion the codes give."]
    }
    assert not Campaign.objects.exists()
    saved = draft(west.organization, owner, segment=segment, body="Hi {{ first_name }}")
    assert saved.body == "Hi {first_name}"
