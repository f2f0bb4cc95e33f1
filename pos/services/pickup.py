"""Orders placed ahead (online through the API, by phone, at a kiosk), for pickup or delivery, under the same limit
engine as the checkout, their stock allocated until the order is handed over (a sale whose quote's cart names the
order completes it, at the counter or at the door), cancelled, or the hold expires. delivery.services places a
delivery order through `pickup_order_create` after checking the zone, the window and the zone's minimum."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.identity import caregiver_link_get, medical_status
from dispensary.audit import audit_record
from dispensary.clock import store_local_date
from dispensary.errors import Conflict, ValidationFailed
from dispensary.events import publish
from dispensary.inputs import InputRejected, quantity_parse
from dispensary.models import ApiClient, Customer, Store, User
from inventory.models import quantity_text
from inventory.services import (
    Reference,
    StockRequest,
    StockTake,
    stock_allocate,
    stock_commit,
    stock_release,
    stock_sell,
)
from pos.errors import SaleNotAllowed
from pos.events import PickupOrderClosed, PickupOrderPlaced
from pos.models import (
    AgeVerificationMethod,
    CustomerType,
    Fulfilment,
    OrderChannel,
    PickupOrder,
    PickupOrderLine,
)
from pos.selectors.checks import purchase_check
from pos.selectors.pickup import OPEN_STATUSES, pickup_reserved_purchases
from pos.selectors.quote import CartInput, QuoteLineInput, buyer_resident, products_for, quote
from pos.services.order_events import (
    CANCELLED_EXPIRED,
    cancelled_by,
    order_cancelled_publish,
    order_placed_publish,
    order_ready_publish,
)

DEFAULT_HOLD_HOURS = 24
MAX_DAYS_AHEAD = 14
MAX_LINES = 50


# Checks made before the hand-over; the counter's scan and the door's check are recorded when the order completes.
AHEAD_METHODS = (
    AgeVerificationMethod.ONLINE,
    AgeVerificationMethod.MEDICAL_CARD,
    AgeVerificationMethod.KIOSK_STATED,
)


@dataclass(frozen=True)
class AgeVerificationInput:
    """How the ordering channel verified the customer's age and identity before the order: online by the
    channel's own service (its reference), or the medical card checked (its number)."""

    method: str
    reference: str = ""
    verified_by_name: str = ""


def idempotency_owner(*, api_client: ApiClient | None, created_by: User | None) -> str:
    """Whose idempotency key it is: an API client's or a staff member's (two callers may use the same key)."""
    if api_client is not None:
        return f"client:{api_client.pk}"
    return f"user:{created_by.pk}" if created_by is not None else ""


def pickup_order_for_key(*, store: Store, api_client, created_by, idempotency_key: str) -> PickupOrder | None:
    """The order this caller already placed under this key at this store, if any."""
    owner = idempotency_owner(api_client=api_client, created_by=created_by)
    return PickupOrder.objects.filter(
        store=store, idempotency_owner=owner, idempotency_key=idempotency_key
    ).first()


def pickup_hold() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "POS_PICKUP_HOLD_HOURS", DEFAULT_HOLD_HOURS)))


def pickup_reference(order: PickupOrder) -> Reference:
    return Reference("pickup", str(order.pk))


def pickup_order_takes(order: PickupOrder) -> list[StockTake]:
    """What the order holds allocated, one take per line."""
    return [StockTake(line.package_id, line.product_id, line.quantity) for line in order.lines.all()]


def _quantity(value) -> Decimal | None:
    try:
        quantity = quantity_parse(value)
    except InputRejected:
        return None
    return quantity if quantity > 0 else None


def _validate(
    *,
    store,
    customer,
    customer_type,
    lines,
    idempotency_key,
    pickup_after,
    now,
    note,
    external_reference,
    fulfilment=Fulfilment.PICKUP,
    channel=OrderChannel.API,
    age_verification=None,
) -> list[tuple[int, Decimal]]:
    problems: dict[str, list] = {}
    if fulfilment not in Fulfilment.values:
        problems["fulfilment"] = [f"Use one of {', '.join(Fulfilment.values)}."]
    if channel not in OrderChannel.values:
        problems["channel"] = [f"Use one of {', '.join(OrderChannel.values)}."]
    if age_verification is not None:
        if age_verification.method not in AHEAD_METHODS:
            problems["age_verification"] = [
                "Before the hand-over, an order records an online verification or a medical card; the ID "
                "scanned at the counter or checked at the door is recorded when the order is handed over."
            ]
        elif age_verification.method == AgeVerificationMethod.KIOSK_STATED and channel != OrderChannel.KIOSK:
            problems["age_verification"] = ["An age stated at the kiosk is for kiosk orders only."]
        elif age_verification.method == AgeVerificationMethod.MEDICAL_CARD and customer_type != "medical":
            problems["age_verification"] = ["A medical card verifies medical orders only."]
        elif (
            len(age_verification.reference or "") > 120 or len(age_verification.verified_by_name or "") > 120
        ):
            problems["age_verification"] = ["At most 120 characters for the reference and the name."]
    if customer is None or customer.organization_id != store.organization_id:
        problems["customer"] = ["Unknown customer."]
    if customer_type not in CustomerType.values:
        problems["customer_type"] = [f"Unknown customer type {customer_type!r}."]
    if not idempotency_key or len(idempotency_key) > 100:
        problems["idempotency_key"] = ["Give an idempotency key of at most 100 characters."]
    if len(external_reference or "") > 120:
        problems["external_reference"] = ["At most 120 characters."]
    if len(note or "") > 2000:
        problems["note"] = ["At most 2000 characters."]
    if pickup_after is not None:
        if pickup_after.tzinfo is None:
            problems["pickup_after"] = ["Give the time with its UTC offset."]
        elif pickup_after < now - dt.timedelta(minutes=5):
            problems["pickup_after"] = ["This time has passed."]
        elif pickup_after > now + dt.timedelta(days=MAX_DAYS_AHEAD):
            problems["pickup_after"] = [f"At most {MAX_DAYS_AHEAD} days ahead."]
    parsed = []
    if not lines:
        problems["lines"] = ["An order has at least one line."]
    elif len(lines) > MAX_LINES:
        problems["lines"] = [f"At most {MAX_LINES} lines."]
    else:
        for number, line in enumerate(lines, start=1):
            product_id, quantity = line
            quantity = _quantity(quantity)
            if quantity is None or not isinstance(product_id, int):
                problems.setdefault("lines", []).append(
                    f"Line {number}: a product id and a quantity above 0."
                )
            else:
                parsed.append((product_id, quantity))
    if problems:
        raise ValidationFailed("The order cannot be placed as given.", details=problems)
    return parsed


def _ahead_verification(age_verification, *, api_client, created_by, now) -> dict:
    if age_verification is None:
        return {}
    by_name = age_verification.verified_by_name or (
        api_client.name if api_client is not None else created_by.get_full_name() or created_by.username
    )
    # The customer states their age at the kiosk: no staff member verified it (the ID is checked at the counter).
    stated = age_verification.method == AgeVerificationMethod.KIOSK_STATED
    return {
        "age_verification_method": age_verification.method,
        "age_verification_reference": age_verification.reference or "",
        "age_verified_by": created_by if api_client is None and not stated else None,
        "age_verified_by_name": by_name[:120],
        "age_verified_at": now,
    }


def _check_customer(*, store: Store, customer: Customer, customer_type: str, today: dt.date) -> None:
    if customer_type == CustomerType.MEDICAL:
        status = medical_status(customer=customer, today=today)
        if not status.allowed:
            raise SaleNotAllowed(" ".join(status.problems), details={"problems": list(status.problems)})


def _age(customer: Customer, today: dt.date) -> int | None:
    born = customer.date_of_birth
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def pickup_order_create(
    *,
    store: Store,
    customer: Customer,
    customer_type: str,
    lines: Sequence[tuple[int, Decimal]],
    idempotency_key: str,
    api_client: ApiClient | None = None,
    created_by: User | None = None,
    pickup_after: dt.datetime | None = None,
    note: str = "",
    external_reference: str = "",
    now: dt.datetime | None = None,
    caregiver: Customer | None = None,
    fulfilment: str = Fulfilment.PICKUP,
    channel: str | None = None,
    age_verification: AgeVerificationInput | None = None,
) -> PickupOrder:
    """Place a pickup order in one transaction: the limits (counting the customer's purchases and other open
    orders), the stock allocated first-expiring-first-out, priced at list price. The same caller's key at the same
    store returns the first order (the unique constraint decides); a refused order writes nothing. `caregiver`
    collects a medical patient's order (a registered caregiver of the patient: a younger patient may be served
    so where the state allows it). `fulfilment` is pickup or delivery (delivery.services.delivery_order_create
    places delivery orders); `channel` where the order came from (api, phone, kiosk, staff; by default the API
    for a client, staff for a staff member); `age_verification` how the channel verified the customer's age and
    identity before the order (online, or the medical card)."""
    now = now or timezone.now()
    if channel is None:
        channel = OrderChannel.API if api_client is not None else OrderChannel.STAFF
    if caregiver is not None and (
        caregiver.organization_id != store.organization_id or customer_type != CustomerType.MEDICAL
    ):
        raise ValidationFailed(
            "A caregiver collects a medical patient's order.", details={"caregiver": ["Medical orders only."]}
        )
    parsed = _validate(
        store=store,
        customer=customer,
        customer_type=customer_type,
        lines=lines,
        idempotency_key=idempotency_key,
        pickup_after=pickup_after,
        now=now,
        note=note,
        external_reference=external_reference,
        fulfilment=fulfilment,
        channel=channel,
        age_verification=age_verification,
    )
    today = store_local_date(store, at=now)
    actor = created_by or api_client
    # The key belongs to its caller: another caller's order under the same key is none of this caller's.
    owner = idempotency_owner(api_client=api_client, created_by=created_by)
    with transaction.atomic():
        order = PickupOrder(
            store=store,
            customer=customer,
            customer_type=customer_type,
            placed_at=now,
            pickup_after=pickup_after,
            expires_at=(pickup_after or now) + pickup_hold(),
            idempotency_key=idempotency_key,
            idempotency_owner=owner,
            source="api" if api_client is not None else "staff",
            api_client=api_client,
            created_by=created_by,
            external_reference=external_reference or "",
            note=note or "",
            caregiver=caregiver,
            fulfilment=fulfilment,
            channel=channel,
            **_ahead_verification(age_verification, api_client=api_client, created_by=created_by, now=now),
        )
        try:
            with transaction.atomic():
                order.save()
        except IntegrityError:
            first = PickupOrder.objects.filter(
                store=store, idempotency_owner=owner, idempotency_key=idempotency_key
            ).first()
            if first is None:
                raise
            if first.customer_id != customer.pk:
                raise Conflict(
                    "This idempotency key was used for another customer's order.",
                    details={"idempotency_key": idempotency_key},
                    code="idempotency_key_reused",
                ) from None
            return first
        # One order or sale at a time per customer, so two cannot both use the same allowance.
        Customer.objects.select_for_update(of=("self",)).filter(pk=customer.pk).first()
        _check_customer(store=store, customer=customer, customer_type=customer_type, today=today)
        if caregiver is not None:
            caregiver_link_get(caregiver=caregiver, patient=customer, today=today)
        products = products_for(store, [product_id for product_id, _ in parsed])
        unknown = sorted({product_id for product_id, _ in parsed} - set(products))
        if unknown:
            raise ValidationFailed("Unknown products.", details={"product_ids": unknown})
        inputs = [QuoteLineInput(product_id=product_id, quantity=quantity) for product_id, quantity in parsed]
        purchase_check(
            store=store,
            customer=customer,
            customer_type=customer_type,
            age=_age(customer, today),
            lines=inputs,
            products=products,
            now=now,
            pending=pickup_reserved_purchases(customer=customer, at=now),
            # No ID yet: residency by the customer's address on record (the ID is checked at pickup).
            resident=buyer_resident(store=store, customer=customer),
            id_at_pickup=True,
            via_caregiver=caregiver is not None,
        )
        takes = stock_allocate(
            store=store,
            requests=[StockRequest(product_id=line.product_id, quantity=line.quantity) for line in inputs],
            actor=actor,
            reference=pickup_reference(order),
        )
        rows = PickupOrderLine.objects.bulk_create(
            [
                PickupOrderLine(
                    order=order,
                    product_id=take.product_id,
                    package_id=take.package_id,
                    quantity=take.quantity,
                    unit_price=products[take.product_id].price,
                )
                for take in takes
            ]
        )
        priced = quote(
            CartInput(
                store=store,
                customer_type=customer_type,
                lines=tuple(inputs),
                customer=customer,
                age=_age(customer, today),
                resident=buyer_resident(store=store, customer=customer),
                caregiver=caregiver,
                at=now,
            ),
            picks=False,  # the order's packages are the ones allocated above
        )
        order.estimated_total = priced.total
        order.save(update_fields=["estimated_total"])
        line_data = [
            {
                "product_id": row.product_id,
                "package_id": row.package_id,
                "quantity": quantity_text(row.quantity),
                "unit": products[row.product_id].sold_by,
            }
            for row in rows
        ]
        audit_record(
            actor=actor,
            action="pickup_order.placed",
            instance=order,
            after={
                "customer_type": customer_type,
                "fulfilment": fulfilment,
                "channel": channel,
                "age_verification_method": order.age_verification_method,
                "estimated_total": str(order.estimated_total),
                "expires_at": order.expires_at.isoformat(),
                "lines": line_data,
            },
            organization=store.organization,
            store=store,
        )
        publish(
            PickupOrderPlaced(
                pickup_order_id=order.pk,
                organization_id=store.organization_id,
                store_id=store.pk,
                customer_id=customer.pk,
                placed_at=now.astimezone(dt.UTC).isoformat(),
                expires_at=order.expires_at.astimezone(dt.UTC).isoformat(),
                estimated_total=str(order.estimated_total),
                lines=line_data,
            )
        )
        if fulfilment == Fulfilment.PICKUP:
            # A delivery order's events carry its zone and window: delivery_order_create publishes them once
            # its delivery row exists, in this same transaction.
            order_placed_publish(order)
        return order


class PickupOrderClosedAlready(Conflict):
    code = "pickup_order_closed"


def locked_open_order(order: PickupOrder) -> PickupOrder:
    """The order, locked, with its store; refuses one that is no longer open."""
    locked = (
        PickupOrder.objects.select_for_update(of=("self",))
        .select_related("store", "store__organization")
        .get(pk=order.pk)
    )
    if locked.status not in OPEN_STATUSES:
        raise PickupOrderClosedAlready(
            f"This pickup order is {locked.get_status_display().lower()}.", details={"status": locked.status}
        )
    return locked


def _close(
    order: PickupOrder, *, status: str, actor, reason: str, now: dt.datetime, cancelled_by_whom: str
) -> PickupOrder:
    store = order.store
    takes = pickup_order_takes(order)
    if takes:
        stock_release(store=store, takes=takes, actor=actor, reference=pickup_reference(order))
    before = order.status
    order.status = status
    order.closed_at = now
    order.save(update_fields=["status", "closed_at"])
    audit_record(
        actor=actor,
        action=f"pickup_order.{status}",
        instance=order,
        before={"status": before},
        after={"status": status, "reason": reason},
        organization=store.organization,
        store=store,
    )
    publish(
        PickupOrderClosed(
            pickup_order_id=order.pk,
            organization_id=store.organization_id,
            store_id=store.pk,
            status=status,
            closed_at=now.astimezone(dt.UTC).isoformat(),
            reason=reason,
        )
    )
    order_cancelled_publish(order, reason=cancelled_by_whom, reason_text=reason, at=now)
    return order


@transaction.atomic
def pickup_order_cancel(
    *, order: PickupOrder, actor, reason: str, now: dt.datetime | None = None, by: str | None = None
) -> PickupOrder:
    """Cancel an open order: its stock goes back to available. `by` is who cancelled for OrderCancelled's
    reason ("customer" or "staff"); by default an API client cancels for the customer, a staff member as staff."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationFailed(
            "Give the reason for cancelling (at most 500 characters).", details={"reason": ["Required."]}
        )
    locked = locked_open_order(order)
    if by not in (None, "customer", "staff"):
        raise ValueError(f"unknown canceller {by!r}")
    return _close(
        locked,
        status=PickupOrder.Status.CANCELLED,
        actor=actor,
        reason=reason,
        now=now or timezone.now(),
        cancelled_by_whom=by or cancelled_by(actor),
    )


class PickupOrderNotForPickup(Conflict):
    code = "not_a_pickup_order"


@transaction.atomic
def pickup_order_ready(*, order: PickupOrder, actor, now: dt.datetime | None = None) -> PickupOrder:
    """Staff say an open pickup order is prepared and waits at the counter: audited, and OrderReady tells the
    customer (messaging texts them once per order, however often staff say so)."""
    locked = locked_open_order(order)
    if locked.fulfilment != Fulfilment.PICKUP:
        raise PickupOrderNotForPickup(
            "This order is delivered: the driver's trip tells the customer.",
            details={"fulfilment": locked.fulfilment},
        )
    now = now or timezone.now()
    audit_record(
        actor=actor,
        action="pickup_order.ready",
        instance=locked,
        after={"ready_at": now.astimezone(dt.UTC).isoformat()},
        organization=locked.store.organization,
        store=locked.store,
    )
    order_ready_publish(locked, at=now)
    return locked


def pickup_orders_expire(*, now: dt.datetime | None = None) -> int:
    """Release every open order whose hold has run out (the periodic job); each in its own transaction, so one
    failure does not keep the others' stock. Returns how many expired."""
    now = now or timezone.now()
    due = list(
        PickupOrder.objects.filter(status=PickupOrder.Status.RESERVED, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    for order_id in due:
        with transaction.atomic():
            locked = (
                PickupOrder.objects.select_for_update(of=("self",))
                .select_related("store", "store__organization")
                .get(pk=order_id)
            )
            if locked.status != PickupOrder.Status.RESERVED or locked.expires_at > now:
                continue
            _close(
                locked,
                status=PickupOrder.Status.EXPIRED,
                actor=None,
                reason="The hold expired.",
                now=now,
                cancelled_by_whom=CANCELLED_EXPIRED,
            )
            expired += 1
    return expired


def _merged(takes: list[StockTake]) -> list[StockTake]:
    """Adjacent takes of one package as one (a line served partly from the allocation, partly from the shelf)."""
    result: list[StockTake] = []
    for take in takes:
        if result and result[-1].package_id == take.package_id:
            last = result.pop()
            take = StockTake(take.package_id, take.product_id, last.quantity + take.quantity)
        result.append(take)
    return result


def pickup_order_fulfil(
    *, order: PickupOrder, sale, requests: Sequence[StockRequest], actor, now: dt.datetime
) -> list[StockTake]:
    """Take a sale's stock when it completes a pickup order, inside the sale's transaction: each request is
    served from the order's allocation first (a pinned package only from its own), anything more is sold from
    the shelf, and what the order allocated but the sale did not take is released. Returns the takes in the
    order of the requests, as `stock_sell` would, and marks the order completed with the sale."""
    locked = locked_open_order(order)
    if locked.store_id != sale.store_id or locked.customer_id != sale.customer_id:
        raise ValidationFailed(
            "This pickup order belongs to another customer or store.",
            details={"pickup_order": ["Not this sale's customer at this store."]},
        )
    remaining = [[line.package_id, line.product_id, line.quantity] for line in locked.lines.all()]
    from_allocation: list[list[StockTake]] = []
    from_shelf: list[tuple[int, StockRequest]] = []
    for index, request in enumerate(requests):
        wanted, got = Decimal(request.quantity), []
        for slot in remaining:
            if wanted <= 0:
                break
            package_id, product_id, left = slot
            if product_id != request.product_id or left <= 0:
                continue
            if request.package_id is not None and package_id != request.package_id:
                continue
            take = min(wanted, left)
            slot[2] -= take
            wanted -= take
            got.append(StockTake(package_id, product_id, take))
        from_allocation.append(got)
        if wanted > 0:
            from_shelf.append((index, StockRequest(request.product_id, wanted, request.package_id)))

    sale_reference = Reference("sale", str(sale.pk))
    committed = [take for got in from_allocation for take in got]
    if committed:
        stock_commit(store=locked.store, takes=committed, actor=actor, reference=sale_reference)
    unused = [
        StockTake(package_id, product_id, left) for package_id, product_id, left in remaining if left > 0
    ]
    if unused:
        stock_release(store=locked.store, takes=unused, actor=actor, reference=pickup_reference(locked))
    sold = (
        stock_sell(
            store=locked.store,
            requests=[request for _, request in from_shelf],
            actor=actor,
            reference=sale_reference,
        )
        if from_shelf
        else []
    )
    pieces, shelf_by_index = iter(sold), {}
    for index, request in from_shelf:
        wanted, got = request.quantity, []
        while wanted > 0:
            take = next(pieces)
            wanted -= take.quantity
            got.append(take)
        shelf_by_index[index] = got
    takes = []
    for index, got in enumerate(from_allocation):
        takes += _merged(got + shelf_by_index.get(index, []))

    before = locked.status
    locked.status = PickupOrder.Status.COMPLETED
    locked.closed_at = now
    fields = ["status", "closed_at"]
    if sale.id_verification_id is not None:
        # The ID checked at the hand-over is the order's verification of record.
        locked.age_verification_method = (
            AgeVerificationMethod.DOOR_CHECK
            if locked.fulfilment == Fulfilment.DELIVERY
            else AgeVerificationMethod.COUNTER_SCAN
        )
        locked.id_verification_id = sale.id_verification_id
        locked.age_verified_by = actor if getattr(actor, "pk", None) else None
        locked.age_verified_by_name = (actor.get_full_name() or actor.username)[:120] if actor else ""
        locked.age_verified_at = now
        locked.age_verification_reference = ""
        fields += [
            "age_verification_method",
            "id_verification",
            "age_verified_by",
            "age_verified_by_name",
            "age_verified_at",
            "age_verification_reference",
        ]
    locked.save(update_fields=fields)
    type(sale).objects.filter(pk=sale.pk).update(pickup_order=locked)
    sale.pickup_order = locked
    store = locked.store
    audit_record(
        actor=actor,
        action="pickup_order.completed",
        instance=locked,
        before={"status": before},
        after={
            "status": PickupOrder.Status.COMPLETED,
            "sale_id": sale.pk,
            "age_verification_method": locked.age_verification_method,
            "released": [
                {"package_id": take.package_id, "quantity": quantity_text(take.quantity)} for take in unused
            ],
        },
        organization=store.organization,
        store=store,
    )
    publish(
        PickupOrderClosed(
            pickup_order_id=locked.pk,
            organization_id=store.organization_id,
            store_id=store.pk,
            status=PickupOrder.Status.COMPLETED,
            closed_at=now.astimezone(dt.UTC).isoformat(),
            sale_id=sale.pk,
        )
    )
    return takes
