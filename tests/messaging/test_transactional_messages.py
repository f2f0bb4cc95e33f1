"""The customer's transactional messages queued from events: pickup order confirmed and ready, points earned,
reward available, tier reached, and the medical card expiring in 30 days (the hourly job). Each is queued once per
channel the customer can be reached on (text when they have a phone, email when they have an address), keyed by
what caused it: a redelivered event, a second "ready" or a second run of the job queues nothing new."""

import datetime as dt
import uuid
from decimal import Decimal as D

import pytest

from compliance.models import PatientRegistration
from dispensary import events
from dispensary.models import AuditRecord, EventDelivery, OutboxEvent
from messaging.models import OutboundMessage
from messaging.queue import queue_drain
from messaging.rendering import OPT_OUT_LINE
from messaging.transactional_handlers import medical_card_key, medical_card_notices_queue
from pos.events import PointsEarned, TierChanged
from pos.models import LoyaltyTier, Reward
from pos.services.pickup import PickupOrderNotForPickup, pickup_order_create, pickup_order_ready
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)  # 11:00 AM in San Francisco (daylight time)
HANDLERS = "messaging.transactional_handlers."


@pytest.fixture
def shop(store):
    store.name, store.phone = "Green Leaf", "+14155550100"
    store.save(update_fields=["name", "phone"])
    return store


@pytest.fixture
def ada(organization, shop):
    return CustomerFactory(
        organization=organization,
        first_name="Ada",
        phone="+14155552001",
        email="ada@example.com",
        home_store=shop,
    )


def run(name: str) -> list[str]:
    """Deliver the pending deliveries of this event to the transactional handlers."""
    return [
        events.deliver(delivery.pk).status
        for delivery in EventDelivery.objects.filter(
            event__name=name, handler__startswith=HANDLERS, status=EventDelivery.Status.PENDING
        ).order_by("pk")
    ]


def redeliver(name: str) -> list[str]:
    EventDelivery.objects.filter(event__name=name, handler__startswith=HANDLERS).update(
        status=EventDelivery.Status.PENDING
    )
    return run(name)


def messages(**filters) -> list[tuple]:
    return list(
        OutboundMessage.objects.filter(**filters)
        .order_by("pk")
        .values_list("channel", "to", "purpose", "category", "template_key", "body")
    )


def key_of(name: str, kind: str, customer_id: int, channel: str) -> uuid.UUID:
    event = OutboxEvent.objects.filter(name=name).order_by("pk").last()
    return uuid.uuid5(event.uuid, f"{kind}:{customer_id}:{channel}")


def place(shop, customer, product):
    return pickup_order_create(
        store=shop,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("2"))],
        idempotency_key="order-1",
        now=NOW,
    )


# --- Pickup orders ------------------------------------------------------------------------------------------


def test_pickup_confirmed_by_text_and_email_once(shop, ada, product, package, clock):
    clock.move_to(NOW)
    order = place(shop, ada, product)
    assert run("pos.order_confirmed") == ["succeeded"]
    sms = (
        f"Green Leaf: your pickup order #{order.pk} is confirmed ($110.03). Come any time during opening hours; "
        f"we hold it until tomorrow at 11:00 AM. Bring your ID. {OPT_OUT_LINE}"
    )
    [text, email] = OutboundMessage.objects.order_by("pk")
    assert (text.channel, text.to, text.purpose, text.category, text.template_key, text.body) == (
        "sms",
        "+14155552001",
        "pickup",
        "transactional",
        "pickup_confirmed",
        sms,
    )
    assert (text.customer_id, text.store_id, text.reference, text.status) == (
        ada.pk,
        shop.pk,
        f"order:{order.pk}",
        "queued",
    )
    assert text.key == key_of("pos.order_confirmed", "pickup_confirmed", ada.pk, "sms")
    assert (email.channel, email.to, email.subject) == (
        "email",
        "ada@example.com",
        f"Green Leaf: pickup order #{order.pk} confirmed",
    )
    assert email.body.startswith(f"Hi Ada,\n\nYour pickup order #{order.pk} is confirmed. Total: $110.03.")
    assert OPT_OUT_LINE not in email.body
    # Delivered again (a lost acknowledgement): nothing new.
    assert redeliver("pos.order_confirmed") == ["succeeded"]
    assert OutboundMessage.objects.count() == 2


def test_pickup_ready_once_however_often_staff_say_so(shop, ada, product, package, manager, clock):
    clock.move_to(NOW)
    order = place(shop, ada, product)
    run("pos.order_confirmed")
    clock.move_to(NOW + dt.timedelta(hours=2))
    pickup_order_ready(order=order, actor=manager)
    pickup_order_ready(order=order, actor=manager)  # a second click
    assert OutboxEvent.objects.filter(name="pos.order_ready").count() == 2
    assert AuditRecord.objects.filter(action="pickup_order.ready", object_id=str(order.pk)).count() == 2
    assert run("pos.order_ready") == ["succeeded", "succeeded"]
    ready = messages(template_key="pickup_ready")
    assert ready == [
        (
            "sms",
            "+14155552001",
            "pickup",
            "transactional",
            "pickup_ready",
            # Not the first text to this number any more: no opt-out line.
            f"Green Leaf: your order #{order.pk} is ready for pickup ($110.03). We hold it until tomorrow at "
            "11:00 AM. Bring your ID.",
        ),
        ready[1],
    ]
    assert ready[1][:2] == ("email", "ada@example.com")
    redeliver("pos.order_ready")
    assert len(messages(template_key="pickup_ready")) == 2


def test_ready_is_refused_for_a_delivery_or_closed_order(shop, ada, product, package, manager, clock):
    from pos.models import PickupOrder
    from pos.services.pickup import PickupOrderClosedAlready, pickup_order_cancel

    clock.move_to(NOW)
    order = place(shop, ada, product)
    PickupOrder.objects.filter(pk=order.pk).update(fulfilment="delivery")
    with pytest.raises(PickupOrderNotForPickup):
        pickup_order_ready(order=order, actor=manager)
    PickupOrder.objects.filter(pk=order.pk).update(fulfilment="pickup")
    pickup_order_cancel(order=order, actor=manager, reason="Customer called")
    with pytest.raises(PickupOrderClosedAlready):
        pickup_order_ready(order=order, actor=manager)
    assert OutboxEvent.objects.filter(name="pos.order_ready").count() == 0


def test_ready_button_on_the_pickup_page(client, shop, ada, product, package, manager, clock):
    clock.move_to(NOW)
    order = place(shop, ada, product)
    client.force_login(manager)
    assert f"/pos/pickups/{order.pk}/ready/" in client.get("/pos/pickups/").content.decode()
    response = client.post(f"/pos/pickups/{order.pk}/ready/")
    assert response.status_code == 302
    assert OutboxEvent.objects.filter(name="pos.order_ready").count() == 1
    assert client.post("/pos/pickups/999999/ready/").status_code == 404


def test_a_delivery_order_is_left_to_the_delivery_messages(organization, shop, ada, product, package, clock):
    from pos.models import PickupOrder
    from pos.services.order_events import order_placed_publish

    clock.move_to(NOW)
    order = place(shop, ada, product)
    EventDelivery.objects.all().delete()
    PickupOrder.objects.filter(pk=order.pk).update(fulfilment="delivery")
    order_placed_publish(PickupOrder.objects.select_related("store").get(pk=order.pk))
    assert run("pos.order_confirmed") == ["succeeded"]
    assert OutboundMessage.objects.count() == 0


# --- Loyalty ------------------------------------------------------------------------------------------------


def points(organization, customer, *, earned: int, balance: int):
    events.publish(
        PointsEarned(
            organization_id=organization.pk,
            customer_id=customer.pk,
            sale_id=0,
            points=earned,
            balance=balance,
        )
    )


def test_points_earned_and_the_reward_they_reach(organization, ada):
    ada.email = ""
    ada.save(update_fields=["email"])
    Reward.objects.create(organization=organization, name="Ten off", points_cost=300, value=D("10.00"))
    Reward.objects.create(organization=organization, name="Pre-roll", points_cost=200, value=D("5.00"))
    points(organization, ada, earned=54, balance=320)
    assert run("pos.points_earned") == ["succeeded"]
    assert messages() == [
        (
            "sms",
            "+14155552001",
            "loyalty",
            "transactional",
            "points_earned",
            f"Green Leaf: you earned 54 points. Your balance: 320 points. {OPT_OUT_LINE}",
        ),
        (
            "sms",
            "+14155552001",
            "loyalty",
            "transactional",
            "reward_available",
            "Green Leaf: you have 320 points, enough for $10.00 off (Ten off) (300 points). Ask for it at your "
            "next visit.",
        ),
    ]
    reward_message = OutboundMessage.objects.get(template_key="reward_available")
    assert reward_message.key == key_of("pos.points_earned", "reward_available", ada.pk, "sms")
    assert redeliver("pos.points_earned") == ["succeeded"]
    assert OutboundMessage.objects.count() == 2
    # The next earning does not cross a reward's cost: points only.
    points(organization, ada, earned=10, balance=330)
    run("pos.points_earned")
    assert [row[4] for row in messages()] == ["points_earned", "reward_available", "points_earned"]


def test_tier_reached_but_not_a_lower_one(organization, ada):
    LoyaltyTier.objects.create(organization=organization, name="Silver", min_spend=D("500"))
    LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=D("1000"))
    events.publish(
        TierChanged(organization_id=organization.pk, customer_id=ada.pk, from_tier="Silver", to_tier="Gold")
    )
    events.publish(
        TierChanged(organization_id=organization.pk, customer_id=ada.pk, from_tier="Gold", to_tier="Silver")
    )
    events.publish(
        TierChanged(organization_id=organization.pk, customer_id=ada.pk, from_tier="Gold", to_tier="")
    )
    assert run("pos.tier_changed") == ["succeeded"] * 3
    assert [(row[0], row[4], row[5][:40]) for row in messages()] == [
        ("sms", "tier_reached", "Green Leaf: congratulations, you reached"),
        ("email", "tier_reached", "Hi Ada,\n\nCongratulations: you reached Go"),
    ]
    assert OutboundMessage.objects.get(channel="email").subject == "Green Leaf: welcome to Gold"
    redeliver("pos.tier_changed")
    assert OutboundMessage.objects.count() == 2


def test_a_store_template_words_the_message(organization, ada, shop):
    from messaging.models import MessageTemplate

    MessageTemplate.objects.create(
        organization=organization,
        store=shop,
        key="tier_reached",
        channel="sms",
        body="Hey {first_name}: {tier}!",
    )
    events.publish(
        TierChanged(organization_id=organization.pk, customer_id=ada.pk, from_tier="", to_tier="Gold")
    )
    run("pos.tier_changed")
    assert OutboundMessage.objects.get(channel="sms").body == f"Hey Ada: Gold! {OPT_OUT_LINE}"


def test_queued_messages_are_sent_after_commit(organization, ada, settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_FILE = tmp_path / "outbox.log"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    points(organization, ada, earned=5, balance=5)
    run("pos.points_earned")
    assert queue_drain() == 2
    assert sorted(OutboundMessage.objects.values_list("channel", "status")) == [
        ("email", "sent"),
        ("sms", "sent"),
    ]
    assert "you earned 5 points" in (tmp_path / "outbox.log").read_text()


# --- Medical cards ------------------------------------------------------------------------------------------


def card(customer, expires_on: dt.date, number: str = "MI-1"):
    return PatientRegistration.objects.create(
        customer=customer, card_number=number, state="MI", expires_on=expires_on
    )


def test_medical_card_expiring_in_30_days_queued_once(organization, shop, ada, clock):
    morning = dt.datetime(2026, 6, 5, 11, 0, tzinfo=shop.tz)
    clock.move_to(morning)
    ada.email = ""
    ada.save(update_fields=["email"])
    expiring = card(ada, dt.date(2026, 7, 5))
    bob = CustomerFactory(organization=organization, first_name="Bob", phone="+14155552002", home_store=shop)
    card(bob, dt.date(2026, 7, 6), "MI-2")  # 31 days: not yet
    assert medical_card_notices_queue() == 1
    [message] = OutboundMessage.objects.all()
    assert (message.to, message.purpose, message.category, message.template_key, message.body) == (
        "+14155552001",
        "medical",
        "transactional",
        "medical_card_expiring",
        "Green Leaf: your medical card expires on July 5, 2026. Renew it in time to keep buying as a patient. "
        f"{OPT_OUT_LINE}",
    )
    assert message.key == medical_card_key(expiring.pk, dt.date(2026, 7, 5), "sms")
    assert message.reference == f"patient_registration:{expiring.pk}"
    # The next hourly run, and the next day's: nothing again (Bob's turn comes the next day).
    clock.move_to(morning + dt.timedelta(hours=1))
    assert medical_card_notices_queue() == 0
    clock.move_to(morning + dt.timedelta(days=1))
    assert medical_card_notices_queue() == 1
    assert OutboundMessage.objects.filter(to="+14155552002").count() == 1
    assert OutboundMessage.objects.count() == 2


def test_medical_card_notices_wait_for_the_stores_morning_and_its_today(organization, shop, ada, clock):
    # 11:30 PM in San Francisco is already the next day in UTC: the store's today counts, not UTC's.
    late = dt.datetime(2026, 6, 5, 23, 30, tzinfo=shop.tz)
    card(ada, dt.date(2026, 7, 5))
    clock.move_to(late)
    assert medical_card_notices_queue() == 2  # a text and an email
    OutboundMessage.objects.all().delete()
    early = dt.datetime(2026, 6, 5, 7, 0, tzinfo=shop.tz)
    clock.move_to(early)
    assert medical_card_notices_queue() == 0  # before 10 AM local: later in the morning


def test_medical_card_of_a_customer_without_a_home_store_goes_by_the_first_store(organization, shop, clock):
    second = StoreFactory(organization=organization, name="Second")
    walk_in = CustomerFactory(organization=organization, phone="+14155552003")
    card(walk_in, dt.date(2026, 7, 5))
    clock.move_to(dt.datetime(2026, 6, 5, 12, 0, tzinfo=shop.tz))
    assert medical_card_notices_queue() == 1
    message = OutboundMessage.objects.get()
    assert message.store_id == min(shop.pk, second.pk)
