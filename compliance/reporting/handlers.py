"""Handlers that turn domain events into reports to the state (sync records). Each runs in its delivery's
transaction, so a report is queued exactly once per event (and the outbox retries a handler that failed)."""

import datetime as dt

from compliance.models import SyncRecord
from compliance.reporting.sync import sync_record_create
from compliance.traceability.base import Operation
from compliance.traceability.metrc import adjustment_object, receipt_object, transaction_object
from dispensary.clock import store_local_date
from dispensary.events import delivering_event_uuid, handles
from dispensary.models import Store
from inventory.events import PackageAdjusted, PackageWasted
from inventory.models import Package, StockMovement
from pos.events import SaleCompleted, SaleRefunded, SaleVoided

# Our adjustment and waste reasons -> Metrc's package adjustment reasons (GET /packages/v2/adjust/reasons).
# States name them slightly differently; a store whose state refuses one sees the state's message on the
# sync page and can edit the report and resend it.
METRC_ADJUSTMENT_REASONS = {
    "damaged": "Waste",
    "expired": "Waste",
    "destroyed": "Waste",
    "theft_shrinkage": "Theft",
    "scale_variance": "Scale Variance",
    "entry_error": "Entry Error",
    "lab_sample": "Waste",
    "returned_to_vendor": "Entry Error",
    "count_variance": "Scale Variance",
}
TAX_FIELDS = ("excise_tax", "sales_tax", "city_tax", "county_tax", "municipal_tax")


def _sale_key(sale_id) -> str:
    return f"sale:{sale_id}"


def _transactions(lines: list[dict]) -> list[dict]:
    return [
        transaction_object(
            line["package_label"],
            line["quantity"],
            line["unit"],
            line["total_amount"],
            discount_amount=line.get("discount_amount"),
            **{name: line.get(name) for name in TAX_FIELDS},
        )
        for line in lines
    ]


def _receipt_number(store: Store, sale_id) -> str:
    return f"{store.code}-{sale_id}"


@handles(SaleCompleted)
def on_sale_completed_report_receipt(event: SaleCompleted) -> None:
    store = Store.objects.get(pk=event.store_id)
    sold_at = dt.datetime.fromisoformat(event.completed_at)
    number = _receipt_number(store, event.sale_id)
    receipt = receipt_object(
        sold_at,
        store.tz,
        event.customer_type,
        event.patient_license_number or None,
        transactions=_transactions(event.lines),
        caregiver_license=event.caregiver_license_number or None,
        external_receipt_number=number,
    )
    sync_record_create(
        store=store,
        kind=Operation.SALES_RECEIPT_CREATE.value,
        payload=[receipt],
        order_keys=[*(line["package_label"] for line in event.lines), _sale_key(event.sale_id)],
        source_event=_event_uuid(event),
        reference=("sale", str(event.sale_id)),
        external_number=number,
    )


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


@handles(SaleVoided)
def on_sale_voided_report_void(event: SaleVoided) -> None:
    store = Store.objects.get(pk=event.store_id)
    create = _create_record(store.pk, event.sale_id)
    # The receipt's state id is filled in when the void is sent (after the receipt was accepted).
    sync_record_create(
        store=store,
        kind=Operation.SALES_RECEIPT_VOID.value,
        payload=[{}],
        order_keys=create.order_keys if create else [_sale_key(event.sale_id)],
        source_event=_event_uuid(event),
        reference=("sale", str(event.sale_id)),
    )


@handles(SaleRefunded)
def on_sale_refunded_report_update(event: SaleRefunded) -> None:
    store = Store.objects.get(pk=event.store_id)
    create = _create_record(store.pk, event.sale_id)
    # The rest of the receipt (its date, customer type, the state's id) is taken from the original report
    # when this is sent, so it is right even if this event is handled first.
    receipt = {"Transactions": _transactions(event.remaining_lines)}
    sync_record_create(
        store=store,
        kind=Operation.SALES_RECEIPT_UPDATE.value,
        payload=[receipt],
        order_keys=create.order_keys if create else [_sale_key(event.sale_id)],
        source_event=_event_uuid(event),
        reference=("sale", str(event.sale_id)),
    )


def _adjustment(event, *, quantity: str, reason: str, note: str, moved_at: dt.datetime) -> None:
    store = Store.objects.get(pk=event.store_id)
    package = Package.objects.only("unit", "tag").get(pk=event.package_id)
    sync_record_create(
        store=store,
        kind=Operation.PACKAGE_ADJUST.value,
        payload=[
            adjustment_object(
                package.tag,
                quantity,
                package.unit,
                METRC_ADJUSTMENT_REASONS.get(reason, "Entry Error"),
                store_local_date(store, at=moved_at),
                note or reason.replace("_", " "),
            )
        ],
        order_keys=[package.tag],
        source_event=_event_uuid(event),
        reference=("package", str(package.pk)),
    )


@handles(PackageAdjusted)
def on_package_adjusted_report_adjustment(event: PackageAdjusted) -> None:
    movement = StockMovement.objects.only("created_at", "note").get(pk=event.movement_id)
    _adjustment(
        event, quantity=event.quantity, reason=event.reason, note=movement.note, moved_at=movement.created_at
    )


@handles(PackageWasted)
def on_package_wasted_report_adjustment(event: PackageWasted) -> None:
    from inventory.models import WasteRecord

    record = WasteRecord.objects.select_related("movement").get(pk=event.waste_record_id)
    note = record.note
    if record.method:
        note = f"{record.get_method_display()}; waste weight {record.waste_weight_g} g. {note}".strip()
    _adjustment(
        event, quantity=f"-{event.quantity}", reason=event.reason, note=note, moved_at=record.created_at
    )


def _event_uuid(event) -> str | None:
    return delivering_event_uuid()
