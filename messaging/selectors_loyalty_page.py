"""What the customer's loyalty page shows: points, tier and the way to the next one, rewards within reach and the
next ones, open personal coupons, recent points history and the marketing choices per channel. Read only."""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db.models import F, Q

from dispensary.models import Customer
from dispensary.selectors import marketing_consent_current
from pos.models import Coupon, LoyaltyAccount, PointsEntry, Reward
from pos.selectors.loyalty import customer_net_spend, loyalty_settings_get

HISTORY_SIZE = 10
NEXT_REWARDS = 2
ENTRY_WORDS = {
    "earned": "Points earned",
    "redeemed": "Points spent on a reward",
    "expired": "Points expired",
    "reversed": "Points taken back (a return or a cancelled sale)",
    "adjusted": "Adjusted by the store",
}
CHANNEL_WORDS = {"sms": "Text messages", "email": "Email"}


@dataclass(frozen=True)
class TierProgress:
    name: str  # "" without a tier
    spend: Decimal  # over the window
    window_days: int
    next_name: str  # "" at the top
    next_needs: Decimal | None  # spend still needed for the next tier
    percent: int  # 0..100 of the way from this tier to the next


@dataclass(frozen=True)
class RewardLine:
    name: str
    points_cost: int
    what: str  # "$5.00 off", "10% off"
    points_short: int  # 0: affordable now


@dataclass(frozen=True)
class CouponLine:
    code: str
    what: str
    valid_until: dt.datetime | None
    min_spend: Decimal | None


@dataclass(frozen=True)
class HistoryLine:
    at: dt.datetime
    what: str
    points: int


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    label: str
    on: bool  # granted (even if waiting for the YES)
    waiting: bool  # a text opt-in waiting for the customer's YES
    can_turn_on: bool  # a number or address is on file
    address: str


@dataclass(frozen=True)
class LoyaltyPage:
    first_name: str
    program_enabled: bool
    balance: int
    tier: TierProgress | None
    rewards_now: tuple[RewardLine, ...]
    rewards_next: tuple[RewardLine, ...]
    coupons: tuple[CouponLine, ...]
    history: tuple[HistoryLine, ...]
    choices: tuple[ChannelChoice, ...]


def _reward_what(reward: Reward) -> str:
    if reward.kind == Reward.Kind.PERCENT:
        return f"{reward.value.normalize():f}% off"
    return f"${reward.value:,.2f} off"


def _promotion_what(coupon: Coupon) -> str:
    promotion = coupon.promotion
    if promotion.kind == "percent":
        return f"{promotion.value.normalize():f}% off"
    if promotion.kind == "amount":
        return f"${promotion.value:,.2f} off"
    return promotion.name


def _tier(organization_id: int, customer: Customer, now: dt.datetime) -> TierProgress | None:
    settings = loyalty_settings_get(organization_id=organization_id)
    if settings.program is None or not settings.tiers:
        return None
    window = settings.program.tier_window_days
    spend = customer_net_spend(customer=customer, since=now - dt.timedelta(days=window))
    reached = [tier for tier in settings.tiers if tier.min_spend <= spend]
    above = [tier for tier in settings.tiers if tier.min_spend > spend]
    current = reached[-1] if reached else None
    following = above[0] if above else None
    if following is None:
        return TierProgress(current.name if current else "", spend, window, "", None, 100)
    floor = current.min_spend if current else Decimal(0)
    span = following.min_spend - floor
    percent = int(((spend - floor) * 100 / span).to_integral_value(ROUND_DOWN)) if span > 0 else 0
    return TierProgress(
        current.name if current else "",
        spend,
        window,
        following.name,
        following.min_spend - spend,
        max(0, min(100, percent)),
    )


def loyalty_page_get(*, customer: Customer, now: dt.datetime) -> LoyaltyPage:
    """Everything the page shows, in a fixed number of queries."""
    organization_id = customer.organization_id
    settings = loyalty_settings_get(organization_id=organization_id)
    enabled = settings.program is not None and settings.program.enabled
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    balance = account.balance if account else 0
    rewards = list(
        Reward.objects.filter(organization_id=organization_id, active=True).order_by("points_cost", "pk")
    )
    lines = [
        RewardLine(
            reward.name, reward.points_cost, _reward_what(reward), max(0, reward.points_cost - balance)
        )
        for reward in rewards
    ]
    coupons = (
        Coupon.objects.filter(
            organization_id=organization_id, customer=customer, active=True, promotion__active=True
        )
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=now))
        .select_related("promotion")
        .order_by(F("valid_until").asc(nulls_last=True), "code")
    )
    history = []
    if account is not None:
        entries = PointsEntry.objects.filter(account=account).order_by("-created_at", "-id")[:HISTORY_SIZE]
        history = [
            HistoryLine(entry.created_at, ENTRY_WORDS.get(entry.kind, entry.kind), entry.points)
            for entry in entries
        ]
    current = marketing_consent_current(customer)
    choices = []
    for channel in ("sms", "email"):
        row = current.get(channel)
        address = customer.phone if channel == "sms" else customer.email
        choices.append(
            ChannelChoice(
                channel=channel,
                label=CHANNEL_WORDS[channel],
                on=bool(row and row.granted),
                waiting=bool(row and row.granted and row.awaiting_confirmation),
                can_turn_on=bool(address),
                address=address or "",
            )
        )
    return LoyaltyPage(
        first_name=customer.first_name,
        program_enabled=enabled,
        balance=balance,
        tier=_tier(organization_id, customer, now) if enabled else None,
        rewards_now=tuple(line for line in lines if line.points_short == 0),
        rewards_next=tuple(line for line in lines if line.points_short > 0)[:NEXT_REWARDS],
        coupons=tuple(
            CouponLine(coupon.code, _promotion_what(coupon), coupon.valid_until, coupon.min_spend)
            for coupon in coupons
        ),
        history=tuple(history),
        choices=tuple(choices),
    )
