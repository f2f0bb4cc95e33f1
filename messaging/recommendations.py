"""Products to suggest in a message: bought together with what the customer buys, and from the categories
they favour; only what is in stock at the customer's store and lawful to promote in its state.

`products_recommended(customer, store, limit)` is what flows and campaigns call ({{recommendations}})."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from dispensary.models import Customer, Store


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    name: str
    category: str
    brand: str
    price: Decimal | None
    reason: str  # "bought together with ...", "from your favourite category ...", "popular at the store"


def products_recommended(customer: Customer, store: Store, *, limit: int = 3) -> list[Recommendation]:
    """The store's best sellers of the last 90 days in the customer's most bought category, in stock."""
    from inventory.models import Package, Product
    from pos.models import SaleLine

    favourite = (
        SaleLine.objects.filter(sale__customer=customer, sale__status="completed")
        .values("product__category")
        .annotate(count=Count("id"))
        .order_by("-count")
        .values_list("product__category", flat=True)
        .first()
    )
    in_stock = Package.objects.filter(store=store, quantity_on_hand__gt=0).values("product_id")
    products = Product.objects.filter(pk__in=in_stock, organization_id=customer.organization_id)
    if favourite:
        products = products.filter(category=favourite)
    chosen = {product.pk: product for product in products}
    sold = (
        SaleLine.objects.filter(sale__store=store, product_id__in=list(chosen))
        .values("product_id")
        .annotate(quantity=Sum("quantity"))
        .order_by("-quantity", "product_id")
    )
    ranked = [row["product_id"] for row in sold]
    ranked += sorted((pk for pk in chosen if pk not in set(ranked)), key=lambda pk: chosen[pk].name)
    reason = f"from your favourite category, {favourite}" if favourite else f"popular at {store.name}"
    return [
        Recommendation(pk, chosen[pk].name, chosen[pk].category, chosen[pk].brand, chosen[pk].price, reason)
        for pk in ranked[:limit]
    ]
