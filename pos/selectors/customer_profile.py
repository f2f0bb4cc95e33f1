"""A customer's profile for the counter and the customer desk: what they are worth, how often they come, what
they like, what they bought last, their loyalty standing and marketing consent. Seven queries, however long
their history."""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Min, Prefetch, Q, Sum
from django.utils import timezone

from dispensary.consent import CHANNELS
from dispensary.models import Customer, MarketingConsent
from dispensary.selectors import marketing_consent_current
from inventory.models import Product, quantity_text
from pos.models import LoyaltyAccount, RefundLine, Sale, SaleLine
from pos.pricing import ZERO, money

RECENT_PURCHASES = 5
PREFERRED_CATEGORIES = 3
RECENT_VISIT_DAYS = 90
CONSENT_LABELS = dict(MarketingConsent.Channel.choices)


@dataclass(frozen=True)
class CategorySpend:
    category: str
    label: str
    amount: Decimal  # net of discounts and refunds, before taxes


@dataclass(frozen=True)
class RecentPurchase:
    sale_id: int
    receipt_number: str
    store_name: str
    completed_at: dt.datetime
    total: Decimal
    refunded_total: Decimal
    voided: bool
    items: tuple[str, ...]


@dataclass(frozen=True)
class ConsentChoice:
    channel: str
    label: str
    granted: bool | None  # None: never asked
    awaiting_confirmation: bool  # granted, waiting for the customer's YES by text
    disclosure_version: str
    recorded_at: dt.datetime | None
    recorded_by: str
    source: str


@dataclass(frozen=True)
class CustomerProfile:
    customer_id: int
    lifetime_value: Decimal  # completed sales, less refunds
    order_count: int
    average_order_value: Decimal
    first_visit: dt.datetime | None
    last_visit: dt.datetime | None
    visit_days: int  # distinct store-local days with a completed sale
    average_days_between_visits: Decimal | None
    visits_last_90_days: int
    preferred_categories: tuple[CategorySpend, ...]
    recent_purchases: tuple[RecentPurchase, ...]
    has_loyalty_account: bool
    loyalty_balance: int | None
    loyalty_tier: str
    consent: tuple[ConsentChoice, ...]


def _category_label(value: str) -> str:
    try:
        return Product.Category(value).label
    except ValueError:
        return value


def _item(line: SaleLine) -> str:
    if line.unit == "each":
        return f"{quantity_text(line.quantity)} x {line.product.name}"
    return f"{quantity_text(line.quantity)} {line.unit} {line.product.name}"


def _preferred(sales) -> tuple[CategorySpend, ...]:
    spend: dict[str, Decimal] = {}
    sold = (
        SaleLine.objects.filter(sale__in=sales)
        .values("product__category")
        .annotate(amount=Sum("net_amount"))
        .order_by()
    )
    for row in sold:
        spend[row["product__category"]] = spend.get(row["product__category"], ZERO) + (row["amount"] or ZERO)
    refunded = (
        RefundLine.objects.filter(sale_line__sale__in=sales)
        .values("sale_line__product__category")
        .annotate(amount=Sum("net_amount"))
        .order_by()
    )
    for row in refunded:
        category = row["sale_line__product__category"]
        spend[category] = spend.get(category, ZERO) - (row["amount"] or ZERO)
    ranked = sorted(
        ((amount, category) for category, amount in spend.items() if amount > ZERO),
        key=lambda r: (-r[0], r[1]),
    )
    return tuple(
        CategorySpend(category=category, label=_category_label(category), amount=money(amount))
        for amount, category in ranked[:PREFERRED_CATEGORIES]
    )


def consent_choices(current: dict[str, MarketingConsent | None]) -> tuple[ConsentChoice, ...]:
    choices = []
    for channel in CHANNELS:
        row = current.get(channel)
        choices.append(
            ConsentChoice(
                channel=channel,
                label=CONSENT_LABELS.get(channel, channel),
                granted=row.granted if row else None,
                awaiting_confirmation=bool(row and row.awaiting_confirmation),
                disclosure_version=row.disclosure_version if row else "",
                recorded_at=row.recorded_at if row else None,
                recorded_by=(row.staff.get_username() if row and row.staff else ""),
                source=row.source if row else "",
            )
        )
    return tuple(choices)


CONSENT_HISTORY_COLUMNS = (
    "recorded_at",
    "channel",
    "purpose",
    "state",
    "source",
    "details",
    "age_affirmed",
    "staff",
    "store",
    "register_label",
    "ip_address",
    "user_agent",
    "import_file",
    "import_row",
    "evidence",
    "disclosure_version",
    "disclosure_text",
)


@dataclass(frozen=True)
class ConsentHistoryRow:
    """One row of the consent ledger, as people read it and as it is exported."""

    recorded_at: dt.datetime
    channel: str
    channel_label: str
    purpose: str
    state: str  # granted, revoked, awaiting
    source: str
    details: str  # the source's details in words
    age_affirmed: bool
    staff: str
    store: str
    register_label: str
    ip_address: str
    user_agent: str
    import_file: str
    import_row: int | None
    evidence: str
    disclosure_version: str
    disclosure_text: str

    def as_record(self) -> dict:
        record = {column: getattr(self, column) for column in CONSENT_HISTORY_COLUMNS}
        record["recorded_at"] = self.recorded_at.isoformat()
        return record


def _consent_details(row: MarketingConsent, staff: str, store: str) -> str:
    parts = []
    if row.source == "counter":
        parts += [f"by {staff}" if staff else "", f"at {store}" if store else "", row.register_label]
    elif row.source == "web":
        parts += [f"from {row.ip_address}" if row.ip_address else "", row.user_agent]
    elif row.source == "import":
        parts += [row.import_file, f"row {row.import_row}" if row.import_row is not None else ""]
    elif staff:
        parts.append(f"by {staff}")
    parts.append(row.evidence)
    return " · ".join(part for part in parts if part)


def consent_history_get(customer: Customer) -> tuple[ConsentHistoryRow, ...]:
    """Every row of the customer's consent ledger, newest first. One query."""
    rows = (
        MarketingConsent.objects.filter(customer=customer)
        .select_related("staff", "store")
        .order_by("-recorded_at", "-id")
    )
    history = []
    for row in rows:
        staff = row.staff.get_username() if row.staff else ""
        store = row.store.name if row.store else ""
        state = "awaiting" if row.awaiting_confirmation else ("granted" if row.granted else "revoked")
        history.append(
            ConsentHistoryRow(
                recorded_at=row.recorded_at,
                channel=row.channel,
                channel_label=CONSENT_LABELS.get(row.channel, row.channel),
                purpose=row.purpose,
                state=state,
                source=row.source,
                details=_consent_details(row, staff, store),
                age_affirmed=row.age_affirmed,
                staff=staff,
                store=store,
                register_label=row.register_label,
                ip_address=row.ip_address or "",
                user_agent=row.user_agent,
                import_file=row.import_file,
                import_row=row.import_row,
                evidence=row.evidence,
                disclosure_version=row.disclosure_version,
                disclosure_text=row.disclosure_text,
            )
        )
    return tuple(history)


def customer_profile_get(
    customer: Customer, stores=None, *, now: dt.datetime | None = None
) -> CustomerProfile:
    """The customer's profile from their sales at `stores` (every store of the organization when None).
    Voided sales count for nothing but are listed among the recent purchases, marked."""
    now = now or timezone.now()
    sales = Sale.objects.filter(customer=customer)
    if stores is not None:
        sales = sales.filter(store__in=stores)
    completed = sales.filter(status=Sale.Status.COMPLETED)
    totals = completed.aggregate(
        order_count=Count("id"),
        gross=Sum("total"),
        refunded=Sum("refunded_total"),
        first_visit=Min("completed_at"),
        last_visit=Max("completed_at"),
        first_day=Min("local_date"),
        last_day=Max("local_date"),
        visit_days=Count("local_date", distinct=True),
        recent_days=Count(
            "local_date",
            distinct=True,
            filter=Q(completed_at__gte=now - dt.timedelta(days=RECENT_VISIT_DAYS)),
        ),
    )
    order_count = totals["order_count"]
    lifetime_value = (totals["gross"] or ZERO) - (totals["refunded"] or ZERO)
    average_gap = None
    if totals["visit_days"] > 1:
        span = (totals["last_day"] - totals["first_day"]).days
        average_gap = (Decimal(span) / (totals["visit_days"] - 1)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    recent = (
        sales.select_related("store")
        .prefetch_related(
            Prefetch("lines", queryset=SaleLine.objects.select_related("product").order_by("id"))
        )
        .order_by("-completed_at", "-id")[:RECENT_PURCHASES]
    )
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    return CustomerProfile(
        customer_id=customer.pk,
        lifetime_value=money(lifetime_value),
        order_count=order_count,
        average_order_value=money(lifetime_value / order_count) if order_count else ZERO,
        first_visit=totals["first_visit"],
        last_visit=totals["last_visit"],
        visit_days=totals["visit_days"],
        average_days_between_visits=average_gap,
        visits_last_90_days=totals["recent_days"],
        preferred_categories=_preferred(completed),
        recent_purchases=tuple(
            RecentPurchase(
                sale_id=sale.pk,
                receipt_number=sale.receipt_number,
                store_name=sale.store.name,
                completed_at=sale.completed_at,
                total=sale.total,
                refunded_total=sale.refunded_total,
                voided=sale.status == Sale.Status.VOIDED,
                items=tuple(_item(line) for line in sale.lines.all()),
            )
            for sale in recent
        ),
        has_loyalty_account=account is not None,
        loyalty_balance=account.balance if account else None,
        loyalty_tier=account.tier.name if account and account.tier else "",
        consent=consent_choices(marketing_consent_current(customer)),
    )
