"""The shipped rules (migration 0003) through the selector and the engine, one state at a time, from the
figures in each state's text: at the limit passes, one unit over fails."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.models import AgeRule, DeliveryRule, Jurisdiction, PurchaseLimit, TaxRate
from compliance.rules import CartLine, Customer, Purchase, purchase_limits_check
from compliance.selectors import jurisdiction_rules_get
from dispensary.errors import NotFound

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 1)
STATES = ["US-CA", "US-CO", "US-MI", "US-MA", "US-NV", "US-IL", "US-OK"]
ADULT = Customer(type="adult_use", age=30)
PATIENT = Customer(type="medical", age=40)


def check(state, cart, *, customer=ADULT, history=(), on=DAY, time_zone=None):
    rules = jurisdiction_rules_get(jurisdiction=state, on=on)
    return purchase_limits_check(rules, customer, history, cart, on=on, time_zone=time_zone)


def line(bucket, amount, label=""):
    return CartLine.of(bucket, amount, label)


def bought(when, bucket, amount, customer_type=None):
    return Purchase(
        at=dt.datetime.fromisoformat(when), lines=(line(bucket, amount),), customer_type=customer_type
    )


def test_every_state_is_shipped_with_cited_rows():
    assert sorted(Jurisdiction.objects.values_list("code", flat=True)) == sorted(STATES)
    for model in (PurchaseLimit, AgeRule, DeliveryRule, TaxRate):
        for row in model.objects.all():
            assert row.citation, row
            assert row.confirmed or row.note, f"{row}: an unconfirmed row says what is unconfirmed"
    for state in STATES:
        assert PurchaseLimit.objects.filter(jurisdiction__code=state, customer_type="medical").exists(), state
        assert TaxRate.objects.filter(jurisdiction__code=state).exists(), state
        assert AgeRule.objects.filter(
            jurisdiction__code=state, customer_type="medical", minimum_age=18
        ).exists()
    assert set(AgeRule.objects.filter(customer_type="adult_use").values_list("minimum_age", flat=True)) == {
        21
    }


def test_the_selector_reads_a_jurisdiction_in_a_fixed_number_of_queries():
    with CaptureQueriesContext(connection) as queries:
        rules = jurisdiction_rules_get(jurisdiction="US-IL", on=DAY)

    assert len(queries) == 6
    assert rules.time_zone == "America/Chicago"
    assert len(rules.limits) == 7


def test_an_unknown_jurisdiction_is_not_found():
    with pytest.raises(NotFound):
        jurisdiction_rules_get(jurisdiction="US-ZZ", on=DAY)


# California: 4 CCR 15409 - 28.5 g non-concentrated, 8 g concentrate, 6 immature plants per day.


@pytest.mark.parametrize(
    ("bucket", "at_limit", "over"),
    [("flower_g", "28.5", "28.501"), ("concentrate_g", "8", "8.001"), ("immature_plants", "6", "7")],
)
def test_california_adult_use_daily_limits(bucket, at_limit, over):
    assert check("US-CA", [line(bucket, at_limit)]).allowed is True
    assert check("US-CA", [line(bucket, over)]).allowed is False


def test_california_limits_are_separate_not_combined():
    cart = [line("flower_g", "28.5"), line("concentrate_g", "8"), line("immature_plants", "6")]

    assert check("US-CA", cart).allowed is True


def test_california_day_is_the_los_angeles_day():
    before_midnight = [bought("2026-02-28T23:59:59-08:00", "flower_g", "28.5")]
    after_midnight = [bought("2026-03-01T00:00:00-08:00", "flower_g", "20")]

    assert check("US-CA", [line("flower_g", "28.5")], history=before_midnight).allowed is True
    verdict = check("US-CA", [line("flower_g", "14", "Gelato 14g")], history=after_midnight)
    assert verdict.violations[0].message == (
        "Line 1 (Gelato 14g) would bring non-concentrated cannabis to 34 g of the 28.5 g daily limit: 5.5 g over."
    )


def test_california_medical_eight_ounces_and_twelve_plants():
    assert check("US-CA", [line("flower_g", "226.796")], customer=PATIENT).allowed is True
    assert check("US-CA", [line("flower_g", "226.797")], customer=PATIENT).allowed is False
    assert check("US-CA", [line("immature_plants", "12")], customer=PATIENT).allowed is True
    assert check("US-CA", [line("immature_plants", "13")], customer=PATIENT).allowed is False


def test_california_delivery_hours_and_vehicle_cap_and_taxes():
    rules = jurisdiction_rules_get(jurisdiction="US-CA", on=DAY)

    assert [(d.start, d.end) for d in rules.delivery if d.start] == [(dt.time(6), dt.time(22))]
    assert [(d.vehicle_value_cap, d.value_basis) for d in rules.delivery if d.vehicle_value_cap] == [
        (Decimal("10000.00"), "retail")
    ]
    excise = [t for t in rules.taxes if t.level == "excise"]
    assert [(t.rate, t.included_in_price) for t in excise] == [(Decimal("15"), False)]
    mid_2025 = jurisdiction_rules_get(jurisdiction="US-CA", on=dt.date(2025, 8, 1))
    assert [t.rate for t in mid_2025.taxes if t.level == "excise"] == [Decimal("19")]


def test_california_ages():
    assert (
        check("US-CA", [line("flower_g", "1")], customer=Customer(type="adult_use", age=20)).allowed is False
    )
    assert check("US-CA", [line("flower_g", "1")], customer=Customer(type="medical", age=18)).allowed is True
    assert check("US-CA", [line("flower_g", "1")], customer=Customer(type="medical", age=17)).allowed is False
    patient_child = Customer(type="medical", age=12, via_caregiver=True)
    assert check("US-CA", [line("flower_g", "1")], customer=patient_child).allowed is True


# Colorado: one ounce of flower or its equivalent, 8 g concentrate or 800 mg THC in products.


def test_colorado_equivalency_sums_the_buckets():
    history = [bought("2026-03-01T10:00:00-07:00", "flower_g", "10")]
    # The example: 10 g flower earlier today, 4 g concentrate (= 14 g flower) in the cart.
    example = check("US-CO", [line("concentrate_g", "4")], history=history)
    at_limit_cart = [line("concentrate_g", "4"), line("infused_thc_mg", "100"), line("flower_g", "0.5")]
    over_cart = [*at_limit_cart[:2], line("flower_g", "0.501", "Pre-roll")]
    at_limit = check("US-CO", at_limit_cart, history=history)  # 10 + 4 x 3.5 + 100 x 0.035 + 0.5 = 28
    over = check("US-CO", over_cart, history=history)

    assert example.allowed is True
    assert example.limits[0].used == Decimal("24")
    assert at_limit.allowed is True
    assert at_limit.limits[0].remaining == Decimal("0")
    assert over.violations[0].message == (
        "Line 3 (Pre-roll) would bring flower and equivalents to 28.001 g of the 28 g daily limit: 0.001 g over."
    )


def test_colorado_alone_each_bucket_fills_the_ounce():
    assert check("US-CO", [line("concentrate_g", "8")]).allowed is True
    assert check("US-CO", [line("concentrate_g", "8.001")]).allowed is False
    assert check("US-CO", [line("infused_thc_mg", "800")]).allowed is True
    assert check("US-CO", [line("infused_thc_mg", "801")]).allowed is False


def test_colorado_medical_concentrate_by_age():
    assert check("US-CO", [line("concentrate_g", "8")], customer=Customer(type="medical", age=21)).allowed
    assert not check(
        "US-CO", [line("concentrate_g", "8.001")], customer=Customer(type="medical", age=21)
    ).allowed
    assert check("US-CO", [line("concentrate_g", "2")], customer=Customer(type="medical", age=19)).allowed
    assert not check(
        "US-CO", [line("concentrate_g", "2.001")], customer=Customer(type="medical", age=19)
    ).allowed


def test_colorado_medical_purchases_do_not_use_the_adult_allowance():
    history = [bought("2026-03-01T10:00:00-07:00", "flower_g", "56", customer_type="medical")]

    assert check("US-CO", [line("flower_g", "28")], history=history).allowed is True
    assert check("US-CO", [line("flower_g", "1")], customer=PATIENT, history=history).allowed is False


# Michigan: 2.5 oz per transaction, of which no more than 15 g concentrate.


def test_michigan_two_and_a_half_ounces_of_which_fifteen_grams_concentrate():
    assert check("US-MI", [line("flower_g", "55.874"), line("concentrate_g", "15")]).allowed is True
    over_total = check("US-MI", [line("flower_g", "55.875"), line("concentrate_g", "15")])
    over_concentrate = check("US-MI", [line("concentrate_g", "15.001")])

    assert [v.limit for v in over_total.violations] == ["marihuana"]
    assert [v.limit for v in over_concentrate.violations] == ["concentrate"]


def test_michigan_adult_use_is_per_transaction():
    history = [bought("2026-03-01T10:00:00-05:00", "flower_g", "70")]

    assert check("US-MI", [line("flower_g", "70.874")], history=history).allowed is True


def test_michigan_medical_monthly_limit_is_rolling():
    history = [
        bought(f"2026-02-{day:02d}T12:00:00-05:00", "flower_g", "70") for day in (5, 12, 19, 26)
    ]  # 280 g within 30 days of 1 March

    assert check("US-MI", [line("flower_g", "3.495")], customer=PATIENT, history=history).allowed is True
    assert check("US-MI", [line("flower_g", "3.496")], customer=PATIENT, history=history).allowed is False


# Massachusetts: one ounce or its combined equivalent (5 g concentrate, 500 mg THC) per day; medical 10 oz/60 days.


def test_massachusetts_equivalency():
    cart = [line("flower_g", "14"), line("concentrate_g", "1.25"), line("infused_thc_mg", "125")]
    assert check("US-MA", cart).allowed is True  # 14 + 7 + 7 = 28
    assert check("US-MA", [*cart, line("infused_thc_mg", "1")]).allowed is False


def test_massachusetts_medical_sixty_day_supply():
    history = [bought("2026-01-01T12:00:00-05:00", "flower_g", "283.495")]  # 60th day before 1 March: 1 Jan

    assert check("US-MA", [line("flower_g", "1")], customer=PATIENT, history=history).allowed is False
    assert check(
        "US-MA", [line("flower_g", "1")], customer=PATIENT, history=history, on=dt.date(2026, 3, 2)
    ).allowed


# Nevada: SB 277 raised the adult-use limits on 1 January 2024.


def test_nevada_limits_change_on_their_effective_date():
    cart = [line("flower_g", "70.874")]

    assert check("US-NV", cart, on=dt.date(2024, 1, 1)).allowed is True
    assert check("US-NV", cart, on=dt.date(2023, 12, 31)).allowed is False
    assert check("US-NV", [line("concentrate_g", "7.087")], on=dt.date(2024, 1, 1)).allowed is True
    assert check("US-NV", [line("concentrate_g", "7.088")], on=dt.date(2024, 1, 1)).allowed is False


def test_nevada_medical_fourteen_days():
    history = [bought("2026-02-16T09:00:00-08:00", "flower_g", "70")]

    assert check("US-NV", [line("flower_g", "0.874")], customer=PATIENT, history=history).allowed is True
    assert check("US-NV", [line("flower_g", "0.875")], customer=PATIENT, history=history).allowed is False
    assert check(
        "US-NV", [line("flower_g", "1")], customer=PATIENT, history=history, on=dt.date(2026, 3, 2)
    ).allowed


# Illinois: residents 30 g / 5 g / 500 mg; non-residents half.


@pytest.mark.parametrize(
    ("resident", "bucket", "at_limit", "over"),
    [
        (True, "flower_g", "30", "30.001"),
        (True, "concentrate_g", "5", "5.001"),
        (True, "infused_thc_mg", "500", "501"),
        (False, "flower_g", "15", "15.001"),
        (False, "concentrate_g", "2.5", "2.501"),
        (False, "infused_thc_mg", "250", "251"),
    ],
)
def test_illinois_residents_and_visitors(resident, bucket, at_limit, over):
    customer = Customer(type="adult_use", age=25, resident=resident)

    assert check("US-IL", [line(bucket, at_limit)], customer=customer).allowed is True
    assert check("US-IL", [line(bucket, over)], customer=customer).allowed is False


def test_illinois_limits_are_cumulative():
    cart = [line("flower_g", "30"), line("concentrate_g", "5"), line("infused_thc_mg", "500")]

    assert check("US-IL", cart).allowed is True


def test_illinois_day_boundary_does_not_matter_per_transaction_but_medical_counts_fourteen_days():
    history = [bought("2026-02-20T12:00:00-06:00", "flower_g", "70.874")]

    assert check("US-IL", [line("flower_g", "30")], history=history).allowed is True
    assert check("US-IL", [line("flower_g", "0.001")], customer=PATIENT, history=history).allowed is False


# Oklahoma: medical only; 3 oz flower, 1 oz concentrate, 72 oz edibles, 6 seedlings.


def test_oklahoma_has_no_adult_use_sales():
    verdict = check("US-OK", [line("flower_g", "1")])

    assert [v.code for v in verdict.violations] == ["customer_type_not_allowed"]


@pytest.mark.parametrize(
    ("bucket", "at_limit", "over"),
    [
        ("flower_g", "85.049", "85.05"),
        ("concentrate_g", "28.35", "28.351"),
        ("infused_weight_g", "2041.166", "2041.167"),
        ("immature_plants", "6", "7"),
    ],
)
def test_oklahoma_medical_limits(bucket, at_limit, over):
    assert check("US-OK", [line(bucket, at_limit)], customer=PATIENT).allowed is True
    assert check("US-OK", [line(bucket, over)], customer=PATIENT).allowed is False


def test_oklahoma_minor_patients_only_through_a_caregiver():
    minor = Customer(type="medical", age=16)

    assert check("US-OK", [line("flower_g", "1")], customer=minor).violations[0].code == "age_below_minimum"
    assert check(
        "US-OK", [line("flower_g", "1")], customer=Customer(type="medical", age=16, via_caregiver=True)
    ).allowed
