"""Waste and destruction, and moving packages between locations."""

from django.db import transaction

from dispensary import events
from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from dispensary.models import User
from inventory.errors import InvalidQuantity
from inventory.events import PackageMoved, PackageWasted
from inventory.models import ZERO, Package, StockMovement, WasteRecord, quantity_text
from inventory.services.stock import AdjustmentReason, _movement, _positive

WASTE_REASONS = {
    AdjustmentReason.DAMAGED,
    AdjustmentReason.EXPIRED,
    AdjustmentReason.DESTROYED,
    AdjustmentReason.THEFT,
    AdjustmentReason.LAB_SAMPLE,
    AdjustmentReason.RETURNED_TO_VENDOR,
}


@transaction.atomic
def package_waste(
    *,
    package: Package,
    quantity,
    reason: str,
    actor,
    note: str = "",
    method: str = "",
    waste_weight_g=None,
    witness: User | None = None,
) -> WasteRecord:
    """Take stock out as waste. Destruction needs the method, the waste weight and a second staff member as
    witness; theft and shrinkage are flagged for state reporting. Bad input changes nothing."""
    if reason not in WASTE_REASONS:
        raise ValidationFailed(
            f"Choose a waste reason from the list, not {reason!r}.", details={"reason": sorted(WASTE_REASONS)}
        )
    quantity = _positive(quantity)
    weight = None
    if reason == AdjustmentReason.DESTROYED:
        problems = {}
        if method not in WasteRecord.Method.values:
            problems["method"] = ["Choose how the waste was rendered unusable."]
        try:
            weight = _positive(waste_weight_g)
        except InvalidQuantity:
            problems["waste_weight_g"] = ["Give the weight of the waste in grams."]
        if witness is None:
            problems["witness"] = ["A second staff member must witness destruction."]
        elif isinstance(actor, User) and witness.pk == actor.pk:
            problems["witness"] = ["The witness must be someone other than you."]
        if problems:
            raise ValidationFailed(
                "Destruction needs the method, the waste weight and a witness.", details=problems
            )
    locked = Package.objects.select_for_update(of=("self",)).select_related("store").get(pk=package.pk)
    if witness is not None and (
        witness.organization_id != locked.store.organization_id
        or not witness.is_active
        or not witness.has_perm("dispensary.access_store", locked.store)
    ):
        raise ValidationFailed(
            "The witness must be active staff of this store.", details={"witness": ["Unknown."]}
        )
    if quantity > locked.quantity_available:
        raise InvalidQuantity(
            f"Package {locked.tag} has {quantity_text(locked.quantity_available)} available to waste "
            f"({quantity_text(locked.quantity_on_hand)} on hand, {quantity_text(locked.quantity_allocated)} allocated).",
            quantity,
        )
    movement = _movement(
        locked, kind=StockMovement.Kind.WASTED, quantity=-quantity, actor=actor, reason=reason, note=note
    )
    movement.save()
    record = WasteRecord.objects.create(
        package=locked,
        store=locked.store,
        movement=movement,
        quantity=quantity,
        reason=reason,
        method=method if reason == AdjustmentReason.DESTROYED else "",
        waste_weight_g=weight,
        witness=witness,
        actor=actor if isinstance(actor, User) else None,
        note=note,
        report_to_state=reason in AdjustmentReason.REPORTED_TO_STATE,
    )
    audit_record(
        actor=actor,
        action="package.wasted",
        instance=locked,
        after={
            "quantity": quantity_text(quantity),
            "reason": reason,
            "method": record.method,
            "witness": witness.get_username() if witness else None,
        },
        organization=locked.store.organization,
        store=locked.store,
    )
    events.publish(
        PackageWasted(
            organization_id=locked.store.organization_id,
            store_id=locked.store_id,
            package_id=locked.pk,
            tag=locked.tag,
            quantity=quantity_text(quantity),
            reason=reason,
            method=record.method,
            waste_weight_g=quantity_text(weight) if weight is not None else None,
            waste_record_id=record.pk,
            report_to_state=record.report_to_state,
        )
    )
    return record


@transaction.atomic
def package_move(*, package: Package, location: str, actor, detail: str = "", note: str = "") -> Package:
    """Move a package to another location of its store (sales floor, vault, quarantine, a vehicle)."""
    if location not in Package.Location.values:
        raise ValidationFailed(
            f"Unknown location {location!r}.", details={"location": Package.Location.values}
        )
    locked = Package.objects.select_for_update(of=("self",)).select_related("store").get(pk=package.pk)
    if locked.location == location and locked.location_detail == detail:
        return locked
    before = locked.location
    locked.location, locked.location_detail = location, detail
    locked.save(update_fields=["location", "location_detail"])
    _movement(
        locked,
        kind=StockMovement.Kind.MOVED,
        quantity=ZERO,
        actor=actor,
        reason="moved",
        note=note or f"{before} -> {location} {detail}".strip(),
    ).save()
    events.publish(
        PackageMoved(
            organization_id=locked.store.organization_id,
            store_id=locked.store_id,
            package_id=locked.pk,
            tag=locked.tag,
            from_location=before,
            to_location=location,
        )
    )
    return locked
