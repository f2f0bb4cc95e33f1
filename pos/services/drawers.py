"""Cash drawers: a register's drawer is opened with a count, takes drops, paid in and paid out (a manager
approves paying out), and is closed with a blind count; the expected figure and the over/short are stored then.
Every step is audited in its own transaction; bad input writes nothing."""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.inputs import InputRejected, money_parse
from dispensary.models import User
from pos.errors import ApprovalRequired, DrawerAlreadyOpen, DrawerInvalid, DrawerNotOpen
from pos.models import DrawerMovement, DrawerSession, Register
from pos.selectors.drawers import drawer_expected
from pos.services.pins import approver_check

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000")


def _amount(value, *, field: str, positive: bool) -> Decimal:
    """A cash amount in cents: not negative (or positive), at most two decimals."""
    try:
        amount = money_parse(value)
    except InputRejected as error:
        if error.reason == "too_many_decimals":
            raise DrawerInvalid(
                "Cash amounts are in whole cents.", details={field: ["At most two decimals."]}
            ) from None
        raise DrawerInvalid(
            f"Give an amount such as 200 or 35.50. {error.message}", details={field: [error.message]}
        ) from None
    if amount < 0 or (positive and amount == 0) or amount >= MAX_AMOUNT:
        wanted = "more than zero" if positive else "zero or more"
        raise DrawerInvalid(f"The amount must be {wanted}.", details={field: [f"Must be {wanted}."]})
    return amount.quantize(CENT)


def _locked_open_session(session: DrawerSession) -> DrawerSession:
    locked = (
        DrawerSession.objects.select_for_update(of=("self",))
        .select_related("register", "store", "store__organization")
        .get(pk=session.pk)
    )
    if locked.status != DrawerSession.Status.OPEN:
        raise DrawerNotOpen(
            f"The drawer of {locked.register.name} is already closed.", details={"status": locked.status}
        )
    return locked


def drawer_open(
    *, register: Register, staff: User, opening_amount, now: dt.datetime | None = None
) -> DrawerSession:
    """Open the register's drawer with the counted opening cash. One open session per register: the database
    constraint decides, so two people opening the same drawer at once get one session and one clear error."""
    amount = _amount(opening_amount, field="opening_amount", positive=False)
    if not register.active:
        raise DrawerInvalid(f"{register.name} is not in use.", details={"register": ["Inactive register."]})
    now = now or timezone.now()
    with transaction.atomic():
        session = DrawerSession(
            register=register,
            store_id=register.store_id,
            opened_by=staff,
            opened_at=now,
            opening_amount=amount,
        )
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError:
            raise DrawerAlreadyOpen(
                f"The drawer of {register.name} is already open: close it before opening it again.",
                details={"register": ["Already open."]},
            ) from None
        audit_record(
            actor=staff,
            action="drawer.opened",
            instance=session,
            after={"register": register.name, "opening_amount": str(amount)},
            organization=register.store.organization,
            store=register.store,
        )
    return session


def drawer_movement_add(
    *,
    session: DrawerSession,
    kind: str,
    amount,
    reason: str,
    actor: User,
    approver: User | None = None,
    now: dt.datetime | None = None,
) -> DrawerMovement:
    """A cash drop to the safe, cash paid into the drawer, or cash paid out of it (a manager approves that).
    Nothing leaves the drawer beyond what it should hold."""
    if kind not in DrawerMovement.Kind.values:
        raise DrawerInvalid(
            "A movement is a cash drop, paid in or paid out.", details={"kind": [f"Unknown kind {kind!r}."]}
        )
    amount = _amount(amount, field="amount", positive=True)
    reason = (reason or "").strip()
    if not reason and kind == DrawerMovement.Kind.DROP:
        reason = "Cash drop to the safe"
    if not reason:
        raise DrawerInvalid("Say what the cash was for.", details={"reason": ["Required."]})
    if len(reason) > 300:
        raise DrawerInvalid("Keep the reason under 300 characters.", details={"reason": ["Too long."]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_open_session(session)
        store = locked.store
        if kind == DrawerMovement.Kind.PAID_OUT:
            try:
                approver_check(approver, store)
            except ApprovalRequired as error:
                raise ApprovalRequired(
                    "A manager of this store must approve paying cash out.", details=error.details
                ) from None
        elif approver is not None:
            approver_check(approver, store)
        if kind != DrawerMovement.Kind.PAID_IN and amount > drawer_expected(session=locked).expected:
            # No figure in the message: the person at the drawer must not learn what it should hold.
            raise DrawerInvalid(
                "That is more cash than the drawer should hold.",
                details={"amount": ["More than the drawer should hold."]},
            )
        movement = DrawerMovement.objects.create(
            session=locked,
            kind=kind,
            amount=amount,
            reason=reason,
            actor=actor,
            approved_by=approver,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action=f"drawer.{kind}",
            instance=locked,
            after={
                "movement_id": movement.pk,
                "kind": kind,
                "amount": str(amount),
                "reason": reason,
                "approved_by": approver.get_username() if approver else None,
            },
            organization=store.organization,
            store=store,
        )
    return movement


def drawer_close(
    *, session: DrawerSession, counted_amount, actor: User, note: str = "", now: dt.datetime | None = None
) -> DrawerSession:
    """Close the drawer with a blind count: the counter types what is there without seeing what should be.
    Expected = opening + cash of the session's completed sales - its cash refunds + paid in - paid out - drops;
    over/short = counted - expected. Sales and refunds lock the open session before they put cash in or take
    it out, so the expected figure cannot change under the close."""
    counted = _amount(counted_amount, field="counted_amount", positive=False)
    note = (note or "").strip()
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_open_session(session)
        expected = drawer_expected(session=locked).expected
        locked.status = DrawerSession.Status.CLOSED
        locked.closed_by = actor
        locked.closed_at = now
        locked.counted_amount = counted
        locked.expected_amount = expected
        locked.over_short = counted - expected
        locked.note = note
        locked.save(
            update_fields=[
                "status",
                "closed_by",
                "closed_at",
                "counted_amount",
                "expected_amount",
                "over_short",
                "note",
            ]
        )
        audit_record(
            actor=actor,
            action="drawer.closed",
            instance=locked,
            before={"status": DrawerSession.Status.OPEN},
            after={
                "status": DrawerSession.Status.CLOSED,
                "counted_amount": str(counted),
                "expected_amount": str(expected),
                "over_short": str(locked.over_short),
                "note": note,
            },
            organization=locked.store.organization,
            store=locked.store,
        )
    return locked
