"""The promotions engine, pure (no database): which promotions, coupons and loyalty rewards take what off which
cart lines, and why a code was refused. The quote and the sale load the rules and call `discounts_apply`, so
the screen and the receipt agree to the cent.

Promotions compete per line: of the non-stackable ones the best wins, stackable ones add. A coupon's promotion
joins that competition; rewards come last, off what is left. A line never goes below zero."""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pos.pricing import ZERO, money

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class QuoteDiscount:
    """One discount on one line. source: promotion, coupon, reward or override (SaleLineDiscount.Source)."""

    source: str
    name: str
    amount: Decimal
    promotion_id: int | None = None
    coupon_id: int | None = None
    reward_id: int | None = None
    approved_by_id: int | None = None


@dataclass(frozen=True)
class CodeResult:
    """What became of a coupon code or a reward the cart asked for."""

    code: str
    applied: bool
    message: str
    amount: Decimal = ZERO
    coupon_id: int | None = None
    reward_id: int | None = None
    message_id: str = ""
    points: int = 0
    promotion_id: int | None = None


@dataclass(frozen=True)
class CartItem:
    """A cart line at list price; `available` is what is left after a manager's manual discounts."""

    index: int
    product_id: int
    category: str
    brand: str
    quantity: Decimal
    unit_price: Decimal
    list_amount: Decimal
    available: Decimal | None = None

    @property
    def base(self) -> Decimal:
        return self.list_amount if self.available is None else self.available


@dataclass(frozen=True)
class CustomerContext:
    type: str  # "adult_use" or "medical"
    customer_id: int | None = None
    age: int | None = None
    is_employee: bool = False
    is_veteran: bool = False


@dataclass(frozen=True)
class PromotionRule:
    id: int
    name: str
    kind: str  # percent, amount, bxgy
    value: Decimal
    scope: str = "line"
    buy_quantity: int | None = None
    get_quantity: int | None = None
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    product_ids: frozenset[int] = frozenset()
    customer_group: str = "everyone"
    senior_age: int = 65
    min_subtotal: Decimal | None = None
    weekdays: tuple[int, ...] = ()
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    automatic: bool = True
    stackable: bool = False
    priority: int = 0
    active: bool = True


@dataclass(frozen=True)
class CouponRule:
    id: int
    code: str
    promotion: PromotionRule
    active: bool = True
    max_uses: int | None = None
    uses: int = 0
    max_uses_per_customer: int | None = None
    customer_uses: int = 0  # redemptions by this cart's customer, not reversed
    min_spend: Decimal | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    customer_id: int | None = None
    message_id: str = ""


@dataclass(frozen=True)
class RewardRule:
    id: int
    name: str
    points_cost: int
    kind: str  # amount, percent
    value: Decimal
    categories: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class Applied:
    discounts_by_line: dict[int, list[QuoteDiscount]]
    coupons: tuple[CodeResult, ...] = ()
    rewards: tuple[CodeResult, ...] = ()
    points_to_redeem: int = 0
    chosen: tuple[CodeResult, ...] = ()  # the promotions chosen at the counter: applied, or why not

    @property
    def refused(self) -> tuple[CodeResult, ...]:
        return tuple(result for result in self.coupons + self.rewards if not result.applied)


@dataclass
class _Candidate:
    promotion: PromotionRule
    amounts: dict[int, Decimal]
    coupon: CouponRule | None = None
    kept: dict[int, Decimal] = field(default_factory=dict)


# --- Eligibility ------------------------------------------------------------------------------------------------


# What a group promotion needs checked at the counter, when the check is missing or fails.
GROUP_CHECKS = {
    "senior": "For seniors: the ID checked must show {age} or older.",
    "employee": "For staff: choose the staff member who is buying.",
    "veteran": "For veterans: the customer's record or a veteran check at the counter.",
    "medical": "For medical patients only.",
    "adult_use": "For adult-use customers only.",
}


def in_group(promotion: PromotionRule, customer: CustomerContext) -> bool:
    group = promotion.customer_group
    if group == "everyone":
        return True
    if group in ("medical", "adult_use"):
        return customer.type == group
    if group == "employee":
        return customer.is_employee
    if group == "veteran":
        return customer.is_veteran
    if group == "senior":
        return customer.age is not None and customer.age >= promotion.senior_age
    return False


def in_time(promotion: PromotionRule, local_now: dt.datetime) -> bool:
    """Date range, weekdays and hours, all in the store's local time (an end before the start spans midnight)."""
    day = local_now.date()
    if promotion.starts_on and day < promotion.starts_on:
        return False
    if promotion.ends_on and day > promotion.ends_on:
        return False
    if promotion.weekdays and local_now.weekday() not in promotion.weekdays:
        return False
    start, end, moment = promotion.start_time, promotion.end_time, local_now.time()
    if start is not None and end is not None:
        return start <= moment < end if start <= end else (moment >= start or moment < end)
    if start is not None:
        return moment >= start
    if end is not None:
        return moment < end
    return True


def qualifies(promotion: PromotionRule, item: CartItem) -> bool:
    if promotion.categories and item.category not in promotion.categories:
        return False
    if promotion.brands and item.brand not in promotion.brands:
        return False
    return not promotion.product_ids or item.product_id in promotion.product_ids


def _why_not(promotion: PromotionRule, customer, local_now, subtotal: Decimal) -> str:
    """Why a promotion does not apply to this cart now; empty when it does."""
    if not promotion.active:
        return "The promotion has ended."
    if not in_group(promotion, customer):
        return GROUP_CHECKS.get(
            promotion.customer_group, "The customer is not in the promotion's group."
        ).format(age=promotion.senior_age)
    if not in_time(promotion, local_now):
        return "The promotion does not apply at this time."
    if promotion.min_subtotal is not None and subtotal < promotion.min_subtotal:
        return f"The promotion needs a subtotal of {money(promotion.min_subtotal)}."
    return ""


# --- Amounts ----------------------------------------------------------------------------------------------------


def spread(amount: Decimal, bases: dict[int, Decimal]) -> dict[int, Decimal]:
    """`amount` over lines in proportion to their bases; the last line takes the rounding."""
    whole = sum(bases.values(), ZERO)
    amount = min(amount, whole)
    if amount <= ZERO or whole <= ZERO:
        return {}
    keys = sorted(bases)
    parts, left = {}, amount
    for key in keys[:-1]:
        part = money(amount * bases[key] / whole)
        parts[key] = part
        left -= part
    parts[keys[-1]] = left
    return {key: part for key, part in parts.items() if part > ZERO}


def promotion_amounts(promotion: PromotionRule, items: Sequence[CartItem]) -> dict[int, Decimal]:
    """What `promotion` alone takes off each qualifying line."""
    lines = [item for item in items if qualifies(promotion, item) and item.base > ZERO]
    value = Decimal(promotion.value)
    if not lines or value <= ZERO:
        return {}
    if promotion.kind == "bxgy":
        return _buy_x_get_y(promotion, lines, value)
    if promotion.scope == "cart":
        bases = {item.index: item.base for item in lines}
        whole = sum(bases.values(), ZERO)
        total = money(whole * value / HUNDRED) if promotion.kind == "percent" else value
        return spread(min(total, whole), bases)
    amounts = {}
    for item in lines:
        off = money(item.base * value / HUNDRED) if promotion.kind == "percent" else value
        amounts[item.index] = min(off, item.base)
    return {index: amount for index, amount in amounts.items() if amount > ZERO}


def _buy_x_get_y(promotion: PromotionRule, lines: Sequence[CartItem], value: Decimal) -> dict[int, Decimal]:
    """Every buy+get whole units, the `get` cheapest qualifying units take `value`% off."""
    buy, get = promotion.buy_quantity or 0, promotion.get_quantity or 0
    if buy <= 0 or get <= 0:
        return {}
    units = []
    for item in lines:
        whole_units = int(item.quantity) if item.quantity == item.quantity.to_integral_value() else 0
        units += [(item.unit_price, item.index)] * whole_units
    free = len(units) // (buy + get) * get
    amounts: dict[int, Decimal] = {}
    for price, index in sorted(units)[:free]:
        amounts[index] = amounts.get(index, ZERO) + money(price * min(value, HUNDRED) / HUNDRED)
    bases = {item.index: item.base for item in lines}
    return {index: min(amount, bases[index]) for index, amount in amounts.items() if amount > ZERO}


def _choose(candidates: list[_Candidate], items: Sequence[CartItem]) -> None:
    """Per line: the best non-stackable candidate, then the stackable ones, within what the line has left."""
    for item in items:
        left = item.base
        offers = [c for c in candidates if c.amounts.get(item.index, ZERO) > ZERO]
        exclusive = [c for c in offers if not c.promotion.stackable]
        # Best amount wins; at a tie the higher priority, then the earlier in the given order.
        exclusive.sort(key=lambda c: (-c.amounts[item.index], -c.promotion.priority))
        winners = exclusive[:1] + [c for c in offers if c.promotion.stackable]
        for candidate in winners:
            amount = min(candidate.amounts[item.index], left)
            if amount > ZERO:
                candidate.kept[item.index] = amount
                left -= amount


# --- Coupons and rewards ----------------------------------------------------------------------------------------


def coupon_refusal(
    coupon: CouponRule | None, *, code: str, customer: CustomerContext, now: dt.datetime
) -> str:
    """Why a code cannot be used by this customer now, before looking at the cart; empty when it can."""
    if coupon is None:
        return f"{code} is not a valid code."
    if not coupon.active:
        return f"{coupon.code} is no longer active."
    if coupon.valid_from and now < coupon.valid_from:
        return f"{coupon.code} is valid from {coupon.valid_from:%b %d, %Y}."
    if coupon.valid_until and now > coupon.valid_until:
        return f"{coupon.code} expired on {coupon.valid_until:%b %d, %Y}."
    if coupon.customer_id is not None and coupon.customer_id != customer.customer_id:
        return f"{coupon.code} belongs to another customer."
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return f"{coupon.code} has already been used."
    if coupon.max_uses_per_customer is not None:
        if customer.customer_id is None:
            return f"{coupon.code} needs the customer: look them up first."
        if coupon.customer_uses >= coupon.max_uses_per_customer:
            return f"The customer has already used {coupon.code}."
    return ""


def _reward_amounts(reward: RewardRule, items: Sequence[CartItem], left: dict[int, Decimal]):
    bases = {
        item.index: left[item.index]
        for item in items
        if (not reward.categories or item.category in reward.categories) and left[item.index] > ZERO
    }
    whole = sum(bases.values(), ZERO)
    total = money(whole * Decimal(reward.value) / HUNDRED) if reward.kind == "percent" else reward.value
    return spread(min(Decimal(total), whole), bases)


def discounts_apply(
    *,
    items: Sequence[CartItem],
    customer: CustomerContext,
    local_now: dt.datetime,
    now: dt.datetime,
    promotions: Sequence[PromotionRule] = (),
    chosen_promotion_ids: Sequence[int] = (),
    coupon_codes: Sequence[str] = (),
    coupons: dict[str, CouponRule] | None = None,
    reward_ids: Sequence[int] = (),
    rewards: dict[int, RewardRule] | None = None,
    points_balance: int | None = None,
) -> Applied:
    """The discounts on each line (by item index) and what became of each code and reward. `promotions` holds
    the automatic ones and the chosen ones; `coupons` the known codes (upper case) with their promotions;
    `now` is aware (validity windows), `local_now` the store's local time (hours, weekdays)."""
    coupons, rewards = coupons or {}, rewards or {}
    subtotal = sum((item.base for item in items), ZERO)
    chosen = set(chosen_promotion_ids)
    candidates = [
        _Candidate(promotion, promotion_amounts(promotion, items))
        for promotion in promotions
        if (promotion.automatic or promotion.id in chosen)
        and not _why_not(promotion, customer, local_now, subtotal)
    ]
    _choose(candidates, items)
    after_promotions = subtotal - sum((sum(c.kept.values(), ZERO) for c in candidates), ZERO)

    results: list[tuple[str, CouponRule | None, str]] = []
    seen = set()
    for raw in coupon_codes:
        code = (raw or "").strip().upper()
        if not code or code in seen:
            continue
        seen.add(code)
        coupon = coupons.get(code)
        reason = coupon_refusal(coupon, code=code, customer=customer, now=now)
        if not reason and coupon.min_spend is not None and after_promotions < coupon.min_spend:
            reason = f"{coupon.code} needs a spend of {money(coupon.min_spend)}; the cart comes to {after_promotions}."
        if not reason:
            reason = _why_not(coupon.promotion, customer, local_now, subtotal)
        if not reason:
            amounts = promotion_amounts(coupon.promotion, items)
            if not amounts:
                reason = f"Nothing in the cart qualifies for {coupon.code}."
            else:
                candidates.append(_Candidate(coupon.promotion, amounts, coupon=coupon))
        results.append((code, coupon, reason))
    for candidate in candidates:
        candidate.kept = {}
    _choose(candidates, items)

    by_line: dict[int, list[QuoteDiscount]] = {}
    left = {item.index: item.base for item in items}
    for candidate in candidates:
        for index, amount in sorted(candidate.kept.items()):
            coupon = candidate.coupon
            by_line.setdefault(index, []).append(
                QuoteDiscount(
                    "coupon" if coupon else "promotion",
                    f"{coupon.code}: {candidate.promotion.name}" if coupon else candidate.promotion.name,
                    amount,
                    promotion_id=candidate.promotion.id,
                    coupon_id=coupon.id if coupon else None,
                )
            )
            left[index] -= amount
    coupon_results = []
    for code, coupon, reason in results:
        if reason:
            coupon_results.append(CodeResult(code, False, reason, coupon_id=coupon.id if coupon else None))
            continue
        kept = next(c.kept for c in candidates if c.coupon is coupon)
        amount = sum(kept.values(), ZERO)
        if amount <= ZERO:
            coupon_results.append(
                CodeResult(
                    code,
                    False,
                    f"A better promotion already applies; {code} was not used.",
                    coupon_id=coupon.id,
                )
            )
        else:
            coupon_results.append(
                CodeResult(
                    code,
                    True,
                    f"{code}: {money(amount)} off.",
                    amount,
                    coupon.id,
                    message_id=coupon.message_id,
                )
            )

    reward_results, spent = [], 0
    for reward_id in dict.fromkeys(reward_ids):
        reward = rewards.get(reward_id)
        label = reward.name if reward else f"Reward {reward_id}"
        reason = ""
        if reward is None or not reward.active:
            reason = f"{label} is not available."
        elif customer.customer_id is None or points_balance is None:
            reason = f"{label} needs a loyalty member."
        elif spent + reward.points_cost > points_balance:
            reason = f"{label} needs {reward.points_cost} points; {points_balance - spent} are available."
        if not reason:
            amounts = _reward_amounts(reward, items, left)
            if not amounts:
                reason = f"Nothing in the cart qualifies for {label}."
        if reason:
            reward_results.append(CodeResult(label, False, reason, reward_id=reward_id))
            continue
        spent += reward.points_cost
        for index, amount in sorted(amounts.items()):
            by_line.setdefault(index, []).append(
                QuoteDiscount("reward", reward.name, amount, reward_id=reward.id)
            )
            left[index] -= amount
        total = sum(amounts.values(), ZERO)
        reward_results.append(
            CodeResult(
                label,
                True,
                f"{label}: {money(total)} off for {reward.points_cost} points.",
                total,
                reward_id=reward.id,
                points=reward.points_cost,
            )
        )
    chosen_results = []
    by_id = {promotion.id: promotion for promotion in promotions}
    for promotion_id in dict.fromkeys(chosen_promotion_ids):
        promotion = by_id.get(promotion_id)
        if promotion is None:
            chosen_results.append(
                CodeResult(
                    f"Promotion {promotion_id}",
                    False,
                    "This promotion is not available here.",
                    promotion_id=promotion_id,
                )
            )
            continue
        reason = _why_not(promotion, customer, local_now, subtotal)
        candidate = next((c for c in candidates if c.promotion is promotion and c.coupon is None), None)
        amount = sum(candidate.kept.values(), ZERO) if candidate and not reason else ZERO
        if not reason and amount <= ZERO:
            reason = (
                "A better promotion already applies."
                if candidate and candidate.amounts
                else "Nothing in the cart qualifies."
            )
        chosen_results.append(
            CodeResult(
                promotion.name,
                not reason,
                reason or f"{money(amount)} off.",
                amount,
                promotion_id=promotion.id,
            )
        )
    return Applied(by_line, tuple(coupon_results), tuple(reward_results), spent, tuple(chosen_results))


# --- Points -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiplierRule:
    multiplier: Decimal
    categories: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None

    def applies(self, category: str, day: dt.date) -> bool:
        return (
            (not self.categories or category in self.categories)
            and (not self.weekdays or day.weekday() in self.weekdays)
            and (self.starts_on is None or day >= self.starts_on)
            and (self.ends_on is None or day <= self.ends_on)
        )


def points_for(
    *,
    nets: Sequence[tuple[str, Decimal]],
    points_per_unit: Decimal,
    multipliers: Sequence[MultiplierRule],
    tier_multiplier: Decimal,
    day: dt.date,
) -> int:
    """Points for lines (category, net paid before taxes): the rate times the best multiplier of the line's
    category on the day times the tier's, rounded down once for the sale."""
    total = ZERO
    for category, net in nets:
        if net <= ZERO:
            continue
        best = max((m.multiplier for m in multipliers if m.applies(category, day)), default=Decimal("1"))
        total += net * points_per_unit * best * tier_multiplier
    return max(0, math.floor(total))
