# ruff: noqa: F811 - the fixtures imported from the delivery tests are parameters of the tests
"""The customer's delivery messages: confirmed, on the way (with the ETA and the tracking link), nearby,
delayed, delivered (with the receipt) and not delivered (the reason in plain words and what happens next), by
text and by email, in the store's local time; each sent once per event even when the event is delivered twice;
nothing for a customer we cannot reach; a lost provider answer never sends twice."""

import re
import uuid

import httpx
import pytest
from django.core import mail

from delivery.events import OrderDelivered, StopApproaching, StopDelayed
from delivery.models import TripStop
from delivery.tracking import latest_positions, stop_etas
from delivery.tracking_links import tracking_token
from dispensary import events
from dispensary.models import EventDelivery, MarketingConsent, OutboxEvent
from messaging import queue
from messaging.models import OutboundMessage
from messaging.providers import TwilioSmsBackend
from messaging.sms import sms_segments, sms_units
from pos.models import Sale
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import local, now, package, product, zone  # noqa: F401 - fixtures
from tests.delivery.test_driver_app import GOOD_ID, PROOF, send
from tests.messaging.delivery_helpers import (  # noqa: F401 - fixtures
    SITE,
    green_leaf,
    outboxes,
    publish,
    redeliver,
    road,
    run_handlers,
    run_messages,
)

pytestmark = pytest.mark.django_db

CONFIRMED = "pos.order_confirmed"
DEPARTED = "delivery.trip_departed"


def link(order) -> str:
    return f"{SITE}/delivery/t/{tracking_token(order.pk)}/"


def texts_to(phone: str) -> list[str]:
    return list(
        OutboundMessage.objects.filter(to=phone, channel="sms").order_by("pk").values_list("body", flat=True)
    )


def sms_file_entries(path) -> int:
    return path.read_text().count("\n--- ") + 1 if path.exists() else 0


def assert_short(body: str) -> None:
    units, gsm = sms_units(body)
    assert gsm, body  # plain characters: one part holds 160
    assert sms_segments(body) <= 2, (units, body)


def test_confirmed_once_each_in_the_store_time_with_the_tracking_link(road, outboxes):
    ada, _ = road["people"][0]
    order = road["orders"][0]
    outcomes = run_handlers(CONFIRMED)
    assert outcomes == ["sent"] * 4  # Ada, Bob, Cy, Zoe: a text each (no email on file)
    [body] = texts_to(ada.phone)
    assert body == (
        f"Green Leaf: your delivery order #{order.order_id} is confirmed for today between 2:00 PM and 4:00 PM. "
        f"Track it: {link(order)}"
    )
    assert_short(body)
    message = OutboundMessage.objects.get(to=ada.phone)
    assert (message.purpose, message.reference, message.status, message.customer_id, message.store_id) == (
        "delivery",
        f"order:{order.order_id}",
        "sent",
        ada.pk,
        road["store"].pk,
    )
    # Every event and every message delivered a second time: nothing is sent again.
    redeliver(CONFIRMED)
    assert OutboundMessage.objects.count() == 4
    assert sms_file_entries(outboxes) == 4


def test_a_customer_with_an_email_gets_it_too_and_a_stopped_number_gets_no_text(road, outboxes):
    ada, _ = road["people"][0]
    bob, _ = road["people"][1]
    ada.email = "ada@example.com"
    ada.save(update_fields=["email"])
    MarketingConsent.objects.create(
        customer=bob,
        channel="sms",
        granted=False,
        disclosure_version="1",
        disclosure_text="STOP",
        source="keyword",
        recorded_at=local(10),
    )
    run_handlers(CONFIRMED)
    assert len(texts_to(ada.phone)) == 1
    [email] = mail.outbox
    order = road["orders"][0]
    assert email.to == ["ada@example.com"]
    assert email.subject == f"Green Leaf: delivery order #{order.order_id} confirmed"
    assert email.body.startswith(
        f"Hi {ada.first_name},\n\nYour delivery order #{order.order_id} is confirmed."
    )
    assert link(order) in email.body and "(415) 555-0100" in email.body
    assert texts_to(bob.phone) == []  # STOP by keyword: no text at all, and no email on file: nothing
    assert OutboundMessage.objects.filter(customer=bob).count() == 0
    redeliver(CONFIRMED)
    assert len(mail.outbox) == 1


def test_on_the_way_one_per_stop_with_the_eta_from_where_the_car_is(road, outboxes, clock):
    clock.move_to(local(13, 30))
    trip = road["depart"](local(13, 30))
    run_handlers(DEPARTED)
    stops = list(trip.stops.select_related("order__order").order_by("sequence"))
    etas = stop_etas(trip, stops, position=latest_positions([trip.pk]).get(trip.pk), now=local(13, 30))
    for stop, (person, _) in zip(stops, road["people"][:3], strict=True):
        [body] = texts_to(person.phone)
        local_eta = etas[stop.pk].service_start.astimezone(road["store"].tz)
        hour = local_eta.hour % 12 or 12
        assert body == (
            f"Green Leaf: Dana is on the way with your order #{stop.order.order_id}. "
            f"Expected around {hour}:{local_eta:%M} {'AM' if local_eta.hour < 12 else 'PM'}. "
            f"Track: {link(stop.order)}"
        )
        assert_short(body)
    first_eta = etas[stops[0].pk].service_start
    assert first_eta == local(14)  # at the door before the window opens: the hand-over waits for 2:00 PM
    zoe, _ = road["people"][3]
    assert texts_to(zoe.phone) == []  # not on this trip
    redeliver(DEPARTED)
    assert OutboundMessage.objects.count() == 3


def test_nearby_and_delayed_once_per_event_and_nothing_for_a_closed_stop(road, outboxes, clock):
    clock.move_to(local(14))
    trip = road["depart"](local(14))
    first, second, _ = list(trip.stops.select_related("order__order").order_by("sequence"))
    ada, _ = road["people"][0]
    bob, _ = road["people"][1]
    facts = {
        "organization_id": trip.organization_id,
        "store_id": trip.store_id,
        "trip_id": trip.pk,
    }
    publish(
        StopApproaching(
            **facts,
            stop_id=first.pk,
            order_id=first.order.order_id,
            delivery_order_id=first.order_id,
            customer_id=ada.pk,
            eta=local(14, 5).isoformat(),
        )
    )
    publish(
        StopDelayed(
            **facts,
            stop_id=second.pk,
            order_id=second.order.order_id,
            delivery_order_id=second.order_id,
            customer_id=bob.pk,
            eta=local(16, 20).isoformat(),
            window_end=local(16).isoformat(),
            late_minutes=20,
        )
    )
    run_handlers("delivery.stop_approaching", "delivery.stop_delayed")
    [nearby] = texts_to(ada.phone)
    assert nearby == (
        f"Green Leaf: Dana is a few minutes away with your order #{first.order.order_id} (around 2:05 PM). "
        "Please have your ID ready."
    )
    [late] = texts_to(bob.phone)
    assert late == (
        f"Green Leaf: sorry, your order #{second.order.order_id} is running late. New estimate: around 4:20 PM. "
        f"Track: {link(second.order)}"
    )
    for body in (nearby, late):
        assert_short(body)
    redeliver("delivery.stop_approaching", "delivery.stop_delayed")
    assert OutboundMessage.objects.count() == 2
    # News of the road about a stop already closed is not sent.
    TripStop.objects.filter(pk=first.pk).update(status=TripStop.Status.DELIVERED)
    publish(
        StopApproaching(
            **facts,
            stop_id=first.pk,
            order_id=first.order.order_id,
            delivery_order_id=first.order_id,
            customer_id=ada.pk,
            eta=local(14, 6).isoformat(),
        )
    )
    assert run_handlers("delivery.stop_approaching") == []
    assert OutboundMessage.objects.count() == 2


def test_delivered_with_the_receipt_and_returned_with_the_reason(road, outboxes, clock):
    clock.move_to(local(14))
    trip = road["depart"](local(14))
    first, second, _ = list(trip.stops.order_by("sequence"))
    dana = road["dana"].user
    clock.move_to(local(14, 10))
    send(dana, "arrived", first)
    send(dana, "id_checked", first, **GOOD_ID)
    send(dana, "proof", first, **PROOF)
    key = str(uuid.uuid4())
    assert send(dana, "delivered", first, key=key, collected="60.00")["outcome"] == "applied"
    assert send(dana, "delivered", first, key=key, collected="60.00")["replayed"] is True
    clock.move_to(local(14, 40))
    send(dana, "arrived", second)
    assert send(dana, "returned", second, reason="nobody_home")["outcome"] == "applied"
    # Published once per stop, whatever the replays.
    assert OutboxEvent.objects.filter(name="delivery.order_delivered").count() == 1
    assert OutboxEvent.objects.filter(name="delivery.order_returned").count() == 1
    delivered = OutboxEvent.objects.get(name="delivery.order_delivered").payload
    sale = Sale.objects.get(pk=delivered["sale_id"])
    assert (delivered["stop_id"], delivered["delivery_order_id"], delivered["trip_id"]) == (
        first.pk,
        first.order_id,
        trip.pk,
    )
    run_handlers("delivery.order_delivered", "delivery.order_returned")
    ada, _ = road["people"][0]
    bob, _ = road["people"][1]
    [done] = texts_to(ada.phone)
    assert done == (
        f"Green Leaf: your order #{first.order.order_id} was delivered at 2:10 PM. Thank you! "
        f"Receipt {sale.receipt_number}, total ${sale.total:.2f}: {link(first.order)}"
    )
    [back] = texts_to(bob.phone)
    assert back == (
        f"Green Leaf: we could not deliver your order #{second.order.order_id}: nobody was home when the driver "
        "came. The goods go back to the store and you were not charged. You are welcome to order again. "
        "Questions? Call (415) 555-0100."
    )
    for body in (done, back):
        assert_short(body)
    redeliver("delivery.order_delivered", "delivery.order_returned")
    assert OutboundMessage.objects.count() == 2


def test_nobody_to_tell_gets_nothing_and_nothing_fails(road, outboxes, clock):
    clock.move_to(local(14))
    trip = road["depart"](local(14))
    first = trip.stops.order_by("sequence").first()
    bob, _ = road["people"][1]
    MarketingConsent.objects.create(
        customer=bob,
        channel="sms",
        granted=False,
        disclosure_version="1",
        disclosure_text="STOP",
        source="keyword",
        recorded_at=local(10),
    )
    for customer_id in (None, bob.pk, 10**9):
        publish(
            OrderDelivered(
                organization_id=trip.organization_id,
                store_id=trip.store_id,
                trip_id=trip.pk,
                stop_id=first.pk,
                order_id=first.order.order_id,
                delivery_order_id=first.order_id,
                customer_id=customer_id,
                sale_id=10**9,
                delivered_at=local(14, 10).isoformat(),
            )
        )
    assert run_handlers("delivery.order_delivered") == []
    statuses = set(
        EventDelivery.objects.filter(event__name="delivery.order_delivered").values_list("status", flat=True)
    )
    assert statuses == {EventDelivery.Status.SUCCEEDED}
    assert OutboundMessage.objects.count() == 0 and mail.outbox == []


def http_sms(monkeypatch, handler):
    calls = []

    def answer(request):
        calls.append(request)
        return handler(request)

    backend = TwilioSmsBackend(
        api_url="https://sms.test",
        account_sid="AC1",
        auth_token="token",
        from_number="+14155550000",
        timeout=1,
        transport=httpx.MockTransport(answer),
    )
    monkeypatch.setattr(queue, "sms_backend", lambda: backend)
    return calls


def test_a_lost_answer_is_never_sent_twice(road, outboxes, monkeypatch):
    """The provider took the text but its answer was lost (a read timeout): the message is recorded as maybe
    sent and no retry or redelivery sends it again."""

    def lost(request):
        raise httpx.ReadTimeout("timed out", request=request)

    calls = http_sms(monkeypatch, lost)
    ada, _ = road["people"][0]
    assert run_handlers(CONFIRMED) == ["failed"] * 4
    assert len(calls) == 4
    message = OutboundMessage.objects.get(to=ada.phone)
    assert message.status == "failed" and "may have been sent" in message.error
    redeliver(CONFIRMED)
    assert len(calls) == 4 and OutboundMessage.objects.count() == 4


def test_an_outage_is_retried_and_sends_once_and_a_failing_email_never_resends_the_text(
    road, outboxes, monkeypatch, clock
):
    clock.move_to(local(10))
    ada, _ = road["people"][0]
    ada.email = "ada@example.com"
    ada.save(update_fields=["email"])
    answers = {"n": 0}

    def flaky(request):
        answers["n"] += 1
        if answers["n"] == 1:
            raise httpx.ConnectError("refused", request=request)  # nothing reached the provider
        return httpx.Response(201, json={"sid": f"SM{answers['n']}"})

    calls = http_sms(monkeypatch, flaky)
    broken = {"on": True}
    real_send = queue.email_send

    def email_send(**kwargs):
        if broken["on"]:
            from messaging.providers import ProviderUnavailable

            raise ProviderUnavailable("Mail server error: timeout")
        return real_send(**kwargs)

    monkeypatch.setattr(queue, "email_send", email_send)
    run_handlers(CONFIRMED)
    ada_text = OutboundMessage.objects.get(customer=ada, channel="sms")
    ada_email = OutboundMessage.objects.get(customer=ada, channel="email")
    # The refused connection: Ada's text waits its backoff (the other texts after it wait this second out).
    assert (ada_text.status, ada_text.attempts, ada_text.send_after > local(10)) == ("queued", 1, True)
    assert ada_email.status == "queued" and "timeout" in ada_email.error
    broken["on"] = False
    # The retries, once their backoff is over: every waiting message sent once.
    clock.move_to(local(11))
    run_messages()
    redeliver(CONFIRMED)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{ada_email.key}@localhost>"
    to_ada = [request for request in calls if ada.phone in request.content.decode().replace("%2B", "+")]
    assert len(to_ada) == 2  # the refused connection, then the one text that went out
    assert {request.headers["I-Twilio-Idempotency-Token"] for request in to_ada} == {str(ada_text.key)}
    assert OutboundMessage.objects.filter(customer=ada, channel="sms", status="sent").count() == 1
    assert OutboundMessage.objects.filter(status="sent").count() == 5  # four texts, one email
    assert len(calls) == 5


def test_news_of_the_road_too_late_to_matter_is_not_sent(road, outboxes, clock):
    clock.move_to(local(14))
    trip = road["depart"](local(14))
    first = trip.stops.select_related("order").order_by("sequence").first()
    ada, _ = road["people"][0]
    publish(
        StopApproaching(
            organization_id=trip.organization_id,
            store_id=trip.store_id,
            trip_id=trip.pk,
            stop_id=first.pk,
            order_id=first.order.order_id,
            delivery_order_id=first.order_id,
            customer_id=ada.pk,
            eta=local(14, 5).isoformat(),
        )
    )
    for delivery in EventDelivery.objects.filter(event__name="delivery.stop_approaching"):
        events.deliver(delivery.pk)
    clock.move_to(local(15, 30))  # the message waited in the queue (an outage) for over an hour
    run_messages()
    message = OutboundMessage.objects.get()
    assert message.status == "expired" and "out of date" in message.error
    assert not outboxes.exists()


def test_segments_are_counted_like_the_carriers():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("é" * 160) == 1  # in the GSM alphabet
    assert sms_segments("[" * 80) == 1 and sms_segments("[" * 81) == 2  # extension characters count twice
    assert sms_segments("’" + "a" * 69) == 1 and sms_segments("’" + "a" * 70) == 2  # UCS-2
    assert re.fullmatch(r"\d+", str(sms_units("ok")[0]))
