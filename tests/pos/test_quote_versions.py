"""Rules, taxes and promotions kept per process under a version (dispensary.versioned): a change takes effect on
the next quote without a restart, a quote costs no rule query, and completing a quote re-checks what moved."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import PurchaseLimit, TaxRate
from compliance.selectors import RULES
from dispensary.versioned import versions
from inventory.errors import InsufficientStock
from inventory.models import Package, StockMovement
from inventory.selectors import ledger_mismatch_list
from pos.errors import QuoteChanged
from pos.models import Promotion, Sale
from pos.selectors.quote import VERSIONED, CartInput, QuoteLineInput, quote
from pos.services import TenderInput, sale_complete
from tests.inventory.factories import days, receive

pytestmark = pytest.mark.django_db


def cart(store, product, quantity="1", verification=None):
    return CartInput(
        store=store,
        customer_type="adult_use",
        lines=(QuoteLineInput(product.pk, D(quantity)),),
        id_verification=verification,
        age=30,
    )


def excise_rate(store) -> TaxRate:
    """The store's excise tax row in force today (older and later rows are kept with their dates)."""
    today = timezone.localdate()
    return TaxRate.objects.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=today),
        jurisdiction__code=store.jurisdiction,
        level="excise",
        effective_from__lte=today,
    ).get()


def excise(priced) -> D:
    return priced.tax_totals["excise"]


def test_a_changed_tax_rate_limit_or_promotion_takes_effect_on_the_next_quote(store, product, package):
    before = quote(cart(store, product, "2"))
    assert (before.total, excise(before)) == (D("110.03"), D("13.50"))
    tax = excise_rate(store)
    tax.rate = D("20")
    tax.save()
    assert excise(quote(cart(store, product, "2"))) == D("18.00")

    flower = PurchaseLimit.objects.get(
        jurisdiction__code=store.jurisdiction, customer_type="adult_use", label="non-concentrated cannabis"
    )
    flower.amount = D("5")
    flower.save()
    [violation] = quote(cart(store, product, "2")).limit_violations  # 7 g of flower, 5 g allowed
    assert "5 g" in violation.message

    Promotion.objects.create(
        organization=store.organization, name="Everything 10%", kind="percent", value=D("10"), automatic=True
    )
    assert quote(cart(store, product, "1")).discount_total == D("4.50")


def test_a_second_quote_reads_no_rule_tax_promotion_or_loyalty_row(store, product, package):
    quote(cart(store, product))
    with CaptureQueriesContext(connection) as queries:
        priced = quote(cart(store, product))
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert priced.total == D("55.01")
    for table in (
        "compliance_",
        "pos_promotion",
        "pos_loyaltyprogram",
        "pos_loyaltytier",
        "pos_pointsmultiplier",
    ):
        assert table not in tables
    # The products with their limit amounts, and the packages that would serve the lines.
    assert len(queries) == 3


def test_a_quote_asks_the_cache_for_its_versions_once(store, product, package, monkeypatch):
    quote(cart(store, product))
    asked, inside, real_get, real_get_many = [], [], cache.get, cache.get_many

    def get(key, *args, **kwargs):
        if not inside:  # the local cache's get_many asks get for each key
            asked.append(key)
        return real_get(key, *args, **kwargs)

    def get_many(keys, *args, **kwargs):
        asked.append(tuple(keys))
        inside.append(True)
        try:
            return real_get_many(keys, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(cache, "get", get)
    monkeypatch.setattr(cache, "get_many", get_many)
    priced = quote(cart(store, product))
    # One round trip, then every kept read (rules, taxes, promotions, loyalty, catalog) under those versions.
    assert asked == [tuple(f"versioned:{name}" for name in VERSIONED)]
    assert priced.versions == tuple(sorted(versions(*VERSIONED).items()))


def test_a_change_made_by_another_process_is_seen_once_its_version_moves(store, product, package):
    assert excise(quote(cart(store, product))) == D("6.75")
    # Another process changes the row (no signal here) and bumps the shared version when it commits.
    TaxRate.objects.filter(pk=excise_rate(store).pk).update(rate=D("10"))
    assert excise(quote(cart(store, product))) == D("6.75")  # this process still keeps the old rates
    RULES.bump()
    assert excise(quote(cart(store, product))) == D("4.50")


def test_rows_read_inside_a_transaction_that_changed_them_are_not_kept(store, product, package):
    tax = excise_rate(store)
    with pytest.raises(RuntimeError), transaction.atomic():
        tax.rate = D("50")
        tax.save()
        assert excise(quote(cart(store, product))) == D("22.50")
        raise RuntimeError("rolled back")
    assert excise(quote(cart(store, product))) == D("6.75")


def complete(priced, register, budtender, key="v-1"):
    return sale_complete(
        quote=priced,
        tenders=[TenderInput("cash", D("200"))],
        register=register,
        staff=budtender,
        idempotency_key=key,
    )


def test_completing_a_quote_whose_total_moved_is_refused_and_writes_nothing(
    store, register, budtender, product, package, adult_id
):
    priced = quote(cart(store, product, verification=adult_id()))
    tax = excise_rate(store)
    tax.rate = D("20")
    tax.save()
    with pytest.raises(QuoteChanged, match="from 55.01 to 57.26"):
        complete(priced, register, budtender)
    assert Sale.objects.count() == 0
    assert Package.objects.get(pk=package.pk).quantity_on_hand == D("10")


def test_completing_a_quote_after_a_change_that_leaves_its_total_goes_on(
    store, register, budtender, product, package, adult_id
):
    priced = quote(cart(store, product, verification=adult_id()))
    Promotion.objects.create(
        organization=store.organization,
        name="Edibles 10%",
        kind="percent",
        value=D("10"),
        categories=["edible"],
    )
    sale = complete(priced, register, budtender)
    assert sale.total == priced.total == D("55.01")


def test_stock_sold_since_the_quote_is_picked_again_under_locks(
    store, register, budtender, product, adult_id
):
    soon = receive(store, product, 1, expires_on=days(10))
    later = receive(store, product, 5, expires_on=days(90))
    priced = quote(cart(store, product, verification=adult_id()))
    assert [pick.package_id for pick in priced.lines[0].picks] == [soon.pk]
    complete(quote(cart(store, product, verification=adult_id())), register, budtender, key="other")
    sale = complete(priced, register, budtender)
    assert [line.package_id for line in sale.lines.all()] == [later.pk]
    assert Package.objects.get(pk=later.pk).quantity_on_hand == D("4")
    assert ledger_mismatch_list(store=store) == []


def test_stock_gone_since_the_quote_refuses_the_sale_and_writes_nothing(
    store, register, budtender, product, adult_id
):
    only = receive(store, product, 1)
    priced = quote(cart(store, product, verification=adult_id()))
    complete(quote(cart(store, product, verification=adult_id())), register, budtender, key="other")
    movements = StockMovement.objects.count()
    with pytest.raises(InsufficientStock):
        complete(priced, register, budtender)
    assert Sale.objects.count() == 1
    assert StockMovement.objects.count() == movements
    assert Package.objects.get(pk=only.pk).quantity_on_hand == D("0")


def test_a_quote_from_another_day_is_priced_again(store, register, budtender, product, package, clock):
    from compliance.identity import id_verify

    clock.move_to(dt.datetime(2026, 5, 4, 19, 0, tzinfo=dt.UTC))
    Promotion.objects.create(
        organization=store.organization,
        name="From Wednesday",
        kind="percent",
        value=D("10"),
        automatic=True,
        starts_on=dt.date(2026, 5, 6),
    )
    priced = quote(cart(store, product))
    clock.advance(dt.timedelta(days=2))
    verification = id_verify(
        store=store, staff=budtender, minimum_age=21, date_of_birth=dt.date(1990, 5, 17)
    ).verification
    stale = replace(priced, cart=replace(priced.cart, id_verification=verification))
    with pytest.raises(QuoteChanged, match="from 55.01 to 49.52"):
        complete(stale, register, budtender)
