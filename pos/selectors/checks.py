"""The purchase checks every channel calls, in one place: the minimum age (the door's ID check, the register's
ID check) and the enforcement of the limit engine's verdict (completing a sale at the register, placing and
confirming a pickup order from the staff page or the API). The register's limit meter reads the same verdict
(pos.selectors.quote.limits_verdict) without enforcing it."""

import datetime as dt
from collections.abc import Sequence

from compliance.identity import IdRefused
from compliance.rules import Purchase, Verdict
from compliance.rules.limits import JurisdictionRules
from compliance.selectors import jurisdiction_rules_get
from dispensary.clock import store_local_date
from dispensary.errors import ValidationFailed
from dispensary.models import Customer, Store
from inventory.models import Product
from pos.errors import PurchaseLimitExceeded, SaleNotAllowed
from pos.selectors.quote import limits_verdict

TYPE_WORDS = {"adult_use": "adult-use", "medical": "medical"}
AGE_CODES = {"age_below_minimum", "age_unknown"}


def minimum_age_get(*, store: Store, customer_type: str, on: dt.date) -> int:
    """The age an ID check asks for: the store's jurisdiction's rule for the customer type on that day.
    SaleNotAllowed when the jurisdiction has no such sales at all; ValidationFailed when its rules give no age."""
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=on)
    kind = TYPE_WORDS.get(customer_type, customer_type)
    legal = rules.medical_legal if customer_type == "medical" else rules.adult_use_legal
    if not legal:
        raise SaleNotAllowed(
            f"{rules.name} has no {kind} sales.", details={"customer_type": ["Not allowed."]}
        )
    requirement = next(
        (rule for rule in rules.ages if rule.customer_type == customer_type and rule.in_force(on)), None
    )
    if requirement is None:
        raise ValidationFailed(
            f"The rules of {rules.name} give no minimum age for {kind} customers: add it before checking IDs.",
            details={"customer_type": ["No minimum age in the rules."]},
        )
    return requirement.minimum_age


def purchase_check(
    *,
    store: Store,
    customer: Customer | None,
    customer_type: str,
    age: int | None,
    lines: Sequence,
    products: dict[int, Product],
    now: dt.datetime,
    resident: bool = True,
    via_caregiver: bool = False,
    pending: Sequence[Purchase] = (),
    id_at_pickup: bool = False,
) -> Verdict:
    """Refuse a purchase the rules do not allow, with the rule that refused it; the verdict when they do.

    Anonymous where the state allows it only; the customer's type and age (IdRefused for an ID below the
    minimum age, checked at the counter); the limits with the history in their windows plus `pending` (open
    orders). An order placed before the ID is seen (`id_at_pickup`) waits for the ID on an unknown age, and a
    known age below the minimum refuses it at once."""
    today = store_local_date(store, at=now)
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=today)
    anonymous_check(rules=rules, customer=customer)
    verdict = limits_verdict(
        store=store,
        customer=customer,
        customer_type=customer_type,
        age=age,
        lines=lines,
        products=products,
        now=now,
        rules=rules,
        pending=pending,
        resident=resident,
        via_caregiver=via_caregiver,
    )
    return verdict_enforce(verdict, id_at_pickup=id_at_pickup)


def anonymous_check(*, rules: JurisdictionRules, customer: Customer | None) -> None:
    if customer is None and not rules.anonymous_sales_allowed:
        raise SaleNotAllowed(
            f"{rules.name} does not allow anonymous sales: look the customer up or add them.",
            details={"customer": ["Required in this state."]},
        )


def verdict_enforce(verdict: Verdict, *, id_at_pickup: bool = False) -> Verdict:
    """Refuse what the limit engine's verdict does not allow (the age as IdRefused, the rest as SaleNotAllowed
    or PurchaseLimitExceeded); the verdict when it allows it."""
    violations = [v for v in verdict.violations if not (id_at_pickup and v.code == "age_unknown")]
    if not violations:
        return verdict
    codes = {violation.code for violation in violations}
    messages = " ".join(violation.message for violation in violations)
    details = {"violations": [v.as_dict() for v in violations]}
    if codes & AGE_CODES and not id_at_pickup:
        raise IdRefused(messages, details=details)
    if codes - {"limit_exceeded"}:
        raise SaleNotAllowed(messages, details=details)
    raise PurchaseLimitExceeded(
        messages, details={**details, "limits": [u.as_dict() for u in verdict.limits]}
    )
