"""The pure limit engine on hand-built rules: boundaries, windows in the store's zone, equivalency sums,
ages, residency, and that medical and adult-use allowances never combine. No database."""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.rules import (
    BUCKETS,
    AgeRequirement,
    CartLine,
    Customer,
    JurisdictionRules,
    Limit,
    LimitTerm,
    Purchase,
    purchase_limits_check,
)
from compliance.rules.limits import amount_text
from inventory.models import LimitBucket

DAY = dt.date(2026, 3, 1)
DENVER = "America/Denver"


def flower_limit(amount="28", window="local_day", window_days=None, customer_type="adult_use", **extra):
    return Limit(
        customer_type=customer_type,
        label="flower",
        unit="g",
        amount=Decimal(amount),
        window=window,
        window_days=window_days,
        terms=(LimitTerm("flower_g"),),
        **extra,
    )


def rules(*limits, ages=(), **extra):
    return JurisdictionRules(
        code="US-XX", name="Testland", time_zone=DENVER, limits=limits, ages=ages, **extra
    )


ADULT = Customer(type="adult_use", age=34)


def at(text):
    return dt.datetime.fromisoformat(text)


def bought(when, bucket="flower_g", amount="10", customer_type=None):
    return Purchase(at=at(when), lines=(CartLine.of(bucket, amount),), customer_type=customer_type)


def check(rules_, cart, history=(), customer=ADULT, on=DAY, **kwargs):
    return purchase_limits_check(rules_, customer, history, cart, on=on, **kwargs)


def test_buckets_are_the_inventory_buckets():
    assert BUCKETS == tuple(LimitBucket.values)


def test_the_budtender_sentence_names_the_line_the_limit_and_the_excess():
    history = [bought("2026-03-01T09:00:00-07:00", amount="17.5")]
    cart = [CartLine.of("flower_g", "1", "Pre-roll 1g"), CartLine.of("flower_g", "14", "Gelato 14g")]

    verdict = check(rules(flower_limit()), cart, history)

    assert verdict.allowed is False
    assert [v.message for v in verdict.violations] == [
        "Line 2 (Gelato 14g) would bring flower to 32.5 g of the 28 g daily limit: 4.5 g over."
    ]
    violation = verdict.violations[0]
    assert (violation.code, violation.line, violation.limit, violation.over) == (
        "limit_exceeded",
        2,
        "flower",
        Decimal("4.5"),
    )
    usage = verdict.limits[0]
    assert (usage.limit, usage.used_before, usage.in_cart, usage.used, usage.remaining, usage.over) == (
        Decimal("28"),
        Decimal("17.5"),
        Decimal("15"),
        Decimal("32.5"),
        Decimal("0"),
        True,
    )


def test_exactly_at_the_limit_passes_and_one_unit_more_fails():
    limit = flower_limit()
    at_limit = check(rules(limit), [CartLine.of("flower_g", "28")])
    over = check(rules(limit), [CartLine.of("flower_g", "28.001")])

    assert at_limit.allowed is True
    assert at_limit.limits[0].remaining == Decimal("0")
    assert over.allowed is False
    assert over.violations[0].message == (
        "Line 1 (28.001 g flower) would bring flower to 28.001 g of the 28 g daily limit: 0.001 g over."
    )


def test_a_line_without_label_is_described_by_its_amounts():
    plants = Limit(
        "adult_use", "immature plants", "plants", Decimal(6), "local_day", (LimitTerm("immature_plants"),)
    )

    verdict = check(rules(plants), [CartLine.of("immature_plants", 7)])

    assert verdict.violations[0].message == (
        "Line 1 (7 immature plants) would bring immature plants to 7 plants of the 6 plants daily limit: "
        "1 plant over."
    )


def test_every_line_adding_to_an_exceeded_limit_is_named():
    cart = [
        CartLine.of("flower_g", "20", "A"),
        CartLine.of("flower_g", "10", "B"),
        CartLine.of("flower_g", "1", "C"),
    ]

    verdict = check(rules(flower_limit()), cart)

    assert [(v.line, amount_text(v.over)) for v in verdict.violations] == [(2, "2"), (3, "3")]


def test_local_day_follows_the_store_zone_not_utc():
    # 23:59 in Denver on 28 February is 06:59 UTC on 1 March: not "today" for a Denver store.
    just_before_midnight = bought("2026-03-01T06:59:00+00:00", amount="20")
    just_after_midnight = bought("2026-03-01T07:00:00+00:00", amount="20")
    cart = [CartLine.of("flower_g", "10")]

    assert check(rules(flower_limit()), cart, [just_before_midnight]).allowed is True
    assert check(rules(flower_limit()), cart, [just_after_midnight]).allowed is False


def test_the_store_zone_overrides_the_jurisdiction_zone():
    # 22:30 in Los Angeles on 1 March is 23:30 in Denver: the same local day for both, but 01:30 on 2 March
    # in New York.
    history = [bought("2026-03-01T22:30:00-08:00", amount="20")]
    cart = [CartLine.of("flower_g", "10")]

    assert check(rules(flower_limit()), cart, history).allowed is False
    assert check(rules(flower_limit()), cart, history, time_zone="America/New_York").allowed is True


def test_local_day_across_the_spring_daylight_saving_change():
    # Denver moves to MDT on 8 March 2026 at 02:00; 00:30 MST that day is 07:30 UTC.
    history = [bought("2026-03-08T07:30:00+00:00", amount="20")]

    verdict = check(rules(flower_limit()), [CartLine.of("flower_g", "10")], history, on=dt.date(2026, 3, 8))

    assert verdict.allowed is False


def test_per_transaction_limits_ignore_history():
    history = [bought("2026-03-01T10:00:00-07:00", amount="28")]

    verdict = check(rules(flower_limit(window="transaction")), [CartLine.of("flower_g", "28")], history)

    assert verdict.allowed is True
    assert verdict.limits[0].used_before == Decimal("0")
    assert verdict.limits[0].window == "transaction"


def test_rolling_window_counts_exactly_n_local_days():
    limit = flower_limit(amount="70", window="rolling_days", window_days=14)
    # On 1 March a 14-day window holds 16 February to 1 March (local days).
    first_day = bought("2026-02-16T00:00:00-07:00", amount="60")
    day_before = bought("2026-02-15T23:59:59-07:00", amount="60")
    cart = [CartLine.of("flower_g", "10")]

    assert check(rules(limit), cart, [day_before]).allowed is True
    assert check(rules(limit), cart, [first_day]).allowed is True  # 60 + 10 = 70, at the limit
    assert check(rules(limit), [CartLine.of("flower_g", "10.001")], [first_day]).allowed is False
    assert check(rules(limit), cart, [first_day, day_before]).limits[0].used_before == Decimal("60")


def test_purchases_after_the_date_are_not_counted():
    history = [bought("2026-03-02T10:00:00-07:00", amount="28")]

    assert check(rules(flower_limit()), [CartLine.of("flower_g", "1")], history).allowed is True


def test_equivalency_sums_buckets_with_their_factors():
    # Colorado: 28 g flower = 8 g concentrate = 800 mg THC.
    combined = Limit(
        "adult_use",
        "flower and equivalents",
        "g",
        Decimal(28),
        "local_day",
        (
            LimitTerm("flower_g"),
            LimitTerm("concentrate_g", Decimal("3.5")),
            LimitTerm("infused_thc_mg", Decimal("0.035")),
        ),
    )
    at_limit = [
        CartLine.of("flower_g", 7),
        CartLine.of("concentrate_g", 2),
        CartLine.of("infused_thc_mg", 400),
    ]
    over = [*at_limit[:2], CartLine.of("infused_thc_mg", 401, "Gummies 401mg")]

    verdict = check(rules(combined), at_limit)
    failed = check(rules(combined), over)

    assert verdict.allowed is True
    assert verdict.limits[0].used == Decimal("28")
    assert {b.bucket: (b.limit, b.remaining) for b in verdict.buckets}["concentrate_g"] == (
        Decimal(8),
        Decimal(0),
    )
    assert failed.violations[0].message == (
        "Line 3 (Gummies 401mg) would bring flower and equivalents to 28.035 g of the 28 g daily limit: 0.035 g over."
    )


def test_bucket_view_reports_the_tightest_allowance_in_the_bucket_unit():
    combined = Limit(
        "adult_use",
        "marihuana",
        "g",
        Decimal("70"),
        "transaction",
        (LimitTerm("flower_g"), LimitTerm("concentrate_g")),
    )
    concentrate = Limit(
        "adult_use", "concentrate", "g", Decimal("15"), "transaction", (LimitTerm("concentrate_g"),)
    )

    verdict = check(
        rules(combined, concentrate), [CartLine.of("flower_g", "60"), CartLine.of("concentrate_g", "5")]
    )

    buckets = {b.bucket: b for b in verdict.buckets}
    assert (buckets["concentrate_g"].remaining, buckets["concentrate_g"].limited_by) == (
        Decimal(5),
        "marihuana",
    )
    assert (buckets["flower_g"].remaining, buckets["flower_g"].limit) == (Decimal(5), Decimal(70))
    assert (buckets["seeds"].limit, buckets["seeds"].remaining) == (None, None)


def test_a_line_counting_in_several_buckets_counts_in_each():
    mg = Limit("adult_use", "infused THC", "mg", Decimal(500), "transaction", (LimitTerm("infused_thc_mg"),))
    weight = Limit("adult_use", "edibles", "g", Decimal(100), "transaction", (LimitTerm("infused_weight_g"),))
    line = CartLine(
        amounts={"infused_thc_mg": Decimal(100), "infused_weight_g": Decimal(60)}, label="Chocolate"
    )

    verdict = check(rules(mg, weight), [line, line])

    assert [(v.line, v.limit) for v in verdict.violations] == [(2, "edibles")]


def test_medical_and_adult_use_allowances_never_combine():
    adult = flower_limit(amount="28")
    medical = flower_limit(amount="56", customer_type="medical")
    patient = Customer(type="medical", age=40)
    history = [
        bought("2026-03-01T09:00:00-07:00", amount="28", customer_type="adult_use"),
        bought("2026-03-01T10:00:00-07:00", amount="50", customer_type="medical"),
    ]

    as_patient = check(rules(adult, medical), [CartLine.of("flower_g", "6")], history, customer=patient)
    as_adult = check(rules(adult, medical), [CartLine.of("flower_g", "1")], history)

    assert as_patient.allowed is True
    assert [(u.label, u.limit, u.used) for u in as_patient.limits] == [("flower", Decimal(56), Decimal(56))]
    assert as_adult.allowed is False
    assert as_adult.limits[0].used_before == Decimal(28)


def test_residency_variants_choose_the_allowance():
    resident = flower_limit(amount="30", window="transaction", residency="resident")
    visitor = flower_limit(amount="15", window="transaction", residency="non_resident")
    cart = [CartLine.of("flower_g", "20")]

    assert check(rules(resident, visitor), cart).allowed is True
    verdict = check(
        rules(resident, visitor), cart, customer=Customer(type="adult_use", age=30, resident=False)
    )
    assert verdict.violations[0].message.endswith("of the 15 g per-transaction limit: 5 g over.")


def test_age_bands_choose_the_allowance():
    older = flower_limit(amount="8", customer_type="medical", age_min=21)
    younger = flower_limit(amount="2", customer_type="medical", age_max=20)
    cart = [CartLine.of("flower_g", "3")]

    assert check(rules(older, younger), cart, customer=Customer(type="medical", age=21)).allowed is True
    assert check(rules(older, younger), cart, customer=Customer(type="medical", age=20)).allowed is False


def test_below_the_minimum_age_is_a_violation():
    ages = (AgeRequirement("adult_use", 21), AgeRequirement("medical", 18, younger_through_caregiver=True))
    cart = [CartLine.of("flower_g", "1")]

    too_young = check(rules(flower_limit(), ages=ages), cart, customer=Customer(type="adult_use", age=20))
    of_age = check(rules(flower_limit(), ages=ages), cart, customer=Customer(type="adult_use", age=21))
    patient = check(rules(ages=ages), cart, customer=Customer(type="medical", age=16))
    with_caregiver = check(
        rules(ages=ages), cart, customer=Customer(type="medical", age=16, via_caregiver=True)
    )
    adult_with_caregiver = check(
        rules(ages=ages), cart, customer=Customer(type="adult_use", age=20, via_caregiver=True)
    )

    assert [(v.code, v.message) for v in too_young.violations] == [
        ("age_below_minimum", "The customer is 20: adult-use sales in Testland need 21 or older.")
    ]
    assert of_age.allowed is True
    assert patient.violations[0].message == (
        "The customer is 16: medical sales in Testland need 18 or older, or a caregiver buying for the patient."
    )
    assert with_caregiver.allowed is True
    assert adult_with_caregiver.allowed is False


def test_a_customer_type_the_state_does_not_allow():
    verdict = check(rules(adult_use_legal=False), [CartLine.of("flower_g", "1")])

    assert [(v.code, v.message) for v in verdict.violations] == [
        ("customer_type_not_allowed", "Testland has no adult-use sales.")
    ]


def test_only_rules_in_force_on_the_date_apply():
    old = flower_limit(amount="28", effective_to=dt.date(2026, 2, 28))
    new = flower_limit(amount="70", effective_from=dt.date(2026, 3, 1))
    cart = [CartLine.of("flower_g", "50")]

    assert check(rules(old, new), cart).allowed is True
    assert check(rules(old, new), cart, on=dt.date(2026, 2, 28)).allowed is False


def test_verdict_as_json():
    verdict = check(rules(flower_limit()), [CartLine.of("flower_g", "3.500")])

    data = verdict.as_dict()

    assert data["allowed"] is True
    assert data["date"] == "2026-03-01"
    assert data["time_zone"] == DENVER
    assert data["limits"][0]["used"] == "3.5"
    assert data["limits"][0]["remaining"] == "24.5"
    assert data["violations"] == []


def test_bad_rule_data_is_refused():
    with pytest.raises(ValueError):
        flower_limit(window="rolling_days")
    with pytest.raises(ValueError):
        Customer(type="recreational", age=30)
    with pytest.raises(ValueError):
        Purchase(at=dt.datetime(2026, 3, 1, 10), lines=())  # noqa: DTZ001 - naive on purpose
