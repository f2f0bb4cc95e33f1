"""Reads of the compliance app: the jurisdiction rules in force, loaded into compliance.rules' pure objects."""

import datetime as dt

from django.db.models import Prefetch, Q

from compliance.models import (
    AgeRule,
    DeliveryRule,
    Jurisdiction,
    PurchaseLimit,
    PurchaseLimitTerm,
    TaxRate,
)
from compliance.rules import (
    AgeRequirement,
    CheckRequest,
    DeliveryHours,
    JurisdictionRules,
    Limit,
    LimitTerm,
    Tax,
    Verdict,
    purchase_limits_check,
)
from dispensary.errors import NotFound, ValidationFailed
from dispensary.versioned import Versioned

# Every row a jurisdiction's rules are made of; the tax rates priced at the checkout (pos) are among them.
RULES = Versioned("rules").watch(
    Jurisdiction, PurchaseLimit, PurchaseLimitTerm, AgeRule, DeliveryRule, TaxRate
)


def _in_force(day: dt.date) -> Q:
    return Q(effective_from__lte=day) & (Q(effective_to__isnull=True) | Q(effective_to__gte=day))


def jurisdiction_rules_get(*, jurisdiction: str, on: dt.date) -> JurisdictionRules:
    """The rules of `jurisdiction` in force on `on`: read once per process until a rule row changes (six
    queries then, whatever their number)."""
    return RULES.get(("jurisdiction", jurisdiction, on), lambda: _rules_load(jurisdiction, on))


def _rules_load(jurisdiction: str, on: dt.date) -> JurisdictionRules:
    found = Jurisdiction.objects.filter(code=jurisdiction).first()
    if found is None:
        raise NotFound(
            f"No rules for jurisdiction {jurisdiction}.",
            details={"jurisdiction": [f"Unknown: {jurisdiction}."]},
        )
    limits = (
        PurchaseLimit.objects.filter(_in_force(on), jurisdiction=found)
        .prefetch_related(Prefetch("terms", queryset=PurchaseLimitTerm.objects.order_by("id")))
        .order_by("customer_type", "id")
    )
    ages = AgeRule.objects.filter(_in_force(on), jurisdiction=found).order_by(
        "customer_type", "-effective_from"
    )
    delivery = DeliveryRule.objects.filter(_in_force(on), jurisdiction=found).order_by("id")
    taxes = TaxRate.objects.filter(_in_force(on), jurisdiction=found).order_by("level", "id")
    return JurisdictionRules(
        code=found.code,
        name=found.name,
        time_zone=found.time_zone,
        adult_use_legal=found.adult_use_legal,
        medical_legal=found.medical_legal,
        anonymous_sales_allowed=found.anonymous_sales_allowed,
        limits=tuple(
            Limit(
                customer_type=row.customer_type,
                label=row.label,
                unit=row.unit,
                amount=row.amount,
                window=row.window,
                window_days=row.window_days,
                terms=tuple(LimitTerm(bucket=term.bucket, factor=term.factor) for term in row.terms.all()),
                residency=row.residency,
                age_min=row.age_min,
                age_max=row.age_max,
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                citation=row.citation,
                confirmed=row.confirmed,
            )
            for row in limits
        ),
        ages=tuple(
            AgeRequirement(
                customer_type=row.customer_type,
                minimum_age=row.minimum_age,
                younger_through_caregiver=row.younger_through_caregiver,
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                citation=row.citation,
                confirmed=row.confirmed,
            )
            for row in ages
        ),
        delivery=tuple(
            DeliveryHours(
                start=row.hours_start,
                end=row.hours_end,
                vehicle_value_cap=row.vehicle_value_cap,
                value_basis=row.value_basis,
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                citation=row.citation,
                confirmed=row.confirmed,
                delivery_permitted=row.delivery_permitted,
                hours=row.hours,
                return_by=row.return_by,
                unordered_value_cap=row.unordered_value_cap,
            )
            for row in delivery
        ),
        taxes=tuple(
            Tax(
                name=row.name,
                level=row.level,
                customer_type=row.customer_type,
                rate=row.rate,
                base=row.base,
                included_in_price=row.included_in_price,
                products=row.products,
                categories=tuple(row.categories or ()),
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                citation=row.citation,
                confirmed=row.confirmed,
            )
            for row in taxes
        ),
    )


def purchase_limits_verdict_get(*, request: CheckRequest, store=None) -> Verdict:
    """The verdict for a parsed check request; the store (when given) supplies the time zone for "today"."""
    if store is not None and store.jurisdiction != request.jurisdiction:
        message = f"The store follows {store.jurisdiction}'s rules, not {request.jurisdiction}'s."
        raise ValidationFailed(message, details={"jurisdiction": [message]})
    rules = jurisdiction_rules_get(jurisdiction=request.jurisdiction, on=request.on)
    return purchase_limits_check(
        rules,
        request.customer,
        request.history,
        request.cart,
        on=request.on,
        time_zone=store.time_zone if store is not None else None,
    )
