"""Every field of the segment conditions, exact on a small world with a frozen clock: five customers, their sales
(in store, pickup, delivery; one voided, one partly refunded), loyalty, engagement and consent; the metrics
rebuilt from them; each condition's customers named."""

import datetime as dt
from decimal import Decimal as D

import pytest

from dispensary.models import Customer
from messaging.metrics import metrics_rebuild
from messaging.models import CustomerMetrics, Segment, SegmentMember
from messaging.segments import SegmentRuleError, customer_matches, rules_check, segment_customers
from pos.models import LoyaltyAccount, LoyaltyTier, Sale
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory
from tests.inventory.factories import ProductFactory, receive
from tests.messaging.segment_helpers import (
    ago,
    clicked,
    consent,
    converted,
    opened,
    order_make,
    refund_make,
    sale_make,
    zone_make,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 15, 19, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(clock, organization, store, register, budtender):
    clock.move_to(NOW)
    other_store = StoreFactory(organization=organization, name="Oakland")
    flower = receive(
        store, ProductFactory(organization=organization, category="flower", brand="Coastal Farms"), 50
    )
    edible = receive(
        store, ProductFactory(organization=organization, category="edible", brand="Sweet Co"), 50
    )
    vape = receive(store, ProductFactory(organization=organization, category="vape", brand="Cloud"), 50)
    zone = zone_make(store)
    far_zone = zone_make(store, "Far")
    people = {
        "ann": CustomerFactory(
            organization=organization, first_name="Ann", home_store=store, postal_code="94105"
        ),
        "bob": CustomerFactory(
            organization=organization, first_name="Bob", home_store=store, postal_code="94107"
        ),
        "cat": CustomerFactory(organization=organization, first_name="Cat", home_store=other_store),
        "dan": CustomerFactory(
            organization=organization,
            first_name="Dan",
            customer_type=Customer.Type.MEDICAL,
            postal_code="94110-1234",
            date_of_birth=dt.date(1988, 6, 3),
        ),
        "eve": CustomerFactory(organization=organization, first_name="Eve", date_of_birth=None),
    }
    ann, bob, cat, dan, eve = people.values()

    def sell(customer, lines, at, **kwargs):
        return sale_make(
            store=store, register=register, staff=budtender, customer=customer, lines=lines, at=at, **kwargs
        )

    sell(ann, [(flower, D("50.00"))], ago(40))
    sell(ann, [(flower, D("30.00"))], ago(10))
    last = sell(ann, [(edible, D("20.00"))], ago(2), fulfilment="pickup")
    sell(bob, [(edible, D("100.00"))], ago(35), fulfilment="delivery", zone=zone)
    refunded = sell(cat, [(vape, D("60.00"))], ago(5))
    refund_make(refunded, D("20.00"), staff=budtender)
    sell(cat, [(flower, D("500.00"))], ago(5), status=Sale.Status.VOIDED)
    order_make(store, dan, fulfilment="delivery", zone=far_zone, status="cancelled")
    gold = LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=D("500"))
    LoyaltyAccount.objects.create(customer=ann, balance=120, tier=gold)
    LoyaltyAccount.objects.create(customer=bob, balance=10)
    opened(ann, ago(3))
    clicked(bob, ago(20))
    converted(ann, last, ago(2))
    consent(eve, "sms", at=ago(9))
    consent(eve, "email", at=ago(9))
    consent(ann, "sms", at=ago(30))
    consent(ann, "sms", granted=False, at=ago(1))  # withdrawn since
    consent(bob, "sms", awaiting=True, at=ago(1))  # waits for the YES
    metrics_rebuild(organization_id=organization.pk)
    return {
        "people": people,
        "store": store,
        "other_store": other_store,
        "zone": zone,
        "far_zone": far_zone,
        "gold": gold,
    }


def names(organization, *rules, match="all"):
    return sorted(c.first_name for c in segment_customers(organization.pk, list(rules), match))


def test_metrics_are_computed_from_the_sales(world):
    ann, bob, cat, dan, _ = world["people"].values()
    rows = {row.customer_id: row for row in CustomerMetrics.objects.all()}
    assert len(rows) == 5
    a, b, c, d = rows[ann.pk], rows[bob.pk], rows[cat.pk], rows[dan.pk]
    assert (a.orders_count, a.lifetime_value, a.average_order) == (3, D("100.00"), D("33.33"))
    assert (a.first_purchase_at, a.last_purchase_at) == (ago(40), ago(2))
    assert (a.favourite_category, a.favourite_brand) == ("flower", "Coastal Farms")
    assert (a.in_store_count, a.pickup_count, a.delivery_count, a.fulfilment_habit) == (2, 1, 0, "in_store")
    assert (a.loyalty_tier_id, a.points_balance) == (world["gold"].pk, 120)
    assert (a.last_opened_at, a.last_clicked_at, a.message_purchases) == (ago(3), None, 1)
    assert (b.orders_count, b.lifetime_value, b.fulfilment_habit, b.last_clicked_at) == (
        1,
        D("100.00"),
        "delivery",
        ago(20),
    )
    # The voided sale counts for nothing; the refund comes off.
    assert (c.orders_count, c.lifetime_value, c.favourite_category) == (1, D("40.00"), "vape")
    assert (d.orders_count, d.lifetime_value, d.fulfilment_habit, d.rfm_recency) == (0, D("0.00"), "", None)
    # Quintiles of the three buyers: recency bob < cat < ann; frequency 1, 1, 3; spend 40, 100, 100.
    assert (a.rfm_recency, a.rfm_frequency, a.rfm_monetary) == (5, 5, 5)
    assert (b.rfm_recency, b.rfm_frequency, b.rfm_monetary) == (2, 4, 5)
    assert (c.rfm_recency, c.rfm_frequency, c.rfm_monetary) == (4, 4, 2)


def test_who_they_are(world, organization):
    store, other = world["store"], world["other_store"]
    assert names(organization, {"field": "customer_type", "op": "eq", "value": "medical"}) == ["Dan"]
    assert names(organization, {"field": "customer_type", "op": "ne", "value": "medical"}) == [
        "Ann",
        "Bob",
        "Cat",
        "Eve",
    ]
    assert names(organization, {"field": "store", "op": "eq", "value": store.pk}) == ["Ann", "Bob"]
    assert names(organization, {"field": "store", "op": "ne", "value": store.pk}) == ["Cat", "Dan", "Eve"]
    assert names(organization, {"field": "store", "op": "in", "value": [other.pk]}) == ["Cat"]
    assert names(organization, {"field": "postal_code", "op": "eq", "value": "94110"}) == ["Dan"]
    assert names(organization, {"field": "postal_code", "op": "in", "value": ["94105", "94107"]}) == [
        "Ann",
        "Bob",
    ]
    assert names(organization, {"field": "birthday_month", "op": "eq", "value": "current"}) == ["Dan"]
    assert names(organization, {"field": "birthday_month", "op": "in", "value": [5]}) == ["Ann", "Bob", "Cat"]


def test_consent_reads_the_latest_row_of_the_ledger(world, organization):
    assert names(organization, {"field": "consent_sms", "op": "is", "value": True}) == ["Eve"]
    assert names(organization, {"field": "consent_email", "op": "is", "value": True}) == ["Eve"]
    assert names(organization, {"field": "consent_sms", "op": "is", "value": False}) == [
        "Ann",
        "Bob",
        "Cat",
        "Dan",
    ]


def test_purchase_days_are_whole_days(world, organization, clock):
    days = "days_since_last_purchase"
    assert names(organization, {"field": days, "op": "gt", "value": 30}) == ["Bob"]
    assert names(organization, {"field": days, "op": "lte", "value": 5}) == ["Ann", "Cat"]
    assert names(organization, {"field": days, "op": "eq", "value": 5}) == ["Cat"]
    assert names(organization, {"field": days, "op": "between", "value": [2, 5]}) == ["Ann", "Cat"]
    assert names(organization, {"field": days, "op": "ne", "value": 5}) == ["Ann", "Bob"]
    assert names(organization, {"field": "first_purchase_days_ago", "op": "gte", "value": 35}) == [
        "Ann",
        "Bob",
    ]
    # Half a day later Cat is still 5 whole days out; a day later, 6.
    clock.advance(dt.timedelta(hours=12))
    assert names(organization, {"field": days, "op": "eq", "value": 5}) == ["Cat"]
    clock.advance(dt.timedelta(hours=12))
    assert names(organization, {"field": days, "op": "gt", "value": 5}) == ["Bob", "Cat"]


def test_counts_money_and_scores(world, organization):
    assert names(organization, {"field": "orders_count", "op": "gte", "value": 2}) == ["Ann"]
    assert names(organization, {"field": "orders_count", "op": "eq", "value": 0}) == ["Dan", "Eve"]
    assert names(organization, {"field": "orders_count", "op": "ne", "value": 0}) == ["Ann", "Bob", "Cat"]
    assert names(organization, {"field": "lifetime_value", "op": "gte", "value": "100"}) == ["Ann", "Bob"]
    assert names(organization, {"field": "lifetime_value", "op": "lt", "value": 50}) == ["Cat", "Dan", "Eve"]
    assert names(organization, {"field": "average_order", "op": "between", "value": [30, 50]}) == [
        "Ann",
        "Cat",
    ]
    assert names(organization, {"field": "rfm_recency", "op": "gte", "value": 4}) == ["Ann", "Cat"]
    assert names(organization, {"field": "rfm_frequency", "op": "eq", "value": 5}) == ["Ann"]
    assert names(organization, {"field": "rfm_monetary", "op": "lte", "value": 2}) == ["Cat"]


def test_favourites_and_habit(world, organization):
    assert names(organization, {"field": "favourite_category", "op": "eq", "value": "flower"}) == ["Ann"]
    assert names(organization, {"field": "favourite_category", "op": "in", "value": ["edible", "vape"]}) == [
        "Bob",
        "Cat",
    ]
    assert names(organization, {"field": "favourite_category", "op": "ne", "value": "flower"}) == [
        "Bob",
        "Cat",
        "Dan",
        "Eve",
    ]
    assert names(organization, {"field": "favourite_brand", "op": "eq", "value": "sweet co"}) == ["Bob"]
    assert names(organization, {"field": "fulfilment_habit", "op": "eq", "value": "delivery"}) == ["Bob"]
    assert names(organization, {"field": "fulfilment_habit", "op": "in", "value": ["in_store"]}) == [
        "Ann",
        "Cat",
    ]


def test_loyalty_and_delivery_zone(world, organization):
    gold, zone, far = world["gold"], world["zone"], world["far_zone"]
    assert names(organization, {"field": "loyalty_tier", "op": "eq", "value": gold.pk}) == ["Ann"]
    assert names(organization, {"field": "loyalty_tier", "op": "ne", "value": gold.pk}) == [
        "Bob",
        "Cat",
        "Dan",
        "Eve",
    ]
    assert names(organization, {"field": "points_balance", "op": "gte", "value": 100}) == ["Ann"]
    assert names(organization, {"field": "points_balance", "op": "lt", "value": 50}) == [
        "Bob",
        "Cat",
        "Dan",
        "Eve",
    ]
    assert names(organization, {"field": "delivery_zone", "op": "eq", "value": zone.pk}) == ["Bob"]
    # Dan's order to the far zone was cancelled: it does not count.
    assert names(organization, {"field": "delivery_zone", "op": "in", "value": [zone.pk, far.pk]}) == ["Bob"]


def test_engagement(world, organization):
    assert names(organization, {"field": "opened_within_days", "op": "lte", "value": 7}) == ["Ann"]
    assert names(organization, {"field": "opened_within_days", "op": "lte", "value": 2}) == []
    assert names(organization, {"field": "clicked_within_days", "op": "lte", "value": 30}) == ["Bob"]
    assert names(organization, {"field": "clicked_within_days", "op": "gt", "value": 30}) == [
        "Ann",
        "Cat",
        "Dan",
        "Eve",
    ]
    assert names(organization, {"field": "purchased_from_message_within_days", "op": "lte", "value": 7}) == [
        "Ann"
    ]


def test_in_segment_and_matching_any(world, organization):
    ann, bob, *_ = world["people"].values()
    segment = Segment.objects.create(organization=organization, name="Picked", rules=[])
    SegmentMember.objects.create(segment=segment, customer=bob, entered_at=NOW)
    assert names(organization, {"field": "in_segment", "op": "eq", "value": segment.pk}) == ["Bob"]
    assert names(organization, {"field": "in_segment", "op": "ne", "value": segment.pk}) == [
        "Ann",
        "Cat",
        "Dan",
        "Eve",
    ]
    either = [
        {"field": "customer_type", "op": "eq", "value": "medical"},
        {"field": "favourite_category", "op": "eq", "value": "flower"},
    ]
    assert names(organization, *either, match="any") == ["Ann", "Dan"]
    assert names(organization, *either, match="all") == []
    assert customer_matches(ann.pk, organization.pk, either, "any") is True
    assert customer_matches(bob.pk, organization.pk, either, "any") is False


def test_another_organizations_customers_never_match(world, organization):
    other = OrganizationFactory()
    CustomerFactory(organization=other, first_name="Zed")
    assert "Zed" not in names(organization)
    assert names(other) == ["Zed"]


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 9}, "Unknown field “shoe_size”."),
        ({"field": "orders_count", "op": "like", "value": 1}, "Unknown operator “like”."),
        ({"field": "orders_count", "op": "gt", "value": "many"}, "Number of orders: “many” is not a number."),
        ({"field": "orders_count", "op": "gt", "value": 1.5}, "Number of orders: enter a whole number."),
        (
            {"field": "rfm_recency", "op": "eq", "value": 7},
            "Recency score (1-5, 5 most recent): enter a number from 1 to 5.",
        ),
        (
            {"field": "lifetime_value", "op": "between", "value": [50]},
            "Lifetime value ($): “between” needs a lowest and a highest value.",
        ),
        (
            {"field": "lifetime_value", "op": "between", "value": [90, 50]},
            "Lifetime value ($): the lowest value is above the highest.",
        ),
        (
            {"field": "customer_type", "op": "gt", "value": "medical"},
            "Customer type: “is more than” does not apply.",
        ),
        (
            {"field": "customer_type", "op": "eq", "value": "tourist"},
            "Customer type: “tourist” is not one of the choices.",
        ),
        (
            {"field": "favourite_category", "op": "in", "value": []},
            "Favourite category: choose at least one value.",
        ),
        (
            {"field": "consent_sms", "op": "is", "value": "maybe"},
            "Agreed to marketing texts: choose yes or no.",
        ),
        ("orders_count > 3", "Each condition needs a field, an operator and a value."),
        (
            {"field": "days_since_last_purchase", "op": "gt", "value": "1e11"},
            "Days since the last purchase: enter a number from 0 to 36500.",
        ),
    ],
)
def test_bad_conditions_say_what_is_wrong(organization, condition, words):
    with pytest.raises(SegmentRuleError) as raised:
        segment_customers(organization.pk, [condition]).count()
    assert raised.value.message == words


def test_rules_check_refuses_another_organizations_store(organization):
    elsewhere = StoreFactory()
    with pytest.raises(SegmentRuleError) as raised:
        rules_check(
            organization_id=organization.pk, rules=[{"field": "store", "op": "eq", "value": elsewhere.pk}]
        )
    assert raised.value.message == f"Home store: no such choice ({elsewhere.pk})."
