"""Segments: which customers match a list of conditions, for a saved segment, a flow's filters and its
conditional splits. Every reader of conditions goes through here, so a segment, a filter and a split mean the
same thing by the same words.

A condition is {"field": <name>, "op": <operator>, "value": <value>}; a list of them matches with "all" or "any".
Operators: "eq", "ne", "in" (value a list), "gt", "gte", "lt", "lte", "between" (value [low, high]),
"is" (value true/false). Fields:
- customer_type ("adult_use"/"medical"), store (the home store's id), postal_code, birthday_month (1-12, or
  "current": the store-local month now);
- consent_sms, consent_email ("is" true: marketing allowed now on that channel, from the consent ledger);
- days_since_last_purchase, orders_count, lifetime_value, average_order, first_purchase_days_ago;
- rfm_recency, rfm_frequency, rfm_monetary (scores 1-5, 5 best), favourite_category, favourite_brand;
- loyalty_tier (the tier's id), points_balance; delivery_zone (zone id), fulfilment_habit
  ("in_store"/"pickup"/"delivery": the customer's most frequent);
- opened_within_days, clicked_within_days, purchased_from_message_within_days (engagement);
- in_segment (a saved segment's id).
A condition with an unknown field or operator raises SegmentRuleError with plain words."""

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from dispensary.errors import ApplicationError
from dispensary.models import Customer, MarketingConsent

OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "between", "is")


class SegmentRuleError(ApplicationError):
    code = "segment_rule_invalid"


def _number_q(lookup: str, op: str, value) -> Q:
    if op == "eq":
        return Q(**{lookup: value})
    if op == "ne":
        return ~Q(**{lookup: value})
    if op in ("gt", "gte", "lt", "lte"):
        return Q(**{f"{lookup}__{op}": value})
    if op == "between":
        low, high = value
        return Q(**{f"{lookup}__gte": low, f"{lookup}__lte": high})
    if op == "in":
        return Q(**{f"{lookup}__in": list(value)})
    raise SegmentRuleError(f'"{op}" does not apply to this field.')


def _consent_q(channel: str, wanted: bool) -> Q:
    """The latest marketing row on the channel decides: allowed when it is a confirmed grant."""
    marketing = {"channel": channel, "purpose": MarketingConsent.Purpose.MARKETING}
    later = MarketingConsent.objects.filter(
        customer_id=OuterRef("customer_id"), recorded_at__gt=OuterRef("recorded_at"), **marketing
    )
    latest_is_grant = Exists(
        MarketingConsent.objects.filter(
            customer_id=OuterRef("pk"), granted=True, awaiting_confirmation=False, **marketing
        ).exclude(Exists(later))
    )
    return Q(latest_is_grant) if wanted else ~Q(latest_is_grant)


def _days_since_purchase_q(op: str, value, now: dt.datetime) -> Q:
    """Days since the last completed sale: "gt 30" is someone who bought before and not in the last 30 days."""
    from pos.models import Sale

    def bought_since(days) -> Exists:
        return Exists(
            Sale.objects.filter(
                customer_id=OuterRef("pk"),
                status=Sale.Status.COMPLETED,
                completed_at__gt=now - dt.timedelta(days=float(days)),
            )
        )

    ever = Exists(Sale.objects.filter(customer_id=OuterRef("pk"), status=Sale.Status.COMPLETED))
    if op in ("gt", "gte"):
        days = float(value) + (0 if op == "gt" else -1e-9)
        return Q(ever) & ~Q(bought_since(days))
    if op in ("lt", "lte"):
        return Q(bought_since(float(value) + (0 if op == "lt" else 1e-9)))
    if op == "between":
        low, high = value
        return Q(bought_since(float(high))) & ~Q(bought_since(float(low)))
    raise SegmentRuleError(f'"{op}" does not apply to days since the last purchase.')


def condition_q(condition: dict, *, now: dt.datetime | None = None) -> Q:
    """The Q of one condition over Customer."""
    if not isinstance(condition, dict):
        raise SegmentRuleError("Each condition needs a field, an operator and a value.")
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if op not in OPERATORS:
        raise SegmentRuleError(f'Unknown operator "{op}".')
    now = now or timezone.now()
    if field == "customer_type":
        return _number_q("customer_type", op, value)
    if field == "store":
        return _number_q("home_store_id", op, value)
    if field == "postal_code":
        return _number_q("postal_code", op, value)
    if field == "birthday_month":
        month = timezone.localdate(now).month if value == "current" else value
        return _number_q("date_of_birth__month", op, month)
    if field in ("consent_sms", "consent_email"):
        return _consent_q(field.removeprefix("consent_"), bool(value))
    if field == "days_since_last_purchase":
        return _days_since_purchase_q(op, value, now)
    raise SegmentRuleError(f'Unknown field "{field}".')


def segment_customers(
    organization_id: int, rules: list[dict], match: str = "all", *, now: dt.datetime | None = None
) -> QuerySet[Customer]:
    """The organization's customers matching the conditions (every customer when there are none)."""
    now = now or timezone.now()
    customers = Customer.objects.filter(organization_id=organization_id)
    parts = [condition_q(condition, now=now) for condition in rules or []]
    if not parts:
        return customers
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part if match == "any" else combined & part
    return customers.filter(combined)


def customer_matches(
    customer_id: int, organization_id: int, rules: list[dict], match: str = "all", *, now=None
) -> bool:
    """Whether one customer matches now (a flow's filters before each step, a property split)."""
    return segment_customers(organization_id, rules, match, now=now).filter(pk=customer_id).exists()
