"""Reading from the state into the platform: incoming transfers (manifests) feed receiving, and the state's
package quantities fill the state column of counts. The provider is asked outside any transaction; what it
answered is written in one."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction

from compliance.traceability.base import TraceabilityError
from compliance.traceability.metrc import platform_quantity
from dispensary.audit import audit_record
from dispensary.errors import ApplicationError
from dispensary.models import Store, User
from dispensary.units import UnitError, quantity_convert, unit_code
from inventory.models import (
    CountLine,
    IncomingTransfer,
    InventoryCount,
    Package,
    Product,
    TransferLine,
    quantity_text,
)

LAB_STATES = {"TestPassed": Package.LabStatus.PASSED, "TestFailed": Package.LabStatus.FAILED}


class StateUnavailable(ApplicationError):
    code = "state_unavailable"
    status = 503


def _ask(call):
    try:
        return call()
    except TraceabilityError as error:
        raise StateUnavailable(
            f"The state's system could not be reached or refused the request: {error}"
        ) from error


def _platform_quantity(package: dict, product: Product | None) -> tuple[Decimal, str]:
    """A manifest package's shipped quantity in the platform's unit (the product's: grams or each; for an
    unknown item, grams for a weight), converted exactly, and the state's unit when it is another one."""
    quantity = Decimal(str(package["quantity"]))
    raw_unit = package.get("unit_of_measure") or ""
    try:
        state_unit = unit_code(raw_unit) if raw_unit else ""
    except UnitError:
        return quantity, ""
    if not state_unit:
        return quantity, ""
    target = product.sold_by if product else ("each" if state_unit == "each" else "g")
    try:
        converted = quantity_convert(quantity, state_unit, target, places=3)
    except UnitError:
        return quantity, ""  # a count against a weight: left as the state gives it, the check flags it
    return converted, "" if state_unit == target else state_unit


def state_transfers_import(*, store: Store, actor, provider=None) -> list[IncomingTransfer]:
    """Create a pending transfer for every incoming manifest the state lists that the store does not have yet.
    Packages are matched to products by the product's state item name; a package of an unknown item is
    still listed (it can be scanned and rejected, and becomes a discrepancy)."""
    if provider is None:
        from compliance.traceability.registry import provider_for_store

        provider = provider_for_store(store)
    transfers = _ask(provider.incoming_transfers)
    known = set(IncomingTransfer.objects.filter(store=store).values_list("manifest_number", flat=True))
    products = {
        product.state_item_name.strip().lower(): product
        for product in Product.objects.filter(organization_id=store.organization_id).exclude(
            state_item_name=""
        )
    }
    created = []
    for transfer in transfers:
        if not transfer.manifest_number or transfer.manifest_number in known:
            continue
        try:
            with transaction.atomic():
                record = IncomingTransfer.objects.create(
                    store=store,
                    manifest_number=transfer.manifest_number,
                    shipper_license=transfer.shipper_license or "unknown",
                    shipper_name=transfer.shipper_name or "unknown",
                    source=IncomingTransfer.Source.STATE,
                    created_by=actor if isinstance(actor, User) else None,
                )
                lines = []
                for package in transfer.packages:
                    if not package.get("label"):
                        continue
                    product = products.get((package.get("item_name") or "").strip().lower())
                    quantity, state_unit = _platform_quantity(package, product)
                    lines.append(
                        TransferLine(
                            transfer=record,
                            tag=package["label"].upper(),
                            product=product,
                            expected_quantity=quantity,
                            state_unit=state_unit,
                            lab_status=LAB_STATES.get(
                                package.get("lab_testing_state", ""), Package.LabStatus.PENDING
                            ),
                        )
                    )
                TransferLine.objects.bulk_create(lines)
                audit_record(
                    actor=actor,
                    action="transfer.imported",
                    instance=record,
                    after={
                        "manifest_number": record.manifest_number,
                        "source": "state",
                        "packages": len(transfer.packages),
                    },
                    organization=store.organization,
                    store=store,
                )
        except IntegrityError:
            continue  # imported meanwhile by someone else: the unique manifest number decided
        created.append(record)
    return created


def count_state_quantities_fill(*, count: InventoryCount, actor, provider=None) -> int:
    """Fill the state column of a count sheet from the state's active packages. Returns the lines filled; a
    package the state does not list gets 0 (the state holds none of it), which the review shows as a gap."""
    if provider is None:
        from compliance.traceability.registry import provider_for_store

        provider = provider_for_store(count.store)
    state = {package.label.upper(): package for package in _ask(provider.active_packages)}
    lines = list(CountLine.objects.filter(count=count).select_related("package"))
    with transaction.atomic():
        for line in lines:
            known = state.get(line.package.tag)
            line.state_quantity = (
                platform_quantity(known.quantity, known.unit_of_measure, line.package.unit)
                if known is not None
                else Decimal(0)
            )
        CountLine.objects.bulk_update(lines, ["state_quantity"])
        audit_record(
            actor=actor,
            action="count.state_quantities_filled",
            instance=count,
            after={
                "lines": len(lines),
                "missing_at_state": sum(1 for line in lines if line.package.tag not in state),
            },
            organization=count.store.organization,
            store=count.store,
        )
    return len(lines)


# --- Checking a receipt against the state's manifest -------------------------------------------------------


@dataclass(frozen=True)
class ManifestDifference:
    """One package where what the store has (on the manifest it holds, scanned or received) and the state's
    manifest disagree. Quantities in the platform's unit; `state_quantity_text` as the state gives it."""

    tag: str
    kind: str  # "missing_at_state", "not_on_our_manifest", "quantity", "unit", "item"
    message: str
    ours: Decimal | None = None
    state: Decimal | None = None
    state_quantity_text: str = ""
    unit: str = ""  # the platform's unit of `ours` and `state`


@dataclass(frozen=True)
class ManifestCheck:
    manifest_number: str
    found: bool
    differences: list[ManifestDifference] = field(default_factory=list)
    packages_checked: int = 0

    @property
    def matches(self) -> bool:
        return self.found and not self.differences


def transfer_state_check(*, transfer: IncomingTransfer, actor, provider=None) -> ManifestCheck:
    """Compare a transfer being received with the state's incoming manifest of the same number (GET
    /transfers/v2/incoming, the transfer's deliveries to this store and their packages): every package and
    its shipped quantity, converted exactly into the platform's unit, against ours (what was received once a
    line is scanned, else what our manifest expects). Audited; changes nothing else."""
    store = transfer.store
    if provider is None:
        from compliance.traceability.registry import provider_for_store

        provider = provider_for_store(store)
    state = _ask(lambda: provider.incoming_transfer(transfer.manifest_number))
    lines = {
        line.tag: line for line in TransferLine.objects.filter(transfer=transfer).select_related("product")
    }
    differences: list[ManifestDifference] = []
    if state is None:
        check = ManifestCheck(manifest_number=transfer.manifest_number, found=False)
    else:
        seen = set()
        for package in state.packages:
            tag = (package.get("label") or "").upper()
            seen.add(tag)
            shipped = (
                f"{quantity_text(Decimal(str(package['quantity'])))} {package.get('unit_of_measure', '')}"
            )
            line = lines.get(tag)
            if line is None:
                differences.append(
                    ManifestDifference(
                        tag,
                        "not_on_our_manifest",
                        f"The state's manifest lists {tag} ({shipped}); ours does not.",
                        state_quantity_text=shipped.strip(),
                    )
                )
                continue
            differences.extend(_line_differences(line, package, shipped.strip()))
        for tag, line in lines.items():
            if tag not in seen:
                ours = line.received_quantity if line.scanned_at else line.expected_quantity
                differences.append(
                    ManifestDifference(
                        tag,
                        "missing_at_state",
                        f"{tag} is on our receipt but not on the state's manifest {transfer.manifest_number}.",
                        ours=ours,
                        unit=line.product.sold_by if line.product else "",
                    )
                )
        check = ManifestCheck(
            manifest_number=transfer.manifest_number,
            found=True,
            differences=differences,
            packages_checked=len(state.packages),
        )
    audit_record(
        actor=actor,
        action="transfer.checked_against_state",
        instance=transfer,
        after={
            "found": check.found,
            "differences": [{"tag": d.tag, "kind": d.kind} for d in check.differences],
        },
        organization=store.organization,
        store=store,
    )
    return check


def _line_differences(line: TransferLine, package: dict, shipped: str) -> list[ManifestDifference]:
    ours = line.received_quantity if line.scanned_at else line.expected_quantity
    unit = line.product.sold_by if line.product else ""
    state_unit = package.get("unit_of_measure") or ""
    item = (package.get("item_name") or "").strip()
    found = []
    if (
        line.product
        and item
        and line.product.state_item_name
        and (line.product.state_item_name.strip().lower() != item.lower())
    ):
        found.append(
            ManifestDifference(
                line.tag,
                "item",
                f"{line.tag}: the state ships {item}, we expect {line.product.state_item_name}.",
            )
        )
    try:
        state_quantity = (
            quantity_convert(package["quantity"], state_unit or unit, unit, places=3) if unit else None
        )
    except UnitError:
        found.append(
            ManifestDifference(
                line.tag,
                "unit",
                f"{line.tag}: the state ships {shipped}, which cannot be counted in {unit}.",
                ours=ours,
                state_quantity_text=shipped,
                unit=unit,
            )
        )
        return found
    if state_quantity is not None and ours is not None and state_quantity != ours:
        verb = "received" if line.scanned_at else "expected"
        found.append(
            ManifestDifference(
                line.tag,
                "quantity",
                f"{line.tag}: the state ships {shipped} ({quantity_text(state_quantity)} {unit}); "
                f"{quantity_text(ours)} {unit} {verb} here.",
                ours=ours,
                state=state_quantity,
                state_quantity_text=shipped,
                unit=unit,
            )
        )
    return found
