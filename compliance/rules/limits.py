"""The purchase-limit engine: given a jurisdiction's rules, the customer, their purchases in the window and the
cart, is the sale legal, how much of each allowance is left, and which line breaks which limit.

Pure: it reads only its arguments (and the standard library's time-zone data), so the checkout can call it inside
its transaction and the tests need no database. An allowance (`Limit`) sums its terms, bucket amount x factor,
over its window; equivalencies (Colorado, Massachusetts) are allowances with several terms."""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

ADULT_USE = "adult_use"
MEDICAL = "medical"
CUSTOMER_TYPES = (ADULT_USE, MEDICAL)

# The buckets products declare amounts in (inventory.models.LimitBucket holds the same names).
BUCKETS = ("flower_g", "concentrate_g", "infused_thc_mg", "infused_weight_g", "immature_plants", "seeds")
BUCKET_WORDS = {
    "flower_g": ("flower", "g"),
    "concentrate_g": ("concentrate", "g"),
    "infused_thc_mg": ("infused THC", "mg"),
    "infused_weight_g": ("infused product", "g"),
    "immature_plants": ("immature plants", "plants"),
    "seeds": ("seeds", "seeds"),
}

TRANSACTION = "transaction"
LOCAL_DAY = "local_day"
ROLLING_DAYS = "rolling_days"
WINDOWS = (TRANSACTION, LOCAL_DAY, ROLLING_DAYS)

ANY = "any"
RESIDENT = "resident"
NON_RESIDENT = "non_resident"

ZERO = Decimal(0)
ONE = Decimal(1)
MILLI = Decimal("0.001")


def amount_text(value: Decimal) -> str:
    """3.500 -> "3.5", 28.000 -> "28": one spelling for amounts in sentences and JSON."""
    text = format(Decimal(value).quantize(MILLI, rounding=ROUND_HALF_UP), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def quantity_text(value: Decimal, unit: str) -> str:
    """ "3.5 g", "500 mg", "1 plant", "6 plants"."""
    text = amount_text(value)
    if unit.endswith("s") and text == "1":
        unit = unit[:-1]
    return f"{text} {unit}"


def _in_force(effective_from: dt.date | None, effective_to: dt.date | None, day: dt.date) -> bool:
    return (effective_from is None or effective_from <= day) and (effective_to is None or day <= effective_to)


# --- Rules (built by compliance.selectors from the database, or by hand in tests) -----------------------------


@dataclass(frozen=True)
class LimitTerm:
    bucket: str
    factor: Decimal = ONE


@dataclass(frozen=True)
class Limit:
    """An allowance: sum(bucket amount x factor) over the window may not exceed `amount` (in `unit`)."""

    customer_type: str
    label: str
    unit: str
    amount: Decimal
    window: str
    terms: tuple[LimitTerm, ...]
    window_days: int | None = None
    residency: str = ANY
    age_min: int | None = None
    age_max: int | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    citation: str = ""
    confirmed: bool = True

    def __post_init__(self) -> None:
        if self.window not in WINDOWS:
            raise ValueError(f"Unknown window {self.window!r}.")
        if (self.window == ROLLING_DAYS) != (self.window_days is not None and self.window_days >= 1):
            raise ValueError("A rolling window needs window_days >= 1, and only a rolling window has them.")

    def in_force(self, day: dt.date) -> bool:
        return _in_force(self.effective_from, self.effective_to, day)

    def applies_to(self, customer: "Customer") -> bool:
        if self.customer_type != customer.type:
            return False  # medical and adult-use allowances never combine
        if self.residency == RESIDENT and not customer.resident:
            return False
        if self.residency == NON_RESIDENT and customer.resident:
            return False
        if customer.age is not None:
            if self.age_min is not None and customer.age < self.age_min:
                return False
            if self.age_max is not None and customer.age > self.age_max:
                return False
        return True

    def counts(self, amounts: Mapping[str, Decimal]) -> Decimal:
        return sum((amounts.get(term.bucket, ZERO) * term.factor for term in self.terms), ZERO)

    def window_text(self) -> str:
        if self.window == LOCAL_DAY:
            return "daily"
        if self.window == TRANSACTION:
            return "per-transaction"
        return f"{self.window_days}-day"


@dataclass(frozen=True)
class AgeRequirement:
    customer_type: str
    minimum_age: int
    younger_through_caregiver: bool = False
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    citation: str = ""
    confirmed: bool = True

    def in_force(self, day: dt.date) -> bool:
        return _in_force(self.effective_from, self.effective_to, day)


@dataclass(frozen=True)
class DeliveryHours:
    """A delivery rule row (compliance.rules.delivery judges with them; the limit engine does not use them):
    whether delivery is allowed, local hours (`hours` "window"), or that the state sets none ("none_stated"),
    when the driver must be back, and the value a vehicle may carry."""

    start: dt.time | None
    end: dt.time | None
    vehicle_value_cap: Decimal | None
    value_basis: str = "retail"
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    citation: str = ""
    confirmed: bool = True
    delivery_permitted: bool = True
    hours: str = ""
    return_by: dt.time | None = None
    unordered_value_cap: Decimal | None = None

    def in_force(self, day: dt.date) -> bool:
        return _in_force(self.effective_from, self.effective_to, day)


@dataclass(frozen=True)
class Tax:
    """A tax in force (for the checkout's pricing; the engine does not use it). rate is a percent or None."""

    name: str
    level: str
    customer_type: str
    rate: Decimal | None
    base: str
    included_in_price: bool
    products: str = ""
    categories: tuple[str, ...] = ()  # the product categories it is charged on; empty: every category
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    citation: str = ""
    confirmed: bool = True


@dataclass(frozen=True)
class JurisdictionRules:
    code: str
    name: str
    time_zone: str
    limits: tuple[Limit, ...] = ()
    ages: tuple[AgeRequirement, ...] = ()
    delivery: tuple[DeliveryHours, ...] = ()
    taxes: tuple[Tax, ...] = ()
    adult_use_legal: bool = True
    medical_legal: bool = True
    anonymous_sales_allowed: bool = True


# --- The question ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    type: str
    age: int | None
    resident: bool = True
    via_caregiver: bool = False  # a medical patient below the minimum age, served through their caregiver

    def __post_init__(self) -> None:
        if self.type not in CUSTOMER_TYPES:
            raise ValueError(f"Unknown customer type {self.type!r}.")


@dataclass(frozen=True)
class CartLine:
    """What one line counts for, per bucket (a product may count in several: an edible's mg and weight)."""

    amounts: Mapping[str, Decimal]
    label: str = ""

    @classmethod
    def of(cls, bucket: str, amount: Decimal | str | int, label: str = "") -> "CartLine":
        return cls(amounts={bucket: Decimal(amount)}, label=label)

    def text(self) -> str:
        if self.label:
            return self.label
        parts = []
        for bucket, amount in self.amounts.items():
            word, unit = BUCKET_WORDS.get(bucket, (bucket, ""))
            counted = unit in ("plants", "seeds")
            parts.append(quantity_text(amount, word) if counted else f"{quantity_text(amount, unit)} {word}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Purchase:
    """A past sale to this customer: when (time-zone aware) and what; of the other customer type, it is ignored."""

    at: dt.datetime
    lines: tuple[CartLine, ...]
    customer_type: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("A purchase's time needs its UTC offset.")


# --- The answer -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitUsage:
    label: str
    unit: str
    window: str
    window_days: int | None
    limit: Decimal
    used_before: Decimal
    in_cart: Decimal
    used: Decimal
    remaining: Decimal
    over: bool
    buckets: tuple[str, ...]
    citation: str
    confirmed: bool

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "unit": self.unit,
            "window": self.window,
            "window_days": self.window_days,
            "limit": amount_text(self.limit),
            "used_before": amount_text(self.used_before),
            "in_cart": amount_text(self.in_cart),
            "used": amount_text(self.used),
            "remaining": amount_text(self.remaining),
            "over": self.over,
            "buckets": list(self.buckets),
            "citation": self.citation,
            "confirmed": self.confirmed,
        }


@dataclass(frozen=True)
class BucketUsage:
    """One bucket seen through its tightest allowance, in the bucket's own unit; limit None when unlimited."""

    bucket: str
    used: Decimal
    limit: Decimal | None
    remaining: Decimal | None
    limited_by: str | None

    def as_dict(self) -> dict:
        return {
            "bucket": self.bucket,
            "used": amount_text(self.used),
            "limit": None if self.limit is None else amount_text(self.limit),
            "remaining": None if self.remaining is None else amount_text(self.remaining),
            "limited_by": self.limited_by,
        }


@dataclass(frozen=True)
class Violation:
    """code: limit_exceeded (with line and limit), age_below_minimum, age_unknown or customer_type_not_allowed."""

    code: str
    message: str
    line: int | None = None  # 1-based cart line
    limit: str | None = None
    over: Decimal | None = None
    unit: str | None = None

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "limit": self.limit,
            "over": None if self.over is None else amount_text(self.over),
            "unit": self.unit,
        }


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    jurisdiction: str
    date: dt.date
    time_zone: str
    customer_type: str
    limits: tuple[LimitUsage, ...]
    buckets: tuple[BucketUsage, ...]
    violations: tuple[Violation, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "allowed": self.allowed,
            "jurisdiction": self.jurisdiction,
            "date": self.date.isoformat(),
            "time_zone": self.time_zone,
            "customer_type": self.customer_type,
            "limits": [usage.as_dict() for usage in self.limits],
            "buckets": [usage.as_dict() for usage in self.buckets],
            "violations": [violation.as_dict() for violation in self.violations],
        }


# --- Who is buying: residency and a physician's recommendation -----------------------------------------------


def is_resident(*, jurisdiction: str, issuing_state: str = "", home_state: str = "") -> bool:
    """Whether the customer lives in the jurisdiction's state ("US-IL" -> IL): by the state that issued their ID,
    else by the state of their address on record; when neither is known, as a resident."""
    state = jurisdiction.rsplit("-", 1)[-1].upper()
    for known in (issuing_state, home_state):
        known = (known or "").strip().upper()
        if len(known) == 2 and known.isalpha():
            return known == state
    return True


def recommendation_limits(
    rules: JurisdictionRules, amounts: Mapping[str, Decimal], *, on: dt.date, label: str = "recommendation"
) -> tuple[Limit, ...]:
    """A physician's recommendation's amounts (per bucket) as the patient's own medical allowances, each in the
    window of the state's medical allowance on that bucket (the store's day when the state has none). They add
    to the state's allowances: a recommendation restricts, it never lifts the state's limit."""
    found = []
    for bucket, amount in amounts.items():
        if bucket not in BUCKETS:
            continue
        state = next(
            (
                limit
                for limit in rules.limits
                if limit.customer_type == MEDICAL
                and limit.in_force(on)
                and any(term.bucket == bucket for term in limit.terms)
            ),
            None,
        )
        word, unit = BUCKET_WORDS[bucket]
        found.append(
            Limit(
                customer_type=MEDICAL,
                label=f"{word} ({label})",
                unit=unit,
                amount=Decimal(amount),
                window=state.window if state else LOCAL_DAY,
                window_days=state.window_days if state else None,
                terms=(LimitTerm(bucket),),
                citation="Physician's recommendation",
            )
        )
    return tuple(found)


def with_limits(rules: JurisdictionRules, extra: Sequence[Limit]) -> JurisdictionRules:
    return replace(rules, limits=(*rules.limits, *extra)) if extra else rules


# --- The engine -----------------------------------------------------------------------------------------------

TYPE_WORDS = {ADULT_USE: "adult-use", MEDICAL: "medical"}


def _age_violations(rules: JurisdictionRules, customer: Customer, on: dt.date) -> list[Violation]:
    legal = rules.adult_use_legal if customer.type == ADULT_USE else rules.medical_legal
    kind = TYPE_WORDS[customer.type]
    if not legal:
        return [Violation("customer_type_not_allowed", f"{rules.name} has no {kind} sales.")]
    requirement = next(
        (rule for rule in rules.ages if rule.customer_type == customer.type and rule.in_force(on)), None
    )
    if requirement is None:
        return []
    if customer.age is None:
        return [
            Violation(
                "age_unknown", f"Check the customer's age: {kind} sales need {requirement.minimum_age}+."
            )
        ]
    if customer.age >= requirement.minimum_age:
        return []
    caregiver = requirement.younger_through_caregiver and customer.type == MEDICAL
    if caregiver and customer.via_caregiver:
        return []
    sentence = f"The customer is {customer.age}: {kind} sales in {rules.name} need {requirement.minimum_age} or older"
    sentence += ", or a caregiver buying for the patient." if caregiver else "."
    return [Violation("age_below_minimum", sentence)]


def _window_contains(limit: Limit, local_day: dt.date, on: dt.date) -> bool:
    if limit.window == LOCAL_DAY:
        return local_day == on
    if limit.window == ROLLING_DAYS:
        return on - dt.timedelta(days=limit.window_days - 1) <= local_day <= on
    return False  # per transaction: only the cart counts


def purchase_limits_check(
    rules: JurisdictionRules,
    customer: Customer,
    history: Iterable[Purchase],
    cart: Sequence[CartLine],
    *,
    on: dt.date,
    time_zone: str | None = None,
) -> Verdict:
    """The verdict on `cart` for `customer` on the store-local date `on`.

    `history` is the customer's earlier purchases (any span; those outside each window are ignored);
    `time_zone` is the store's, defaulting to the jurisdiction's. Only rules in force on `on` count."""
    zone_name = time_zone or rules.time_zone
    zone = ZoneInfo(zone_name)
    violations = _age_violations(rules, customer, on)
    limits = [limit for limit in rules.limits if limit.in_force(on) and limit.applies_to(customer)]

    # The history's amounts per local day, once, then summed per allowance over its window.
    per_day: dict[dt.date, dict[str, Decimal]] = {}
    for purchase in history:
        if purchase.customer_type not in (None, customer.type):
            continue
        local_day = purchase.at.astimezone(zone).date()
        if local_day > on:
            continue
        amounts = per_day.setdefault(local_day, {})
        for line in purchase.lines:
            for bucket, amount in line.amounts.items():
                amounts[bucket] = amounts.get(bucket, ZERO) + amount

    usages: list[LimitUsage] = []
    line_violations: list[tuple[int, Violation]] = []
    for limit in limits:
        used_before = sum(
            (limit.counts(amounts) for day, amounts in per_day.items() if _window_contains(limit, day, on)),
            ZERO,
        )
        running = used_before
        for number, line in enumerate(cart, start=1):
            added = limit.counts(line.amounts)
            if added <= ZERO:
                continue
            running += added
            if running > limit.amount:
                over = running - limit.amount
                message = (
                    f"Line {number} ({line.text()}) would bring {limit.label} to "
                    f"{quantity_text(running, limit.unit)} of the {quantity_text(limit.amount, limit.unit)} "
                    f"{limit.window_text()} limit: {quantity_text(over, limit.unit)} over."
                )
                line_violations.append(
                    (number, Violation("limit_exceeded", message, number, limit.label, over, limit.unit))
                )
        usages.append(
            LimitUsage(
                label=limit.label,
                unit=limit.unit,
                window=limit.window,
                window_days=limit.window_days,
                limit=limit.amount,
                used_before=used_before,
                in_cart=running - used_before,
                used=running,
                remaining=max(limit.amount - running, ZERO),
                over=running > limit.amount,
                buckets=tuple(term.bucket for term in limit.terms),
                citation=limit.citation,
                confirmed=limit.confirmed,
            )
        )
    line_violations.sort(key=lambda pair: pair[0])  # stable: within a line, in the order of the limits
    violations.extend(violation for _, violation in line_violations)

    return Verdict(
        allowed=not violations,
        jurisdiction=rules.code,
        date=on,
        time_zone=zone_name,
        customer_type=customer.type,
        limits=tuple(usages),
        buckets=_bucket_usages(limits, usages, cart),
        violations=tuple(violations),
    )


def _bucket_usages(
    limits: Sequence[Limit], usages: Sequence[LimitUsage], cart: Sequence[CartLine]
) -> tuple[BucketUsage, ...]:
    """Each bucket through the allowance that leaves the least of it, converted to the bucket's unit."""
    result = []
    for bucket in BUCKETS:
        tightest: BucketUsage | None = None
        for limit, usage in zip(limits, usages, strict=True):
            factor = next((term.factor for term in limit.terms if term.bucket == bucket), ZERO)
            if factor <= ZERO:
                continue
            remaining = (usage.remaining / factor).quantize(MILLI, rounding=ROUND_DOWN)
            if tightest is None or remaining < tightest.remaining:
                tightest = BucketUsage(
                    bucket=bucket,
                    used=(usage.used / factor).quantize(MILLI, rounding=ROUND_HALF_UP),
                    limit=(limit.amount / factor).quantize(MILLI, rounding=ROUND_DOWN),
                    remaining=remaining,
                    limited_by=limit.label,
                )
        if tightest is None:
            in_cart = sum((line.amounts.get(bucket, ZERO) for line in cart), ZERO)
            tightest = BucketUsage(bucket=bucket, used=in_cart, limit=None, remaining=None, limited_by=None)
        result.append(tightest)
    return tuple(result)
