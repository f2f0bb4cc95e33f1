"""The figures of the results page (/messaging/results/): what marketing messages achieved over a period at some
stores, counted by messaging.results (overall, per flow step, per campaign and variant), each message with its
status and conversion, personal coupons redeemed against issued by store, and the repeat-purchase rate and
average order of marketing subscribers against the other buyers. A fixed number of grouped queries.

A message belongs to the period by when it was made (queued); a sale by when it was completed. Days are the
stores' local days. A subscriber is a buyer whose marketing consent (the ledger's latest row, on texts or
emails) is granted now. Revenue is before taxes (subtotal less discounts), as in messaging.attribution."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum

from dispensary.models import Customer, Store
from messaging.models import (
    Campaign,
    Category,
    FlowStep,
    MessageConversion,
    MessageOrigin,
    MessageStatusEvent,
    OutboundMessage,
)
from messaging.results import Results, results_by, results_total
from messaging.segments import condition_q
from pos.models import CouponRedemption, Sale

ZERO = Decimal("0.00")
VARIANTS = ("a", "b", "")  # a campaign's test variants, and the rest (or a campaign without a test)


@dataclass(frozen=True)
class ResultsFilters:
    stores: tuple[Store, ...]
    start: dt.date  # local days, both included
    end: dt.date
    channel: str = ""
    store: Store | None = None


@dataclass
class Row:
    label: str
    results: Results


@dataclass
class CouponRow:
    store: Store
    issued: int = 0
    redeemed: int = 0

    @property
    def rate(self) -> float | None:
        return round(100.0 * self.redeemed / self.issued, 1) if self.issued else None


@dataclass
class BuyerGroup:
    label: str
    buyers: int = 0
    repeat_buyers: int = 0  # two orders or more in the period
    orders: int = 0
    revenue: Decimal = field(default_factory=lambda: ZERO)

    @property
    def repeat_rate(self) -> float | None:
        return round(100.0 * self.repeat_buyers / self.buyers, 1) if self.buyers else None

    @property
    def average_order(self) -> Decimal | None:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else None


@dataclass
class ResultsReport:
    filters: ResultsFilters
    total: Results
    flow_steps: list[Row]
    campaigns: list[Row]
    coupons: list[CouponRow]
    buyers: list[BuyerGroup]

    @property
    def empty(self) -> bool:
        return not self.total.recipients and not any(group.orders for group in self.buyers)


def period_bounds(filters: ResultsFilters) -> tuple[dt.datetime, dt.datetime]:
    """From the first local midnight of `start` to the last local midnight after `end` among the stores."""
    starts, ends = [], []
    for store in filters.stores:
        starts.append(dt.datetime.combine(filters.start, dt.time(0), tzinfo=store.tz))
        ends.append(dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time(0), tzinfo=store.tz))
    return min(starts), max(ends)


def results_messages(filters: ResultsFilters) -> QuerySet[OutboundMessage]:
    """The marketing messages made in the period at these stores (on the channel when one is chosen)."""
    start, end = period_bounds(filters)
    messages = OutboundMessage.objects.filter(
        organization_id=filters.stores[0].organization_id,
        store__in=[store.pk for store in filters.stores],
        category=Category.MARKETING,
        created_at__gte=start,
        created_at__lt=end,
    )
    if filters.channel:
        messages = messages.filter(channel=filters.channel)
    return messages


def _flow_step_rows(messages: QuerySet[OutboundMessage]) -> list[Row]:
    found = results_by(messages.filter(origin__flow_step__isnull=False), "origin__flow_step_id")
    steps = FlowStep.objects.select_related("flow").in_bulk(list(found))
    rows = []
    for step_id, results in found.items():
        step = steps.get(step_id)
        if step is None:
            continue
        name = step.name or f"{step.get_kind_display()} {step.position + 1}"
        rows.append(Row(f"{step.flow.name} · {name}", results))
    return sorted(rows, key=lambda row: (-row.results.revenue, row.label))


def _campaign_rows(messages: QuerySet[OutboundMessage]) -> list[Row]:
    """One row per campaign and variant: three grouped counts whatever the number of campaigns."""
    by_variant = {
        variant: results_by(
            messages.filter(origin__campaign__isnull=False, origin__variant=variant), "origin__campaign_id"
        )
        for variant in VARIANTS
    }
    ids = {campaign_id for found in by_variant.values() for campaign_id in found}
    names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = []
    for variant, found in by_variant.items():
        for campaign_id, results in found.items():
            label = names.get(campaign_id, f"Campaign {campaign_id}")
            rows.append(Row(f"{label} · {variant.upper()}" if variant else label, results))
    return sorted(rows, key=lambda row: (-row.results.revenue, row.label))


def _coupon_rows(filters: ResultsFilters, messages: QuerySet[OutboundMessage]) -> list[CouponRow]:
    """Personal coupons sent by the period's messages, by the message's store: issued and redeemed (by a sale
    not voided)."""
    redeemed = CouponRedemption.objects.filter(coupon_id=OuterRef("coupon_id"), reversed_at__isnull=True)
    counts = (
        MessageOrigin.objects.filter(message__in=messages.values("pk"), coupon__isnull=False)
        .annotate(used=Exists(redeemed))
        .values("message__store_id")
        .annotate(
            issued=Count("coupon_id", distinct=True),
            redeemed=Count("coupon_id", filter=Q(used=True), distinct=True),
        )
    )
    found = {row["message__store_id"]: row for row in counts}
    return [
        CouponRow(store, found[store.pk]["issued"], found[store.pk]["redeemed"])
        for store in filters.stores
        if store.pk in found
    ]


def subscribed_customers() -> QuerySet[Customer]:
    """Customers whose marketing consent is granted now on texts or emails (the consent ledger decides)."""
    return Customer.objects.filter(
        condition_q({"field": "consent_sms", "op": "is", "value": True})
        | condition_q({"field": "consent_email", "op": "is", "value": True})
    )


def _buyer_groups(filters: ResultsFilters) -> list[BuyerGroup]:
    start, end = period_bounds(filters)
    net = ExpressionWrapper(
        F("subtotal") - F("discount_total"), output_field=DecimalField(max_digits=12, decimal_places=2)
    )
    rows = (
        Sale.objects.filter(
            store__in=[store.pk for store in filters.stores],
            status=Sale.Status.COMPLETED,
            customer__isnull=False,
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .annotate(subscribed=Exists(subscribed_customers().filter(pk=OuterRef("customer_id"))))
        .values("customer_id", "subscribed")
        .annotate(orders=Count("id"), revenue=Sum(net))
        .order_by()
    )
    groups = {True: BuyerGroup("Marketing subscribers"), False: BuyerGroup("Not subscribed")}
    for row in rows:
        group = groups[bool(row["subscribed"])]
        group.buyers += 1
        group.repeat_buyers += row["orders"] >= 2
        group.orders += row["orders"]
        group.revenue += row["revenue"] or ZERO
    return [groups[True], groups[False]]


def results_report_get(filters: ResultsFilters) -> ResultsReport:
    messages = results_messages(filters)
    return ResultsReport(
        filters=filters,
        total=results_total(messages),
        flow_steps=_flow_step_rows(messages),
        campaigns=_campaign_rows(messages),
        coupons=_coupon_rows(filters, messages),
        buyers=_buyer_groups(filters),
    )


@dataclass
class MessageLine:
    message: OutboundMessage
    clicked: bool
    conversion: MessageConversion | None

    @property
    def origin_label(self) -> str:
        origin = getattr(self.message, "origin", None)
        if origin is None:
            return self.message.purpose
        if origin.campaign_id:
            return origin.campaign.name + (f" · {origin.variant.upper()}" if origin.variant else "")
        if origin.flow_step_id:
            step = origin.flow_step
            return f"{step.flow.name} · {step.name or step.get_kind_display()}"
        return self.message.purpose


def results_message_page(
    messages: QuerySet[OutboundMessage], *, offset: int, limit: int
) -> list[MessageLine]:
    """One page of the period's messages, newest first, each with whether it was clicked and its conversion
    (three queries)."""
    clicked = MessageStatusEvent.objects.filter(
        message_id=OuterRef("pk"), status=MessageStatusEvent.Engagement.CLICKED
    )
    page = list(
        messages.select_related("customer", "origin__campaign", "origin__flow_step__flow")
        .annotate(was_clicked=Exists(clicked))
        .order_by("-created_at", "-id")[offset : offset + limit]
    )
    conversions = {}
    for conversion in MessageConversion.objects.filter(message__in=[message.pk for message in page]).order_by(
        "occurred_at", "id"
    ):
        conversions.setdefault(conversion.message_id, conversion)
    return [MessageLine(message, message.was_clicked, conversions.get(message.pk)) for message in page]


def conversion_totals(messages: QuerySet[OutboundMessage]) -> dict[str, int]:
    """Conversions of the period's messages by kind (code or click), voided sales left out."""
    counts = defaultdict(int)
    for row in (
        MessageConversion.objects.filter(message__in=messages.values("pk"), reversed_at__isnull=True)
        .values("kind")
        .annotate(count=Count("id"))
    ):
        counts[row["kind"]] = row["count"]
    return dict(counts)
