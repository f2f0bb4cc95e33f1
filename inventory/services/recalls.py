"""Recalls: find every package matching the recall across the organization's stores, and put the stock on
hold in one action."""

from django.db import transaction
from django.utils import timezone

from dispensary import events
from dispensary.audit import audit_record
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import Organization, User
from inventory.events import RecallOpened
from inventory.models import Package, Recall, StockMovement
from inventory.selectors import recall_package_queryset
from inventory.services.stock import _movement


@transaction.atomic
def recall_open(*, organization: Organization, criterion: str, value: str, reason: str, actor) -> Recall:
    value = (value or "").strip()
    if criterion not in Recall.Criterion.values:
        raise ValidationFailed(
            f"Unknown recall criterion {criterion!r}.", details={"criterion": Recall.Criterion.values}
        )
    if not value:
        raise ValidationFailed(
            "Say what is recalled (tag, batch, product or supplier).", details={"value": ["Required."]}
        )
    if not (reason or "").strip():
        raise ValidationFailed("Give the reason for the recall.", details={"reason": ["Required."]})
    packages = list(
        recall_package_queryset(organization=organization, criterion=criterion, value=value).values_list(
            "pk", flat=True
        )
    )
    if not packages:
        raise ValidationFailed(f"No package matches {criterion} {value!r}.", details={"value": [value]})
    recall = Recall.objects.create(
        organization=organization,
        criterion=criterion,
        value=value,
        reason=reason.strip(),
        opened_by=actor if isinstance(actor, User) else None,
    )
    recall.packages.set(packages)
    audit_record(
        actor=actor,
        action="recall.opened",
        instance=recall,
        after={"criterion": criterion, "value": value, "packages": len(packages)},
        organization=organization,
    )
    events.publish(
        RecallOpened(
            organization_id=organization.pk,
            recall_id=recall.pk,
            criterion=criterion,
            value=value,
            package_ids=packages,
        )
    )
    return recall


@transaction.atomic
def recall_hold(*, recall: Recall, actor) -> int:
    """Put every affected package that still holds stock on hold as recalled. Returns how many changed."""
    locked = Recall.objects.select_for_update(of=("self",)).get(pk=recall.pk)
    if locked.held_at is not None:
        raise Conflict("The stock of this recall is already on hold.")
    packages = list(
        Package.objects.select_for_update(of=("self",))
        .filter(pk__in=locked.packages.values("pk"))
        .exclude(status__in=[Package.Status.RECALLED, Package.Status.FINISHED])
        .order_by("pk")
    )
    for package in packages:
        before = package.status
        package.status = Package.Status.RECALLED
        package.save(update_fields=["status"])
        _movement(
            package,
            kind=StockMovement.Kind.MOVED,
            actor=actor,
            reason="recall_hold",
            note=f"{before} -> recalled (recall {locked.pk})",
        ).save()
    locked.held_at = timezone.now()
    locked.save(update_fields=["held_at"])
    audit_record(
        actor=actor,
        action="recall.held",
        instance=locked,
        after={"packages": [p.tag for p in packages]},
        organization=locked.organization,
    )
    return len(packages)
