"""Receiving incoming transfers: import a manifest (CSV now, the state feed later), scan tags as they come off
the truck, check quantities, decide each line, and complete: accepted packages enter stock with a received
movement, and shortages, overages, unexpected and missing packages become discrepancy records."""

import csv
import datetime as dt
import io
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.errors import Conflict, ValidationFailed
from dispensary.inputs import InputRejected, date_problem, quantity_parse, text_problem
from dispensary.models import Store, User
from dispensary.units import UnitError, quantity_convert, unit_code, units_compatible
from inventory.models import (
    ZERO,
    IncomingTransfer,
    Package,
    Product,
    ReceivingDiscrepancy,
    TransferLine,
    quantity_text,
    tag_validator,
)
from inventory.services.stock import Reference, package_receive

CSV_COLUMNS = (
    "manifest_number",
    "shipper_license",
    "shipper_name",
    "tag",
    "sku",
    "quantity",
    "harvest_batch",
    "harvest_date",
    "packaged_on",
    "expires_on",
    "lab_status",
    "unit",
)
REQUIRED_COLUMNS = ("manifest_number", "shipper_license", "shipper_name", "tag", "sku", "quantity")
MAX_CSV_BYTES = 2 * 1024 * 1024
# Text cells kept as they are, with the columns that hold them (their lengths bound the cells).
TEXT_COLUMNS = {
    "manifest_number": IncomingTransfer,
    "shipper_license": IncomingTransfer,
    "shipper_name": IncomingTransfer,
    "harvest_batch": TransferLine,
}


def normalize_tag(raw: str) -> str:
    tag = (raw or "").strip().upper()
    try:
        tag_validator(tag)
    except DjangoValidationError as error:
        raise ValidationFailed(
            f"{raw!r} is not a package tag: 24 digits and capital letters.", details={"tag": [f"{raw!r}"]}
        ) from error
    return tag


def _date(value: str, column: str, errors: list[str]) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors.append(f"{column} {value[:40]!r} is not a date (YYYY-MM-DD)")
        return None
    problem = date_problem(day)
    if problem:
        errors.append(f"{column}: {problem}")
        return None
    return day


def _quantity(value: str, errors: list[str], column: str = "quantity") -> Decimal | None:
    try:
        quantity = quantity_parse(value)
    except InputRejected as error:
        if error.reason == "not_a_number":
            errors.append(f"{column} {value[:40]!r} is not a number")
        else:
            errors.append(f"{column}: {error.message}")
        return None
    if quantity <= ZERO:
        errors.append(f"{column} must be greater than zero, not {value[:40]!r}")
        return None
    return quantity


def _in_product_unit(
    quantity: Decimal | None, unit: str, product: Product | None, errors: list[str]
) -> tuple[Decimal | None, str]:
    """A manifest quantity given in `unit` (pounds, ounces...) in the product's own unit (grams or each), and
    the manifest's unit to remember for the state when it differs ("" when it is the product's own)."""
    if not unit or quantity is None or product is None:
        return quantity, ""
    try:
        code = unit_code(unit)
        if not units_compatible(code, product.sold_by):
            errors.append(f"{product.name} is sold by {product.get_sold_by_display().lower()}, not in {unit}")
            return None, ""
        converted = quantity_convert(quantity, code, product.sold_by, places=3)
    except UnitError as error:
        errors.append(str(error))
        return None, ""
    if converted <= ZERO:
        errors.append(f"{quantity} {unit} is less than 0.001 {product.sold_by}")
        return None, ""
    return converted, "" if code == product.sold_by else code


@transaction.atomic
def transfer_import_csv(*, store: Store, content: bytes | str, actor) -> IncomingTransfer:
    """Create a pending transfer from a manifest CSV. Every row is checked first; any error changes nothing."""
    if isinstance(content, bytes):
        if len(content) > MAX_CSV_BYTES:
            raise ValidationFailed("The manifest file is larger than 2 MB.")
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationFailed("The manifest file must be UTF-8 text (CSV).") from error
    problem = text_problem(content, max_length=MAX_CSV_BYTES)
    if problem:
        raise ValidationFailed(f"The manifest file cannot be read: {problem}")
    reader = csv.DictReader(io.StringIO(content))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationFailed(
            f"The manifest CSV lacks the columns: {', '.join(missing)}.",
            details={"columns": missing, "expected": list(CSV_COLUMNS)},
        )
    reader.fieldnames = header
    rows = list(reader)
    if not rows:
        raise ValidationFailed("The manifest CSV has no packages.")
    products = {p.sku: p for p in Product.objects.filter(organization_id=store.organization_id)}
    problems: dict[str, list[str]] = {}
    lines: list[TransferLine] = []
    heads = set()
    seen_tags = set()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        errors: list[str] = []
        heads.add(
            tuple((row.get(c) or "").strip() for c in ("manifest_number", "shipper_license", "shipper_name"))
        )
        try:
            tag = normalize_tag(row.get("tag", ""))
        except ValidationFailed as error:
            errors.append(error.message)
            tag = None
        if tag in seen_tags:
            errors.append(f"tag {tag} appears twice")
        seen_tags.add(tag)
        for column, model in TEXT_COLUMNS.items():
            limit = model._meta.get_field(column).max_length
            if len((row.get(column) or "").strip()) > limit:
                errors.append(f"{column} is longer than {limit} characters")
        product = products.get((row.get("sku") or "").strip())
        if product is None:
            errors.append(f"no product with SKU {(row.get('sku') or '')[:40]!r}")
        quantity = _quantity(row.get("quantity", ""), errors)
        quantity, state_unit = _in_product_unit(quantity, (row.get("unit") or "").strip(), product, errors)
        if (
            product
            and quantity
            and product.sold_by == Product.SoldBy.EACH
            and quantity != quantity.to_integral_value()
        ):
            errors.append("packaged units are counted in whole units")
        lab_status = (row.get("lab_status") or "pending").strip().lower()
        if lab_status not in Package.LabStatus.values:
            errors.append(f"lab_status must be passed, failed or pending, not {lab_status!r}")
        dates = {c: _date(row.get(c, ""), c, errors) for c in ("harvest_date", "packaged_on", "expires_on")}
        if errors:
            problems[str(number)] = errors
            continue
        lines.append(
            TransferLine(
                tag=tag,
                product=product,
                expected_quantity=quantity,
                state_unit=state_unit,
                lab_status=lab_status,
                harvest_batch=(row.get("harvest_batch") or "").strip(),
                **dates,
            )
        )
    if len(heads) > 1:
        problems.setdefault("manifest", []).append(
            "every row must carry the same manifest number and shipper"
        )
    manifest_number, shipper_license, shipper_name = next(iter(heads))
    if not (manifest_number and shipper_license and shipper_name):
        problems.setdefault("manifest", []).append(
            "manifest number, shipper licence and shipper name are required"
        )
    if problems:
        first_row, first = next(iter(problems.items()))
        raise ValidationFailed(
            f"The manifest has errors (line {first_row}: {first[0]}).", details={"rows": problems}
        )
    try:
        with transaction.atomic():
            transfer = IncomingTransfer.objects.create(
                store=store,
                manifest_number=manifest_number,
                shipper_license=shipper_license,
                shipper_name=shipper_name,
                source=IncomingTransfer.Source.CSV,
                created_by=actor if isinstance(actor, User) else None,
            )
    except IntegrityError as error:
        raise Conflict(
            f"Manifest {manifest_number} was already imported for this store.",
            details={"manifest_number": manifest_number},
        ) from error
    for line in lines:
        line.transfer = transfer
    TransferLine.objects.bulk_create(lines)
    audit_record(
        actor=actor,
        action="transfer.imported",
        instance=transfer,
        after={"manifest_number": manifest_number, "packages": len(lines)},
        organization=store.organization,
        store=store,
    )
    return transfer


def _lock_pending(transfer: IncomingTransfer) -> IncomingTransfer:
    locked = (
        IncomingTransfer.objects.select_for_update(of=("self",)).select_related("store").get(pk=transfer.pk)
    )
    if locked.status != IncomingTransfer.Status.PENDING:
        raise Conflict(f"Manifest {locked.manifest_number} is already completed.")
    return locked


@transaction.atomic
def transfer_scan(*, transfer: IncomingTransfer, tag: str, actor, quantity=None) -> TransferLine:
    """Record a tag scanned off the shipment, with the quantity counted (default: the manifest's)."""
    locked = _lock_pending(transfer)
    tag = normalize_tag(tag)
    counted = None
    if quantity not in (None, ""):
        errors: list[str] = []
        counted = _quantity(str(quantity), errors)
        if errors:
            raise ValidationFailed(errors[0], details={"quantity": errors})
    line = TransferLine.objects.select_for_update(of=("self",)).filter(transfer=locked, tag=tag).first()
    now = timezone.now()
    scanner = actor if isinstance(actor, User) else None
    if line is None:
        if counted is None:
            raise ValidationFailed(
                f"Package {tag} is not on this manifest; enter the quantity received to record it.",
                details={"tag": [tag], "quantity": ["Required for a package that is not on the manifest."]},
            )
        return TransferLine.objects.create(
            transfer=locked,
            tag=tag,
            on_manifest=False,
            received_quantity=counted,
            scanned_at=now,
            scanned_by=scanner,
        )
    if line.scanned_at is not None:
        raise Conflict(
            f"Package {tag} was already scanned ({quantity_text(line.received_quantity)} received).",
            details={"tag": tag},
        )
    line.received_quantity = counted if counted is not None else line.expected_quantity
    line.scanned_at = now
    line.scanned_by = scanner
    line.save(update_fields=["received_quantity", "scanned_at", "scanned_by"])
    return line


@transaction.atomic
def transfer_line_decide(*, line: TransferLine, accept: bool, actor) -> TransferLine:
    """A manager accepts or rejects a line. Only scanned lines with a known product can be accepted."""
    _lock_pending(line.transfer)
    line = TransferLine.objects.select_for_update(of=("self",)).get(pk=line.pk)
    if accept and line.scanned_at is None:
        raise ValidationFailed(f"Package {line.tag} has not been scanned; it cannot be accepted.")
    if accept and line.product_id is None:
        raise ValidationFailed(f"Package {line.tag} is not on the manifest and has no product; reject it.")
    line.decision = TransferLine.Decision.ACCEPTED if accept else TransferLine.Decision.REJECTED
    line.decided_by = actor if isinstance(actor, User) else None
    line.save(update_fields=["decision", "decided_by"])
    return line


def _discrepancies(line: TransferLine, threshold_percent: Decimal) -> list[ReceivingDiscrepancy]:
    Kind = ReceivingDiscrepancy.Kind
    if not line.on_manifest:
        return [
            ReceivingDiscrepancy(
                line=line,
                kind=Kind.UNEXPECTED,
                received_quantity=line.received_quantity,
                report_to_state=True,
            )
        ]
    if line.scanned_at is None:
        return [
            ReceivingDiscrepancy(
                line=line, kind=Kind.MISSING, expected_quantity=line.expected_quantity, report_to_state=True
            )
        ]
    if line.received_quantity == line.expected_quantity:
        return []
    difference = abs(line.received_quantity - line.expected_quantity)
    percent = difference * 100 / line.expected_quantity
    return [
        ReceivingDiscrepancy(
            line=line,
            kind=Kind.SHORTAGE if line.received_quantity < line.expected_quantity else Kind.OVERAGE,
            expected_quantity=line.expected_quantity,
            received_quantity=line.received_quantity,
            report_to_state=percent > threshold_percent,
        )
    ]


@transaction.atomic
def transfer_complete(*, transfer: IncomingTransfer, actor) -> IncomingTransfer:
    """Close the transfer: accepted packages enter stock; discrepancies are recorded. Every scanned line must
    have been decided; lines never scanned are missing and rejected."""
    locked = _lock_pending(transfer)
    lines = list(
        TransferLine.objects.select_for_update(of=("self",)).filter(transfer=locked).select_related("product")
    )
    undecided = [
        line.tag for line in lines if line.scanned_at and line.decision == TransferLine.Decision.PENDING
    ]
    if undecided:
        raise ValidationFailed(
            f"Accept or reject every scanned package first ({len(undecided)} left).",
            details={"tags": undecided},
        )
    threshold = Decimal(str(settings.INVENTORY["DISCREPANCY_REPORT_PERCENT"]))
    discrepancies = []
    reference = Reference("transfer", str(locked.pk))
    for line in lines:
        if line.scanned_at is None:
            line.decision = TransferLine.Decision.REJECTED
            line.save(update_fields=["decision"])
        for discrepancy in _discrepancies(line, threshold):
            discrepancy.transfer = locked
            discrepancies.append(discrepancy)
        if line.decision == TransferLine.Decision.ACCEPTED:
            line.package = package_receive(
                store=locked.store,
                product=line.product,
                tag=line.tag,
                quantity=line.received_quantity,
                actor=actor,
                reference=reference,
                location=Package.Location.VAULT,
                supplier_license=locked.shipper_license,
                supplier_name=locked.shipper_name,
                harvest_batch=line.harvest_batch,
                harvest_date=line.harvest_date,
                packaged_on=line.packaged_on,
                expires_on=line.expires_on,
                lab_status=line.lab_status,
                state_unit=line.state_unit,
            )
            line.save(update_fields=["package"])
    ReceivingDiscrepancy.objects.bulk_create(discrepancies)
    locked.status = IncomingTransfer.Status.COMPLETED
    locked.completed_at = timezone.now()
    locked.completed_by = actor if isinstance(actor, User) else None
    locked.save(update_fields=["status", "completed_at", "completed_by"])
    audit_record(
        actor=actor,
        action="transfer.completed",
        instance=locked,
        after={
            "accepted": sum(1 for line in lines if line.decision == TransferLine.Decision.ACCEPTED),
            "rejected": sum(1 for line in lines if line.decision == TransferLine.Decision.REJECTED),
            "discrepancies": [(d.kind, d.line.tag, d.report_to_state) for d in discrepancies],
        },
        organization=locked.store.organization,
        store=locked.store,
    )
    return locked
