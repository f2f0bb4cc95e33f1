"""The purchase-limit check at the counter: a 20-line cart against 90 days of a customer's history, the engine
alone and with the rules loaded from the database. Figures are printed (median of many runs), not asserted.

    BENCH_LIMIT_RUNS=500 python -m tests.bench.run
"""

import datetime as dt
import os
import statistics
import time
from decimal import Decimal

from compliance.rules import CartLine, Customer, Purchase, purchase_limits_check
from compliance.selectors import jurisdiction_rules_get

RUNS = int(os.environ.get("BENCH_LIMIT_RUNS", "500"))
CART_LINES = 20
HISTORY_DAYS = 90
PURCHASES_PER_DAY = 2
LINES_PER_PURCHASE = 3
BUCKETS = ("flower_g", "concentrate_g", "infused_thc_mg", "infused_weight_g")


def _line(number: int) -> CartLine:
    bucket = BUCKETS[number % len(BUCKETS)]
    amounts = {bucket: Decimal("0.5") if bucket != "infused_thc_mg" else Decimal("10")}
    if bucket == "infused_thc_mg":
        amounts["infused_weight_g"] = Decimal("5")
    return CartLine(amounts=amounts, label=f"Product {number}")


def _history(day: dt.date) -> list[Purchase]:
    zone = dt.timezone(dt.timedelta(hours=-7))
    purchases = []
    for back in range(HISTORY_DAYS):
        for slot in range(PURCHASES_PER_DAY):
            at = dt.datetime.combine(day - dt.timedelta(days=back), dt.time(10 + 4 * slot), tzinfo=zone)
            lines = tuple(_line(back * 10 + slot * 3 + n) for n in range(LINES_PER_PURCHASE))
            purchases.append(Purchase(at=at, lines=lines))
    return purchases


def _median_ms(function, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def bench_compliance(label: str) -> None:
    day = dt.date(2026, 3, 1)
    history = _history(day)
    cart = [_line(n) for n in range(CART_LINES)]
    customer = Customer(type="medical", age=40)
    results = {}
    for state in ("US-CO", "US-MI"):
        rules = jurisdiction_rules_get(jurisdiction=state, on=day)
        verdict = purchase_limits_check(rules, customer, history, cart, on=day)
        assert verdict.limits, f"{state} has medical limits to check"
        engine = _median_ms(
            lambda rules=rules: purchase_limits_check(rules, customer, history, cart, on=day), RUNS
        )

        def with_rules(state=state):
            loaded = jurisdiction_rules_get(jurisdiction=state, on=day)
            return purchase_limits_check(loaded, customer, history, cart, on=day)

        loaded = _median_ms(with_rules, max(RUNS // 5, 20))
        results[state] = (engine, loaded, len(rules.limits))
    purchases = len(history)
    for state, (engine, loaded, limits) in results.items():
        print(
            f"limits: {state} medical, {CART_LINES}-line cart against {HISTORY_DAYS} days of history "
            f"({purchases} purchases, {purchases * LINES_PER_PURCHASE} lines, {limits} limits in force): "
            f"engine {engine:.2f} ms median of {RUNS}; with the rules loaded {loaded:.2f} ms ({label})"
        )
