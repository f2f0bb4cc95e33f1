"""The ready-made win-back flow driven through time: day 30 "what's new"; day 37 a new subject and an offer to
those who did not open; day 45 picks and points to those who opened and did not buy; day 60 a last try, then
suppression from marketing (lifted when they buy again). A purchase ends it at any point."""

import datetime as dt

import pytest

from messaging.flows import flows_dates_enrol, flows_run_due
from messaging.models import FlowEnrollment, FlowStepRun, OutboundMessage, Suppression
from pos.models import Coupon
from tests.messaging.flow_helpers import buy, live, opened, reachable, sent

pytestmark = pytest.mark.django_db

UTC = dt.UTC
LAST_SALE = dt.datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 10:00 in San Francisco
DAY_30 = dt.datetime(2026, 2, 4, 19, 0, tzinfo=UTC)  # 11:00 local, 30 days and an hour after it
DAY_37 = DAY_30 + dt.timedelta(days=7)
DAY_45 = DAY_30 + dt.timedelta(days=15)
DAY_60 = dt.datetime(2026, 3, 6, 19, 0, tzinfo=UTC)  # 11:00 PST
DAY_67 = dt.datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # 11:00 PDT: the clocks moved on March 8


@pytest.fixture
def winback(organization, store, manager):
    return live(organization, "winback", manager)


@pytest.fixture
def lapsed(organization, store, register, budtender, clock):
    clock.move_to(LAST_SALE)
    customer = reachable(organization, store, at=LAST_SALE)
    buy(customer, store, register, budtender, LAST_SALE)
    return customer


def walk(clock, moment):
    clock.move_to(moment)
    flows_dates_enrol(moment)
    return flows_run_due(moment)


def test_day_30_enrols_once_and_sends_whats_new(winback, lapsed, clock):
    clock.move_to(DAY_30 - dt.timedelta(hours=2))
    assert flows_dates_enrol() == 0  # 29 days and 23 hours: not yet
    walk(clock, DAY_30)
    assert flows_dates_enrol(DAY_30) == 0  # the hourly job again: the same lapse enrols once
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.customer, enrollment.status, enrollment.entered_at) == (lapsed, "active", DAY_30)
    assert sent(lapsed) == [("email", "Day 30: what's new")]
    message = OutboundMessage.objects.get()
    assert (message.category, message.subject, message.topic) == (
        "marketing",
        "What's new at " + message.store.name,
        "winback",
    )
    assert enrollment.next_step.name == "Opened the day-30 email?"
    assert enrollment.next_run_at == DAY_37


def test_not_opened_gets_new_subject_and_offer_on_day_37(winback, lapsed, clock):
    walk(clock, DAY_30)
    walk(clock, DAY_37 - dt.timedelta(minutes=1))
    assert len(sent(lapsed)) == 1
    walk(clock, DAY_37)
    assert sent(lapsed) == [("email", "Day 30: what's new"), ("email", "Day 37: new subject, an offer")]
    coupon = Coupon.objects.get(customer=lapsed)
    offer = OutboundMessage.objects.order_by("pk").last()
    assert offer.subject == f"Ada, a gift is waiting at {offer.store.name}"
    assert coupon.code in offer.body and offer.origin.coupon == coupon
    assert coupon.valid_until == DAY_37 + dt.timedelta(days=10)
    runs = dict(FlowStepRun.objects.values_list("step__name", "outcome"))
    assert runs["Opened the day-30 email?"] == "no"
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.next_step.name, enrollment.next_run_at) == ("Day 60: a last try", DAY_60)


def test_opened_not_bought_gets_picks_and_points_on_day_45_then_last_try_and_suppression(
    winback, lapsed, clock
):
    walk(clock, DAY_30)
    opened(OutboundMessage.objects.get(), DAY_30 + dt.timedelta(hours=3))
    walk(clock, DAY_37)
    assert len(sent(lapsed)) == 1  # opened: no day-37 offer
    walk(clock, DAY_45)
    assert sent(lapsed)[-1] == ("email", "Day 45: picks for you and your points")
    picks = OutboundMessage.objects.order_by("pk").last()
    assert "Best flower ($45.00)" in picks.body and "You have 0 points waiting" in picks.body
    walk(clock, DAY_60)
    assert sent(lapsed)[-1] == ("sms", "Day 60: a last try")
    assert not Suppression.objects.exists()
    walk(clock, DAY_67)
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.status, enrollment.next_run_at) == ("completed", None)
    suppressions = Suppression.objects.order_by("channel")
    assert [(s.channel, s.reason, s.category, s.lifted_at) for s in suppressions] == [
        ("email", "sunset", "marketing", None),
        ("sms", "sunset", "marketing", None),
    ]


def test_a_purchase_ends_the_flow_and_lifts_the_suppression(
    winback, lapsed, store, register, budtender, clock
):
    walk(clock, DAY_30)
    clock.move_to(DAY_30 + dt.timedelta(days=2))
    buy(lapsed, store, register, budtender, DAY_30 + dt.timedelta(days=2))
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason) == ("converted", "Bought since entering the flow.")
    walk(clock, DAY_37)
    assert len(sent(lapsed)) == 1


def test_suppression_after_win_back_is_lifted_by_a_purchase(
    winback, lapsed, store, register, budtender, clock
):
    for moment in (DAY_30, DAY_37, DAY_60, DAY_67):
        walk(clock, moment)
    assert Suppression.objects.filter(lifted_at__isnull=True).count() == 2
    later = DAY_67 + dt.timedelta(days=3)
    clock.move_to(later)
    buy(lapsed, store, register, budtender, later)
    assert Suppression.objects.filter(lifted_at__isnull=True).count() == 0
    assert set(Suppression.objects.values_list("lifted_reason", flat=True)) == {
        f"Bought again (sale {lapsed.sales.order_by('pk').last().pk})."
    }
