import datetime as dt
from decimal import Decimal as D

from pos.promotions import (
    CartItem,
    CouponRule,
    CustomerContext,
    MultiplierRule,
    PromotionRule,
    RewardRule,
    discounts_apply,
    points_for,
    spread,
)

WEDNESDAY_5PM = dt.datetime(2026, 3, 4, 17, 0)  # noqa: DTZ001 - a store-local wall-clock time, as the engine takes it
NOW = dt.datetime(2026, 3, 5, 1, 0, tzinfo=dt.UTC)
ADULT = CustomerContext(type="adult_use", customer_id=7, age=40)


def item(index, price, quantity=1, category="flower", brand="Acme", product_id=None):
    quantity = D(quantity)
    return CartItem(
        index=index,
        product_id=product_id or 100 + index,
        category=category,
        brand=brand,
        quantity=quantity,
        unit_price=D(price),
        list_amount=D(price) * quantity,
    )


def promo(pk=1, kind="percent", value="10", **kwargs):
    return PromotionRule(id=pk, name=f"Promo {pk}", kind=kind, value=D(value), **kwargs)


def apply(items, promotions=(), customer=ADULT, local_now=WEDNESDAY_5PM, **kwargs):
    return discounts_apply(
        items=items, customer=customer, local_now=local_now, now=NOW, promotions=promotions, **kwargs
    )


def amounts(result):
    return {index: [(d.source, d.amount) for d in found] for index, found in result.discounts_by_line.items()}


def test_percent_per_line_and_filters_by_category_brand_product():
    items = [item(0, "33.33"), item(1, "20.00", category="edible"), item(2, "10.00", brand="Other")]
    result = apply(items, [promo(value="15", categories=("flower",), brands=("Acme",))])
    assert amounts(result) == {0: [("promotion", D("5.00"))]}
    result = apply(items, [promo(value="50", product_ids=frozenset({101}))])
    assert amounts(result) == {1: [("promotion", D("10.00"))]}


def test_fixed_amount_per_line_never_below_zero():
    result = apply([item(0, "3.00"), item(1, "10.00")], [promo(kind="amount", value="5")])
    assert amounts(result) == {0: [("promotion", D("3.00"))], 1: [("promotion", D("5.00"))]}


def test_cart_amount_spreads_proportionally_last_line_takes_rounding():
    items = [item(0, "10.00"), item(1, "10.00"), item(2, "10.00")]
    result = apply(items, [promo(kind="amount", value="10", scope="cart")])
    assert amounts(result) == {
        0: [("promotion", D("3.33"))],
        1: [("promotion", D("3.33"))],
        2: [("promotion", D("3.34"))],
    }
    assert spread(D("50"), {0: D("10"), 1: D("20")}) == {0: D("10.00"), 1: D("20.00")}


def test_cart_percent_off_qualifying_lines():
    items = [item(0, "19.99"), item(1, "5.01"), item(2, "100", category="edible")]
    result = apply(items, [promo(value="10", scope="cart", categories=("flower",))])
    assert amounts(result) == {0: [("promotion", D("2.00"))], 1: [("promotion", D("0.50"))]}


def test_buy_two_get_one_cheapest_units_free():
    items = [item(0, "20.00", 2, "edible"), item(1, "12.00", 1, "edible"), item(2, "5.00", 3, "flower")]
    bxgy = promo(kind="bxgy", value="100", buy_quantity=2, get_quantity=1, categories=("edible",))
    assert amounts(apply(items, [bxgy])) == {1: [("promotion", D("12.00"))]}
    six = [item(0, "20.00", 4, "edible"), item(1, "12.00", 2, "edible")]
    assert amounts(apply(six, [bxgy])) == {1: [("promotion", D("24.00"))]}
    half = promo(kind="bxgy", value="50", buy_quantity=1, get_quantity=1)
    assert amounts(apply([item(0, "9.99", 2)], [half])) == {0: [("promotion", D("5.00"))]}
    assert apply([item(0, "9.99", "1.5")], [half]).discounts_by_line == {}


def test_customer_groups():
    medical = promo(pk=1, value="15", customer_group="medical")
    senior = promo(pk=2, value="10", customer_group="senior", senior_age=65)
    employee = promo(pk=3, value="20", customer_group="employee")
    veteran = promo(pk=4, value="10", customer_group="veteran")
    everything = [medical, senior, employee, veteran]
    line = [item(0, "100.00")]
    assert amounts(apply(line, everything)) == {}
    patient = CustomerContext(type="medical", customer_id=1, age=30)
    assert amounts(apply(line, everything, customer=patient)) == {0: [("promotion", D("15.00"))]}
    old = CustomerContext(type="adult_use", customer_id=1, age=65)
    assert amounts(apply(line, everything, customer=old)) == {0: [("promotion", D("10.00"))]}
    unknown_age = CustomerContext(type="adult_use", customer_id=1, age=None)
    assert amounts(apply(line, [senior], customer=unknown_age)) == {}
    staff = CustomerContext(type="adult_use", customer_id=1, is_employee=True, is_veteran=True)
    assert amounts(apply(line, everything, customer=staff)) == {0: [("promotion", D("20.00"))]}


def test_happy_hour_weekdays_dates_and_min_subtotal():
    happy = promo(value="10", weekdays=(2,), start_time=dt.time(16), end_time=dt.time(18))
    line = [item(0, "50.00")]
    assert amounts(apply(line, [happy])) == {0: [("promotion", D("5.00"))]}
    assert apply(line, [happy], local_now=WEDNESDAY_5PM.replace(hour=18)).discounts_by_line == {}
    assert apply(line, [happy], local_now=WEDNESDAY_5PM + dt.timedelta(days=1)).discounts_by_line == {}
    night = promo(value="10", start_time=dt.time(22), end_time=dt.time(2))
    assert apply(line, [night], local_now=WEDNESDAY_5PM.replace(hour=1)).discounts_by_line != {}
    assert apply(line, [night]).discounts_by_line == {}
    dated = promo(starts_on=dt.date(2026, 3, 5))
    assert apply(line, [dated]).discounts_by_line == {}
    ended = promo(ends_on=dt.date(2026, 3, 3))
    assert apply(line, [ended]).discounts_by_line == {}
    minimum = promo(min_subtotal=D("50.01"))
    assert apply(line, [minimum]).discounts_by_line == {}


def test_best_non_stackable_wins_stackable_adds_and_manual_choice():
    line = [item(0, "100.00")]
    small, big = promo(pk=1, value="10"), promo(pk=2, value="25")
    extra = promo(pk=3, kind="amount", value="5", stackable=True)
    chosen = promo(pk=4, value="30", automatic=False)
    result = apply(line, [small, big, extra, chosen])
    assert [(d.promotion_id, d.amount) for d in result.discounts_by_line[0]] == [
        (2, D("25.00")),
        (3, D("5.00")),
    ]
    result = apply(line, [small, big, extra, chosen], chosen_promotion_ids=[4])
    assert [(d.promotion_id, d.amount) for d in result.discounts_by_line[0]] == [
        (3, D("5.00")),
        (4, D("30.00")),
    ]
    stacked = apply(line, [promo(pk=5, value="80", stackable=True), promo(pk=6, value="50", stackable=True)])
    assert [d.amount for d in stacked.discounts_by_line[0]] == [D("80.00"), D("20.00")]


def test_discounts_respect_manual_discounts():
    manual = CartItem(0, 1, "flower", "", D("1"), D("40.00"), D("40.00"), available=D("4.00"))
    assert amounts(apply([manual], [promo(kind="amount", value="10")])) == {0: [("promotion", D("4.00"))]}


def coupon(code="SAVE", promotion=None, **kwargs):
    return CouponRule(
        id=9, code=code, promotion=promotion or promo(pk=50, value="10", automatic=False), **kwargs
    )


def test_coupon_applies_case_insensitively_with_attribution():
    result = apply([item(0, "45.00")], coupon_codes=[" save "], coupons={"SAVE": coupon(message_id="m-1")})
    assert amounts(result) == {0: [("coupon", D("4.50"))]}
    assert result.discounts_by_line[0][0].coupon_id == 9
    (found,) = result.coupons
    assert (found.code, found.applied, found.amount, found.message_id) == ("SAVE", True, D("4.50"), "m-1")
    assert found.message == "SAVE: 4.50 off."


def test_coupon_refusals_each_have_a_reason():
    cart = [item(0, "25.00")]
    cases = {
        "unknown": ({}, "NOPE is not a valid code."),
        "inactive": ({"SAVE": coupon(active=False)}, "SAVE is no longer active."),
        "early": (
            {"SAVE": coupon(valid_from=NOW + dt.timedelta(days=1))},
            "SAVE is valid from Mar 06, 2026.",
        ),
        "late": ({"SAVE": coupon(valid_until=NOW - dt.timedelta(days=1))}, "SAVE expired on Mar 04, 2026."),
        "used": ({"SAVE": coupon(max_uses=1, uses=1)}, "SAVE has already been used."),
        "mine": ({"SAVE": coupon(customer_id=8)}, "SAVE belongs to another customer."),
        "once": (
            {"SAVE": coupon(max_uses_per_customer=1, customer_uses=1)},
            "The customer has already used SAVE.",
        ),
        "spend": (
            {"SAVE": coupon(min_spend=D("30"))},
            "SAVE needs a spend of 30.00; the cart comes to 25.00.",
        ),
        "nothing": (
            {"SAVE": coupon(promotion=promo(pk=50, categories=("edible",)))},
            "Nothing in the cart qualifies for SAVE.",
        ),
    }
    for name, (coupons, message) in cases.items():
        code = "nope" if name == "unknown" else "save"
        result = apply(cart, coupon_codes=[code], coupons=coupons)
        assert result.discounts_by_line == {}, name
        assert [(r.applied, r.message) for r in result.coupons] == [(False, message)], name
    anonymous = CustomerContext(type="adult_use")
    result = apply(
        cart, customer=anonymous, coupon_codes=["SAVE"], coupons={"SAVE": coupon(max_uses_per_customer=1)}
    )
    assert result.coupons[0].message == "SAVE needs the customer: look them up first."


def test_coupon_min_spend_counts_after_promotions_and_competes_per_line():
    cart = [item(0, "40.00")]
    automatic = promo(pk=1, value="50")
    result = apply(cart, [automatic], coupon_codes=["SAVE"], coupons={"SAVE": coupon(min_spend=D("30"))})
    assert result.coupons[0].message == "SAVE needs a spend of 30.00; the cart comes to 20.00."
    result = apply(cart, [promo(pk=1, value="5")], coupon_codes=["SAVE"], coupons={"SAVE": coupon()})
    assert amounts(result) == {0: [("coupon", D("4.00"))]}
    result = apply(cart, [promo(pk=1, value="20")], coupon_codes=["SAVE"], coupons={"SAVE": coupon()})
    assert amounts(result) == {0: [("promotion", D("8.00"))]}
    assert result.coupons[0].message == "A better promotion already applies; SAVE was not used."


def test_rewards_need_points_and_come_off_what_is_left():
    cart = [item(0, "30.00"), item(1, "10.00", category="edible")]
    five = RewardRule(id=1, name="$5 off", points_cost=100, kind="amount", value=D("5"))
    tenth = RewardRule(
        id=2, name="10% off edibles", points_cost=50, kind="percent", value=D("10"), categories=("edible",)
    )
    rewards = {1: five, 2: tenth}
    result = apply(cart, [promo(pk=1, value="50")], reward_ids=[1, 2], rewards=rewards, points_balance=150)
    assert amounts(result) == {
        0: [("promotion", D("15.00")), ("reward", D("3.75"))],
        1: [("promotion", D("5.00")), ("reward", D("1.25")), ("reward", D("0.38"))],
    }
    assert result.points_to_redeem == 150
    assert [(r.applied, r.amount, r.points) for r in result.rewards] == [
        (True, D("5.00"), 100),
        (True, D("0.38"), 50),
    ]
    short = apply(cart, reward_ids=[1, 2], rewards=rewards, points_balance=120)
    assert [(r.applied, r.message) for r in short.rewards] == [
        (True, "$5 off: 5.00 off for 100 points."),
        (False, "10% off edibles needs 50 points; 20 are available."),
    ]
    assert short.points_to_redeem == 100
    anonymous = apply(cart, customer=CustomerContext(type="adult_use"), reward_ids=[1], rewards=rewards)
    assert anonymous.rewards[0].message == "$5 off needs a loyalty member."
    assert apply(cart, reward_ids=[3], rewards=rewards, points_balance=999).rewards[0].message == (
        "Reward 3 is not available."
    )


def test_points_rate_multipliers_tier_rounded_down():
    wednesday = dt.date(2026, 3, 4)
    double_edibles = MultiplierRule(D("2"), categories=("edible",), weekdays=(2,))
    nets = [("edible", D("10.99")), ("flower", D("20.50")), ("flower", D("-1"))]
    assert (
        points_for(
            nets=nets,
            points_per_unit=D("1"),
            multipliers=[double_edibles],
            tier_multiplier=D("1.5"),
            day=wednesday,
        )
        == 63
    )
    assert (
        points_for(
            nets=nets,
            points_per_unit=D("1"),
            multipliers=[double_edibles],
            tier_multiplier=D("1"),
            day=wednesday + dt.timedelta(days=1),
        )
        == 31
    )
