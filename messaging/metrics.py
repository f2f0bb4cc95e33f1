"""Per-customer facts for segments (messaging.models.CustomerMetrics): computed from the sales, refunds, loyalty
accounts, the messages' timelines and the conversions in a handful of grouped queries for any number of
customers, written with one upsert; RFM scores are quintiles of the organization's buyers (5 best)."""

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone

from dispensary.models import Customer
from messaging.models import CustomerMetrics, LinkClick, MessageConversion, MessageStatusEvent
from pos.models import Fulfilment, LoyaltyAccount, RefundLine, Sale, SaleLine

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Columns the upsert writes (the RFM scores are written apart: the batch rebuild scores everyone at the end).
FACTS = (
    "organization",
    "first_purchase_at",
    "last_purchase_at",
    "orders_count",
    "lifetime_value",
    "average_order",
    "favourite_category",
    "favourite_brand",
    "in_store_count",
    "pickup_count",
    "delivery_count",
    "fulfilment_habit",
    "loyalty_tier_id",
    "points_balance",
    "last_opened_at",
    "last_clicked_at",
    "message_purchases",
    "last_message_purchase_at",
    "updated_at",
)
SCORES = ("rfm_recency", "rfm_frequency", "rfm_monetary")
HABITS = (CustomerMetrics.Habit.IN_STORE, CustomerMetrics.Habit.PICKUP, CustomerMetrics.Habit.DELIVERY)


def _favourite(spend: dict[str, Decimal]) -> str:
    """The name with the most spend (ties: the first by name); "" when nothing was bought for money."""
    best = ""
    for name in sorted(spend):
        if name and spend[name] > ZERO and (not best or spend[name] > spend[best]):
            best = name
    return best


def metrics_compute(customer_ids: Iterable[int], *, now: dt.datetime | None = None) -> list[CustomerMetrics]:
    """The metrics of these customers from the source rows (unsaved; scores left empty). Eight queries."""
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        return []
    now = now or timezone.now()
    organizations = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "organization_id"))
    completed = {"status": Sale.Status.COMPLETED}
    sales = {
        row["customer_id"]: row
        for row in Sale.objects.filter(customer_id__in=ids, **completed)
        .values("customer_id")
        .annotate(
            first=Min("completed_at"),
            last=Max("completed_at"),
            orders=Count("id"),
            value=Sum(F("total") - F("refunded_total")),
            in_store=Count("id", filter=Q(pickup_order__isnull=True)),
            pickup=Count("id", filter=Q(pickup_order__fulfilment=Fulfilment.PICKUP)),
            delivery=Count("id", filter=Q(pickup_order__fulfilment=Fulfilment.DELIVERY)),
        )
        .order_by()
    }
    categories: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    brands: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    spent = (
        SaleLine.objects.filter(sale__customer_id__in=ids, sale__status=Sale.Status.COMPLETED)
        .values_list("sale__customer_id", "product__category", "product__brand")
        .annotate(spend=Sum("total"))
        .order_by()
    )
    returned = (
        RefundLine.objects.filter(
            sale_line__sale__customer_id__in=ids, sale_line__sale__status=Sale.Status.COMPLETED
        )
        .values_list(
            "sale_line__sale__customer_id", "sale_line__product__category", "sale_line__product__brand"
        )
        .annotate(spend=Sum("total"))
        .order_by()
    )
    for rows, sign in ((spent, 1), (returned, -1)):
        for customer_id, category, brand, spend in rows:
            categories[customer_id][category] += sign * (spend or ZERO)
            brands[customer_id][(brand or "").strip()] += sign * (spend or ZERO)
    loyalty = {
        customer_id: (balance, tier_id)
        for customer_id, balance, tier_id in LoyaltyAccount.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "balance", "tier_id"
        )
    }
    engaged: dict[tuple[int, str], dt.datetime] = {}
    for customer_id, status, last in (
        MessageStatusEvent.objects.filter(message__customer_id__in=ids, status__in=["opened", "clicked"])
        .values_list("message__customer_id", "status")
        .annotate(last=Max("occurred_at"))
        .order_by()
    ):
        engaged[(customer_id, status)] = last
    for customer_id, last in (
        LinkClick.objects.filter(link__message__customer_id__in=ids)
        .values_list("link__message__customer_id")
        .annotate(last=Max("clicked_at"))
        .order_by()
    ):
        known = engaged.get((customer_id, "clicked"))
        engaged[(customer_id, "clicked")] = max(last, known) if known else last
    conversions = {
        customer_id: (count, last)
        for customer_id, count, last in MessageConversion.objects.filter(
            customer_id__in=ids, reversed_at__isnull=True
        )
        .values_list("customer_id")
        .annotate(count=Count("id"), last=Max("occurred_at"))
        .order_by()
    }
    rows = []
    for customer_id in ids:
        if customer_id not in organizations:
            continue
        sale = sales.get(customer_id) or {}
        orders = sale.get("orders") or 0
        value = (sale.get("value") or ZERO).quantize(CENT)
        counts = [sale.get("in_store") or 0, sale.get("pickup") or 0, sale.get("delivery") or 0]
        habit = HABITS[counts.index(max(counts))] if orders else ""
        balance, tier_id = loyalty.get(customer_id, (0, None))
        purchases, last_purchase = conversions.get(customer_id, (0, None))
        rows.append(
            CustomerMetrics(
                customer_id=customer_id,
                organization_id=organizations[customer_id],
                first_purchase_at=sale.get("first"),
                last_purchase_at=sale.get("last"),
                orders_count=orders,
                lifetime_value=value,
                average_order=(value / orders).quantize(CENT) if orders else ZERO,
                favourite_category=_favourite(categories.get(customer_id, {})),
                favourite_brand=_favourite(brands.get(customer_id, {}))[:120],
                in_store_count=counts[0],
                pickup_count=counts[1],
                delivery_count=counts[2],
                fulfilment_habit=habit,
                loyalty_tier_id=tier_id,
                points_balance=balance,
                last_opened_at=engaged.get((customer_id, "opened")),
                last_clicked_at=engaged.get((customer_id, "clicked")),
                message_purchases=purchases,
                last_message_purchase_at=last_purchase,
                updated_at=now,
            )
        )
    return rows


def _upsert(rows: list[CustomerMetrics], fields: Iterable[str]) -> None:
    if rows:
        CustomerMetrics.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=[name for name in fields if name != "organization"],
        )


def _score(sorted_values: list, value) -> int:
    """The quintile of `value` among the sorted values: ceil(5 x the share at or below it), 1 to 5."""
    at_or_below = bisect.bisect_right(sorted_values, value)
    return max(1, min(5, math.ceil(5 * at_or_below / len(sorted_values))))


def customer_metrics_refresh(*, customer_id: int, now: dt.datetime | None = None) -> CustomerMetrics | None:
    """Recompute one customer's metrics from the source rows, and their RFM scores against the organization's
    buyers as they stand (the periodic job rescores everyone). Idempotent: the same sources give the same row."""
    rows = metrics_compute([customer_id], now=now)
    if not rows:
        return None
    row = rows[0]
    if row.orders_count:
        _upsert([row], FACTS)
        buyers = CustomerMetrics.objects.filter(organization_id=row.organization_id, orders_count__gt=0)
        counts = buyers.aggregate(
            total=Count("pk"),
            recency=Count("pk", filter=Q(last_purchase_at__lte=row.last_purchase_at)),
            frequency=Count("pk", filter=Q(orders_count__lte=row.orders_count)),
            monetary=Count("pk", filter=Q(lifetime_value__lte=row.lifetime_value)),
        )
        total = counts["total"] or 1
        for name, key in zip(SCORES, ("recency", "frequency", "monetary"), strict=True):
            setattr(row, name, max(1, min(5, math.ceil(5 * counts[key] / total))))
    _upsert([row], (*FACTS, *SCORES))
    return row


def metrics_rfm_refresh(*, organization_id: int) -> int:
    """Score every buyer of the organization again (recency, frequency, monetary: 1 to 5) and clear the scores
    of those who no longer bought anything. Writes only the rows that change; returns how many."""
    rows = list(
        CustomerMetrics.objects.filter(organization_id=organization_id).only(
            "pk", "last_purchase_at", "orders_count", "lifetime_value", *SCORES
        )
    )
    buyers = [row for row in rows if row.orders_count and row.last_purchase_at]
    recency = sorted(row.last_purchase_at for row in buyers)
    frequency = sorted(row.orders_count for row in buyers)
    monetary = sorted(row.lifetime_value for row in buyers)
    changed = []
    for row in rows:
        if row.orders_count and row.last_purchase_at:
            wanted = (
                _score(recency, row.last_purchase_at),
                _score(frequency, row.orders_count),
                _score(monetary, row.lifetime_value),
            )
        else:
            wanted = (None, None, None)
        if wanted != (row.rfm_recency, row.rfm_frequency, row.rfm_monetary):
            row.rfm_recency, row.rfm_frequency, row.rfm_monetary = wanted
            changed.append(row)
    CustomerMetrics.objects.bulk_update(changed, list(SCORES), batch_size=2000)
    return len(changed)


def metrics_rebuild(
    *,
    organization_id: int | None = None,
    missing_only: bool = False,
    batch: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Compute the metrics of every customer (of one organization, or all; or only those without a row) in
    batches, then score RFM per organization. Safe to run again. Returns how many customers were computed."""
    customers = Customer.objects.all()
    if organization_id is not None:
        customers = customers.filter(organization_id=organization_id)
    if missing_only:
        customers = customers.filter(metrics__isnull=True)
    ids = list(customers.order_by("pk").values_list("pk", flat=True))
    organizations = set()
    for first in range(0, len(ids), batch):
        rows = metrics_compute(ids[first : first + batch], now=now)
        _upsert(rows, FACTS)
        organizations.update(row.organization_id for row in rows)
        if progress:
            progress(min(first + batch, len(ids)), len(ids))
    for organization in sorted(organizations):
        metrics_rfm_refresh(organization_id=organization)
    return len(ids)
