"""A customer's profile: value net of refunds, visits, favourite categories, recent purchases, loyalty and
consent, in the same number of queries whatever the history; shown at the counter and on the customer desk."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.models import AuditRecord
from dispensary.services import marketing_consent_record
from pos.models import LoyaltyAccount, LoyaltyTier, Sale, SaleLine
from pos.selectors.customer_profile import customer_profile_get
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund, sale_void
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def customer(store):
    return CustomerFactory(organization=store.organization, first_name="Ada", last_name="Lovelace")


@pytest.fixture
def edible(organization, store):
    product = ProductFactory(
        organization=organization, name="Mango gummies", category="edible", price=D("20.00")
    )
    receive(store, product, 20)
    return product


@pytest.fixture
def sell(store, register, budtender, adult_id):
    keys = iter(range(1, 1000))

    def make(lines, customer, *, days_ago=0, at_store=None, at_register=None):
        sale = checkout(
            store=at_store or store,
            register=at_register or register,
            staff=budtender,
            customer=customer,
            customer_type="adult_use",
            lines=lines,
            tenders=[TenderInput("cash", D("1000"))],
            idempotency_key=f"profile-{next(keys)}",
            id_verification=adult_id(customer) if at_store is None else _id(at_store, budtender, customer),
        )
        if days_ago:
            # Noon, store time, that many local days before the sale's own day.
            day = sale.local_date - dt.timedelta(days=days_ago)
            moment = dt.datetime.combine(day, dt.time(12), tzinfo=sale.store.tz)
            Sale.objects.filter(pk=sale.pk).update(completed_at=moment, local_date=day)
            sale.refresh_from_db()
        return sale

    return make


def _id(store, staff, customer):
    from compliance.identity import id_verify

    return id_verify(
        store=store,
        staff=staff,
        minimum_age=21,
        date_of_birth=dt.date(1990, 5, 17),
        expires_on=timezone.now().date() + dt.timedelta(days=800),
        customer=customer,
    ).verification


def test_profile_values(store, sell, customer, product, package, edible, budtender, manager):
    first = sell([QuoteLineInput(product.pk, D("1"))], customer, days_ago=100)
    second = sell(
        [QuoteLineInput(edible.pk, D("3")), QuoteLineInput(product.pk, D("1"))], customer, days_ago=10
    )
    voided = sell([QuoteLineInput(product.pk, D("1"))], customer)
    sale_void(sale=voided, actor=budtender, approver=manager)
    last = sell([QuoteLineInput(product.pk, D("1"))], customer)
    edible_line = SaleLine.objects.get(sale=second, product=edible)
    refund = sale_refund(
        sale=second, lines=[(edible_line, D("1"), True)], reason="Melted", actor=budtender, approver=manager
    )
    tier = LoyaltyTier.objects.create(organization=store.organization, name="Silver", min_spend=D("100"))
    LoyaltyAccount.objects.create(customer=customer, balance=240, tier=tier)
    marketing_consent_record(
        customer=customer,
        channel="sms",
        granted=True,
        age_affirmed=True,
        disclosure_version="sms-2025-01",
        staff=budtender,
        store=store,
    )

    profile = customer_profile_get(customer, stores=[store])

    lifetime = first.total + second.total + last.total - refund.total
    assert profile.lifetime_value == lifetime
    assert profile.order_count == 3
    assert profile.average_order_value == (lifetime / 3).quantize(D("0.01"))
    assert (profile.first_visit, profile.last_visit) == (first.completed_at, last.completed_at)
    assert profile.visit_days == 3
    assert profile.average_days_between_visits == D("50.0")  # 100 days, 2 gaps
    assert profile.visits_last_90_days == 2
    # Flower: 45 x 3 = 135; edibles: 60 less the refunded 20 = 40.
    assert [(c.category, c.label, c.amount) for c in profile.preferred_categories] == [
        ("flower", "Flower", D("135.00")),
        ("edible", "Edible", D("40.00")),
    ]
    assert [(p.sale_id, p.voided) for p in profile.recent_purchases] == [
        (last.pk, False),
        (voided.pk, True),
        (second.pk, False),
        (first.pk, False),
    ]
    assert profile.recent_purchases[2].items == ("3 x Mango gummies", f"1 x {product.name}")
    assert profile.recent_purchases[2].refunded_total == refund.total
    assert (profile.has_loyalty_account, profile.loyalty_balance, profile.loyalty_tier) == (
        True,
        240,
        "Silver",
    )
    assert [(c.channel, c.granted, c.disclosure_version, c.recorded_by) for c in profile.consent] == [
        ("sms", True, "sms-2025-01", budtender.username),
        ("email", None, "", ""),
    ]


def test_a_new_customer_has_an_empty_profile(customer):
    profile = customer_profile_get(customer)
    assert (profile.lifetime_value, profile.order_count, profile.average_order_value) == (
        D("0.00"),
        0,
        D("0"),
    )
    assert (profile.first_visit, profile.average_days_between_visits, profile.visits_last_90_days) == (
        None,
        None,
        0,
    )
    assert (profile.preferred_categories, profile.recent_purchases, profile.has_loyalty_account) == (
        (),
        (),
        False,
    )
    assert profile.loyalty_balance is None


def test_stores_limit_the_profile(store, sell, customer, product, package, organization, budtender):
    other = StoreFactory(organization=organization)
    receive(other, product, 5)
    from guardian.shortcuts import assign_perm

    assign_perm("dispensary.access_store", budtender, other)
    here = sell([QuoteLineInput(product.pk, D("1"))], customer)
    there = sell(
        [QuoteLineInput(product.pk, D("2"))],
        customer,
        at_store=other,
        at_register=register_with_drawer(other, budtender),
    )
    assert customer_profile_get(customer, stores=[store]).lifetime_value == here.total
    assert customer_profile_get(customer).lifetime_value == here.total + there.total
    assert customer_profile_get(customer, stores=[other]).order_count == 1


def test_query_count_does_not_grow_with_history(store, sell, customer, product, package, edible, budtender):
    sell([QuoteLineInput(product.pk, D("1"))], customer)
    LoyaltyAccount.objects.create(customer=customer, balance=1)
    with CaptureQueriesContext(connection) as small:
        customer_profile_get(customer, stores=[store])
    for days in (3, 20, 40, 60, 80, 120):
        sell([QuoteLineInput(edible.pk, D("1")), QuoteLineInput(product.pk, D("1"))], customer, days_ago=days)
    with CaptureQueriesContext(connection) as large:
        profile = customer_profile_get(customer, stores=[store])
    assert profile.order_count == 7 and len(profile.recent_purchases) == 5
    # totals, sold by category, refunded by category, recent sales, their lines, loyalty, consent
    assert len(small) == len(large) == 7


def test_profile_partial_is_logged_and_shows_the_numbers(
    client, store, sell, customer, product, package, budtender
):
    sale = sell([QuoteLineInput(product.pk, D("2"))], customer)
    client.force_login(budtender)
    response = client.get(f"/pos/customers/{customer.pk}/profile/", **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "Purchase profile" in content
    assert f"${sale.total:,.2f}" in content  # lifetime value and the order
    assert f'href="/pos/sales/{sale.pk}/receipt/"' in content
    assert 'id="consent-' in content and 'name="sms"' in content
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.after) == (budtender, store, {"via": "pos_profile"})
    # Without htmx it comes in a page of its own.
    page = client.get(f"/pos/customers/{customer.pk}/profile/")
    assert page.status_code == 200 and "<html" in page.content.decode()


def test_profile_of_another_organizations_customer_is_404(client, budtender, organization):
    stranger = CustomerFactory()
    client.force_login(budtender)
    assert client.get(f"/pos/customers/{stranger.pk}/profile/").status_code == 404
    driver = UserFactory(
        organization=organization, roles=["driver"], stores=list(budtender_stores(budtender))
    )
    client.force_login(driver)
    customer = CustomerFactory(organization=organization)
    assert client.get(f"/pos/customers/{customer.pk}/profile/").status_code == 403
    assert AuditRecord.objects.filter(action="customer.viewed").count() == 0


def budtender_stores(user):
    from dispensary.selectors import store_list_for_user

    return store_list_for_user(user)


def test_customer_desk_loads_the_profile(client, budtender, customer, organization, store):
    client.force_login(budtender)
    content = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f'hx-get="/pos/customers/{customer.pk}/profile/"' in content
    officer = UserFactory(organization=organization, roles=["compliance_officer"], stores=[store])
    client.force_login(officer)
    assert "/pos/customers/" not in client.get(f"/customers/{customer.pk}/").content.decode()
