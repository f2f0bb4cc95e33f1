"""Reads of the loyalty program: the organization's program, tiers and multipliers (read once per process until
one of their rows changes, dispensary.versioned), a customer's account, and the net spend that decides a tier."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from dispensary.models import Customer
from dispensary.versioned import Versioned
from pos.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsMultiplier, Refund, Sale
from pos.pricing import ZERO
from pos.promotions import MultiplierRule

LOYALTY = Versioned("loyalty").watch(LoyaltyProgram, LoyaltyTier, PointsMultiplier)


@dataclass(frozen=True)
class LoyaltySettings:
    """An organization's program (None without one), its tiers by minimum spend and its active multipliers."""

    program: LoyaltyProgram | None
    tiers: tuple[LoyaltyTier, ...]
    multipliers: tuple[MultiplierRule, ...]


def loyalty_settings_get(*, organization_id: int) -> LoyaltySettings:
    return LOYALTY.get(organization_id, lambda: _settings_load(organization_id))


def _settings_load(organization_id: int) -> LoyaltySettings:
    program = LoyaltyProgram.objects.filter(organization_id=organization_id).first()
    tiers = tuple(LoyaltyTier.objects.filter(organization_id=organization_id).order_by("min_spend", "pk"))
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
    return LoyaltySettings(program, tiers, multipliers)


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
    settings = loyalty_settings_get(organization_id=organization_id)
    program = settings.program
    if program is None or not program.enabled or customer is None:
        return LoyaltyContext(program, None, ())
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    if account is not None and account.tier_id is not None:
        # The tier from the kept tiers, not one more query.
        tier = next((tier for tier in settings.tiers if tier.pk == account.tier_id), None)
        if tier is not None:
            account.tier = tier
    return LoyaltyContext(program, account, settings.multipliers)


def customer_net_spend(*, customer: Customer, since: dt.datetime) -> Decimal:
    """What the customer paid before taxes since `since`: completed sales less their refunds, in one query."""
    money = DecimalField(max_digits=14, decimal_places=2)
    sales = {"status": Sale.Status.COMPLETED}
    paid = (
        Sale.objects.filter(customer=OuterRef("pk"), completed_at__gte=since, **sales)
        .order_by()
        .values("customer")
        .annotate(total=Sum(ExpressionWrapper(F("subtotal") - F("discount_total"), output_field=money)))
        .values("total")
    )
    refunded = (
        Refund.objects.filter(
            sale__customer=OuterRef("pk"), sale__completed_at__gte=since, sale__status=sales["status"]
        )
        .order_by()
        .values("sale__customer")
        .annotate(total=Sum("net_amount"))
        .values("total")
    )
    row = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(
            paid=Coalesce(Subquery(paid, output_field=money), Value(ZERO), output_field=money),
            refunded=Coalesce(Subquery(refunded, output_field=money), Value(ZERO), output_field=money),
        )
        .values_list("paid", "refunded")
        .first()
    )
    return row[0] - row[1] if row else ZERO


def tier_for(*, organization_id: int, spend: Decimal) -> LoyaltyTier | None:
    """The highest tier whose minimum spend `spend` reaches."""
    reached = [
        tier
        for tier in loyalty_settings_get(organization_id=organization_id).tiers
        if tier.min_spend <= spend
    ]
    return reached[-1] if reached else None
