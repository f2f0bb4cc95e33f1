"""Reading from the state into the platform: incoming transfers (manifests) feed receiving, and the state's
package quantities fill the state column of counts. The provider is asked outside any transaction; what it
answered is written in one."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from compliance.traceability.base import TraceabilityError
from dispensary.audit import audit_record
from dispensary.errors import ApplicationError
from dispensary.models import Store, User
from inventory.models import CountLine, IncomingTransfer, InventoryCount, Package, Product, TransferLine

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
                TransferLine.objects.bulk_create(
                    [
                        TransferLine(
                            transfer=record,
                            tag=package["label"].upper(),
                            product=products.get((package.get("item_name") or "").strip().lower()),
                            expected_quantity=Decimal(str(package["quantity"])),
                            lab_status=LAB_STATES.get(
                                package.get("lab_testing_state", ""), Package.LabStatus.PENDING
                            ),
                        )
                        for package in transfer.packages
                        if package.get("label")
                    ]
                )
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
    state = {package.label.upper(): package.quantity for package in _ask(provider.active_packages)}
    lines = list(CountLine.objects.filter(count=count).select_related("package"))
    with transaction.atomic():
        for line in lines:
            line.state_quantity = Decimal(str(state.get(line.package.tag, 0)))
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
