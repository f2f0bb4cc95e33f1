"""Writes of the loyalty program and of coupon redemptions: points earned and spent on a sale (spent oldest
first), reversed by voids and refunds, expired by a periodic job; the tier follows the net spend. Called inside
the sale's transaction, so the ledger and the events commit with it."""

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from dispensary.audit import actor_label, audit_record
from dispensary.errors import ApplicationError, ValidationFailed
from dispensary.events import publish
from dispensary.models import User
from pos.events import PointsEarned, RewardRedeemed, TierChanged
from pos.models import Coupon, CouponRedemption, LoyaltyAccount, LoyaltyProgram, PointsEntry, Refund, Sale
from pos.pricing import ZERO
from pos.promotions import CodeResult
from pos.selectors.loyalty import LoyaltyContext, customer_net_spend, loyalty_settings_get, tier_for


def coupon_redemptions_record(*, sale: Sale, coupons: Sequence[CodeResult], now: dt.datetime) -> None:
    """One redemption per applied code; the codes' rows are locked by the caller (the quote's loading)."""
    applied = [result for result in coupons if result.applied]
    if not applied:
        return
    CouponRedemption.objects.bulk_create(
        CouponRedemption(
            coupon_id=result.coupon_id,
            sale=sale,
            customer=sale.customer,
            amount=result.amount,
            message_id=result.message_id,
            redeemed_at=now,
        )
        for result in applied
    )
    Coupon.objects.filter(pk__in=[result.coupon_id for result in applied]).update(uses=F("uses") + 1)


def _spend(account: LoyaltyAccount, points: int) -> None:
    """Take `points` from the oldest entries with points left."""
    for entry in (
        account.entries.select_for_update(of=("self",)).filter(remaining__gt=0).order_by("created_at", "pk")
    ):
        if points <= 0:
            break
        taken = min(entry.remaining, points)
        entry.remaining -= taken
        entry.save(update_fields=["remaining"])
        points -= taken


def _account_for(sale: Sale, loyalty: LoyaltyContext) -> LoyaltyAccount:
    if loyalty.account is not None:
        return loyalty.account
    account, _ = LoyaltyAccount.objects.get_or_create(customer=sale.customer)
    return LoyaltyAccount.objects.select_for_update(of=("self",)).get(pk=account.pk)


def loyalty_sale_record(
    *,
    sale: Sale,
    loyalty: LoyaltyContext,
    rewards: Sequence[CodeResult],
    points: int,
    now: dt.datetime,
) -> None:
    """Spend the rewards' points and earn `points` on a completed sale (the account is created on first earn),
    then recompute the tier. Anonymous sales and disabled programs do nothing. The caller writes
    `sale.points_earned` and `sale.points_redeemed` (set here) with the sale's row. `loyalty.account` is
    locked by the caller, its balance as locked."""
    applied = [result for result in rewards if result.applied]
    if sale.customer_id is None or not loyalty.enabled or (points <= 0 and not applied):
        return
    organization_id = sale.store.organization_id
    account = _account_for(sale, loyalty)
    redeemed = sum(result.points for result in applied)
    for result in applied:
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntry.Kind.REDEEMED,
            points=-result.points,
            sale=sale,
            reward_id=result.reward_id,
            actor=sale.staff,
            note=result.message[:300],
            created_at=now,
        )
        publish(
            RewardRedeemed(
                organization_id=organization_id,
                customer_id=sale.customer_id,
                sale_id=sale.pk,
                reward_id=result.reward_id,
                points=result.points,
                amount=str(result.amount),
            )
        )
    if redeemed:
        _spend(account, redeemed)
    expires = loyalty.program.points_expire_after_days
    if points > 0:
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntry.Kind.EARNED,
            points=points,
            remaining=points,
            expires_at=now + dt.timedelta(days=expires) if expires else None,
            sale=sale,
            actor=sale.staff,
            created_at=now,
        )
    account.balance = account.balance - redeemed + points
    account.save(update_fields=["balance", "updated_at"])
    # The sale's row is written by its completion, with these.
    sale.points_earned, sale.points_redeemed = points, redeemed
    if points > 0:
        publish(
            PointsEarned(
                organization_id=organization_id,
                customer_id=sale.customer_id,
                sale_id=sale.pk,
                points=points,
                balance=account.balance,
            )
        )
    loyalty_tier_recompute(account=account, organization_id=organization_id, now=now)


def loyalty_tier_recompute(*, account: LoyaltyAccount, organization_id: int, now: dt.datetime) -> None:
    """The highest tier whose minimum spend the customer's net spend over the window reaches."""
    settings = loyalty_settings_get(organization_id=organization_id)
    program = settings.program
    if program is None or (not settings.tiers and account.tier_id is None):
        return  # no tier to reach or to leave: the spend need not be read
    spend = customer_net_spend(
        customer=account.customer, since=now - dt.timedelta(days=program.tier_window_days)
    )
    tier = tier_for(organization_id=organization_id, spend=spend)
    if (tier.pk if tier else None) == account.tier_id:
        return
    before = account.tier.name if account.tier_id and account.tier else ""
    account.tier = tier
    account.tier_changed_at = now
    account.save(update_fields=["tier", "tier_changed_at", "updated_at"])
    publish(
        TierChanged(
            organization_id=organization_id,
            customer_id=account.customer_id,
            from_tier=before,
            to_tier=tier.name if tier else "",
        )
    )


def _locked_account(sale: Sale) -> LoyaltyAccount | None:
    if sale.customer_id is None:
        return None
    return (
        LoyaltyAccount.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(customer_id=sale.customer_id)
        .first()
    )


def loyalty_sale_void(*, sale: Sale, actor, now: dt.datetime) -> None:
    """A voided sale gives back the points spent on it, takes back the points it earned (what is left of them
    first; the balance may go below zero if they were spent), and frees its coupon uses."""
    redemptions = list(CouponRedemption.objects.filter(sale=sale, reversed_at__isnull=True).order_by("pk"))
    if redemptions:
        CouponRedemption.objects.filter(pk__in=[r.pk for r in redemptions]).update(reversed_at=now)
        for redemption in redemptions:
            Coupon.objects.filter(pk=redemption.coupon_id, uses__gt=0).update(uses=F("uses") - 1)
    account = _locked_account(sale)
    if account is None or not (sale.points_earned or sale.points_redeemed):
        return
    change = 0
    earned = sale.points_earned - _reversed_by_refunds(sale)
    if earned > 0:
        PointsEntry.objects.filter(account=account, sale=sale, kind=PointsEntry.Kind.EARNED).update(
            remaining=0
        )
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntry.Kind.REVERSED,
            points=-earned,
            sale=sale,
            actor=actor,
            note=f"Sale {sale.receipt_number} voided.",
            created_at=now,
        )
        change -= earned
    if sale.points_redeemed:
        program = LoyaltyProgram.objects.filter(organization_id=sale.store.organization_id).first()
        days = program.points_expire_after_days if program else None
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntry.Kind.REVERSED,
            points=sale.points_redeemed,
            remaining=sale.points_redeemed,
            expires_at=now + dt.timedelta(days=days) if days else None,
            sale=sale,
            actor=actor,
            note=f"Points spent on voided sale {sale.receipt_number} given back.",
            created_at=now,
        )
        change += sale.points_redeemed
    account.balance += change
    account.save(update_fields=["balance", "updated_at"])
    loyalty_tier_recompute(account=account, organization_id=sale.store.organization_id, now=now)


def _reversed_by_refunds(sale: Sale) -> int:
    return Refund.objects.filter(sale=sale).aggregate(total=Sum("points_reversed"))["total"] or 0


def loyalty_refund_record(*, sale: Sale, refund: Refund, actor, now: dt.datetime) -> None:
    """A refund takes back the sale's earned points in proportion to the net refunded (rounded down, never
    more than the sale earned), and the tier is recomputed."""
    account = _locked_account(sale)
    if account is None:
        return
    net_paid = sale.subtotal - sale.discount_total
    points = 0
    if sale.points_earned and net_paid > ZERO:
        already = _reversed_by_refunds(sale)
        refunded_net = Refund.objects.filter(sale=sale).aggregate(total=Sum("net_amount"))["total"] or ZERO
        owed = min(sale.points_earned, math.floor(Decimal(sale.points_earned) * refunded_net / net_paid))
        points = max(0, owed - already)
    if points:
        _spend(account, points)
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntry.Kind.REVERSED,
            points=-points,
            sale=sale,
            refund=refund,
            actor=actor,
            note=f"Refund {refund.pk} of sale {sale.receipt_number}.",
            created_at=now,
        )
        Refund.objects.filter(pk=refund.pk).update(points_reversed=points)
        refund.points_reversed = points
        account.balance -= points
        account.save(update_fields=["balance", "updated_at"])
    loyalty_tier_recompute(account=account, organization_id=sale.store.organization_id, now=now)


def loyalty_points_expire(now: dt.datetime | None = None) -> int:
    """Expire what is left of earned points past their date, one account at a time; returns the points
    expired. Safe to run again: an expired entry has nothing left."""
    now = now or timezone.now()
    account_ids = sorted(
        set(
            PointsEntry.objects.filter(expires_at__lte=now, remaining__gt=0).values_list(
                "account_id", flat=True
            )
        )
    )
    expired = 0
    for account_id in account_ids:
        with transaction.atomic():
            account = LoyaltyAccount.objects.select_for_update(of=("self",)).get(pk=account_id)
            entries = list(
                PointsEntry.objects.select_for_update(of=("self",))
                .filter(account=account, expires_at__lte=now, remaining__gt=0)
                .order_by("pk")
            )
            points = sum(entry.remaining for entry in entries)
            if not points:
                continue
            PointsEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(remaining=0)
            PointsEntry.objects.create(
                account=account,
                kind=PointsEntry.Kind.EXPIRED,
                points=-points,
                note="Points past their expiry date.",
                created_at=now,
            )
            account.balance -= points
            account.save(update_fields=["balance", "updated_at"])
            expired += points
    return expired


def loyalty_points_adjust(
    *, customer_id: int, points: int, note: str, actor=None, now: dt.datetime | None = None
) -> tuple[PointsEntry | None, int]:
    """Add (or take, when negative) points outside a sale (a flow's gift, an outside loyalty system's balance, a
    correction): one "adjusted" ledger entry with its note, and the balance with it. Added points expire like
    earned ones; taken points are spent oldest first (the balance may go below zero if they were spent). The
    account is created on first use. Returns the entry (None for zero points) and the new balance. The caller
    makes a retry safe (a flow step runs once; a sync sets a balance by the difference under a lock)."""
    now = now or timezone.now()
    with transaction.atomic():
        account, _ = LoyaltyAccount.objects.get_or_create(customer_id=customer_id)
        account = LoyaltyAccount.objects.select_for_update(of=("self",)).get(pk=account.pk)
        if not points:
            return None, account.balance
        expires_at = None
        if points > 0:
            program = LoyaltyProgram.objects.filter(organization__customers__pk=customer_id).first()
            days = program.points_expire_after_days if program else None
            expires_at = now + dt.timedelta(days=days) if days else None
        else:
            _spend(account, -points)
        entry = PointsEntry.objects.create(
            account=account,
            kind=PointsEntry.Kind.ADJUSTED,
            points=points,
            remaining=max(points, 0),
            expires_at=expires_at,
            actor=actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None,
            note=note[:300],
            created_at=now,
        )
        account.balance += points
        account.save(update_fields=["balance", "updated_at"])
    return entry, account.balance


class LoyaltyUnavailable(ApplicationError):
    code = "loyalty_unavailable"
    status = 422


@transaction.atomic
def loyalty_points_add(*, customer, points: int, reason: str, actor, now: dt.datetime | None = None):
    """Add points outside a sale (an integration's reward, a goodwill gesture): one adjusted entry in the
    ledger naming who gave them and why; the points expire like earned ones. Needs an enabled program."""
    if points <= 0:
        raise ValidationFailed("Points must be a positive whole number.", details={"points": ["At least 1."]})
    program = loyalty_settings_get(organization_id=customer.organization_id).program
    if program is None or not program.enabled:
        raise LoyaltyUnavailable("The store's loyalty program is off; no points can be added.")
    entry, balance = loyalty_points_adjust(
        customer_id=customer.pk,
        points=points,
        note=f"{actor_label(actor)}: {reason}",
        actor=actor if isinstance(actor, User) else None,
        now=now,
    )
    audit_record(
        actor=actor,
        action="loyalty.points_added",
        instance=entry,
        after={"customer_id": customer.pk, "points": points, "reason": reason, "balance": balance},
        organization=customer.organization,
    )
    return entry, balance
