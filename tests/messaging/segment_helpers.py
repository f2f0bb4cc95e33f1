"""A small world for the segment tests: sales written directly (completed, voided, refunded; in store, pickup
or delivery), a loyalty account, a message opened, a link clicked, a conversion, consent rows. Everything is
dated relative to the test's frozen "now"."""

import datetime as dt
import itertools
from decimal import Decimal as D

from django.utils import timezone

from delivery.models import DeliveryAddress, DeliveryOrder, DeliveryZone
from dispensary.models import MarketingConsent
from messaging.models import LinkClick, MessageConversion, MessageStatusEvent, OutboundMessage, ShortLink
from pos.models import PickupOrder, Refund, RefundLine, Sale, SaleLine

_numbers = itertools.count(1)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-122.5, 37.7], [-122.3, 37.7], [-122.3, 37.85], [-122.5, 37.85], [-122.5, 37.7]]],
}


def ago(days: float, hours: float = 0) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days, hours=hours)


def zone_make(store, name="Downtown") -> DeliveryZone:
    return DeliveryZone.objects.create(
        store=store, name=name, geometry=SQUARE, minimum_order=D("0"), fee=D("5"), estimated_minutes=45
    )


def order_make(
    store, customer, *, fulfilment="pickup", status="completed", zone=None, at=None
) -> PickupOrder:
    at = at or timezone.now()
    number = next(_numbers)
    order = PickupOrder.objects.create(
        store=store,
        customer=customer,
        customer_type=customer.customer_type,
        status=status,
        placed_at=at,
        expires_at=at + dt.timedelta(hours=4),
        idempotency_key=f"order-{number}",
        fulfilment=fulfilment,
    )
    if fulfilment == "delivery":
        address = DeliveryAddress.objects.create(
            customer=customer,
            line1="1 Main St",
            city="San Francisco",
            region="CA",
            postal_code="94105",
            latitude=D("37.79"),
            longitude=D("-122.40"),
            source=DeliveryAddress.Source.CLIENT,
        )
        DeliveryOrder.objects.create(
            order=order,
            address=address,
            address_text="1 Main St, San Francisco",
            latitude=address.latitude,
            longitude=address.longitude,
            zone=zone,
            window_start=at,
            window_end=at + dt.timedelta(hours=1),
            fee=D("5"),
            minimum_order=D("0"),
            estimated_minutes=45,
        )
    return order


def sale_make(
    *,
    store,
    register,
    staff,
    customer,
    lines,
    at,
    status=Sale.Status.COMPLETED,
    fulfilment=None,
    zone=None,
) -> Sale:
    """A sale at `at` with lines [(package, total)], in store or from a pickup or delivery order."""
    number = next(_numbers)
    order = order_make(store, customer, fulfilment=fulfilment, zone=zone, at=at) if fulfilment else None
    total = sum((amount for _, amount in lines), D("0"))
    sale = Sale.objects.create(
        store=store,
        register=register,
        customer=customer,
        customer_type=customer.customer_type,
        staff=staff,
        status=status,
        local_date=timezone.localdate(at),
        completed_at=at,
        receipt_number=f"R-{number}",
        idempotency_key=f"sale-{number}",
        subtotal=total,
        total=total,
        pickup_order=order,
        voided_at=at if status == Sale.Status.VOIDED else None,
    )
    for package, amount in lines:
        SaleLine.objects.create(
            sale=sale,
            product=package.product,
            package=package,
            quantity=D("1"),
            unit="each",
            unit_price=amount,
            list_amount=amount,
            net_amount=amount,
            total=amount,
        )
    return sale


def refund_make(sale, amount, *, staff) -> Refund:
    line = sale.lines.first()
    refund = Refund.objects.create(
        sale=sale, reason="returned", actor=staff, approved_by=staff, total=amount, created_at=timezone.now()
    )
    RefundLine.objects.create(
        refund=refund,
        sale_line=line,
        quantity=D("1"),
        restock=True,
        net_amount=amount,
        tax_amount=0,
        total=amount,
    )
    Sale.objects.filter(pk=sale.pk).update(refunded_total=amount)
    return refund


def message_make(customer, **fields) -> OutboundMessage:
    return OutboundMessage.objects.create(
        organization=customer.organization,
        customer=customer,
        channel=fields.pop("channel", "email"),
        category="marketing",
        to=customer.email or customer.phone,
        body="20% off this weekend.",
        status="delivered",
        **fields,
    )


def opened(customer, at) -> MessageStatusEvent:
    message = message_make(customer)
    return MessageStatusEvent.objects.create(
        message=message, status="opened", source="webhook", occurred_at=at
    )


def clicked(customer, at) -> LinkClick:
    message = message_make(customer, channel="sms")
    link = ShortLink.objects.create(
        code=f"c{next(_numbers)}",
        organization=customer.organization,
        message=message,
        target_url="https://x.test/",
    )
    return LinkClick.objects.create(link=link, clicked_at=at, passed_age_gate=True)


def converted(customer, sale, at) -> MessageConversion:
    message = message_make(customer)
    return MessageConversion.objects.create(
        message=message, sale=sale, customer=customer, kind="click", revenue=sale.total, occurred_at=at
    )


def consent(customer, channel, *, granted=True, awaiting=False, at=None) -> MarketingConsent:
    return MarketingConsent.objects.create(
        customer=customer,
        channel=channel,
        purpose=MarketingConsent.Purpose.MARKETING,
        granted=granted,
        awaiting_confirmation=awaiting,
        age_affirmed=True,
        disclosure_version="v1",
        disclosure_text="Offers by text.",
        source="counter",
        recorded_at=at or timezone.now(),
    )
