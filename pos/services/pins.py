"""Manager PINs: a manager approves a price override, a void, a refund or a paid out by typing their PIN,
which alone says who approves (a signed-in manager approves with their own). So each approver's PIN is
different within the organization. PINs are hashed like passwords; five wrong tries lock a manager's PIN for
15 minutes, and five wrong PINs typed by the same person at a store stop them for 15 minutes."""

import datetime as dt
import re

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
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


def manager_may_approve(user: User | None, store: Store) -> bool:
    """Whether `user` approves voids, refunds, overrides and paying out at `store` (with their own PIN)."""
    return _may_approve(user, store)


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
    others = ManagerPin.objects.filter(user__organization_id=user.organization_id).exclude(user=user)
    if any(check_password(pin, row.pin_hash) for row in others.only("pin_hash")):
        # The PIN alone says who approves, so two approvers cannot share one.
        raise ValidationFailed(
            "Choose another PIN: each manager's PIN must be different.", details={"pin": ["Not available."]}
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


def _failures_key(store: Store, actor: User) -> str:
    return f"pos:pin-failures:{store.pk}:{actor.pk}"


def manager_pin_identify(*, store: Store, pin: str, actor: User, now: dt.datetime | None = None) -> User:
    """The manager approving with `pin` at `store`. A signed-in manager (`actor` may approve here) approves
    with their own PIN; anyone else is approved by the manager whose PIN it is. Wrong PINs typed by `actor`
    are counted (in the cache, shared by the processes when one is configured): after five, `actor` waits
    15 minutes. Otherwise ApprovalRequired."""
    if _may_approve(actor, store):
        return manager_pin_verify(store=store, manager_id=actor.pk, pin=pin, now=now)
    now = now or timezone.now()
    pin = str(pin or "").strip()
    key = _failures_key(store, actor)
    if cache.get(key, 0) >= MAX_FAILURES:
        raise ApprovalRequired(
            "Too many wrong PINs: wait 15 minutes before a manager approves here again.",
            details={"pin": ["Locked."]},
        )
    refused = ApprovalRequired(
        "A manager of this store must approve with their PIN.", details={"pin": ["No manager has that PIN."]}
    )
    approvers = {user.pk: user for user in store_approvers(store)} if PIN_PATTERN.match(pin) else {}
    # A manager whose PIN is locked (wrong tries on their own PIN) cannot approve until it unlocks.
    rows = ManagerPin.objects.filter(user_id__in=approvers).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    )
    matches = [row for row in rows if check_password(pin, row.pin_hash)] if approvers else []
    if len(matches) > 1:
        raise ApprovalRequired(
            "More than one manager has this PIN: each of them sets a new one on the Manager PIN page.",
            details={"pin": ["Shared."]},
        )
    if not matches:
        cache.add(key, 0, timeout=int(LOCKOUT.total_seconds()))
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=int(LOCKOUT.total_seconds()))
        raise refused
    cache.delete(key)
    return approvers[matches[0].user_id]


def store_approvers(store: Store) -> list[User]:
    """Who can approve at `store` with a PIN: for the approval drop-down."""
    users = User.objects.filter(
        organization_id=store.organization_id, is_active=True, manager_pin__isnull=False
    ).order_by("first_name", "last_name", "username")
    return [user for user in users if _may_approve(user, store)]
