"""The check-in queue: the door checks customers in (walk-ins, and pickup orders as they arrive), budtenders
take the next one or a chosen one, and an entry ends served or gone. Each write locks the rows it changes."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from compliance.identity import IdRefused
from compliance.models import IdVerification
from dispensary.audit import audit_record
from dispensary.clock import store_local_date
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import Customer, Store, User
from pos.models import CustomerType, PickupOrder, QueueEntry, Register

LIVE = (QueueEntry.Status.WAITING, QueueEntry.Status.SERVING)
NUMBER_ATTEMPTS = 5


class AlreadyInQueue(Conflict):
    code = "already_in_queue"


class QueueEmpty(Conflict):
    code = "queue_empty"


class QueueEntryClosed(Conflict):
    """The entry is no longer in the state the action needs (someone else called it, or it ended)."""

    code = "queue_entry_closed"


class PickupNotReserved(Conflict):
    code = "pickup_not_reserved"


def display_name_of(customer: Customer) -> str:
    """What the lobby screen shows: the first name and the last name's initial, never more."""
    first = customer.first_name.strip()
    initial = customer.last_name.strip()[:1].upper()
    return f"{first} {initial}.".strip() if initial else first


def _check_id(id_verification: IdVerification, *, store: Store, customer: Customer | None, today: dt.date):
    if id_verification.store_id != store.pk or id_verification.local_date != today:
        raise IdRefused(
            "The ID check is not from this visit: check the ID again.",
            details={"id_verification": ["Not from this store today."]},
        )
    if customer is not None and id_verification.customer_id not in (None, customer.pk):
        raise IdRefused(
            "The ID checked belongs to another customer.", details={"id_verification": ["Other customer."]}
        )
    if not id_verification.passed:
        problems = list(id_verification.problems or ["The ID check did not pass."])
        raise IdRefused(" ".join(problems), details={"problems": problems})


def _validate_check_in(*, store, customer, customer_type, pickup_order) -> None:
    if customer_type not in CustomerType.values:
        raise ValidationFailed(
            f"Unknown customer type {customer_type!r}.", details={"customer_type": ["Unknown customer type."]}
        )
    if customer is not None and customer.organization_id != store.organization_id:
        raise ValidationFailed("Unknown customer.", details={"customer": ["Unknown customer."]})
    if pickup_order is None:
        return
    if pickup_order.store_id != store.pk:
        raise ValidationFailed(
            "Unknown pickup order.", details={"pickup_order": ["Not an order of this store."]}
        )
    if customer is not None and customer.pk != pickup_order.customer_id:
        raise ValidationFailed(
            "The pickup order belongs to another customer.", details={"pickup_order": ["Other customer."]}
        )
    if customer_type != pickup_order.customer_type:
        raise ValidationFailed(
            f"The pickup order was placed as {pickup_order.get_customer_type_display().lower()}.",
            details={"customer_type": ["Not the order's customer type."]},
        )


def _next_number(store: Store, today: dt.date) -> int:
    highest = QueueEntry.objects.filter(store=store, local_date=today).aggregate(Max("number"))["number__max"]
    return (highest or 0) + 1


def queue_check_in(
    *,
    store: Store,
    staff: User,
    customer: Customer | None = None,
    display_name: str = "",
    customer_type: str,
    id_verification: IdVerification | None = None,
    pickup_order: PickupOrder | None = None,
    now: dt.datetime | None = None,
) -> QueueEntry:
    """Put a customer in the store's queue with the next ticket number of the store's local day.

    Two doors checking in at once never share a number: the unique constraint decides and the loser takes
    the next one. A customer already waiting or being served today is refused, and so is an ID check that
    did not pass. A pickup order that arrives becomes checked in and its entry comes from the pickup."""
    if pickup_order is not None and customer is None:
        customer = pickup_order.customer
    _validate_check_in(store=store, customer=customer, customer_type=customer_type, pickup_order=pickup_order)
    now = now or timezone.now()
    today = store_local_date(store, at=now)
    name = display_name_of(customer) if customer is not None else " ".join(display_name.split())
    name = name[:40] or "Guest"
    with transaction.atomic():
        if id_verification is not None:
            _check_id(id_verification, store=store, customer=customer, today=today)
        if pickup_order is not None:
            # Lock order: the pickup order, then the customer (the same order everywhere in this module).
            locked_order = PickupOrder.objects.select_for_update(of=("self",)).get(pk=pickup_order.pk)
            if locked_order.status != PickupOrder.Status.RESERVED:
                raise PickupNotReserved(
                    f"Pickup order {locked_order.pk} is {locked_order.get_status_display().lower()}, not reserved.",
                    details={"pickup_order": [locked_order.status]},
                )
        if customer is not None:
            # One check-in at a time per customer, so two doors cannot both add them.
            Customer.objects.select_for_update(of=("self",)).filter(pk=customer.pk).first()
            present = (
                QueueEntry.objects.filter(store=store, local_date=today, customer=customer, status__in=LIVE)
                .order_by("id")
                .first()
            )
            if present is not None:
                doing = "being served" if present.status == QueueEntry.Status.SERVING else "waiting"
                raise AlreadyInQueue(
                    f"{name} is already {doing} as #{present.number}.",
                    details={"queue_entry": present.pk, "number": present.number, "status": present.status},
                )
        entry = QueueEntry(
            store=store,
            local_date=today,
            source=QueueEntry.Source.PICKUP if pickup_order is not None else QueueEntry.Source.WALK_IN,
            customer=customer,
            display_name=name,
            customer_type=customer_type,
            id_verification=id_verification,
            pickup_order=pickup_order,
            status=QueueEntry.Status.WAITING,
            checked_in_at=now,
            checked_in_by=staff if isinstance(staff, User) else None,
        )
        for attempt in range(NUMBER_ATTEMPTS):
            entry.pk = None
            entry.number = _next_number(store, today)
            try:
                with transaction.atomic():
                    entry.save()
                break
            except IntegrityError:
                # Another door took this number between our read and insert; read again and retry.
                if attempt == NUMBER_ATTEMPTS - 1:
                    raise
        if pickup_order is not None:
            PickupOrder.objects.filter(pk=pickup_order.pk).update(status=PickupOrder.Status.CHECKED_IN)
            pickup_order.status = PickupOrder.Status.CHECKED_IN
        audit_record(
            actor=staff,
            action="queue.checked_in",
            instance=entry,
            after={
                "number": entry.number,
                "local_date": today.isoformat(),
                "source": entry.source,
                "customer_type": customer_type,
                "customer": customer.pk if customer is not None else None,
                "pickup_order": pickup_order.pk if pickup_order is not None else None,
                "id_verification": id_verification.pk if id_verification is not None else None,
            },
            organization=store.organization,
            store=store,
        )
    return entry


def _check_register(register: Register | None, store: Store) -> None:
    if register is not None and (register.store_id != store.pk or not register.active):
        raise ValidationFailed(
            "Unknown register.", details={"register": ["Not an open register of this store."]}
        )


def _serve(entry: QueueEntry, *, staff: User, register: Register | None, now: dt.datetime) -> QueueEntry:
    entry.status = QueueEntry.Status.SERVING
    entry.called_at = now
    entry.served_by = staff
    entry.register = register
    entry.save(update_fields=["status", "called_at", "served_by", "register"])
    audit_record(
        actor=staff,
        action="queue.called",
        instance=entry,
        before={"status": QueueEntry.Status.WAITING},
        after={"status": entry.status, "register": register.pk if register is not None else None},
        organization=entry.store.organization,
        store=entry.store,
    )
    return entry


def queue_call_next(
    *, store: Store, staff: User, register: Register | None = None, now: dt.datetime | None = None
) -> QueueEntry:
    """Take the customer who has waited longest today. Locked rows are skipped, so two budtenders pressing
    "next" at the same moment get two different customers; QueueEmpty when nobody is waiting."""
    _check_register(register, store)
    now = now or timezone.now()
    today = store_local_date(store, at=now)
    with transaction.atomic():
        entry = (
            # Only the entry's row is locked (not the joined store's); the other budtender skips it, no wait.
            QueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("store__organization")
            .filter(store=store, local_date=today, status=QueueEntry.Status.WAITING)
            .order_by("checked_in_at", "id")
            .first()
        )
        if entry is None:
            raise QueueEmpty("Nobody is waiting.")
        return _serve(entry, staff=staff, register=register, now=now)


def _locked(entry: QueueEntry) -> QueueEntry:
    return (
        QueueEntry.objects.select_for_update(of=("self",))
        .select_related("store__organization", "served_by")
        .get(pk=entry.pk)
    )


def queue_entry_call(
    *, entry: QueueEntry, staff: User, register: Register | None = None, now: dt.datetime | None = None
) -> QueueEntry:
    """Serve a chosen waiting customer (a pickup that is ready, a regular asking for someone)."""
    _check_register(register, entry.store)
    with transaction.atomic():
        locked = _locked(entry)
        if locked.status != QueueEntry.Status.WAITING:
            if locked.status == QueueEntry.Status.SERVING:
                by = locked.served_by.get_full_name() if locked.served_by else "someone"
                message = f"#{locked.number} {locked.display_name} is already being served by {by}."
            else:
                message = f"#{locked.number} {locked.display_name} is no longer waiting."
            raise QueueEntryClosed(message, details={"status": locked.status})
        return _serve(locked, staff=staff, register=register, now=now or timezone.now())


def _close(entry: QueueEntry, *, staff: User, status: str, allowed: tuple, note: str, now) -> QueueEntry:
    with transaction.atomic():
        locked = _locked(entry)
        if locked.status not in allowed:
            raise QueueEntryClosed(
                f"#{locked.number} {locked.display_name} is {locked.get_status_display().lower()}.",
                details={"status": locked.status},
            )
        before = locked.status
        locked.status = status
        locked.finished_at = now or timezone.now()
        locked.note = note
        locked.save(update_fields=["status", "finished_at", "note"])
        if locked.pickup_order_id is not None:
            # Still only checked in (the checkout did not complete it): the customer went without their order,
            # which stays reserved until it is collected or expires.
            PickupOrder.objects.filter(
                pk=locked.pickup_order_id, status=PickupOrder.Status.CHECKED_IN
            ).update(status=PickupOrder.Status.RESERVED)
        audit_record(
            actor=staff,
            action="queue.finished" if status == QueueEntry.Status.DONE else "queue.left",
            instance=locked,
            before={"status": before},
            after={"status": status, **({"note": note} if note else {})},
            organization=locked.store.organization,
            store=locked.store,
        )
    return locked


def queue_entry_finish(*, entry: QueueEntry, staff: User, now: dt.datetime | None = None) -> QueueEntry:
    """The customer was served (whether or not they bought). A pickup order the checkout did not complete goes
    back to reserved."""
    return _close(
        entry,
        staff=staff,
        status=QueueEntry.Status.DONE,
        allowed=(QueueEntry.Status.SERVING,),
        note="",
        now=now,
    )


def queue_entry_leave(
    *, entry: QueueEntry, staff: User, note: str = "", now: dt.datetime | None = None
) -> QueueEntry:
    """The customer left before or while being served; the note says why, when anyone knows."""
    note = " ".join((note or "").split())
    if len(note) > 300:
        raise ValidationFailed(
            "Keep the note under 300 characters.", details={"note": ["At most 300 characters."]}
        )
    return _close(entry, staff=staff, status=QueueEntry.Status.LEFT, allowed=LIVE, note=note, now=now)
