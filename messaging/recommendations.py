"""Products to suggest in a message: bought together with what the customer buys, and from the categories
they favour; only what is in stock at the customer's store and lawful to promote in its state.

`products_recommended(customer, store, limit)` is what flows and campaigns call; `recommendations_text` and
`recommendations_html` render the {{recommendations}} variable for a text and an email.

How it chooses, in at most five queries whatever the history (two of them once per store and day, cached):
- bought together: how many of the store's completed sales of the last CO_PURCHASE_DAYS held both products,
  counted in the database and kept per store and local day (STORE_STATS_SECONDS), best CO_PURCHASE_KEEP
  partners per product; a candidate scores by its partners among what the customer bought in that window;
- affinity: the customer's share of spend per category over the same window;
- the score mixes both (TOGETHER_WEIGHT, AFFINITY_WEIGHT), ties go to the store's best sellers, then the name;
- never what the customer bought in the last EXCLUDE_BOUGHT_DAYS, nor a product without sellable stock at the
  store (active package on the sales floor, more on hand than allocated, not on hold, recalled, failed or
  expired), nor an inactive product, nor a category the store's state does not let messages promote
  (messaging.PromotionRule, dated rows counsel keeps)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from dispensary.clock import store_local_date
from dispensary.models import Customer, Store

CO_PURCHASE_DAYS = 180
EXCLUDE_BOUGHT_DAYS = 30
CO_PURCHASE_KEEP = 20
POPULAR_KEEP = 50
STORE_STATS_SECONDS = 26 * 3600
TOGETHER_WEIGHT = Decimal("0.6")
AFFINITY_WEIGHT = Decimal("0.4")

# How a category reads in "you like ...".
CATEGORY_WORDS = {
    "flower": "flower",
    "pre_roll": "pre-rolls",
    "vape": "vapes",
    "concentrate": "concentrates",
    "edible": "edibles",
    "tincture": "tinctures",
    "topical": "topicals",
    "beverage": "drinks",
    "accessory": "accessories",
    "seeds_clones": "seeds and clones",
}


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    name: str
    category: str
    brand: str
    price: Decimal | None
    reason: str  # "often bought with Blue Dream 3.5g", "you like edibles", "popular at Green Leaf"


def _store_stats(store: Store, *, day: dt.date, now: dt.datetime) -> dict:
    """{"pairs": {product: ((partner, sales), ...)}, "popular": {product: sales}} over the store's window."""
    key = f"messaging:recommendations:{store.pk}:{day.isoformat()}"
    stats = cache.get(key)
    if stats is not None:
        return stats
    from pos.models import Sale, SaleLine

    window = {
        "sale__store_id": store.pk,
        "sale__status": Sale.Status.COMPLETED,
        "sale__completed_at__gte": now - dt.timedelta(days=CO_PURCHASE_DAYS),
    }
    # Each pair of products in one sale, counted once per sale (the same product on two lines counts once).
    rows = (
        SaleLine.objects.filter(**window)
        .values("product_id", partner=F("sale__lines__product_id"))
        .annotate(sales=Count("sale_id", distinct=True))
        .order_by()
    )
    partners: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        if row["product_id"] != row["partner"]:
            partners[row["product_id"]].append((row["partner"], row["sales"]))
    pairs = {
        product: tuple(sorted(found, key=lambda item: (-item[1], item[0]))[:CO_PURCHASE_KEEP])
        for product, found in partners.items()
    }
    sold = (
        SaleLine.objects.filter(**window)
        .values("product_id")
        .annotate(sales=Count("sale_id", distinct=True))
        .order_by("-sales", "product_id")[:POPULAR_KEEP]
    )
    stats = {"pairs": pairs, "popular": {row["product_id"]: row["sales"] for row in sold}}
    cache.set(key, stats, STORE_STATS_SECONDS)
    return stats


def promotion_forbidden_categories(*, jurisdiction: str, day: dt.date) -> tuple[bool, set[str]]:
    """(every category forbidden, the categories forbidden) in `jurisdiction` on `day`: the latest row in force
    per category decides, a category's own row over the every-category row. One query."""
    from messaging.models import PromotionRule

    rows = (
        PromotionRule.objects.filter(jurisdiction=jurisdiction, effective_from__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .order_by("category", "-effective_from", "-id")
    )
    latest: dict[str, bool] = {}
    for row in rows:
        latest.setdefault(row.category, row.allowed)
    every_forbidden = latest.pop("", True) is False
    return every_forbidden, {category for category, allowed in latest.items() if not allowed}


def _sellable_products(store: Store, organization_id: int, *, day: dt.date):
    from inventory.models import Package, Product, Recall

    recalled = Recall.packages.through.objects.filter(package_id=OuterRef("pk"))
    stock = (
        Package.objects.filter(
            product_id=OuterRef("pk"),
            store_id=store.pk,
            status=Package.Status.ACTIVE,
            location=Package.Location.SALES_FLOOR,
            quantity_on_hand__gt=F("quantity_allocated"),
        )
        .exclude(lab_status=Package.LabStatus.FAILED)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=day))
        .filter(~Exists(recalled))
    )
    return Product.objects.filter(organization_id=organization_id, is_active=True).filter(Exists(stock))


def products_recommended(
    customer: Customer, store: Store, *, limit: int = 3, include_bought: bool = False
) -> list[Recommendation]:
    """Up to `limit` products for the customer at `store`, best first, each with its reason in plain words.
    What they bought in the last days is left out, unless `include_bought` (a reorder reminder suggests it)."""
    from pos.models import Sale, SaleLine

    if limit <= 0:
        return []
    now = timezone.now()
    day = store_local_date(store)
    since = now - dt.timedelta(days=CO_PURCHASE_DAYS)
    recent_since = now - dt.timedelta(days=EXCLUDE_BOUGHT_DAYS)
    bought = (
        SaleLine.objects.filter(
            sale__customer_id=customer.pk,
            sale__status=Sale.Status.COMPLETED,
            sale__completed_at__gte=since,
        )
        .values("product_id", "product__name", "product__category")
        .annotate(spend=Sum("net_amount"), last=Count("id", filter=Q(sale__completed_at__gte=recent_since)))
        .order_by()
    )
    seeds: dict[int, str] = {}
    recent: set[int] = set()
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for row in bought:
        seeds[row["product_id"]] = row["product__name"]
        spend[row["product__category"]] += row["spend"] or Decimal(0)
        if row["last"]:
            recent.add(row["product_id"])
    total_spend = sum((amount for amount in spend.values() if amount > 0), Decimal(0))
    affinity = {
        category: amount / total_spend for category, amount in spend.items() if amount > 0 and total_spend
    }

    stats = _store_stats(store, day=day, now=now)
    together: dict[int, int] = defaultdict(int)
    because: dict[int, tuple[int, str]] = {}  # candidate -> (sales, the seed it was bought with most)
    for seed, name in sorted(seeds.items()):
        for partner, sales in stats["pairs"].get(seed, ()):
            together[partner] += sales
            if partner not in because or sales > because[partner][0]:
                because[partner] = (sales, name)

    every_forbidden, forbidden = promotion_forbidden_categories(jurisdiction=store.jurisdiction, day=day)
    if every_forbidden:
        return []
    wanted = Q(pk__in=list(together)) | Q(category__in=list(affinity))
    if not together and not affinity:
        wanted = Q(pk__in=list(stats["popular"]))
    products = (
        _sellable_products(store, customer.organization_id, day=day)
        .filter(wanted)
        .exclude(pk__in=set() if include_bought else recent)
        .exclude(category__in=forbidden)
        .only("pk", "name", "category", "brand", "price")
    )
    top_together = max(together.values(), default=0)
    scored = []
    for product in products:
        together_score = Decimal(together.get(product.pk, 0)) / top_together if top_together else Decimal(0)
        score = TOGETHER_WEIGHT * together_score + AFFINITY_WEIGHT * affinity.get(
            product.category, Decimal(0)
        )
        scored.append((-score, -stats["popular"].get(product.pk, 0), product.name, product.pk, product))
    scored.sort(key=lambda item: item[:4])
    chosen = []
    for _, _, _, _, product in scored[:limit]:
        if product.pk in because:
            reason = f"often bought with {because[product.pk][1]}"
        elif product.category in affinity:
            reason = f"you like {CATEGORY_WORDS.get(product.category, product.category)}"
        else:
            reason = f"popular at {store.name}"
        chosen.append(
            Recommendation(product.pk, product.name, product.category, product.brand, product.price, reason)
        )
    return chosen


def recommendations_text(recs: list[Recommendation]) -> str:
    """One short line for a text: "Blue Dream 3.5g, Mango Gummies"."""
    return ", ".join(rec.name for rec in recs)


def recommendations_html(recs: list[Recommendation]) -> str:
    """A short list for an email: each product with its price and why it is suggested."""
    if not recs:
        return ""
    items = format_html_join(
        "",
        '<li><strong>{}</strong>{} <span style="color:#555">({})</span></li>',
        ((rec.name, f" · ${rec.price:,.2f}" if rec.price is not None else "", rec.reason) for rec in recs),
    )
    return format_html('<ul class="recommendations">{}</ul>', items)
