"""Reads of the loyalty program: the organization's program, tiers and multipliers, a customer's account, and
the net spend that decides a tier."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Sum

from dispensary.models import Customer
from pos.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsMultiplier, Refund, Sale
from pos.pricing import ZERO
from pos.promotions import MultiplierRule


@dataclass(frozen=True)
class LoyaltyContext:
    program: LoyaltyProgram | None
    account: LoyaltyAccount | None
    multipliers: tuple[MultiplierRule, ...]

    @property
    def enabled(self) -> bool:
        return self.program is not None and self.program.enabled

    @property
    def tier_multiplier(self) -> Decimal:
        tier = self.account.tier if self.account else None
        return tier.earn_multiplier if tier else Decimal("1")


def loyalty_context_get(*, organization_id: int, customer: Customer | None) -> LoyaltyContext:
    """The program, the customer's account and the active multipliers. A read: completing a sale locks the
    account first (pos.services.sales)."""
    program = LoyaltyProgram.objects.filter(organization_id=organization_id).first()
    if program is None or not program.enabled or customer is None:
        return LoyaltyContext(program, None, ())
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    multipliers = tuple(
        MultiplierRule(
            multiplier=row.multiplier,
            categories=tuple(row.categories or ()),
            weekdays=tuple(int(day) for day in row.weekdays or ()),
            starts_on=row.starts_on,
            ends_on=row.ends_on,
        )
        for row in PointsMultiplier.objects.filter(organization_id=organization_id, active=True)
    )
    return LoyaltyContext(program, account, multipliers)


def customer_net_spend(*, customer: Customer, since: dt.datetime) -> Decimal:
    """What the customer paid before taxes since `since`: completed sales less their refunds."""
    sales = Sale.objects.filter(customer=customer, status=Sale.Status.COMPLETED, completed_at__gte=since)
    net = ExpressionWrapper(F("subtotal") - F("discount_total"), output_field=DecimalField())
    paid = sales.aggregate(total=Sum(net))["total"] or ZERO
    refunded = Refund.objects.filter(sale__in=sales).aggregate(total=Sum("net_amount"))["total"] or ZERO
    return paid - refunded


def tier_for(*, organization_id: int, spend: Decimal) -> LoyaltyTier | None:
    return (
        LoyaltyTier.objects.filter(organization_id=organization_id, min_spend__lte=spend)
        .order_by("-min_spend")
        .first()
    )
