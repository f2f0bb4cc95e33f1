"""Delivery orders: an order placed through the pickup order service (same limits, allocation and idempotency key)
with fulfilment=delivery, after the delivery rules allow it (the address in one of the store's zones and away from
excluded places, the window within the state's legal hours and the store's hours, the zone's minimum), and its
completion at the door as a sale through the counter's path (same ledger, loyalty and state reporting)."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from compliance.models import IdVerification
from compliance.rules.delivery import money_label
from delivery.models import DeliveryAddress, DeliveryOrder
from delivery.selectors import (
    delivery_exclusion_list,
    delivery_window_problems,
    delivery_zone_for_point,
    exclusion_reasons,
    physical_address_reasons,
)
from delivery.services import delivery_address_create
from delivery.services_dispatch import dispatch_insert_quietly
from dispensary.audit import audit_record
from dispensary.errors import ApplicationError, Conflict, ValidationFailed
from dispensary.models import ApiClient, Customer, Store, User
from pos.models import Fulfilment, PickupOrder, Register, Sale
from pos.selectors.quote import CartInput, QuoteLineInput, quote
from pos.services import TenderInput, sale_complete
from pos.services.order_events import order_placed_publish
from pos.services.pickup import (
    MAX_DAYS_AHEAD,
    AgeVerificationInput,
    pickup_order_cancel,
    pickup_order_create,
    pickup_order_for_key,
)

ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country", "latitude", "longitude")


class DeliveryRefused(ApplicationError):
    """The delivery rules refuse the order: details.reasons lists each refusal as {rule, message}, rule one of
    `address` (not a physical address), `zone` (outside every zone), `excluded_place`, `hours` (the state's legal
    hours or the store's), `minimum_order`."""

    code = "delivery_refused"
    status = 422


def _refuse(reasons: list[dict]) -> DeliveryRefused:
    return DeliveryRefused(" ".join(r["message"] for r in reasons), details={"reasons": reasons})


def _place_reasons(store: Store, *, latitude, longitude, line1: str, line2: str) -> tuple[object, list[dict]]:
    """The zone serving the point, and each reason the place is refused with the rule that refuses it."""
    reasons = [{"rule": "address", "message": m} for m in physical_address_reasons(line1, line2)]
    zone = delivery_zone_for_point(store=store, latitude=latitude, longitude=longitude)
    if zone is None:
        reasons.append(
            {"rule": "zone", "message": f"The address is outside every delivery zone of {store.name}."}
        )
    exclusions = delivery_exclusion_list(store=store, active_only=True)
    reasons += [
        {"rule": "excluded_place", "message": m}
        for m in exclusion_reasons(exclusions, latitude=latitude, longitude=longitude)
    ]
    return zone, reasons


def _window_validate(window_start, window_end, *, now: dt.datetime, problems: dict) -> None:
    for name, value in (("window_start", window_start), ("window_end", window_end)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            problems[name] = ["Give the time with its UTC offset."]
    if problems:
        return
    if window_end <= window_start:
        problems["window_end"] = ["The window must end after it starts."]
    elif window_start < now - dt.timedelta(minutes=5):
        problems["window_start"] = ["This time has passed."]
    elif window_start > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        problems["window_start"] = [f"At most {MAX_DAYS_AHEAD} days ahead."]


def _address_text(address: DeliveryAddress) -> str:
    parts = [address.line1, address.line2, address.city, f"{address.region} {address.postal_code}".strip()]
    return ", ".join(part for part in parts if part)[:500]


def delivery_order_create(
    *,
    store: Store,
    customer: Customer,
    customer_type: str,
    lines: Sequence[tuple[int, Decimal]],
    idempotency_key: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    address: DeliveryAddress | None = None,
    new_address: dict | None = None,
    api_client: ApiClient | None = None,
    created_by: User | None = None,
    channel: str | None = None,
    note: str = "",
    external_reference: str = "",
    age_verification: AgeVerificationInput | None = None,
    caregiver: Customer | None = None,
    now: dt.datetime | None = None,
) -> DeliveryOrder:
    """Place a delivery order in one transaction: the address (one of the customer's, or `new_address` with its
    coordinates, saved with the order) in one of the store's active zones and not at an excluded place; the
    window within the state's legal delivery hours and the store's own hours; then the order placed through
    `pickup_order_create` with fulfilment=delivery (the limits counting every open order and the day's sales,
    the stock allocated, the caller's idempotency key); then the zone's minimum against the order's total and
    the zone's fee. Bad input raises ValidationFailed, a rule DeliveryRefused (details.reasons) or the limit
    engine's errors; any of them writes nothing. The same caller's key returns the first delivery order."""
    now = now or timezone.now()
    if idempotency_key:
        first = pickup_order_for_key(
            store=store, api_client=api_client, created_by=created_by, idempotency_key=idempotency_key
        )
        if first is not None:
            delivery = DeliveryOrder.objects.filter(order=first).select_related("order", "zone").first()
            if delivery is None or first.customer_id != getattr(customer, "pk", None):
                raise Conflict(
                    "This idempotency key was used for another order.",
                    details={"idempotency_key": idempotency_key},
                    code="idempotency_key_reused",
                )
            return delivery

    problems: dict[str, list[str]] = {}
    _window_validate(window_start, window_end, now=now, problems=problems)
    if (address is None) == (new_address is None):
        problems["address"] = ["Give one address: one of the customer's, or a new one with its coordinates."]
    elif address is not None and address.customer_id != getattr(customer, "pk", None):
        problems["address"] = ["This address belongs to another customer."]
    elif new_address is not None:
        unknown = sorted(set(new_address) - set(ADDRESS_FIELDS))
        if unknown:
            problems["address"] = [f"Unknown fields: {', '.join(unknown)}."]
        elif new_address.get("latitude") is None or new_address.get("longitude") is None:
            problems["address"] = ["Give the address's latitude and longitude."]
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], details=problems)

    if address is not None:
        latitude, longitude, line1, line2 = address.latitude, address.longitude, address.line1, address.line2
    else:
        latitude, longitude = new_address["latitude"], new_address["longitude"]
        line1, line2 = str(new_address.get("line1") or ""), str(new_address.get("line2") or "")
        try:
            latitude, longitude = Decimal(str(latitude)), Decimal(str(longitude))
            if not (latitude.is_finite() and longitude.is_finite()):
                raise ValueError
        except (ArithmeticError, ValueError):
            message = "Give latitude (-90..90) and longitude (-180..180) as decimal degrees."
            raise ValidationFailed(message, details={"address": [message]}) from None

    with transaction.atomic():
        if new_address is not None:
            # Validated by the address service (fields, physical address, coordinate ranges); rolled back with
            # the order when anything below refuses it.
            address = delivery_address_create(
                customer=customer,
                actor=created_by or api_client,
                line1=new_address.get("line1", ""),
                line2=new_address.get("line2", ""),
                city=new_address.get("city", ""),
                region=new_address.get("region", ""),
                postal_code=new_address.get("postal_code", ""),
                country=new_address.get("country", "US"),
                latitude=latitude,
                longitude=longitude,
                source=DeliveryAddress.Source.STAFF if api_client is None else DeliveryAddress.Source.CLIENT,
            )
        zone, reasons = _place_reasons(
            store, latitude=latitude, longitude=longitude, line1=line1, line2=line2
        )
        reasons += [
            {"rule": "hours", "message": message}
            for message in delivery_window_problems(store=store, start=window_start, end=window_end)
        ]
        if reasons:
            raise _refuse(reasons)
        order = pickup_order_create(
            store=store,
            customer=customer,
            customer_type=customer_type,
            lines=lines,
            idempotency_key=idempotency_key,
            api_client=api_client,
            created_by=created_by,
            pickup_after=window_start,
            note=note,
            external_reference=external_reference,
            now=now,
            caregiver=caregiver,
            fulfilment=Fulfilment.DELIVERY,
            channel=channel,
            age_verification=age_verification,
        )
        # Two requests with one key at once: the second gets the first's order from the pickup service.
        replayed = DeliveryOrder.objects.filter(order=order).select_related("order", "zone").first()
        if replayed is not None:
            return replayed
        if order.fulfilment != Fulfilment.DELIVERY:
            raise Conflict(
                "This idempotency key was used for another order.",
                details={"idempotency_key": idempotency_key},
                code="idempotency_key_reused",
            )
        if order.estimated_total < zone.minimum_order:
            raise _refuse(
                [
                    {
                        "rule": "minimum_order",
                        "message": f"The {zone.name} zone has a minimum order of "
                        f"{money_label(zone.minimum_order)}; this order is {money_label(order.estimated_total)}.",
                    }
                ]
            )
        delivery = DeliveryOrder.objects.create(
            order=order,
            address=address,
            address_text=_address_text(address),
            latitude=latitude,
            longitude=longitude,
            zone=zone,
            window_start=window_start,
            window_end=window_end,
            fee=zone.fee,
            minimum_order=zone.minimum_order,
            estimated_minutes=zone.estimated_minutes,
        )
        audit_record(
            actor=created_by or api_client,
            action="delivery_order.placed",
            instance=delivery,
            after={
                "order_id": order.pk,
                "zone": zone.name,
                "fee": str(zone.fee),
                "window_start": window_start.isoformat(),
                "window_end": window_end.isoformat(),
                "address": delivery.address_text,
            },
            organization=store.organization,
            store=store,
        )
        order_placed_publish(order)
        # A late order joins an open route of its day when that keeps every promise; otherwise it waits with
        # the reason (the order itself is placed either way).
        dispatch_insert_quietly(delivery, by=created_by or api_client)
        return delivery


def delivery_order_cancel(*, delivery: DeliveryOrder, actor, reason: str, now: dt.datetime | None = None):
    """Cancel a delivery order: the pickup order service releases its allocation."""
    return pickup_order_cancel(order=delivery.order, actor=actor, reason=reason, now=now)


def delivery_order_complete(
    *,
    delivery: DeliveryOrder,
    register: Register,
    driver: User,
    id_verification: IdVerification,
    tenders: Sequence[TenderInput],
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> Sale:
    """Hand a delivery order over at the door as a sale: the order's lines quoted with the ID the driver checked
    at the door, completed by the counter's `sale_complete` (the allocation committed, loyalty, the state's
    report, the order completed with the door check recorded as its verification). The delivery fee is kept on
    the delivery order; it is not a line of the sale."""
    order: PickupOrder = delivery.order
    if order.fulfilment != Fulfilment.DELIVERY:
        raise ValidationFailed("This is not a delivery order.", details={"order": ["Not a delivery order."]})
    now = now or timezone.now()
    lines = tuple(
        QuoteLineInput(product_id=line.product_id, quantity=line.quantity, package_id=line.package_id)
        for line in order.lines.all()
    )
    priced = quote(
        CartInput(
            store=order.store,
            customer_type=order.customer_type,
            lines=lines,
            customer=order.customer,
            id_verification=id_verification,
            caregiver=order.caregiver,
            pickup_order=order,
            at=now,
        )
    )
    return sale_complete(
        quote=priced,
        tenders=tenders,
        register=register,
        staff=driver,
        idempotency_key=idempotency_key,
        now=now,
    )
