"""Who buys, as the engine hears it: residency from the ID's issuing state or the address on record, and a
physician's recommendation's amounts as the patient's own allowances in the state's windows. No database."""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.rules import (
    CartLine,
    Customer,
    JurisdictionRules,
    Limit,
    LimitTerm,
    Purchase,
    is_resident,
    purchase_limits_check,
    recommendation_limits,
    with_limits,
)

DAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("issuing_state", "home_state", "resident"),
    [
        ("IL", "", True),
        ("wi", "IL", False),  # the ID decides over the address on record
        ("", "MO", False),
        ("", "il", True),
        ("", "Illinois", True),  # not a state code: unknown, so as a resident
        ("", "", True),
    ],
)
def test_residency_by_the_id_then_the_record(issuing_state, home_state, resident):
    assert is_resident(jurisdiction="US-IL", issuing_state=issuing_state, home_state=home_state) is resident


def medical_rules():
    return JurisdictionRules(
        code="US-IL",
        name="Illinois",
        time_zone="America/Chicago",
        limits=(
            Limit(
                customer_type="medical",
                label="usable cannabis",
                unit="g",
                amount=Decimal("70.875"),
                window="rolling_days",
                window_days=14,
                terms=(LimitTerm("flower_g"),),
            ),
        ),
    )


def test_a_recommendation_adds_the_patients_own_allowance_in_the_states_window():
    rules = medical_rules()
    [own] = recommendation_limits(rules, {"flower_g": Decimal("20"), "shoes": Decimal("1")}, on=DAY)
    assert (own.label, own.amount, own.window, own.window_days) == (
        "flower (recommendation)",
        Decimal("20"),
        "rolling_days",
        14,
    )
    patient = Customer(type="medical", age=40)
    ten_days_ago = Purchase(
        at=dt.datetime(2026, 2, 20, 12, tzinfo=dt.UTC),
        lines=(CartLine.of("flower_g", "14"),),
        customer_type="medical",
    )
    verdict = purchase_limits_check(
        with_limits(rules, (own,)), patient, [ten_days_ago], [CartLine.of("flower_g", "7")], on=DAY
    )
    [violation] = verdict.violations
    assert violation.limit == "flower (recommendation)" and violation.over == Decimal("1")
    # Without it the state's 2.5 oz in 14 days allows the same cart.
    assert purchase_limits_check(
        rules, patient, [ten_days_ago], [CartLine.of("flower_g", "7")], on=DAY
    ).allowed


def test_a_recommendation_on_a_bucket_the_state_does_not_limit_is_per_day():
    [own] = recommendation_limits(medical_rules(), {"concentrate_g": Decimal("2")}, on=DAY)
    assert (own.window, own.window_days, own.unit) == ("local_day", None, "g")
    assert with_limits(medical_rules(), ()) == medical_rules()
