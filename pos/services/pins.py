"""Manager PINs: a manager approves a price override, a void or a refund at the counter by choosing their
name and typing their PIN. PINs are hashed like passwords; five wrong tries lock the PIN for 15 minutes."""

import datetime as dt
import re

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from dispensary.models import Store, User
from pos.errors import ApprovalRequired
from pos.models import ManagerPin

APPROVE = "pos.approve_refund"
PIN_PATTERN = re.compile(r"^\d{4,8}$")
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)


def _may_approve(user: User | None, store: Store) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and getattr(user, "organization_id", None) == store.organization_id
        and user.has_perm(APPROVE)
        and user.has_perm("dispensary.access_store", store)
    )


def approver_check(approver: User | None, store: Store) -> None:
    """Refuse unless `approver` may approve voids, refunds and paying out at `store`."""
    if not _may_approve(approver, store):
        raise ApprovalRequired(
            "A manager of this store must approve.", details={"approver": ["Needs pos.approve_refund."]}
        )


@transaction.atomic
def manager_pin_set(*, user: User, pin: str, actor: User) -> ManagerPin:
    """Set (or change) a manager's PIN: 4 to 8 digits. Only people who may approve have a PIN."""
    pin = (pin or "").strip()
    if not PIN_PATTERN.match(pin):
        raise ValidationFailed("A PIN is 4 to 8 digits.", details={"pin": ["4 to 8 digits."]})
    if not user.has_perm(APPROVE):
        raise ValidationFailed(
            "Only staff who approve voids and refunds have a PIN.", details={"user": ["Cannot approve."]}
        )
    row, _ = ManagerPin.objects.update_or_create(
        user=user, defaults={"pin_hash": make_password(pin), "failed_attempts": 0, "locked_until": None}
    )
    audit_record(actor=actor, action="manager_pin.set", instance=row, organization=user.organization)
    return row


def manager_pin_verify(
    *, store: Store, manager_id: int | None, pin: str, now: dt.datetime | None = None
) -> User:
    """The manager, when `pin` is theirs and they may approve at `store`; otherwise ApprovalRequired.
    A failed try is counted even when the caller's transaction rolls back (it runs in its own)."""
    now = now or timezone.now()
    refused = ApprovalRequired(
        "A manager of this store must approve with their PIN.", details={"pin": ["Wrong manager or PIN."]}
    )
    if not manager_id or not pin:
        raise refused
    with transaction.atomic():
        row = (
            ManagerPin.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=manager_id, user__organization_id=store.organization_id)
            .first()
        )
        if row is None or not _may_approve(row.user, store):
            raise refused
        if row.locked_until and row.locked_until > now:
            raise ApprovalRequired(
                f"Too many wrong PINs: {row.user.get_username()}'s PIN is locked until "
                f"{timezone.localtime(row.locked_until):%H:%M}.",
                details={"pin": ["Locked."]},
            )
        if not check_password(str(pin).strip(), row.pin_hash):
            row.failed_attempts += 1
            if row.failed_attempts >= MAX_FAILURES:
                row.failed_attempts, row.locked_until = 0, now + LOCKOUT
            row.save(update_fields=["failed_attempts", "locked_until", "updated_at"])
            failed = True
        else:
            if row.failed_attempts or row.locked_until:
                row.failed_attempts, row.locked_until = 0, None
                row.save(update_fields=["failed_attempts", "locked_until", "updated_at"])
            failed = False
    if failed:
        raise refused
    return row.user


def store_approvers(store: Store) -> list[User]:
    """Who can approve at `store` with a PIN: for the approval drop-down."""
    users = User.objects.filter(
        organization_id=store.organization_id, is_active=True, manager_pin__isnull=False
    ).order_by("first_name", "last_name", "username")
    return [user for user in users if _may_approve(user, store)]
