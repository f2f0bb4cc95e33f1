"""The purchase-limit verdict as the register asks for it: a 20-line cart of mixed categories against a
customer's 90 days of purchases, made by the real services (a few sales a week, several lines each, some
refunded, some voided, medical and adult-use sales mixed), in states with several allowances and windows:
California (daily), Michigan (daily and rolling 30 days, with equivalents), Massachusetts (rolling 60 days).

Per case, median and p95 of BENCH_LIMIT_VERDICT_RUNS runs after a warm-up (with DEBUG off, as in production):
(a) the engine alone (`purchase_limits_check`) on the history already read (and on all 90 days of it);
(b) the whole verdict as the register completes a sale (`pos.selectors.checks.purchase_check`): the rules
    (kept per process), the history and the patient's recommendation read from the database in one query,
    the cart's amounts and the engine;
    and the same with the rules already in hand (`pos.selectors.quote.limits_verdict(rules=...)`), which is
    what (b) costs where the rules are cached per process.
Every path must give the same verdict. The slowest case's median of (b) is recorded as `limit_check_ms_median`.
Printed, never asserted on time.

    BENCH_LIMIT_VERDICT_RUNS=200 python -m tests.bench.run
"""

import datetime as dt
import os
import random
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from compliance.identity import id_verify, patient_registration_set, recommendation_add
from compliance.rules import Customer as RulesCustomer
from compliance.rules import purchase_limits_check, recommendation_limits, with_limits
from compliance.rules.limits import CartLine
from compliance.selectors import jurisdiction_rules_get
from dispensary import events
from dispensary.clock import store_local_date
from dispensary.models import Customer, Organization, Store, User
from dispensary.roles import Role
from inventory.models import Product, ProductLimitAmount, quantity_text
from inventory.services import package_receive
from pos.models import DrawerSession, Register
from pos.selectors.checks import purchase_check
from pos.selectors.quote import (
    CartInput,
    QuoteLineInput,
    limit_amounts_of,
    limits_verdict,
    products_for,
    quote,
    recommendation_amounts,
)
from pos.selectors.sales import customer_limit_history
from pos.services import TenderInput, sale_complete, sale_refund, sale_void
from tests.bench.results import record

RUNS = int(os.environ.get("BENCH_LIMIT_VERDICT_RUNS", "200"))
WARM_UP = 20
HISTORY_DAYS = 90
SALES_PER_WEEK = 3
CART_LINES = 20

# name, category, {bucket: amount per unit}
CATALOG = {
    "eighth": ("Flower 3.5 g", "flower", {"flower_g": "3.5"}),
    "gram": ("Flower 1 g", "flower", {"flower_g": "1"}),
    "pre_roll": ("Pre-roll 1 g", "pre_roll", {"flower_g": "1"}),
    "pre_roll_pack": ("Pre-roll pack 5 x 0.5 g", "pre_roll", {"flower_g": "2.5"}),
    "vape": ("Vape cartridge 0.5 g", "vape", {"concentrate_g": "0.5"}),
    "wax": ("Live resin 1 g", "concentrate", {"concentrate_g": "1"}),
    "gummies": ("Gummies 100 mg", "edible", {"infused_thc_mg": "100", "infused_weight_g": "50"}),
    "chocolate": ("Chocolate bar 100 mg", "edible", {"infused_thc_mg": "100", "infused_weight_g": "40"}),
    "tincture": ("Tincture 300 mg", "tincture", {"infused_thc_mg": "300", "infused_weight_g": "30"}),
    "clone": ("Clone", "seeds_clones", {"immature_plants": "1"}),
    "balm": ("Topical balm", "topical", {}),
    "papers": ("Rolling papers", "accessory", {}),
}
# The cart: 20 lines, flower 17 g, concentrate 3.5 g, 4 infused products, a clone, a topical, an accessory.
CART = (
    ["eighth", "eighth", "eighth", "gram", "pre_roll", "pre_roll", "pre_roll_pack", "gram"]
    + ["vape", "vape", "vape", "wax", "wax"]
    + ["gummies", "gummies", "chocolate", "tincture"]
    + ["clone", "balm", "papers"]
)
# What the customer buys on an ordinary visit (several lines each).
VISIT = ["eighth", "gram", "pre_roll", "pre_roll", "vape", "wax", "gummies", "chocolate", "balm", "papers"]

STATES = {
    # jurisdiction: (time zone, region, recommendation amounts for a medical patient or None)
    "US-CA": ("America/Los_Angeles", "CA", {"flower_g": "56", "concentrate_g": "16"}),
    "US-MI": ("America/Detroit", "MI", None),
    "US-MA": ("America/New_York", "MA", None),
}
CASES = [
    ("US-CA", "adult_use", "CA adult-use, daily limits"),
    ("US-CA", "medical", "CA medical with a recommendation, daily limits"),
    ("US-MI", "medical", "MI medical, daily and 30-day limits with equivalents"),
    ("US-MA", "medical", "MA medical, 60-day limit"),
]


@dataclass(frozen=True)
class CartItem:
    """A register's cart line, as the verdict reads it: a product and a quantity."""

    product_id: int
    quantity: Decimal


@dataclass
class Shop:
    store: Store
    register: Register
    staff: User
    customer: Customer
    products: dict[str, int]


def _catalog(organization: Organization) -> dict[str, int]:
    ids = {}
    for key, (name, category, amounts) in CATALOG.items():
        product = Product.objects.create(
            organization=organization,
            name=name,
            category=category,
            sku=f"LIMITS-{key}",
            price=Decimal("20.00"),
        )
        for bucket, amount in amounts.items():
            ProductLimitAmount.objects.create(product=product, bucket=bucket, amount=Decimal(amount))
        ids[key] = product.pk
    return ids


def _shop(organization: Organization, jurisdiction: str, products: dict[str, int], now: dt.datetime) -> Shop:
    zone, region, recommended = STATES[jurisdiction]
    code = region.lower()
    store = Store.objects.create(
        organization=organization,
        name=f"Limits bench {region}",
        code=f"limits-{code}",
        license_adult_use=f"BENCH-{region}-A",
        license_medical=f"BENCH-{region}-M",
        jurisdiction=jurisdiction,
        time_zone=zone,
        address_line1="1 Bench St",
        city="Bench",
        region=region,
        postal_code="00000",
    )
    staff = User.objects.create_user(
        username=f"limits-bench-{code}-{os.getpid()}", password="bench-limits-1", organization=organization
    )
    staff.groups.add(Group.objects.get(name=Role.BUDTENDER.value), Group.objects.get(name=Role.MANAGER.value))
    assign_perm("dispensary.access_store", staff, store)
    staff = User.objects.get(pk=staff.pk)  # permissions read afresh
    register = Register.objects.create(store=store, name="Bench register")
    DrawerSession.objects.create(
        register=register,
        store=store,
        opened_by=staff,
        opened_at=now - dt.timedelta(days=HISTORY_DAYS + 1),
        opening_amount=Decimal("300.00"),
    )
    for product_id in products.values():
        package_receive(
            store=store,
            product=Product.objects.get(pk=product_id),
            tag=f"1A4LIMITS{code.upper()}{product_id:013d}",
            quantity=Decimal("100000"),
            actor=staff,
            location="sales_floor",
            expires_on=now.date() + dt.timedelta(days=365),
        )
    customer = Customer.objects.create(
        organization=organization,
        phone=f"+1555010{list(STATES).index(jurisdiction):04d}",
        first_name="Bench",
        last_name=f"Patient {region}",
        date_of_birth=dt.date(1984, 6, 2),
        region=region,
    )
    today = store_local_date(store, at=now)
    registration = patient_registration_set(
        customer=customer,
        actor=staff,
        card_number=f"{region}-BENCH-{customer.pk}",
        state=region,
        expires_on=today + dt.timedelta(days=365),
        issued_on=today - dt.timedelta(days=HISTORY_DAYS + 30),
    )
    if recommended:
        recommendation_add(
            registration=registration,
            actor=staff,
            physician_name="Dr. Bench",
            issued_on=today - dt.timedelta(days=HISTORY_DAYS + 30),
            expires_on=today + dt.timedelta(days=300),
            allowed_amounts=recommended,
        )
    return Shop(store, register, staff, Customer.objects.get(pk=customer.pk), products)


def _history(shop: Shop, now: dt.datetime, rng: random.Random) -> dict[str, int]:
    """90 days of visits through the real services: about SALES_PER_WEEK sales a week of 2 to 5 lines, a
    quarter of them adult-use, one in ten refunded in part a few days later, one in twelve voided at once;
    and two visits earlier today (one of each type). Counts of what was made."""
    store, zone = shop.store, ZoneInfo(shop.store.time_zone)
    today = store_local_date(store, at=now)
    counts = {"sales": 0, "lines": 0, "refunds": 0, "voids": 0}
    visits = []
    for back in range(HISTORY_DAYS, 0, -1):
        if rng.random() < SALES_PER_WEEK / 7:
            day = today - dt.timedelta(days=back)
            visits.append(
                dt.datetime.combine(day, dt.time(rng.randint(10, 19), rng.randint(0, 59)), tzinfo=zone)
            )
    # Earlier today (the store's day, whatever the hour of the run): a medical visit and an adult-use one, so
    # that the daily allowances of both have a use.
    midnight = dt.datetime.combine(today, dt.time(0), tzinfo=zone)
    visits += [midnight + (now - midnight) / 3, midnight + (now - midnight) * 2 / 3]
    for number, at in enumerate(visits):
        customer_type = "adult_use" if rng.random() < 0.25 else "medical"
        if number >= len(visits) - 2:
            customer_type = ("medical", "adult_use")[number - len(visits) + 2]
        picks = rng.sample(VISIT, rng.randint(2, 5))
        lines = [
            QuoteLineInput(shop.products[key], Decimal(2 if key == "pre_roll" and rng.random() < 0.5 else 1))
            for key in picks
        ]
        verification = id_verify(
            store=store,
            staff=shop.staff,
            minimum_age=21,
            date_of_birth=shop.customer.date_of_birth,
            customer=shop.customer,
            at=at,
        ).verification
        priced = quote(
            CartInput(
                store=store,
                customer_type=customer_type,
                lines=tuple(lines),
                customer=shop.customer,
                id_verification=verification,
                at=at,
            )
        )
        sale = sale_complete(
            quote=priced,
            register=shop.register,
            staff=shop.staff,
            tenders=[TenderInput("cash", Decimal("1000"))],
            idempotency_key=f"limits-bench-{store.pk}-{number}",
            now=at,
        )
        counts["sales"] += 1
        counts["lines"] += len(lines)
        roll = rng.random()
        if roll < 1 / 12 and number < len(visits) - 2:
            sale_void(sale=sale, actor=shop.staff, approver=shop.staff, now=at + dt.timedelta(minutes=5))
            counts["voids"] += 1
        elif roll < 1 / 12 + 1 / 10:
            sale_line = sale.lines.order_by("-quantity", "id").first()
            sale_refund(
                sale=sale,
                lines=[(sale_line, Decimal(1), True)],
                reason="Customer changed their mind",
                actor=shop.staff,
                approver=shop.staff,
                now=min(at + dt.timedelta(days=rng.randint(0, 3), minutes=10), now),
            )
            counts["refunds"] += 1
    return counts


def _times(function, runs: int) -> tuple[float, float]:
    for _ in range(WARM_UP):
        function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[min(len(samples) - 1, int(len(samples) * 0.95))] * 1000


def _engine_inputs(shop: Shop, customer_type: str, cart: list[CartItem], now: dt.datetime):
    """What limits_verdict hands the engine, read once: the rules (with the patient's recommendation), the
    history in the longest window, the cart's amounts."""
    store = shop.store
    today = store_local_date(store, at=now)
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=today)
    if customer_type == "medical":
        amounts = recommendation_amounts(customer=shop.customer, today=today)
        rules = with_limits(rules, recommendation_limits(rules, amounts, on=today))
    longest = max((limit.window_days or 1 for limit in rules.limits), default=1)
    history = customer_limit_history(customer=shop.customer, since=now - dt.timedelta(days=longest + 1))
    products = products_for(store, [item.product_id for item in cart])
    lines = [
        CartLine(
            amounts=limit_amounts_of(products[item.product_id], item.quantity),
            label=f"{quantity_text(item.quantity)} x {products[item.product_id].name}",
        )
        for item in cart
    ]
    return rules, history, lines, today


def bench_limits(label: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rng = random.Random(11)
    dispatch, events.dispatch = events.dispatch, lambda delivery_ids: None  # state reports are not measured
    started = time.perf_counter()
    try:
        organization = Organization.objects.create(name="Limits bench", slug=f"limits-bench-{os.getpid()}")
        products = _catalog(organization)
        shops, made = {}, {}
        for jurisdiction in STATES:
            shops[jurisdiction] = _shop(organization, jurisdiction, products, now)
            made[jurisdiction] = _history(shops[jurisdiction], now, rng)
    finally:
        events.dispatch = dispatch
    print(
        f"limits: 90 days of history made through the services in {time.perf_counter() - started:.1f} s: "
        + "; ".join(
            f"{code[3:]} {m['sales']} sales, {m['lines']} lines, {m['refunds']} refunded in part, {m['voids']} voided"
            for code, m in made.items()
        )
    )
    cart = [CartItem(products[key], Decimal(1)) for key in CART]
    assert len(cart) == CART_LINES
    slowest = 0.0
    for jurisdiction, customer_type, title in CASES:
        shop = shops[jurisdiction]
        rules, history, lines, today = _engine_inputs(shop, customer_type, cart, now)
        buyer = RulesCustomer(type=customer_type, age=42)
        product_rows = products_for(shop.store, [item.product_id for item in cart])

        def engine(rules=rules, buyer=buyer, history=history, lines=lines, today=today, shop=shop):
            return purchase_limits_check(
                rules, buyer, history, lines, on=today, time_zone=shop.store.time_zone
            )

        everything = customer_limit_history(
            customer=shop.customer, since=now - dt.timedelta(days=HISTORY_DAYS + 1)
        )

        def engine_everything(
            rules=rules, buyer=buyer, history=everything, lines=lines, today=today, shop=shop
        ):
            return purchase_limits_check(
                rules, buyer, history, lines, on=today, time_zone=shop.store.time_zone
            )

        def verdict(shop=shop, customer_type=customer_type, product_rows=product_rows):
            return purchase_check(
                store=shop.store,
                customer=shop.customer,
                customer_type=customer_type,
                age=42,
                lines=cart,
                products=product_rows,
                now=now,
            )

        plain_rules = jurisdiction_rules_get(jurisdiction=shop.store.jurisdiction, on=today)

        def with_rules(shop=shop, customer_type=customer_type, product_rows=product_rows, rules=plain_rules):
            # The Quote's path with the rules already in hand (cached per process): history and engine.
            return limits_verdict(
                store=shop.store,
                customer=shop.customer,
                customer_type=customer_type,
                age=42,
                lines=cart,
                products=product_rows,
                now=now,
                rules=rules,
            )

        whole = verdict()
        # Every path gives the same answer, and the cart is a legal one with history in the windows.
        assert whole == engine() == with_rules() == engine_everything(), (
            f"{title}: the engine alone and the whole verdict differ"
        )
        assert whole.allowed, f"{title}: the bench cart should be allowed: {whole.violations}"
        assert any(usage.used_before > 0 for usage in whole.limits), f"{title}: no history in any window"
        with CaptureQueriesContext(connection) as queries:
            verdict()
        with CaptureQueriesContext(connection) as rules_in_hand_queries:
            with_rules()
        debug, settings.DEBUG = settings.DEBUG, False  # no query log, as in production
        try:
            engine_median, engine_p95 = _times(engine, RUNS)
            everything_median, everything_p95 = _times(engine_everything, RUNS)
            whole_median, whole_p95 = _times(verdict, RUNS)
            in_hand_median, in_hand_p95 = _times(with_rules, RUNS)
        finally:
            settings.DEBUG = debug
        slowest = max(slowest, whole_median)
        in_windows = sum(len(purchase.lines) for purchase in history)
        print(
            f"limits: {title}: {CART_LINES}-line cart, {len(history)} purchases ({in_windows} lines) in the "
            f"longest window, {len(whole.limits)} allowances, {RUNS} runs ({label}):\n"
            f"  (a) engine alone: median {engine_median:.3f} ms, p95 {engine_p95:.3f} ms; given all "
            f"{len(everything)} purchases of the 90 days: median {everything_median:.3f} ms, p95 "
            f"{everything_p95:.3f} ms\n"
            f"  (b) whole verdict (purchase_check: rules, history read, engine; {len(queries)} queries): "
            f"median {whole_median:.3f} ms, p95 {whole_p95:.3f} ms\n"
            f"      of which with the rules in hand (limits_verdict; {len(rules_in_hand_queries)} queries): "
            f"median {in_hand_median:.3f} ms, p95 {in_hand_p95:.3f} ms"
        )
    print(f"limits: limit_check_ms_median (the slowest case's whole verdict) = {slowest:.3f} ms ({label})")
    record("limit_check_ms_median", slowest)
