"""Jurisdiction rules as pure data and the purchase-limit engine: no database, no I/O, standard library only.

compliance.selectors loads the rows in force into these objects; the checkout, delivery and the API call
`purchase_limits_check` with them."""

from compliance.rules.limits import (
    ADULT_USE,
    BUCKETS,
    MEDICAL,
    AgeRequirement,
    BucketUsage,
    CartLine,
    Customer,
    DeliveryHours,
    JurisdictionRules,
    Limit,
    LimitTerm,
    LimitUsage,
    Purchase,
    Tax,
    Verdict,
    Violation,
    is_resident,
    purchase_limits_check,
    recommendation_limits,
    with_limits,
)
from compliance.rules.payload import CheckRequest, RulesInputError, check_request_parse

__all__ = [
    "ADULT_USE",
    "BUCKETS",
    "MEDICAL",
    "AgeRequirement",
    "BucketUsage",
    "CartLine",
    "CheckRequest",
    "Customer",
    "DeliveryHours",
    "JurisdictionRules",
    "Limit",
    "LimitTerm",
    "LimitUsage",
    "Purchase",
    "RulesInputError",
    "Tax",
    "Verdict",
    "Violation",
    "check_request_parse",
    "is_resident",
    "purchase_limits_check",
    "recommendation_limits",
    "with_limits",
]
