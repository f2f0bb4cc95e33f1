"""The ready-made flows driven through time: welcome series, post-purchase thank-you with its rating, birthday,
VIP on a higher tier or a spend threshold, abandoned cart, reorder at the usual interval, medical card expiring;
and the demo that switches two of them on."""

import datetime as dt

import pytest
from django.db import transaction

from compliance.models import PatientRegistration
from dispensary.event_types import CustomerCreated
from dispensary.events import publish
from dispensary.models import AuditRecord
from messaging.flow_library import LIBRARY, flow_create_from_library
from messaging.flows import flows_dates_enrol, flows_run_due, rating_link, reorder_due
from messaging.models import Flow, FlowEnrollment, FlowStep, MessagingAlert, OutboundMessage
from pos.events import CartAbandoned, TierChanged
from pos.models import Coupon, LoyaltyAccount, LoyaltyTier, PointsEntry
from tests.messaging.flow_helpers import buy, deliver, live, reachable, sent

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 2, 2, 18, 0, tzinfo=UTC)  # Monday 10:00 in San Francisco


def bodies(customer) -> list[str]:
    return list(
        OutboundMessage.objects.filter(customer=customer).order_by("pk").values_list("body", flat=True)
    )


def test_every_ready_made_flow_is_created_as_a_draft_with_its_steps(organization, manager):
    for key, blueprint in LIBRARY.items():
        flow = flow_create_from_library(organization=organization, key=key, actor=manager)
        assert (flow.status, flow.template, flow.name) == ("draft", key, blueprint["name"])
        assert flow.steps.filter(parent__isnull=True).count() == len(blueprint["steps"])
    again = flow_create_from_library(organization=organization, key="welcome", actor=manager)
    assert again.name == "Welcome series (2)"
    assert AuditRecord.objects.filter(action="flow.created").count() == len(LIBRARY) + 1
    assert FlowStep.objects.get(
        flow__template="winback", name="Day 37: new subject, an offer"
    ).parent.name == ("Opened the day-30 email?")


def test_welcome_series(organization, store, manager, clock, package):
    clock.move_to(NOW)
    flow = live(organization, "welcome", manager)
    ada = reachable(organization, store, at=NOW)
    with transaction.atomic():
        publish(
            CustomerCreated(customer_id=ada.pk, organization_id=organization.pk, customer_type="adult_use")
        )
    deliver()
    flows_run_due(NOW)
    assert sent(ada) == []  # the first wait: an hour
    flows_run_due(NOW + dt.timedelta(hours=1))
    assert sent(ada) == [("email", "Welcome email")]
    clock.move_to(NOW + dt.timedelta(days=2))
    flows_run_due(NOW + dt.timedelta(days=2))  # two days later at 10:00 local
    assert sent(ada)[-1] == ("sms", "What we are known for")
    clock.move_to(NOW + dt.timedelta(days=7))
    flows_run_due(NOW + dt.timedelta(days=7))
    coupon = Coupon.objects.get(customer=ada)
    assert bodies(ada)[-1].startswith(
        f"{store.name}: Ada, here is a welcome gift: code {coupon.code} at the counter."
    )
    assert FlowEnrollment.objects.get(flow=flow).status == "completed"


def test_post_purchase_thanks_and_records_the_rating(
    organization, store, manager, register, budtender, clock, client
):
    clock.move_to(NOW)
    live(organization, "post_purchase", manager)
    ada = reachable(organization, store, at=NOW)
    buy(ada, store, register, budtender, NOW)
    enrollment = FlowEnrollment.objects.get()
    assert enrollment.trigger_key.startswith("sale:")
    flows_run_due(NOW)
    next_day = dt.datetime(2026, 2, 3, 19, 0, tzinfo=UTC)  # 11:00 local
    flows_run_due(next_day - dt.timedelta(minutes=1))
    assert sent(ada) == []
    flows_run_due(next_day)
    link = rating_link(enrollment)
    assert sent(ada) == [("sms", "Thank you and one question")]
    assert link in bodies(ada)[0]
    path = link[link.index("/messaging/") :]
    page = client.get(path)
    assert page.status_code == 200 and b"How was your visit" in page.content
    assert client.post(path, {"score": "9"}).status_code == 400
    answer = client.post(path, {"score": "2"})
    assert answer.status_code == 200 and b"2 out of 5" in answer.content
    enrollment.refresh_from_db()
    assert enrollment.context["rating"] == 2
    assert (
        MessagingAlert.objects.get(kind="flow").message
        == "A customer rated their visit 2 out of 5: call them back."
    )
    assert client.get("/messaging/rate/not-a-token/").status_code == 404


def test_first_purchase_only(organization, store, manager, register, budtender, clock):
    clock.move_to(NOW)
    flow = flow_create_from_library(organization=organization, key="post_purchase", actor=manager)
    flow.trigger = {"type": "event", "event": "pos.sale_completed", "first_purchase": True}
    flow.reentry = "always"
    flow.save()
    from messaging.flows import flow_status_set

    flow_status_set(flow=flow, status="live", actor=manager)
    ada = reachable(organization, store, at=NOW)
    buy(ada, store, register, budtender, NOW)
    buy(ada, store, register, budtender, NOW + dt.timedelta(hours=1))
    assert FlowEnrollment.objects.count() == 1


def test_birthday_from_the_store_morning_once_a_year(organization, store, manager, clock):
    live(organization, "birthday", manager)
    ada = reachable(organization, store, at=NOW, date_of_birth=dt.date(1990, 2, 10))
    reachable(organization, store, at=NOW, date_of_birth=dt.date(1990, 2, 11))
    early = dt.datetime(2026, 2, 10, 16, 30, tzinfo=UTC)  # 08:30 local
    clock.move_to(early)
    assert flows_dates_enrol(early) == 0
    morning = dt.datetime(2026, 2, 10, 17, 30, tzinfo=UTC)
    clock.move_to(morning)
    assert flows_dates_enrol(morning) == 1
    assert flows_dates_enrol(morning + dt.timedelta(hours=1)) == 0
    flows_run_due(morning)
    coupon = Coupon.objects.get(customer=ada)
    assert bodies(ada) == [
        f"{store.name}: happy birthday, Ada! Your gift: code {coupon.code}, for 2 weeks. 21+. Reply STOP to opt out."
    ]
    assert FlowEnrollment.objects.get().trigger_key == "birthday:2026"


def test_vip_on_a_higher_tier_adds_points_and_alerts_staff(organization, store, manager, clock):
    from decimal import Decimal as D

    clock.move_to(NOW)
    LoyaltyTier.objects.create(organization=organization, name="Silver", min_spend=D("100"))
    LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=D("500"))
    live(organization, "vip", manager)
    ada = reachable(organization, store, at=NOW, last_name="Lovelace")
    with transaction.atomic():
        publish(
            TierChanged(
                organization_id=organization.pk, customer_id=ada.pk, from_tier="Gold", to_tier="Silver"
            )
        )
        publish(
            TierChanged(
                organization_id=organization.pk, customer_id=ada.pk, from_tier="Silver", to_tier="Gold"
            )
        )
    deliver()
    assert FlowEnrollment.objects.count() == 1  # a lower tier is no news
    flows_run_due(NOW)
    assert LoyaltyAccount.objects.get(customer=ada).balance == 100
    entry = PointsEntry.objects.get()
    assert (entry.kind, entry.points, entry.note) == ("adjusted", 100, "VIP welcome bonus")
    email = OutboundMessage.objects.get(customer=ada)
    assert email.subject == "You made Gold, Ada"
    assert "We added 100 bonus points: 100 now." in email.body
    assert MessagingAlert.objects.get(kind="flow").message == "Ada Lovelace reached a new tier: say hello."


def test_spend_threshold_trigger(organization, store, manager, register, budtender, clock):
    clock.move_to(NOW)
    flow = flow_create_from_library(organization=organization, key="vip", actor=manager)
    flow.trigger = {"type": "spend", "amount": "100.00"}
    flow.save()
    from messaging.flows import flow_status_set

    flow_status_set(flow=flow, status="live", actor=manager)
    ada = reachable(organization, store, at=NOW)
    buy(ada, store, register, budtender, NOW, total="60.00")
    assert FlowEnrollment.objects.count() == 0
    buy(ada, store, register, budtender, NOW + dt.timedelta(hours=1), total="60.00")
    buy(ada, store, register, budtender, NOW + dt.timedelta(hours=2), total="60.00")
    assert list(FlowEnrollment.objects.values_list("trigger_key", flat=True)) == ["spend:100.00"]


def test_abandoned_cart_reminds_an_hour_later_unless_they_bought(
    organization, store, manager, register, budtender, clock
):
    clock.move_to(NOW)
    live(organization, "abandoned_cart", manager)
    ada = reachable(organization, store, at=NOW)
    bob = reachable(organization, store, at=NOW, first_name="Bob")
    with transaction.atomic():
        for cart, customer in ((1, ada), (2, bob)):
            publish(
                CartAbandoned(
                    cart_id=cart,
                    organization_id=organization.pk,
                    store_id=store.pk,
                    customer_id=customer.pk,
                    lines=[],
                    total_estimate="45.00",
                    last_activity_at=NOW.isoformat(),
                )
            )
    deliver()
    flows_run_due(NOW)
    clock.move_to(NOW + dt.timedelta(minutes=30))
    buy(bob, store, register, budtender, NOW + dt.timedelta(minutes=30))
    flows_run_due(NOW + dt.timedelta(hours=1))
    assert sent(ada) == [("sms", "Still thinking?")] and sent(bob) == []
    assert FlowEnrollment.objects.get(customer=bob).status == "converted"


def test_reorder_at_the_usual_interval_per_category(organization, store, manager, register, budtender, clock):
    clock.move_to(NOW)
    ada = reachable(organization, store, at=NOW)
    for days in (0, 9, 20):  # flower every 9 and 11 days: median 10
        buy(ada, store, register, budtender, NOW + dt.timedelta(days=days), category="flower", publish=False)
    buy(ada, store, register, budtender, NOW + dt.timedelta(days=5), category="edible", publish=False)
    live(organization, "reorder", manager)
    last = (NOW + dt.timedelta(days=20)).date()
    assert reorder_due(customer_ids=[ada.pk], today=last + dt.timedelta(days=9)) == []
    due = reorder_due(customer_ids=[ada.pk], today=last + dt.timedelta(days=10))
    assert [(row[0], row[1], row[2]) for row in due] == [(ada.pk, "flower", 10)]
    moment = NOW + dt.timedelta(days=30)
    clock.move_to(moment)
    assert flows_dates_enrol(moment) == 1
    assert flows_dates_enrol(moment + dt.timedelta(hours=1)) == 0
    flows_run_due(moment)
    assert bodies(ada)[0].startswith(f"{store.name}: Ada, running low on flower? We have it in stock: Best")


def test_medical_card_expiring_in_30_days(organization, store, manager, clock):
    clock.move_to(NOW)
    live(organization, "medical_card", manager)
    patient = reachable(organization, store, at=NOW, customer_type="medical")
    PatientRegistration.objects.create(
        customer=patient, card_number="MI-1", state="CA", expires_on=dt.date(2026, 3, 4)
    )
    assert flows_dates_enrol(NOW) == 1
    flows_run_due(NOW)
    email = OutboundMessage.objects.get(customer=patient)
    assert email.subject == "Your medical card expires on March 4, 2026"
    clock.move_to(NOW + dt.timedelta(days=7))
    flows_run_due(NOW + dt.timedelta(days=7))
    assert sent(patient) == [("email", "Renew your card"), ("sms", "Reminder")]


def test_the_demo_switches_on_welcome_and_winback_with_enrollments(organization, store, manager, clock):
    from messaging.demo_flows import flows_demo

    clock.move_to(NOW)
    manager.username = "manager"
    manager.save()
    people = [reachable(organization, store, at=NOW) for _ in range(4)]
    assert flows_demo(organization, [store], people) == 4
    assert sorted(Flow.objects.filter(status="live").values_list("template", flat=True)) == [
        "welcome",
        "winback",
    ]
    assert FlowEnrollment.objects.filter(status="active").count() == 4
    assert flows_demo(organization, [store], people) == 0
