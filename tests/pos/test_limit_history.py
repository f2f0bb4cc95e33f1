"""customer_limit_history, the limit engine's input read on every scan: what each completed sale of the
customer counted for, net of refunds, voids left out, from `since` on; one query on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal as D

import pytest

from compliance.identity import id_verify, patient_registration_set
from compliance.rules import CartLine, Purchase
from pos.selectors import customer_limit_history
from pos.selectors.quote import QuoteLineInput
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
