"""Helpers of the flows tests: a reachable customer, purchases that publish SaleCompleted, the flows' handlers
delivered, opens recorded on a message's timeline, and a ready-made flow switched on."""

import datetime as dt
import itertools
import uuid
from decimal import Decimal as D

from django.db import transaction

from dispensary import events
from dispensary.models import EventDelivery, MarketingConsent
from messaging.flow_library import flow_create_from_library
from messaging.flows import flow_status_set
from messaging.models import FlowStep, MessageStatusEvent, OutboundMessage
from pos.events import SaleCompleted
from pos.models import Promotion, Sale, SaleLine
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, receive

_numbers = itertools.count(1)
HANDLERS = "messaging.flow_handlers."


def reachable(organization, store, *, at, channels=("sms", "email"), **fields):
    """A customer with a phone and an email who agreed to marketing on `channels` at the counter."""
    number = next(_numbers)
    customer = CustomerFactory(
        organization=organization,
        home_store=store,
        first_name=fields.pop("first_name", "Ada"),
        phone=fields.pop("phone", f"+1415555{9000 + number:04d}"),
        email=fields.pop("email", f"customer{number}@example.com"),
        **fields,
    )
    from dispensary.consent import disclosure_get

    for channel in channels:
        disclosure = disclosure_get(channel)
        MarketingConsent.objects.create(
            customer=customer,
            channel=channel,
            purpose=MarketingConsent.Purpose.MARKETING,
            granted=True,
            age_affirmed=True,
            disclosure_version=disclosure.version if disclosure else "test-1",
            disclosure_text="I agree to receive offers.",
            source="counter",
            store=store,
            recorded_at=at - dt.timedelta(days=400),
        )
    return customer


def product_of(store, category: str):
    """The store's product of a category and its package (made on first use)."""
    from inventory.models import Package, Product

    product = Product.objects.filter(organization_id=store.organization_id, name=f"Best {category}").first()
    if product is None:
        product = ProductFactory(organization=store.organization, category=category, name=f"Best {category}")
    package = Package.objects.filter(store=store, product=product).first() or receive(store, product, 50)
    return product, package


def buy(customer, store, register, staff, when, *, category="flower", total="40.00", publish=True) -> Sale:
    """A completed sale at `when` with one line of `category`; SaleCompleted published with it."""
    product, package = product_of(store, category)
    with transaction.atomic():
        sale = Sale.objects.create(
            store=store,
            register=register,
            customer=customer,
            customer_type="adult_use",
            staff=staff,
            local_date=when.astimezone(store.tz).date(),
            completed_at=when,
            receipt_number=f"R-{next(_numbers)}",
            idempotency_key=str(uuid.uuid4()),
            subtotal=D(total),
            total=D(total),
        )
        SaleLine.objects.create(
            sale=sale,
            product=product,
            package=package,
            quantity=D("1"),
            unit="each",
            unit_price=D(total),
            list_amount=D(total),
            net_amount=D(total),
            total=D(total),
        )
        if publish:
            events.publish(
                SaleCompleted(
                    sale_id=sale.pk,
                    organization_id=store.organization_id,
                    store_id=store.pk,
                    completed_at=when.isoformat(),
                    customer_type="adult_use",
                    lines=[],
                    customer_id=customer.pk,
                    receipt_number=sale.receipt_number,
                )
            )
    deliver()
    return sale


def deliver() -> list[str]:
    """Deliver the pending deliveries to the flows' handlers."""
    return [
        events.deliver(delivery.pk).status
        for delivery in EventDelivery.objects.filter(
            handler__startswith=HANDLERS, status=EventDelivery.Status.PENDING
        ).order_by("pk")
    ]


def opened(message: OutboundMessage, when) -> None:
    MessageStatusEvent.objects.create(message=message, status="opened", source="webhook", occurred_at=when)


def promotion(organization, name="15% off") -> Promotion:
    return Promotion.objects.create(organization=organization, name=name, kind="percent", value=D("15"))


def live(organization, key: str, actor, *, offer: Promotion | None = None, **changes):
    """A ready-made flow with its coupons' promotion chosen, switched on."""
    flow = flow_create_from_library(organization=organization, key=key, actor=actor)
    for step in FlowStep.objects.filter(flow=flow, kind="coupon"):
        step.config = {**step.config, "promotion": (offer or promotion(organization)).pk}
        step.save(update_fields=["config"])
    for name, value in changes.items():
        setattr(flow, name, value)
    if changes:
        flow.save()
    return flow_status_set(flow=flow, status="live", actor=actor)


def sent(customer) -> list[tuple[str, str]]:
    """(channel, step name) of the flow messages to the customer, oldest first."""
    return [
        (message.channel, message.origin.flow_step.name)
        for message in OutboundMessage.objects.filter(customer=customer, purpose="flow")
        .select_related("origin__flow_step")
        .order_by("pk")
    ]
