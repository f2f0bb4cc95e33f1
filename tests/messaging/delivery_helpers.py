"""Helpers of the customer's delivery message tests: a route of three stops (Ada, Bob, Cy; Zoe on another
driver's trip) at a store named Green Leaf, the trip put on the road, and the outbox and the send queue run by
hand."""

from decimal import Decimal as D

import pytest
from django.db import transaction

from delivery.models import Trip
from delivery.services_trips import trip_depart
from dispensary import events
from dispensary.models import EventDelivery, OutboxEvent
from messaging.models import OutboundMessage
from messaging.queue import queue_drain
from tests.delivery.order_fixtures import local

SITE = "https://shop.example"


@pytest.fixture
def outboxes(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_FILE = tmp_path / "sms" / "outbox.log"
    settings.PUBLIC_SITE_URL = SITE
    return tmp_path / "sms" / "outbox.log"


@pytest.fixture
def green_leaf(store):
    store.name = "Green Leaf"
    store.phone = "+14155550100"
    store.latitude, store.longitude = D("37.760000"), D("-122.430000")
    store.save(update_fields=["name", "phone", "latitude", "longitude"])
    return store


@pytest.fixture
def road(route, green_leaf, manager):
    """The route with its driver named Dana, and a way to put the trip on the road at a given time."""
    user = route["dana"].user
    user.first_name, user.last_name = "Dana", "Smith"
    user.save(update_fields=["first_name", "last_name"])

    def depart(at=None):
        Trip.objects.filter(pk=route["trip"].pk).update(state_status=Trip.StateStatus.NOT_REQUIRED)
        with transaction.atomic():
            return trip_depart(trip=route["trip"], by=manager, now=at or local(13))

    return {**route, "depart": depart, "store": green_leaf}


def run_handlers(*event_names: str) -> list[str]:
    """Deliver the pending messaging deliveries of these events, then drain the send queue (as the commit's
    kick or the periodic drain would); returns the statuses of the messages the drain took, in order."""
    for delivery in EventDelivery.objects.filter(
        event__name__in=event_names, handler__startswith="messaging.", status=EventDelivery.Status.PENDING
    ).order_by("pk"):
        events.deliver(delivery.pk)
    return run_messages()


def run_messages() -> list[str]:
    """Drain the send queue: the statuses of the messages that were waiting, in order."""
    waiting = list(
        OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    queue_drain()
    statuses = dict(OutboundMessage.objects.filter(pk__in=waiting).values_list("pk", "status"))
    return [statuses[pk] for pk in waiting]


def redeliver(*event_names: str) -> None:
    """Every delivery of these events delivered a second time, as a lost acknowledgement or the sweeper would:
    set back to pending and run again, then the queue drained again."""
    EventDelivery.objects.filter(event__name__in=event_names, handler__startswith="messaging.").update(
        status=EventDelivery.Status.PENDING
    )
    run_handlers(*event_names)


def publish(event) -> OutboxEvent:
    with transaction.atomic():
        return events.publish(event)
