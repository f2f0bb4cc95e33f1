"""Inventory counts: open a count sheet (full, or a cycle count of a category or location), enter counts
blind, and approve: each variance becomes an adjustment movement."""

from django.db import transaction
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.errors import Conflict, ValidationFailed
from dispensary.inputs import InputRejected, quantity_parse
from dispensary.models import Store, User
from inventory.errors import InvalidQuantity
from inventory.models import ZERO, CountLine, InventoryCount, Package, Product, StockMovement, quantity_text
from inventory.services.stock import AdjustmentReason, Reference, _movement, publish_adjusted


@transaction.atomic
def count_open(*, store: Store, scope: str, actor, scope_value: str = "") -> InventoryCount:
    packages = Package.objects.filter(store=store, quantity_on_hand__gt=0).exclude(
        status=Package.Status.FINISHED
    )
    if scope == InventoryCount.Scope.CATEGORY:
        if scope_value not in Product.Category.values:
            raise ValidationFailed(
                "Choose a product category to count.", details={"scope_value": Product.Category.values}
            )
        packages = packages.filter(product__category=scope_value)
    elif scope == InventoryCount.Scope.LOCATION:
        if scope_value not in Package.Location.values:
            raise ValidationFailed(
                "Choose a location to count.", details={"scope_value": Package.Location.values}
            )
        packages = packages.filter(location=scope_value)
    elif scope == InventoryCount.Scope.FULL:
        scope_value = ""
    else:
        raise ValidationFailed(
            f"Unknown count scope {scope!r}.", details={"scope": InventoryCount.Scope.values}
        )
    count = InventoryCount.objects.create(
        store=store,
        scope=scope,
        scope_value=scope_value,
        opened_by=actor if isinstance(actor, User) else None,
    )
    CountLine.objects.bulk_create(
        [
            CountLine(count=count, package_id=pk, system_quantity=on_hand)
            for pk, on_hand in packages.order_by("pk").values_list("pk", "quantity_on_hand")
        ]
    )
    audit_record(
        actor=actor,
        action="count.opened",
        instance=count,
        after={"scope": scope, "value": scope_value},
        organization=store.organization,
        store=store,
    )
    return count


def _open(count: InventoryCount) -> InventoryCount:
    locked = InventoryCount.objects.select_for_update(of=("self",)).select_related("store").get(pk=count.pk)
    if locked.status != InventoryCount.Status.OPEN:
        raise Conflict(f"This count is {locked.get_status_display().lower()}; it can no longer change.")
    return locked


@transaction.atomic
def count_enter(*, count: InventoryCount, tag: str, quantity, actor) -> CountLine:
    """Record what was counted for one package (blind: the counter is never shown the system quantity)."""
    locked = _open(count)
    line = (
        CountLine.objects.select_for_update(of=("self",))
        .filter(count=locked, package__tag=(tag or "").strip().upper())
        .first()
    )
    if line is None:
        raise ValidationFailed(f"Package {tag} is not on this count sheet.", details={"tag": [tag]})
    try:
        counted = quantity_parse(quantity, minimum=ZERO)
    except InputRejected as error:
        raise InvalidQuantity(
            f"Counted quantities are zero or more, with at most three decimals. {error.message}", quantity
        ) from None
    line.counted_quantity = counted
    line.counted_by = actor if isinstance(actor, User) else None
    line.counted_at = timezone.now()
    line.save(update_fields=["counted_quantity", "counted_by", "counted_at"])
    return line


@transaction.atomic
def count_approve(*, count: InventoryCount, actor) -> InventoryCount:
    """Turn every variance into an adjustment movement. Every line must have been counted."""
    locked = _open(count)
    lines = list(
        CountLine.objects.select_for_update(of=("self",)).filter(count=locked).select_related("package")
    )
    uncounted = [line.package.tag for line in lines if line.counted_quantity is None]
    if uncounted:
        raise ValidationFailed(
            f"{len(uncounted)} package(s) have not been counted.", details={"tags": uncounted}
        )
    if isinstance(actor, User) and actor.pk in {line.counted_by_id for line in lines}:
        # A count is approved by someone other than a counter: the point of a blind count.
        raise ValidationFailed("A count must be approved by someone who did not count it.")
    packages = {
        p.pk: p
        for p in Package.objects.select_for_update(of=("self",))
        .filter(pk__in=[line.package_id for line in lines])
        .order_by("pk")
    }
    reference = Reference("count", str(locked.pk))
    variances = []
    for line in lines:
        variance = line.variance
        if variance == ZERO:
            continue
        package = packages[line.package_id]
        if package.quantity_on_hand + variance < package.quantity_allocated:
            raise InvalidQuantity(
                f"Package {package.tag}: the variance {quantity_text(variance)} would leave less than is allocated.",
                variance,
            )
        movement = _movement(
            package,
            kind=StockMovement.Kind.ADJUSTED,
            quantity=variance,
            actor=actor,
            reason=AdjustmentReason.COUNT_VARIANCE,
            reference=reference,
        )
        movement.save()
        package.store = locked.store
        publish_adjusted(package, movement)
        line.movement = movement
        line.save(update_fields=["movement"])
        variances.append((package.tag, quantity_text(variance)))
    locked.status = InventoryCount.Status.APPROVED
    locked.approved_by = actor if isinstance(actor, User) else None
    locked.approved_at = timezone.now()
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        actor=actor,
        action="count.approved",
        instance=locked,
        after={"variances": variances},
        organization=locked.store.organization,
        store=locked.store,
    )
    return locked
