"""customer_limit_history, the limit engine's input read on every scan: what each completed sale of the
customer counted for, net of refunds, voids left out, from `since` on; one query on SQLite and PostgreSQL.
For a medical patient the same query brings the amounts of their physician's recommendation in force, so a
verdict costs one query whatever the customer (the rules being kept per process)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from compliance.identity import id_verify, patient_registration_set, recommendation_add
from compliance.rules import CartLine, Purchase
from compliance.selectors import jurisdiction_rules_get
from dispensary.clock import store_local_date
from pos.selectors import customer_limit_history
from pos.selectors.checks import purchase_check
from pos.selectors.quote import QuoteLineInput, limits_verdict, products_for
from pos.selectors.sales import PatientLimitHistory, patient_limit_history
from pos.services import TenderInput, sale_refund, sale_void
from tests.clock import local_noon
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def gummies(organization, store):
    """100 mg gummies: count 100 mg of THC and 50 g of infused product each."""
    product = ProductFactory(
        organization=organization, name="Gummies 100 mg", category="edible", price=D("20")
    )
    ProductLimitAmountFactory(product=product, bucket="infused_thc_mg", amount=D("100"))
    ProductLimitAmountFactory(product=product, bucket="infused_weight_g", amount=D("50"))
    receive(store, product, 50)
    return product


@pytest.fixture
def buy(store, register, budtender, package):
    keys = iter(range(1, 1000))

    def buy(customer, at, lines, customer_type="adult_use"):
        verification = id_verify(
            store=store,
            staff=budtender,
            minimum_age=21,
            date_of_birth=dt.date(1980, 1, 1),
            customer=customer,
            at=at,
        ).verification
        return checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type=customer_type,
            lines=[QuoteLineInput(product.pk, D(quantity)) for product, quantity in lines],
            tenders=[TenderInput("cash", D("1000"))],
            idempotency_key=f"history-{next(keys)}",
            id_verification=verification,
            now=at,
        )

    return buy


def test_completed_sales_net_of_refunds_oldest_first_voids_and_others_left_out(
    store, budtender, manager, product, gummies, buy
):
    customer = CustomerFactory(organization=store.organization)
    patient_registration_set(
        customer=customer,
        actor=manager,
        card_number="CA-HISTORY-1",
        state="CA",
        expires_on=local_noon(store, days=300).date(),
    )
    before = buy(customer, local_noon(store, days=-40), [(product, "1")])
    first = buy(customer, local_noon(store, days=-20), [(product, "2"), (gummies, "3")])
    medical = buy(customer, local_noon(store, days=-5), [(product, "1")], customer_type="medical")
    voided = buy(customer, local_noon(store, days=-1), [(product, "1")])
    sale_void(
        sale=voided, actor=budtender, approver=manager, now=voided.completed_at + dt.timedelta(minutes=5)
    )
    refunded = buy(customer, local_noon(store, days=-1) + dt.timedelta(hours=1), [(gummies, "1")])
    buy(CustomerFactory(organization=store.organization), local_noon(store, days=-1), [(product, "3")])
    eighths, three_gummies = first.lines.order_by("id")
    sale_refund(
        sale=first,
        lines=[(eighths, D("1"), True), (three_gummies, D("2"), True)],
        reason="Changed their mind",
        actor=budtender,
        approver=manager,
        now=first.completed_at + dt.timedelta(days=1),
    )
    sale_refund(
        sale=refunded,
        lines=[(refunded.lines.get(), D("1"), True)],
        reason="Damaged",
        actor=budtender,
        approver=manager,
        now=refunded.completed_at + dt.timedelta(hours=1),
    )

    history = customer_limit_history(customer=customer, since=first.completed_at)

    assert history == [
        Purchase(
            at=first.completed_at,
            lines=(
                CartLine(amounts={"flower_g": D("3.5")}),
                CartLine(amounts={"infused_thc_mg": D("100"), "infused_weight_g": D("50")}),
            ),
            customer_type="adult_use",
        ),
        Purchase(
            at=medical.completed_at,
            lines=(CartLine(amounts={"flower_g": D("3.5")}),),
            customer_type="medical",
        ),
        Purchase(at=refunded.completed_at, lines=(), customer_type="adult_use"),  # refunded in full
    ]
    assert all(purchase.at.utcoffset() == dt.timedelta(0) for purchase in history)
    assert before.completed_at < first.completed_at  # left out by `since` alone


def test_one_query_whatever_the_number_of_sales(store, product, gummies, buy, django_assert_num_queries):
    receive(store, product, 20)
    customer = CustomerFactory(organization=store.organization)
    for back in range(12):
        buy(customer, local_noon(store, days=-back), [(product, "1"), (gummies, "1")])
    since = local_noon(store, days=-30)
    with django_assert_num_queries(1):
        history = customer_limit_history(customer=customer, since=since)
    assert len(history) == 12
    assert [purchase.at for purchase in history] == sorted(purchase.at for purchase in history)
    assert (
        customer_limit_history(customer=CustomerFactory(organization=store.organization), since=since) == []
    )


# --- A medical patient's verdict: the history and the recommendation in one read ------------------------------


def recommend(registration, actor, *, issued_days, expires_days, amounts, store):
    today = store_local_date(store)
    return recommendation_add(
        registration=registration,
        actor=actor,
        physician_name="Dr Ortiz",
        issued_on=today + dt.timedelta(days=issued_days),
        expires_on=today + dt.timedelta(days=expires_days),
        allowed_amounts=amounts,
    )


@pytest.fixture
def patient(store, manager):
    customer = CustomerFactory(organization=store.organization)
    patient_registration_set(
        customer=customer,
        actor=manager,
        card_number="CA-HISTORY-2",
        state="CA",
        expires_on=local_noon(store, days=300).date(),
    )
    return customer


def test_a_patients_history_comes_with_the_recommendation_in_force_in_one_query(
    store, manager, product, gummies, buy, patient, django_assert_num_queries
):
    registration = patient.patient_registration
    recommend(
        registration, manager, issued_days=-100, expires_days=200, amounts={"flower_g": "99"}, store=store
    )
    recommend(
        registration, manager, issued_days=-10, expires_days=100, amounts={"flower_g": "28"}, store=store
    )
    recommend(
        registration, manager, issued_days=-300, expires_days=-1, amounts={"flower_g": "7"}, store=store
    )
    recommend(registration, manager, issued_days=1, expires_days=400, amounts={"flower_g": "5"}, store=store)
    for back in (3, 2, 1):
        buy(patient, local_noon(store, days=-back), [(product, "1"), (gummies, "2")], customer_type="medical")
    since = local_noon(store, days=-30)

    with django_assert_num_queries(1):
        read = patient_limit_history(customer=patient, since=since, today=store_local_date(store))

    assert read.recommendation == {"flower_g": D("99")}  # in force today and the latest to expire
    assert read.purchases == customer_limit_history(customer=patient, since=since)
    assert len(read.purchases) == 3
    assert read.purchases[0].lines == (
        CartLine(amounts={"flower_g": D("3.5")}),
        CartLine(amounts={"infused_thc_mg": D("200"), "infused_weight_g": D("100")}),
    )
    # Expired and not yet issued recommendations do not count; without history the recommendation still comes.
    assert patient_limit_history(
        customer=patient, since=since, today=store_local_date(store) + dt.timedelta(days=250)
    ).recommendation == {"flower_g": D("5")}
    fresh = CustomerFactory(organization=store.organization)
    assert patient_limit_history(customer=fresh, since=since, today=store_local_date(store)) == (
        PatientLimitHistory(purchases=[], recommendation={})
    )


def test_the_verdict_of_a_patient_reads_the_history_and_recommendation_in_one_query(
    store, manager, product, buy, patient, django_assert_num_queries
):
    recommend(
        patient.patient_registration,
        manager,
        issued_days=-10,
        expires_days=100,
        amounts={"flower_g": "7"},
        store=store,
    )
    buy(patient, local_noon(store, days=-1), [(product, "1")], customer_type="medical")
    now = timezone.now()
    products = products_for(store, [product.pk])
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=store_local_date(store, at=now))
    lines = [QuoteLineInput(product.pk, D("3"))]

    def verdict(customer_type):
        return limits_verdict(
            store=store,
            customer=patient,
            customer_type=customer_type,
            age=40,
            lines=lines,
            products=products,
            now=now,
            rules=rules,
        )

    with django_assert_num_queries(1):
        medical = verdict("medical")
    with django_assert_num_queries(1):
        adult_use = verdict("adult_use")
    with django_assert_num_queries(1):
        purchase_check(
            store=store,
            customer=patient,
            customer_type="medical",
            age=40,
            lines=[QuoteLineInput(product.pk, D("2"))],
            products=products,
            now=now,
        )

    [violation] = medical.violations
    assert violation.limit == "flower (recommendation)"
    assert "10.5 g of the 7 g daily limit: 3.5 g over" in violation.message
    assert "flower (recommendation)" not in [usage.label for usage in adult_use.limits]
