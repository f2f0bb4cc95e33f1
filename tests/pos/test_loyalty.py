import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.models import OutboxEvent
from dispensary.versioned import forget_all
from pos.errors import CouponInvalid
from pos.models import (
    Coupon,
    CouponRedemption,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTier,
    PointsEntry,
    Promotion,
    Reward,
    Sale,
    SaleLineDiscount,
)
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund, sale_void
from pos.services.loyalty import loyalty_points_expire
from pos.tasks import loyalty_points_expire_task
from tests.factories import CustomerFactory, StoreFactory
from tests.pos.sale_helpers import checkout, priced

pytestmark = pytest.mark.django_db


@pytest.fixture
def loyalty(organization):
    LoyaltyProgram.objects.create(organization=organization, points_expire_after_days=365)
    LoyaltyTier.objects.create(organization=organization, name="Green", min_spend=D("0"))
    LoyaltyTier.objects.create(
        organization=organization, name="Gold", min_spend=D("100"), earn_multiplier=D("2")
    )
    return organization


@pytest.fixture
def customer(store):
    return CustomerFactory(organization=store.organization)


@pytest.fixture
def offers(organization):
    """10% off flower automatically, a $5 cart code sent by a message, and a $5 reward for 100 points."""
    promotion = Promotion.objects.create(
        organization=organization,
        name="Flower 10%",
        kind="percent",
        value=D("10"),
        categories=["flower"],
        automatic=True,
    )
    five = Promotion.objects.create(
        organization=organization,
        name="Five off",
        kind="amount",
        value=D("5"),
        scope="cart",
        automatic=False,
        stackable=True,
    )
    coupon = Coupon.objects.create(
        organization=organization, code="SAVE5", promotion=five, max_uses=1, message_id="msg-42"
    )
    reward = Reward.objects.create(organization=organization, name="$5 off", points_cost=100, value=D("5"))
    return promotion, coupon, reward


def give_points(customer, points, *, days_ago=1, expires_in=300):
    account, _ = LoyaltyAccount.objects.get_or_create(customer=customer)
    now = timezone.now()
    PointsEntry.objects.create(
        account=account,
        kind="earned",
        points=points,
        remaining=points,
        created_at=now - dt.timedelta(days=days_ago),
        expires_at=now + dt.timedelta(days=expires_in),
    )
    account.balance += points
    account.save()
    return account


def complete(store, register, budtender, customer, adult_id, product, quantity="2", key="l-1", **kwargs):
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D(quantity))],
        tenders=[TenderInput("cash", D("500"))],
        idempotency_key=key,
        id_verification=adult_id(customer),
        **kwargs,
    )


def test_quote_applies_promotions_coupons_and_rewards(store, product, package, loyalty, customer, offers):
    promotion, coupon, reward = offers
    give_points(customer, 150)
    quote = priced(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("2"))],
        age=36,
        coupon_codes=["save5"],
        reward_ids=[reward.pk],
    )
    assert [(d.source, d.name, d.amount) for d in quote.lines[0].discounts] == [
        ("promotion", "Flower 10%", D("9.00")),
        ("coupon", "SAVE5: Five off", D("5.00")),
        ("reward", "$5 off", D("5.00")),
    ]
    assert (quote.subtotal, quote.discount_total, quote.lines[0].net_amount) == (
        D("90.00"),
        D("19.00"),
        D("71.00"),
    )
    assert [(c.code, c.applied, c.amount, c.message_id) for c in quote.coupons] == [
        ("SAVE5", True, D("5.00"), "msg-42")
    ]
    assert [(r.applied, r.points) for r in quote.rewards] == [(True, 100)]
    assert (quote.points_balance, quote.points_to_redeem, quote.points_to_earn, quote.tier_name) == (
        150,
        100,
        71,
        "",
    )


def test_quote_explains_a_refused_code_and_earns_nothing_anonymously(
    store, product, package, loyalty, offers
):
    quote = priced(
        store=store,
        customer=None,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("1"))],
        coupon_codes=["nope"],
    )
    assert [(c.applied, c.message) for c in quote.coupons] == [(False, "NOPE is not a valid code.")]
    assert (quote.points_balance, quote.points_to_earn, quote.discount_total) == (None, 0, D("4.50"))


def test_sale_writes_discounts_redemptions_points_and_events(
    store, register, budtender, product, package, adult_id, loyalty, customer, offers
):
    promotion, coupon, reward = offers
    give_points(customer, 150)
    sale = complete(
        store,
        register,
        budtender,
        customer,
        adult_id,
        product,
        coupon_codes=["Save5"],
        reward_ids=[reward.pk],
    )
    assert sale.discount_total == D("19.00")
    rows = SaleLineDiscount.objects.filter(line__sale=sale).order_by("pk")
    assert [(r.source, r.amount, r.promotion_id, r.coupon_id, r.reward_id) for r in rows] == [
        ("promotion", D("9.00"), promotion.pk, None, None),
        ("coupon", D("5.00"), coupon.promotion_id, coupon.pk, None),
        ("reward", D("5.00"), None, None, reward.pk),
    ]
    redemption = CouponRedemption.objects.get()
    assert (redemption.sale, redemption.customer, redemption.amount, redemption.message_id) == (
        sale,
        customer,
        D("5.00"),
        "msg-42",
    )
    coupon.refresh_from_db()
    assert coupon.uses == 1
    sale.refresh_from_db()
    assert (sale.points_redeemed, sale.points_earned) == (100, 71)
    account = LoyaltyAccount.objects.get(customer=customer)
    assert (account.balance, account.tier.name) == (121, "Green")
    assert list(account.entries.order_by("pk").values_list("kind", "points", "remaining")) == [
        ("earned", 150, 50),
        ("redeemed", -100, 0),
        ("earned", 71, 71),
    ]
    events = {e.name: e.payload for e in OutboxEvent.objects.filter(name__startswith="pos.")}
    assert events["pos.points_earned"] == {
        "organization_id": store.organization_id,
        "customer_id": customer.pk,
        "sale_id": sale.pk,
        "points": 71,
        "balance": 121,
    }
    assert (
        events["pos.reward_redeemed"]["points"] == 100 and events["pos.reward_redeemed"]["amount"] == "5.00"
    )
    assert (events["pos.tier_changed"]["from_tier"], events["pos.tier_changed"]["to_tier"]) == ("", "Green")


def test_refused_code_refuses_the_sale_and_writes_nothing(
    store, register, budtender, product, package, adult_id, loyalty, customer, offers
):
    _, coupon, reward = offers
    Coupon.objects.filter(pk=coupon.pk).update(uses=1)
    with pytest.raises(CouponInvalid) as refused:
        complete(store, register, budtender, customer, adult_id, product, coupon_codes=["SAVE5"])
    assert refused.value.message == "SAVE5 has already been used."
    with pytest.raises(CouponInvalid) as refused:
        complete(store, register, budtender, customer, adult_id, product, reward_ids=[reward.pk])
    assert refused.value.message == "$5 off needs 100 points; 0 are available."
    package.refresh_from_db()
    assert package.quantity_on_hand == D("10")
    assert Sale.objects.count() == CouponRedemption.objects.count() == LoyaltyAccount.objects.count() == 0
    assert not OutboxEvent.objects.filter(name__startswith="pos.").exists()


def test_anonymous_sales_and_disabled_programs_earn_nothing(
    store, register, budtender, product, package, adult_id, loyalty, customer
):
    sale = complete(store, register, budtender, None, adult_id, product, key="anon")
    assert sale.points_earned == 0 and not LoyaltyAccount.objects.exists()
    LoyaltyProgram.objects.update(enabled=False)
    sale = complete(store, register, budtender, customer, adult_id, product, key="off")
    assert sale.points_earned == 0 and not LoyaltyAccount.objects.exists()


def test_void_gives_back_spent_points_takes_back_earned_and_frees_the_code(
    store, register, budtender, manager, product, package, adult_id, loyalty, customer, offers
):
    _, coupon, reward = offers
    give_points(customer, 150)
    sale = complete(
        store,
        register,
        budtender,
        customer,
        adult_id,
        product,
        coupon_codes=["SAVE5"],
        reward_ids=[reward.pk],
    )
    sale_void(sale=sale, actor=budtender, approver=manager)
    account = LoyaltyAccount.objects.get(customer=customer)
    assert account.balance == 150
    assert sum(account.entries.values_list("remaining", flat=True)) == 150
    coupon.refresh_from_db()
    assert coupon.uses == 0
    assert CouponRedemption.objects.get().reversed_at is not None
    again = complete(
        store, register, budtender, customer, adult_id, product, key="l-2", coupon_codes=["SAVE5"]
    )
    assert again.discount_total == D("14.00")


def test_refund_reverses_points_in_proportion_and_tiers_follow_net_spend(
    store, register, budtender, manager, product, package, adult_id, loyalty, customer
):
    first = complete(store, register, budtender, customer, adult_id, product, key="t-1")
    assert first.points_earned == 90
    assert LoyaltyAccount.objects.get(customer=customer).tier.name == "Green"
    second = complete(store, register, budtender, customer, adult_id, product, quantity="1", key="t-2")
    assert second.points_earned == 45  # earned at Green; the sale then reaches Gold
    account = LoyaltyAccount.objects.get(customer=customer)
    assert (account.balance, account.tier.name) == (135, "Gold")
    third = complete(store, register, budtender, customer, adult_id, product, quantity="1", key="t-3")
    assert third.points_earned == 90  # Gold earns double

    line = first.lines.get()
    refund = sale_refund(
        sale=first, lines=[(line, D("1"), True)], reason="Changed mind", actor=budtender, approver=manager
    )
    assert refund.points_reversed == 45
    account.refresh_from_db()
    assert (account.balance, account.tier.name) == (180, "Gold")
    refund = sale_refund(
        sale=first, lines=[(line, D("1"), True)], reason="Other", actor=budtender, approver=manager
    )
    assert refund.points_reversed == 45
    sale_void(sale=third, actor=budtender, approver=manager)
    account.refresh_from_db()
    assert (account.balance, account.tier.name) == (45, "Green")
    changes = [
        e.payload["to_tier"] for e in OutboxEvent.objects.filter(name="pos.tier_changed").order_by("pk")
    ]
    assert changes == ["Green", "Gold", "Green"]


def test_points_expire_and_redemption_spends_oldest_first(
    store, register, budtender, product, package, adult_id, loyalty, customer
):
    account = give_points(customer, 60, days_ago=400, expires_in=-35)
    give_points(customer, 80, days_ago=10)
    give_points(customer, 70, days_ago=5)
    assert loyalty_points_expire(timezone.now()) == 60
    assert loyalty_points_expire(timezone.now()) == 0
    account.refresh_from_db()
    assert account.balance == 150
    reward = Reward.objects.create(organization=store.organization, name="$5", points_cost=100, value=D("5"))
    complete(store, register, budtender, customer, adult_id, product, quantity="1", reward_ids=[reward.pk])
    assert list(account.entries.filter(kind="earned").order_by("pk").values_list("points", "remaining")) == [
        (60, 0),
        (80, 0),
        (70, 50),
        (40, 40),
    ]
    assert account.entries.get(kind="expired").points == -60
    account.refresh_from_db()
    assert account.balance == 90


def test_quote_queries_do_not_grow_with_promotions_and_codes(
    store, product, package, loyalty, customer, offers
):
    give_points(customer, 500)
    rewards = list(Reward.objects.all())

    def quote(codes):
        forget_all()  # rules, taxes and promotions read from the database each time, as a cold process does
        with CaptureQueriesContext(connection) as queries:
            priced(
                store=store,
                customer=customer,
                customer_type="adult_use",
                lines=[QuoteLineInput(product.pk, D("1"))],
                age=40,
                coupon_codes=codes,
                reward_ids=[r.pk for r in rewards],
            )
        return len(queries)

    few = quote(["SAVE5"])
    for n in range(10):
        promotion = Promotion.objects.create(
            organization=store.organization, name=f"P{n}", kind="percent", value=D("1"), stackable=True
        )
        promotion.products.add(product)
        Coupon.objects.create(organization=store.organization, code=f"C{n}", promotion=promotion)
    rewards.append(
        Reward.objects.create(organization=store.organization, name="R", points_cost=1, value=D("1"))
    )
    assert quote(["SAVE5"] + [f"c{n}" for n in range(10)]) == few


def test_chosen_and_store_scoped_promotions_and_once_per_customer_codes(
    store, register, budtender, manager, product, package, adult_id, loyalty, customer
):
    organization = store.organization
    employee = Promotion.objects.create(
        organization=organization,
        name="Employee 20%",
        kind="percent",
        value=D("20"),
        customer_group="employee",
        automatic=False,
    )
    elsewhere = Promotion.objects.create(
        organization=organization, name="Other store", kind="percent", value=D("50"), automatic=True
    )
    elsewhere.stores.add(StoreFactory(organization=organization))
    welcome = Promotion.objects.create(
        organization=organization, name="Welcome", kind="percent", value=D("10"), automatic=False
    )
    Coupon.objects.create(
        organization=organization,
        code="WELCOME10",
        promotion=welcome,
        max_uses_per_customer=1,
        min_spend=D("30"),
    )
    # The employee discount needs the staff member buying (a colleague rings it up).
    sale = complete(
        store,
        register,
        budtender,
        customer,
        adult_id,
        product,
        promotion_ids=[employee.pk],
        employee=manager,
        key="e-1",
    )
    assert sale.discount_total == D("18.00")  # the chosen 20%; the other store's 50% does not apply here
    assert sale.employee == manager
    first = complete(
        store,
        register,
        budtender,
        customer,
        adult_id,
        product,
        quantity="1",
        key="w-1",
        coupon_codes=["welcome10"],
    )
    assert first.discount_total == D("4.50")
    with pytest.raises(CouponInvalid) as refused:
        complete(
            store,
            register,
            budtender,
            customer,
            adult_id,
            product,
            quantity="1",
            key="w-2",
            coupon_codes=["WELCOME10"],
        )
    assert refused.value.message == "The customer has already used WELCOME10."
    sale_void(sale=first, actor=budtender, approver=manager)
    again = complete(
        store,
        register,
        budtender,
        customer,
        adult_id,
        product,
        quantity="1",
        key="w-3",
        coupon_codes=["WELCOME10"],
    )
    assert again.discount_total == D("4.50")


def test_points_expiry_task_runs_the_service(customer, loyalty):
    account = give_points(customer, 25, days_ago=400, expires_in=-1)
    assert loyalty_points_expire_task() == 25
    account.refresh_from_db()
    assert account.balance == 0
