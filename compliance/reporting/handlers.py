"""Handlers that turn domain events into reports to the state (sync records). Each runs in its delivery's
transaction, so a report is queued exactly once per event (and the outbox retries a handler that failed).

What is reported, in the order the state needs it (records touching a package are sent in creation order):
- a sale: its receipt under the licence matching the customer, then the finishing of packages it emptied;
- a void: unfinishing packages it refills, then the receipt's void;
- a refund: unfinishing, then the receipt's update (or its void when no line is left), then the waste of what
  came back as waste, then finishing what the waste emptied again;
- an adjustment or waste: unfinishing, the adjustment with the state's reason, finishing.
Whether a package reached zero or left it is read from the ledger (its balance after each movement), so it is
right however late the event is handled. Quantities go in the unit the state holds each package in."""

import datetime as dt
from decimal import Decimal

from django.db.models import Sum

from compliance.models import PatientRegistration, SyncRecord
from compliance.reporting.state_lists import (
    state_adjustment_reason,
    state_customer_types,
    state_registration_location_id,
)
from compliance.reporting.sync import sync_record_create
from compliance.reporting.trip_closing import delivery_sale_report
from compliance.traceability.base import Operation
from compliance.traceability.metrc import (
    adjustment_object,
    metrc_customer_type,
    package_finish_object,
    package_unfinish_object,
    receipt_object,
    state_quantity,
    transaction_object,
)
from compliance.traceability.registry import store_license
from dispensary.clock import store_local_date
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Store
from inventory.events import PackageAdjusted, PackageWasted
from inventory.models import Package, StockMovement, WasteRecord
from pos.events import SaleCompleted, SaleRefunded, SaleVoided

TAX_FIELDS = ("excise_tax", "sales_tax", "city_tax", "county_tax", "municipal_tax")
MEDICAL_TYPES = ("medical", "caregiver", "external_patient")
ZERO = Decimal(0)


def _sale_key(sale_id) -> str:
    return f"sale:{sale_id}"


def _receipt_number(store: Store, sale_id) -> str:
    return f"{store.code}-{sale_id}"


def sale_license(store: Store, customer_type: str) -> str:
    """The licence a sale is reported under: the medical licence for patients and caregivers, the adult-use
    licence otherwise (each falls back to the other where the store holds one only)."""
    if customer_type in MEDICAL_TYPES:
        return store.license_medical or store.license_adult_use
    return store.license_adult_use or store.license_medical


def _packages(ids) -> dict[int, Package]:
    return {p.pk: p for p in Package.objects.filter(pk__in=set(ids)).only("id", "tag", "unit", "state_unit")}


def _transactions(lines: list[dict]) -> list[dict]:
    packages = _packages(line["package_id"] for line in lines if line.get("package_id"))
    objects = []
    for line in lines:
        package = packages.get(line.get("package_id"))
        quantity, unit = state_quantity(line["quantity"], line["unit"], package.state_unit if package else "")
        objects.append(
            transaction_object(
                line["package_label"],
                quantity,
                unit,
                line["total_amount"],
                discount_amount=line.get("discount_amount"),
                **{name: line.get(name) for name in TAX_FIELDS},
            )
        )
    return objects


# --- Packages reaching zero and leaving it ------------------------------------------------------------------


def _transitions(movements) -> tuple[list[str], list[tuple[str, dt.datetime]]]:
    """From the ledger: the labels of packages these movements took out of zero (to unfinish first) and of
    those they left at zero (to finish after, with the time)."""
    unfinish: list[str] = []
    finish: dict[str, dt.datetime] = {}
    for movement in sorted(movements, key=lambda m: m.pk):
        after = (
            StockMovement.objects.filter(package_id=movement.package_id, pk__lte=movement.pk).aggregate(
                total=Sum("quantity")
            )["total"]
            or ZERO
        )
        before = after - movement.quantity
        label = movement.package.tag
        if before == ZERO and after > ZERO:
            finish.pop(label, None)
            if label not in unfinish:
                unfinish.append(label)
        elif before > ZERO and after == ZERO:
            finish[label] = movement.created_at
    return unfinish, list(finish.items())


def _still_empty(lines: list[dict], movements: list[StockMovement]) -> list[tuple[str, dt.datetime]]:
    """Packages of `lines` at zero on the ledger as of `movements` (a refund's), with when they reached it."""
    cutoff = max((m.pk for m in movements), default=None)
    empty = []
    for package_id in dict.fromkeys(line["package_id"] for line in lines if line.get("package_id")):
        history = StockMovement.objects.filter(package_id=package_id)
        if cutoff is not None:
            history = history.filter(pk__lte=cutoff)
        if (history.aggregate(total=Sum("quantity"))["total"] or ZERO) == ZERO:
            last = history.exclude(quantity=ZERO).select_related("package").order_by("-pk").first()
            if last is not None:
                empty.append((last.package.tag, last.created_at))
    return empty


def _report_unfinish(
    event, store: Store, labels: list[str], license_number: str, reference: tuple[str, str]
) -> None:
    if labels:
        sync_record_create(
            store=store,
            kind=Operation.PACKAGE_UNFINISH.value,
            payload=[package_unfinish_object(label) for label in labels],
            order_keys=labels,
            source_event=_event_uuid(event),
            reference=reference,
            license_number=license_number,
        )


def _report_finish(
    event,
    store: Store,
    finished: list[tuple[str, dt.datetime]],
    license_number: str,
    reference: tuple[str, str],
) -> None:
    if finished:
        sync_record_create(
            store=store,
            kind=Operation.PACKAGE_FINISH.value,
            payload=[package_finish_object(label, store_local_date(store, at=at)) for label, at in finished],
            order_keys=[label for label, _ in finished],
            source_event=_event_uuid(event),
            reference=reference,
            license_number=license_number,
        )


def _movements(reference_type: str, reference_id, kinds) -> list[StockMovement]:
    return list(
        StockMovement.objects.filter(
            reference_type=reference_type, reference_id=str(reference_id), kind__in=kinds
        ).select_related("package")
    )


# --- Sales ----------------------------------------------------------------------------------------------


def _sale_customer(store: Store, license_number: str, event: SaleCompleted) -> dict:
    """SalesCustomerType and the licence numbers that go with it, where the state offers the type: a
    caregiver buying for a patient, a patient registered in another state (external patient), a patient."""
    if event.customer_type != "medical":
        return {"customer_type": event.customer_type}
    offered = state_customer_types(store, license_number)

    def offers(kind: str) -> bool:
        return offered is None or metrc_customer_type(kind) in offered

    patient = event.patient_license_number or None
    if event.caregiver_license_number and offers("caregiver"):
        return {
            "customer_type": "caregiver",
            "patient_license": patient,
            "caregiver_license": event.caregiver_license_number,
        }
    registration = (
        PatientRegistration.objects.filter(customer_id=event.customer_id).only("state").first()
        if event.customer_id
        else None
    )
    home_state = store.jurisdiction.removeprefix("US-").upper()
    if registration and registration.state.upper() != home_state and offers("external_patient"):
        return {
            "customer_type": "external_patient",
            "patient_license": patient,
            "patient_registration_location_id": state_registration_location_id(
                store, license_number, registration.state
            ),
        }
    return {"customer_type": "medical", "patient_license": patient}


@handles(SaleCompleted)
def on_sale_completed_report_receipt(event: SaleCompleted) -> None:
    store = Store.objects.get(pk=event.store_id)
    sold_at = dt.datetime.fromisoformat(event.completed_at)
    number = _receipt_number(store, event.sale_id)
    license_number = sale_license(store, event.customer_type)
    customer = _sale_customer(store, license_number, event)
    transactions = _transactions(event.lines)
    if delivery_sale_report(event, store, transactions=transactions, customer=customer):
        return  # a delivered order: the state's delivery record of its stop, not a receipt too
    receipt = receipt_object(
        sold_at,
        store.tz,
        customer["customer_type"],
        customer.get("patient_license"),
        transactions=transactions,
        caregiver_license=customer.get("caregiver_license"),
        external_receipt_number=number,
        patient_registration_location_id=customer.get("patient_registration_location_id"),
    )
    sync_record_create(
        store=store,
        kind=Operation.SALES_RECEIPT_CREATE.value,
        payload=[receipt],
        order_keys=[*(line["package_label"] for line in event.lines), _sale_key(event.sale_id)],
        source_event=_event_uuid(event),
        reference=("sale", str(event.sale_id)),
        external_number=number,
        license_number=license_number,
    )
    _, finished = _transitions(_movements("sale", event.sale_id, [StockMovement.Kind.SOLD]))
    _report_finish(event, store, finished, store_license(store), ("sale", str(event.sale_id)))


def _create_record(store_id: int, sale_id) -> SyncRecord | None:
    return (
        SyncRecord.objects.filter(
            store_id=store_id,
            kind=Operation.SALES_RECEIPT_CREATE.value,
            reference_type="sale",
            reference_id=str(sale_id),
        )
        .order_by("id")
        .first()
    )


def _void_record_exists(store_id: int, sale_id) -> bool:
    return SyncRecord.objects.filter(
        store_id=store_id,
        kind=Operation.SALES_RECEIPT_VOID.value,
        reference_type="sale",
        reference_id=str(sale_id),
    ).exists()


def _report_void(event, store: Store, create: SyncRecord | None, license_number: str) -> None:
    # The receipt's state id is filled in when the void is sent (after the receipt was accepted).
    sync_record_create(
        store=store,
        kind=Operation.SALES_RECEIPT_VOID.value,
        payload=[{}],
        order_keys=create.order_keys if create else [_sale_key(event.sale_id)],
        source_event=_event_uuid(event),
        reference=("sale", str(event.sale_id)),
        license_number=license_number,
    )


@handles(SaleVoided)
def on_sale_voided_report_void(event: SaleVoided) -> None:
    store = Store.objects.get(pk=event.store_id)
    if _void_record_exists(store.pk, event.sale_id):
        return  # a refund of every line already voided the receipt
    create = _create_record(store.pk, event.sale_id)
    license_number = create.license_number if create else store_license(store)
    refilled, _ = _transitions(_movements("sale", event.sale_id, [StockMovement.Kind.RETURNED]))
    _report_unfinish(event, store, refilled, store_license(store), ("sale", str(event.sale_id)))
    _report_void(event, store, create, license_number)


@handles(SaleRefunded)
def on_sale_refunded_report_update(event: SaleRefunded) -> None:
    """The receipt is restated with what is left of the sale (voided when nothing is), before the waste of
    refunded stock is reported: the state's package only holds it again once the receipt gave it back."""
    store = Store.objects.get(pk=event.store_id)
    create = _create_record(store.pk, event.sale_id)
    license_number = create.license_number if create else store_license(store)
    movements = _movements(
        "refund", event.refund_id, [StockMovement.Kind.RETURNED, StockMovement.Kind.WASTED]
    )
    refilled, emptied = _transitions(movements)
    if event.remaining_lines:
        # The update restates every line: a package still at zero under a line that stays must be unfinished
        # for the state to take the receipt, and finished again after.
        for label, finished_at in _still_empty(event.remaining_lines, movements):
            if label not in refilled:
                refilled.append(label)
            if label not in dict(emptied):
                emptied.append((label, finished_at))
    _report_unfinish(event, store, refilled, store_license(store), ("refund", str(event.refund_id)))
    if not event.remaining_lines:
        if not _void_record_exists(store.pk, event.sale_id):
            _report_void(event, store, create, license_number)
    else:
        # The rest of the receipt (its date, customer type, the state's id) is taken from the original report
        # when this is sent, so it is right even if this event is handled first.
        sync_record_create(
            store=store,
            kind=Operation.SALES_RECEIPT_UPDATE.value,
            payload=[{"Transactions": _transactions(event.remaining_lines)}],
            order_keys=create.order_keys if create else [_sale_key(event.sale_id)],
            source_event=_event_uuid(event),
            reference=("sale", str(event.sale_id)),
            license_number=license_number,
        )
    wasted = [m for m in movements if m.kind == StockMovement.Kind.WASTED]
    if wasted:
        records = {
            r.movement_id: r
            for r in WasteRecord.objects.filter(movement__in=wasted).only("movement_id", "reason", "note")
        }
        adjustments = [
            _adjustment_object(
                store,
                store_license(store),
                movement.package,
                movement.quantity,
                records[movement.pk].reason if movement.pk in records else movement.reason,
                records[movement.pk].note if movement.pk in records else movement.note,
                movement.created_at,
            )
            for movement in wasted
        ]
        sync_record_create(
            store=store,
            kind=Operation.PACKAGE_ADJUST.value,
            payload=adjustments,
            order_keys=sorted({m.package.tag for m in wasted}),
            source_event=_event_uuid(event),
            reference=("refund", str(event.refund_id)),
            license_number=store_license(store),
        )
    _report_finish(event, store, emptied, store_license(store), ("refund", str(event.refund_id)))


# --- Adjustments and waste --------------------------------------------------------------------------------


def _adjustment_object(
    store: Store, license_number: str, package: Package, quantity, reason: str, note: str, at: dt.datetime
) -> dict:
    state_reason = state_adjustment_reason(store, license_number, reason)
    amount, unit = state_quantity(quantity, package.unit, package.state_unit)
    return adjustment_object(
        package.tag,
        amount,
        unit,
        state_reason.name,
        store_local_date(store, at=at),
        note or reason.replace("_", " "),
    )


def _adjustment(event, *, movement: StockMovement, reason: str, note: str) -> None:
    store = Store.objects.get(pk=event.store_id)
    license_number = store_license(store)
    package = movement.package
    refilled, emptied = _transitions([movement])
    reference = ("package", str(package.pk))
    _report_unfinish(event, store, refilled, license_number, reference)
    sync_record_create(
        store=store,
        kind=Operation.PACKAGE_ADJUST.value,
        payload=[
            _adjustment_object(
                store, license_number, package, movement.quantity, reason, note, movement.created_at
            )
        ],
        order_keys=[package.tag],
        source_event=_event_uuid(event),
        reference=reference,
        license_number=license_number,
    )
    _report_finish(event, store, emptied, license_number, reference)


@handles(PackageAdjusted)
def on_package_adjusted_report_adjustment(event: PackageAdjusted) -> None:
    movement = StockMovement.objects.select_related("package").get(pk=event.movement_id)
    _adjustment(event, movement=movement, reason=event.reason, note=movement.note)


@handles(PackageWasted)
def on_package_wasted_report_adjustment(event: PackageWasted) -> None:
    record = WasteRecord.objects.select_related("movement", "movement__package").get(pk=event.waste_record_id)
    if record.movement.reference_type == "refund":
        return  # reported with its refund, after the receipt gave the stock back to the state's package
    note = record.note
    if record.method:
        note = f"{record.get_method_display()}; waste weight {record.waste_weight_g} g. {note}".strip()
    _adjustment(event, movement=record.movement, reason=event.reason, note=note)


def _event_uuid(event) -> str | None:
    return delivering_event_uuid()
