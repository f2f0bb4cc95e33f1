"""Segments: which customers match a list of conditions, for a saved segment, a flow's filters and its
conditional splits. Every reader of conditions goes through here, so a segment, a filter and a split mean the
same thing by the same words.

A condition is {"field": <name>, "op": <operator>, "value": <value>}; a list of them matches with "all" or "any".
Operators: "eq", "ne", "in" (value a list), "gt", "gte", "lt", "lte", "between" (value [low, high]),
"is" (value true/false). Fields:
- customer_type ("adult_use"/"medical"), store (the home store's id), postal_code (a ZIP also matches its
  ZIP+4), birthday_month (1-12, or "current": the local month now);
- consent_sms, consent_email ("is" true: marketing allowed now on that channel, from the consent ledger);
- days_since_last_purchase, orders_count, lifetime_value, average_order, first_purchase_days_ago;
- rfm_recency, rfm_frequency, rfm_monetary (scores 1-5, 5 best), favourite_category, favourite_brand;
- loyalty_tier (the tier's id), points_balance; delivery_zone (zone id: a delivery order to that zone, not
  cancelled or expired), fulfilment_habit ("in_store"/"pickup"/"delivery": the customer's most frequent);
- opened_within_days, clicked_within_days, purchased_from_message_within_days (engagement: value N days;
  "lte" (or "eq", "lt") matches who did within the last N days, "gt" (or "gte", "ne") who did not);
- in_segment (a saved segment's id).
Days are whole days: days_since_last_purchase "gt" 30 is someone whose last purchase was 31 or more whole days
ago; customers who never bought match no condition on purchase days or RFM scores. Counts, money and points of
a customer without purchases or loyalty account are 0. The aggregates and scores are read from
messaging.models.CustomerMetrics (kept current by messaging.segment_handlers); consent, loyalty, delivery zones
and segment membership from their own tables.
A condition with an unknown field or operator, or a value that does not fit, raises SegmentRuleError with plain
words."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from dispensary.errors import ApplicationError
from dispensary.models import Customer, MarketingConsent, Store

OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "between", "is")
OPERATOR_WORDS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "between": "is between",
    "is": "is",
}
WITHIN_WORDS = {"lte": "in the last … days", "gt": "not in the last … days"}
LISTS = ("eq", "ne", "in")
NUMBERS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
HABIT_CHOICES = [("in_store", "In store"), ("pickup", "Pickup"), ("delivery", "Delivery")]
MONTHS = [
    (1, "January"),
    (2, "February"),
    (3, "March"),
    (4, "April"),
    (5, "May"),
    (6, "June"),
    (7, "July"),
    (8, "August"),
    (9, "September"),
    (10, "October"),
    (11, "November"),
    (12, "December"),
]


class SegmentRuleError(ApplicationError):
    code = "segment_rule_invalid"


@dataclass(frozen=True)
class Field:
    label: str
    kind: str  # choice, text, id, month, bool, days, number, money, score, within
    operators: tuple[str, ...]
    choices: tuple = ()


def _category_choices() -> tuple:
    from inventory.models import Product

    return tuple(Product.Category.choices)


FIELDS: dict[str, Field] = {
    "customer_type": Field("Customer type", "choice", LISTS, tuple(Customer.Type.choices)),
    "store": Field("Home store", "id", LISTS),
    "postal_code": Field("ZIP code", "text", LISTS),
    "birthday_month": Field("Birthday month", "month", LISTS, (("current", "This month"), *MONTHS)),
    "consent_sms": Field("Agreed to marketing texts", "bool", ("is",)),
    "consent_email": Field("Agreed to marketing emails", "bool", ("is",)),
    "days_since_last_purchase": Field("Days since the last purchase", "days", NUMBERS),
    "orders_count": Field("Number of orders", "number", NUMBERS),
    "lifetime_value": Field("Lifetime value ($)", "money", NUMBERS),
    "average_order": Field("Average order ($)", "money", NUMBERS),
    "first_purchase_days_ago": Field("Days since the first purchase", "days", NUMBERS),
    "rfm_recency": Field("Recency score (1-5, 5 most recent)", "score", NUMBERS),
    "rfm_frequency": Field("Frequency score (1-5, 5 most often)", "score", NUMBERS),
    "rfm_monetary": Field("Spend score (1-5, 5 most spent)", "score", NUMBERS),
    "favourite_category": Field("Favourite category", "choice", LISTS),
    "favourite_brand": Field("Favourite brand", "text", LISTS),
    "loyalty_tier": Field("Loyalty tier", "id", LISTS),
    "points_balance": Field("Points balance", "number", NUMBERS),
    "delivery_zone": Field("Delivery zone", "id", LISTS),
    "fulfilment_habit": Field("Usually buys", "choice", LISTS, tuple(HABIT_CHOICES)),
    "opened_within_days": Field("Opened a message", "within", ("lte", "gt")),
    "clicked_within_days": Field("Clicked a message's link", "within", ("lte", "gt")),
    "purchased_from_message_within_days": Field("Bought from a message", "within", ("lte", "gt")),
    "in_segment": Field("In the saved segment", "id", LISTS),
}
# Metrics columns by field, with the value a customer without a metrics row has.
METRICS = {
    "orders_count": ("metrics__orders_count", 0),
    "lifetime_value": ("metrics__lifetime_value", Decimal("0")),
    "average_order": ("metrics__average_order", Decimal("0")),
    "rfm_recency": ("metrics__rfm_recency", None),
    "rfm_frequency": ("metrics__rfm_frequency", None),
    "rfm_monetary": ("metrics__rfm_monetary", None),
    "favourite_category": ("metrics__favourite_category", ""),
    "favourite_brand": ("metrics__favourite_brand", ""),
    "fulfilment_habit": ("metrics__fulfilment_habit", ""),
}
WITHIN = {
    "opened_within_days": "metrics__last_opened_at",
    "clicked_within_days": "metrics__last_clicked_at",
    "purchased_from_message_within_days": "metrics__last_message_purchase_at",
}
DAYS = {
    "days_since_last_purchase": "metrics__last_purchase_at",
    "first_purchase_days_ago": "metrics__first_purchase_at",
}


def field_choices(field: str) -> tuple:
    if field == "favourite_category":
        return _category_choices()
    return FIELDS[field].choices


# --- Values ------------------------------------------------------------------------------------------------


def _number(label: str, value, *, whole: bool = False, low=None, high=None):
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise SegmentRuleError(f"{label}: enter a number.")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise SegmentRuleError(f"{label}: “{value}” is not a number.") from None
    if not number.is_finite():
        raise SegmentRuleError(f"{label}: “{value}” is not a number.")
    if whole and number != number.to_integral_value():
        raise SegmentRuleError(f"{label}: enter a whole number.")
    if (low is not None and number < low) or (high is not None and number > high):
        raise SegmentRuleError(f"{label}: enter a number from {low} to {high}.")
    if abs(number) > Decimal("1e12"):
        raise SegmentRuleError(f"{label}: the number is too large.")
    return int(number) if whole else number


def _values(label: str, op: str, value, parse) -> list:
    """The condition's value(s), parsed: a list for "in" and "between", one value otherwise."""
    if op == "in":
        if not isinstance(value, list | tuple) or not value:
            raise SegmentRuleError(f"{label}: choose at least one value.")
        if len(value) > 500:
            raise SegmentRuleError(f"{label}: at most 500 values.")
        return [parse(item) for item in value]
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise SegmentRuleError(f"{label}: “between” needs a lowest and a highest value.")
        low, high = parse(value[0]), parse(value[1])
        if low > high:
            raise SegmentRuleError(f"{label}: the lowest value is above the highest.")
        return [low, high]
    if isinstance(value, list | tuple | dict):
        raise SegmentRuleError(f"{label}: enter one value.")
    return [parse(value)]


def _bool(label: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "0"):
        return False
    raise SegmentRuleError(f"{label}: choose yes or no.")


def _text(label: str, value) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise SegmentRuleError(f"{label}: enter a value.")
    text = str(value).strip()
    if len(text) > 120:
        raise SegmentRuleError(f"{label}: at most 120 characters.")
    return text


def _holds(default, op: str, values: list) -> bool:
    """Whether a customer whose column is missing (their default value) meets the condition."""
    if op == "ne":
        return default != values[0]
    if default is None:
        return False
    if op == "eq":
        return default == values[0]
    if op == "in":
        return default in values
    if op == "between":
        return values[0] <= default <= values[1]
    return {
        "gt": default > values[0],
        "gte": default >= values[0],
        "lt": default < values[0],
        "lte": default <= values[0],
    }[op]


def _compare(path: str, op: str, values: list, default=None) -> Q:
    if op == "eq":
        q = Q(**{path: values[0]})
    elif op == "ne":
        q = Q(**{f"{path}__isnull": False}) & ~Q(**{path: values[0]})
    elif op == "in":
        q = Q(**{f"{path}__in": values})
    elif op == "between":
        q = Q(**{f"{path}__gte": values[0], f"{path}__lte": values[1]})
    else:
        q = Q(**{f"{path}__{op}": values[0]})
    if _holds(default, op, values):
        q |= Q(**{f"{path}__isnull": True})
    return q


def _any(parts: list[Q]) -> Q:
    combined = Q(pk__in=[])
    for part in parts:
        combined |= part
    return combined


# --- Fields ------------------------------------------------------------------------------------------------


def _days_q(path: str, op: str, days: list[int], now: dt.datetime) -> Q:
    """Whole days since a moment: "n days ago" is n x 24 hours or more and less than (n + 1) x 24 hours."""

    def ago(number: int) -> dt.datetime:
        return now - dt.timedelta(days=number)

    def on(number: int) -> Q:  # exactly `number` whole days ago
        return Q(**{f"{path}__lte": ago(number), f"{path}__gt": ago(number + 1)})

    bought = Q(**{f"{path}__isnull": False})
    if op == "eq":
        return on(days[0])
    if op == "ne":
        return bought & ~on(days[0])
    if op == "in":
        return _any([on(number) for number in days])
    if op == "between":
        return Q(**{f"{path}__lte": ago(days[0]), f"{path}__gt": ago(days[1] + 1)})
    if op == "gt":
        return Q(**{f"{path}__lte": ago(days[0] + 1)})
    if op == "gte":
        return Q(**{f"{path}__lte": ago(days[0])})
    if op == "lt":
        return Q(**{f"{path}__gt": ago(days[0])})
    return Q(**{f"{path}__gt": ago(days[0] + 1)})  # lte


def _within_q(path: str, op: str, days: int, now: dt.datetime) -> Q:
    since = now - dt.timedelta(days=days)
    if op in ("lte", "eq"):
        return Q(**{f"{path}__gte": since})
    if op == "lt":
        return Q(**{f"{path}__gt": since})
    return ~Q(**{f"{path}__gte": since})  # gt, gte, ne: not within (never counts as not within)


def _consent_q(channel: str, wanted: bool) -> Q:
    """The latest marketing row on the channel decides (as messaging.consent reads it): allowed when it is a
    grant that does not await its confirmation."""
    latest = (
        MarketingConsent.objects.filter(
            customer_id=OuterRef(OuterRef("pk")), channel=channel, purpose=MarketingConsent.Purpose.MARKETING
        )
        .order_by("-recorded_at", "-id")
        .values("pk")[:1]
    )
    allowed = Exists(
        MarketingConsent.objects.filter(pk=Subquery(latest), granted=True, awaiting_confirmation=False)
    )
    return Q(allowed) if wanted else ~Q(allowed)


def _exists_q(queryset, path: str, op: str, values: list) -> Q:
    if op == "in":
        found = Exists(queryset.filter(**{f"{path}__in": values}))
    else:
        found = Exists(queryset.filter(**{path: values[0]}))
    return ~Q(found) if op == "ne" else Q(found)


def _zone_q(op: str, values: list) -> Q:
    from delivery.models import DeliveryOrder
    from pos.models import PickupOrder

    orders = DeliveryOrder.objects.filter(order__customer_id=OuterRef("pk")).exclude(
        order__status__in=[PickupOrder.Status.CANCELLED, PickupOrder.Status.EXPIRED]
    )
    return _exists_q(orders, "zone_id", op, values)


def _segment_q(op: str, values: list) -> Q:
    from messaging.models import SegmentMember

    return _exists_q(SegmentMember.objects.filter(customer_id=OuterRef("pk")), "segment_id", op, values)


def _postal_q(op: str, values: list[str]) -> Q:
    def one(code: str) -> Q:
        return Q(postal_code__iexact=code) | Q(postal_code__istartswith=f"{code}-")

    if op == "ne":
        return ~one(values[0])
    return _any([one(code) for code in values])


def _brand_q(op: str, values: list[str]) -> Q:
    def one(name: str) -> Q:
        return Q(metrics__favourite_brand__iexact=name)

    if op == "ne":
        return ~one(values[0])
    return _any([one(name) for name in values])


def condition_check(condition) -> tuple[str, str, list]:
    """(field, operator, parsed values) of a well-formed condition, or SegmentRuleError in plain words."""
    if not isinstance(condition, dict):
        raise SegmentRuleError("Each condition needs a field, an operator and a value.")
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    spec = FIELDS.get(field) if isinstance(field, str) else None
    if spec is None:
        raise SegmentRuleError(f"Unknown field “{field}”.")
    if op not in OPERATORS:
        raise SegmentRuleError(f"Unknown operator “{op}”.")
    label = spec.label
    if spec.kind == "within" and op in ("eq", "lt", "gte", "ne"):
        pass  # synonyms of "within" (eq, lt) and "not within" (gte, ne)
    elif op not in spec.operators:
        raise SegmentRuleError(f"{label}: “{OPERATOR_WORDS[op]}” does not apply.")
    kind = spec.kind
    if kind == "bool":
        return field, op, [_bool(label, value)]
    if kind in ("choice", "month"):
        known = {str(key): key for key, _ in field_choices(field)}

        def choice(item):
            key = known.get(str(item).strip()) if isinstance(item, str | int) else None
            if key is None:
                raise SegmentRuleError(f"{label}: “{item}” is not one of the choices.")
            return key

        return field, op, _values(label, op, value, choice)
    if kind == "text":
        return field, op, _values(label, op, value, lambda item: _text(label, item))
    if kind == "id":
        return field, op, _values(label, op, value, lambda item: _number(label, item, whole=True, low=1))
    if kind in ("days", "within"):
        # At most a hundred years: further back than any sale, and a date the calendar can still hold.
        return (
            field,
            op,
            _values(label, op, value, lambda item: _number(label, item, whole=True, low=0, high=36500)),
        )
    if kind == "score":
        return (
            field,
            op,
            _values(label, op, value, lambda item: _number(label, item, whole=True, low=1, high=5)),
        )
    if kind == "number":
        return field, op, _values(label, op, value, lambda item: _number(label, item, whole=True))
    return field, op, _values(label, op, value, lambda item: _number(label, item))


def condition_q(condition: dict, *, now: dt.datetime | None = None) -> Q:
    """The Q of one condition over Customer."""
    field, op, values = condition_check(condition)
    now = now or timezone.now()
    if field == "customer_type":
        return _compare("customer_type", op, values)
    if field == "store":
        return _compare("home_store_id", op, values, default=None)
    if field == "postal_code":
        return _postal_q(op, values)
    if field == "birthday_month":
        month = timezone.localdate(now).month
        months = [month if item == "current" else item for item in values]
        return _compare("date_of_birth__month", op, months)
    if field in ("consent_sms", "consent_email"):
        return _consent_q(field.removeprefix("consent_"), values[0])
    if field in DAYS:
        return _days_q(DAYS[field], op, values, now)
    if field in WITHIN:
        return _within_q(WITHIN[field], op, values[0], now)
    if field == "favourite_brand":
        return _brand_q(op, values)
    if field in METRICS:
        path, default = METRICS[field]
        return _compare(path, op, values, default)
    if field == "loyalty_tier":
        return _compare("loyalty_account__tier_id", op, values)
    if field == "points_balance":
        return _compare("loyalty_account__balance", op, values, default=0)
    if field == "delivery_zone":
        return _zone_q(op, values)
    return _segment_q(op, values)  # in_segment


def rules_q(rules: list[dict], match: str = "all", *, now: dt.datetime | None = None) -> Q | None:
    """The Q of a list of conditions (None: no condition, everyone)."""
    if match not in ("all", "any"):
        raise SegmentRuleError("Match “all” or “any” of the conditions.")
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise SegmentRuleError("The conditions are a list.")
    if len(rules) > 50:
        raise SegmentRuleError("A segment has at most 50 conditions.")
    now = now or timezone.now()
    parts = [condition_q(condition, now=now) for condition in rules]
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part if match == "any" else combined & part
    return combined


def rules_check(*, organization_id: int, rules: list[dict], match: str = "all") -> None:
    """Full check of conditions someone typed: well formed, and every store, tier, zone and segment named is
    the organization's. Raises SegmentRuleError."""
    rules_q(rules, match)
    wanted: dict[str, set[int]] = {}
    for condition in rules or []:
        field, _, values = condition_check(condition)
        if FIELDS[field].kind == "id":
            wanted.setdefault(field, set()).update(values)
    for field, ids in wanted.items():
        known = set(id_choices(organization_id, field, ids=ids))
        missing = sorted(ids - known)
        if missing:
            raise SegmentRuleError(f"{FIELDS[field].label}: no such choice ({missing[0]}).")


def id_choices(organization_id: int, field: str, ids=None) -> dict[int, str]:
    """{id: name} of the organization's stores, tiers, delivery zones or saved segments (one query)."""
    from delivery.models import DeliveryZone
    from messaging.models import Segment
    from pos.models import LoyaltyTier

    if field == "store":
        rows = Store.objects.filter(organization_id=organization_id).order_by("name")
        pairs = rows.values_list("pk", "name")
    elif field == "loyalty_tier":
        pairs = LoyaltyTier.objects.filter(organization_id=organization_id).values_list("pk", "name")
    elif field == "delivery_zone":
        pairs = (
            DeliveryZone.objects.filter(store__organization_id=organization_id)
            .order_by("store__name", "name")
            .values_list("pk", "store__name", "name")
        )
        pairs = [(pk, f"{name} ({store})") for pk, store, name in pairs]
    elif field == "in_segment":
        pairs = Segment.objects.filter(organization_id=organization_id, archived=False).values_list(
            "pk", "name"
        )
    else:
        return {}
    if ids is not None and not isinstance(pairs, list):
        pairs = pairs.filter(pk__in=ids)
    return {pk: name for pk, name in pairs if ids is None or pk in ids}


def segment_customers(
    organization_id: int, rules: list[dict], match: str = "all", *, now: dt.datetime | None = None
) -> QuerySet[Customer]:
    """The organization's customers matching the conditions (every customer when there are none)."""
    customers = Customer.objects.filter(organization_id=organization_id)
    combined = rules_q(rules, match, now=now)
    return customers if combined is None else customers.filter(combined)


def customer_matches(
    customer_id: int, organization_id: int, rules: list[dict], match: str = "all", *, now=None
) -> bool:
    """Whether one customer matches now (a flow's filters before each step, a property split)."""
    return segment_customers(organization_id, rules, match, now=now).filter(pk=customer_id).exists()
