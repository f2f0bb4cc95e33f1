"""Recommendations for messages: bought together, category affinity, stock at the store, recalls and holds, the
state's promotion rules, and a bounded number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache

from inventory.models import Package, Recall
from messaging.models import PromotionRule
from messaging.recommendations import (
    Recommendation,
    products_recommended,
    recommendations_html,
    recommendations_text,
)
from tests.factories import CustomerFactory
from tests.messaging.recommendation_helpers import sell, stocked

pytestmark = pytest.mark.django_db


def _names(recs):
    return [(rec.name, rec.reason) for rec in recs]


@pytest.fixture
def shelf(store):
    return {
        "blue": stocked(store, "Blue Dream 3.5g", "flower", price="45.00"),
        "mango": stocked(store, "Mango Gummies", "edible", price="18.00"),
        "sour": stocked(store, "Sour Diesel 3.5g", "flower"),
        "choc": stocked(store, "Chocolate Bar", "edible"),
        "pen": stocked(store, "Vape Pen", "vape"),
    }


def test_bought_together_exact_on_a_small_history(store, register, budtender, shelf):
    customer = CustomerFactory(organization=store.organization)
    other = CustomerFactory(organization=store.organization)
    sell(register, budtender, [shelf["blue"], shelf["mango"]], customer=other, days_ago=20)
    sell(register, budtender, [shelf["blue"], shelf["mango"]], days_ago=40)
    sell(register, budtender, [shelf["blue"], shelf["pen"]], days_ago=50)
    sell(register, budtender, [shelf["sour"]], days_ago=5)
    # Outside the 180-day window: this pair counts for nothing.
    sell(register, budtender, [shelf["blue"], shelf["choc"]], days_ago=200)
    sell(register, budtender, [shelf["blue"]], customer=customer, days_ago=10)

    recs = products_recommended(customer, store, limit=3)

    assert _names(recs) == [
        ("Mango Gummies", "often bought with Blue Dream 3.5g"),  # 0.6 x 2/2
        ("Sour Diesel 3.5g", "you like flower"),  # 0.4 x all their spend
        ("Vape Pen", "often bought with Blue Dream 3.5g"),  # 0.6 x 1/2
    ]
    assert recs[0] == Recommendation(
        shelf["mango"].pk, "Mango Gummies", "edible", "Coastal Farms", Decimal("18.00"), recs[0].reason
    )
    # What they bought in the last 30 days is never suggested back.
    assert shelf["blue"].pk not in [rec.product_id for rec in recs]
    assert recommendations_text(recs) == "Mango Gummies, Sour Diesel 3.5g, Vape Pen"


def test_bought_long_ago_may_come_back_and_limit_is_kept(store, register, budtender, shelf):
    customer = CustomerFactory(organization=store.organization)
    sell(register, budtender, [shelf["blue"]], customer=customer, days_ago=60)
    recs = products_recommended(customer, store, limit=1)
    assert _names(recs) == [("Blue Dream 3.5g", "you like flower")]
    assert products_recommended(customer, store, limit=0) == []


def test_affinity_follows_spend_per_category_then_best_sellers(store, register, budtender, shelf):
    customer = CustomerFactory(organization=store.organization)
    gummies = stocked(store, "Watermelon Gummies", "edible")
    sell(register, budtender, [shelf["blue"]], customer=customer, days_ago=45, amount="40.00")
    sell(register, budtender, [shelf["mango"]], customer=customer, days_ago=50, amount="60.00")
    # The store sells more watermelon than chocolate: among edibles it comes first.
    for days in (3, 4):
        sell(register, budtender, [gummies], days_ago=days)
    sell(register, budtender, [shelf["choc"]], days_ago=6)

    recs = products_recommended(customer, store, limit=6)

    assert _names(recs) == [
        ("Watermelon Gummies", "you like edibles"),
        ("Chocolate Bar", "you like edibles"),
        ("Mango Gummies", "you like edibles"),
        ("Blue Dream 3.5g", "you like flower"),
        ("Sour Diesel 3.5g", "you like flower"),
    ]


def test_a_customer_without_history_gets_the_stores_best_sellers(store, register, budtender, shelf):
    store.name = "Green Leaf"
    store.save()
    customer = CustomerFactory(organization=store.organization)
    sell(register, budtender, [shelf["pen"]], days_ago=3)
    sell(register, budtender, [shelf["pen"], shelf["sour"]], days_ago=4)
    recs = products_recommended(customer, store)
    assert _names(recs) == [
        ("Vape Pen", "popular at Green Leaf"),
        ("Sour Diesel 3.5g", "popular at Green Leaf"),
    ]


def _flower_fan(store, register, budtender, shelf):
    customer = CustomerFactory(organization=store.organization)
    sell(register, budtender, [shelf["blue"]], customer=customer, days_ago=60)
    return customer


def test_only_what_is_available_at_the_store(store, register, budtender, shelf):
    customer = _flower_fan(store, register, budtender, shelf)
    # Sour Diesel: none left. Blue Dream: all of it allocated to open orders.
    Package.objects.filter(pk=shelf["sour"].stock.pk).update(quantity_on_hand=0)
    Package.objects.filter(pk=shelf["blue"].stock.pk).update(quantity_allocated=10)
    assert products_recommended(customer, store) == []
    Package.objects.filter(pk=shelf["blue"].stock.pk).update(quantity_allocated=9)
    assert _names(products_recommended(customer, store)) == [("Blue Dream 3.5g", "you like flower")]


def test_stock_at_another_store_does_not_count(store, register, budtender, shelf):
    from tests.factories import StoreFactory

    customer = _flower_fan(store, register, budtender, shelf)
    other = StoreFactory(organization=store.organization)
    assert {rec.name for rec in products_recommended(customer, other)} == set()


def test_recalled_on_hold_and_inactive_products_are_never_suggested(store, register, budtender, shelf):
    customer = _flower_fan(store, register, budtender, shelf)
    Package.objects.filter(pk=shelf["blue"].stock.pk).update(status=Package.Status.ON_HOLD)
    recall = Recall.objects.create(
        organization=store.organization, criterion="product", value="x", reason="Mold"
    )
    recall.packages.add(shelf["sour"].stock)  # in a recall, even before the package is marked
    assert products_recommended(customer, store) == []
    Package.objects.filter(pk=shelf["blue"].stock.pk).update(status=Package.Status.RECALLED)
    assert products_recommended(customer, store) == []
    Package.objects.filter(pk=shelf["blue"].stock.pk).update(status=Package.Status.ACTIVE)
    shelf["blue"].is_active = False
    shelf["blue"].save()
    assert products_recommended(customer, store) == []


def test_a_state_rule_excludes_a_category(store, register, budtender, shelf, clock):
    clock.move_to(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC))
    customer = CustomerFactory(organization=store.organization)
    sell(register, budtender, [shelf["blue"]], customer=customer, days_ago=60, amount="40.00")
    sell(register, budtender, [shelf["mango"]], customer=customer, days_ago=61, amount="60.00")
    PromotionRule.objects.create(
        jurisdiction="US-CA",
        category="edible",
        allowed=False,
        effective_from=dt.date(2027, 1, 1),
        source="test",
    )
    # A later row lifts it, but not yet in force.
    PromotionRule.objects.create(
        jurisdiction="US-CA",
        category="edible",
        allowed=True,
        effective_from=dt.date(2027, 6, 1),
        source="test",
    )
    # Another state's rule does not apply here.
    PromotionRule.objects.create(
        jurisdiction="US-NV",
        category="flower",
        allowed=False,
        effective_from=dt.date(2020, 1, 1),
        source="test",
    )
    assert [rec.category for rec in products_recommended(customer, store, limit=5)] == ["flower", "flower"]
    clock.move_to(dt.datetime(2027, 6, 2, 12, tzinfo=dt.UTC))
    cache.clear()
    assert [rec.category for rec in products_recommended(customer, store, limit=5)][:1] == ["edible"]


def test_the_seeded_rules_stop_product_promotion_in_mississippi(store, register, budtender, shelf):
    customer = _flower_fan(store, register, budtender, shelf)
    store.jurisdiction = "US-MS"
    store.save()
    assert PromotionRule.objects.filter(jurisdiction="US-MS", category="", allowed=False).exists()
    assert products_recommended(customer, store) == []


def test_queries_are_bounded_and_store_figures_kept_for_the_day(
    store, register, budtender, shelf, django_assert_num_queries
):
    customer = _flower_fan(store, register, budtender, shelf)
    for days in range(2, 30):
        sell(register, budtender, [shelf["blue"], shelf["mango"], shelf["pen"]], days_ago=days)
        sell(register, budtender, [shelf["sour"]], customer=customer, days_ago=days + 40)
    cache.clear()
    # The customer's purchases, the pairs, the best sellers, the state's rules, the products.
    with django_assert_num_queries(5):
        first = products_recommended(customer, store)
    with django_assert_num_queries(3):
        assert products_recommended(customer, store) == first


def test_rendering_for_text_and_email():
    recs = [
        Recommendation(1, "Blue Dream 3.5g", "flower", "Coastal", Decimal("45.00"), "you like flower"),
        Recommendation(2, "Mango <Gummies>", "edible", "Sweet", None, "often bought with Blue Dream 3.5g"),
    ]
    assert recommendations_text(recs) == "Blue Dream 3.5g, Mango <Gummies>"
    assert recommendations_text([]) == ""
    assert recommendations_html(recs) == (
        '<ul class="recommendations">'
        '<li><strong>Blue Dream 3.5g</strong> · $45.00 <span style="color:#555">(you like flower)</span></li>'
        '<li><strong>Mango &lt;Gummies&gt;</strong> <span style="color:#555">'
        "(often bought with Blue Dream 3.5g)</span></li></ul>"
    )
    assert recommendations_html([]) == ""
