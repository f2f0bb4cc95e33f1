"""A customer's loyalty statement for the API and profiles: balance, tier and the ledger's recent entries (read
only; earning and redeeming are written elsewhere)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from dispensary.models import Customer
from pos.models import LoyaltyAccount, LoyaltyTier, PointsEntry

STATEMENT_DAYS = 365


@dataclass(frozen=True)
class LoyaltyStatement:
    balance: int
    tier: LoyaltyTier | None
    tier_changed_at: dt.datetime | None
    since: dt.datetime
    entries: QuerySet[PointsEntry] | list


def loyalty_statement_get(*, customer: Customer, now: dt.datetime) -> LoyaltyStatement:
    """The account's balance and tier and its entries since `now` less twelve months, newest first; a customer
    without an account has a zero balance and no tier. Two queries."""
    since = now - dt.timedelta(days=STATEMENT_DAYS)
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    if account is None:
        return LoyaltyStatement(balance=0, tier=None, tier_changed_at=None, since=since, entries=[])
    entries = PointsEntry.objects.filter(account=account, created_at__gte=since).order_by(
        "-created_at", "-id"
    )
    return LoyaltyStatement(
        balance=account.balance,
        tier=account.tier,
        tier_changed_at=account.tier_changed_at,
        since=since,
        entries=entries,
    )
