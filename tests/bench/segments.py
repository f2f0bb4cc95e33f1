"""A segment of 100,000 customers counted: customers, their metrics and their consent rows written in bulk
(seeded, the same on every machine), then a three-condition segment (recency score at least 4, agreed to
marketing texts, favourite category flower) counted five times; the median is printed and written under
"segment_count_ms" in bench-results.json. The issue's goal: under a second on PostgreSQL.

    BENCH_SEGMENT_CUSTOMERS=100000 python -m tests.bench.run segments
"""

import datetime as dt
import os
import random
import statistics
import time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from dispensary.models import Customer, MarketingConsent
from messaging.models import CustomerMetrics
from messaging.segments import segment_customers
from tests.bench import results
from tests.factories import StoreFactory

CUSTOMERS = int(os.environ.get("BENCH_SEGMENT_CUSTOMERS", "100000"))
BATCH = 5000
CATEGORIES = ("flower", "flower", "flower", "pre_roll", "vape", "edible", "concentrate", "tincture")
RULES = [
    {"field": "rfm_recency", "op": "gte", "value": 4},
    {"field": "consent_sms", "op": "is", "value": True},
    {"field": "favourite_category", "op": "eq", "value": "flower"},
]


def _world(store, seed: int = 15) -> None:
    rng = random.Random(seed)
    organization = store.organization
    now = timezone.now()
    for first in range(0, CUSTOMERS, BATCH):
        numbers = range(first, min(first + BATCH, CUSTOMERS))
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [
                    Customer(
                        organization=organization,
                        phone=f"+1{2000000000 + number}",
                        first_name=f"Bench{number}",
                        last_name="Customer",
                        home_store=store,
                        postal_code=f"94{rng.randrange(100, 200)}",
                    )
                    for number in numbers
                ]
            )
            metrics, consents = [], []
            for customer in customers:
                orders = rng.randrange(0, 30)
                value = Decimal(orders * rng.randrange(20, 90)).quantize(Decimal("0.01"))
                last = now - dt.timedelta(days=rng.randrange(0, 400)) if orders else None
                metrics.append(
                    CustomerMetrics(
                        customer=customer,
                        organization=organization,
                        first_purchase_at=last - dt.timedelta(days=rng.randrange(0, 400)) if orders else None,
                        last_purchase_at=last,
                        orders_count=orders,
                        lifetime_value=value,
                        average_order=(value / orders).quantize(Decimal("0.01")) if orders else Decimal("0"),
                        favourite_category=rng.choice(CATEGORIES) if orders else "",
                        fulfilment_habit="in_store" if orders else "",
                        rfm_recency=rng.randrange(1, 6) if orders else None,
                        rfm_frequency=rng.randrange(1, 6) if orders else None,
                        rfm_monetary=rng.randrange(1, 6) if orders else None,
                        updated_at=now,
                    )
                )
                if rng.random() < 0.6:  # agreed at the counter; some withdrew later, some await their YES
                    at = now - dt.timedelta(days=rng.randrange(30, 300))
                    consents.append(_consent(customer, True, at, awaiting=rng.random() < 0.1))
                    if rng.random() < 0.15:
                        consents.append(_consent(customer, False, at + dt.timedelta(days=7)))
            CustomerMetrics.objects.bulk_create(metrics)
            MarketingConsent.objects.bulk_create(consents)


def _consent(customer, granted: bool, at, *, awaiting: bool = False) -> MarketingConsent:
    return MarketingConsent(
        customer=customer,
        channel="sms",
        purpose="marketing",
        granted=granted,
        awaiting_confirmation=awaiting,
        age_affirmed=granted,
        disclosure_version="bench",
        disclosure_text="Offers by text.",
        source="counter",
        recorded_at=at,
    )


def bench_segments(database_label: str) -> None:
    store = StoreFactory()
    started = time.perf_counter()
    _world(store)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    setup_seconds = time.perf_counter() - started
    timings, count = [], None
    for _ in range(5):
        started = time.perf_counter()
        count = segment_customers(store.organization_id, RULES, "all").count()
        timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    print(
        f"segments: {CUSTOMERS:,} customers written in {setup_seconds:.1f} s; a 3-condition segment "
        f"({count:,} match) counted in {median:.0f} ms, the median of 5 ({database_label})"
    )
    results.record("segment_count_ms", median)
