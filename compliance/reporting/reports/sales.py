"""Daily sales for a period: per product category and customer type (adult use, medical), the number of sales,
units, gross, discounts, net sales and each tax by its name. Voided sales are left out; refunds are taken off
the sale they refund (what is left of each line, in the shares the refund service uses), so a fully refunded
line adds nothing. Five queries however many sales the period holds."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum

from compliance.reporting.reports.document import Document, Table
from dispensary.models import Store
from inventory.models import Product, quantity_text
from pos.models import CustomerType, Sale, SaleLine, SaleLineTax
from pos.pricing import money

ZERO = Decimal("0")
CENT = Decimal("0.01")
MILLI = Decimal("0.001")
CATEGORY_LABELS = dict(Product.Category.choices)
TYPE_LABELS = dict(CustomerType.choices)
TOTAL = "Total"


def _decimal(value) -> Decimal:
    return Decimal(str(value or 0))


def kept_share(amount, remaining, quantity) -> Decimal:
    """What is left of a line's amount after refunds: the refund service takes `share(before) - share(after)`,
    so what it has not refunded is the share of the remaining quantity."""
    amount, remaining, quantity = _decimal(amount), _decimal(remaining), _decimal(quantity)
    if remaining == quantity:
        return amount
    return money(amount * remaining / quantity)


@dataclass
class SalesRow:
    category: str  # Product.Category value, or TOTAL
    customer_type: str  # CustomerType value, or TOTAL
    sale_count: int = 0
    units: Decimal = ZERO
    gross: Decimal = ZERO
    discounts: Decimal = ZERO
    net: Decimal = ZERO
    taxes: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def sales(self) -> int:
        return self.sale_count

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def customer_type_label(self) -> str:
        return TYPE_LABELS.get(self.customer_type, self.customer_type)


@dataclass
class DailySales:
    store: Store
    start: dt.date
    end: dt.date
    rows: list[SalesRow]  # by category then customer type
    totals: SalesRow
    tax_names: list[str]


def _money_sum(value) -> Decimal:
    # PostgreSQL sums decimals exactly; SQLite as floats, within far less than a cent of the exact sum.
    return _decimal(value).quantize(CENT)


def _units_sum(value) -> Decimal:
    return _decimal(value).quantize(MILLI)


def daily_sales(*, store: Store, start: dt.date, end: dt.date) -> DailySales:
    """The store's completed sales whose local date is in [start, end], net of their refunds. Five queries,
    however many sales: lines without refunds are summed in the database by category and customer type (a
    busy year holds hundreds of thousands), and only the refunded ones, a few, are read one by one to take off
    what their refunds took, in the shares the refund service used."""
    sales = {
        "store": store,
        "local_date__gte": start,
        "local_date__lte": end,
        "status": Sale.Status.COMPLETED,
    }
    lines = SaleLine.objects.filter(**{f"sale__{key}": value for key, value in sales.items()})
    taxes = SaleLineTax.objects.filter(**{f"line__sale__{key}": value for key, value in sales.items()})
    rows: dict[tuple[str, str], SalesRow] = {}
    totals = SalesRow(TOTAL, TOTAL)

    def targets(category: str, customer_type: str) -> tuple[SalesRow, SalesRow]:
        key = (category, customer_type)
        if key not in rows:
            rows[key] = SalesRow(category, customer_type)
        return rows[key], totals

    whole = Q(refunded_quantity=0)
    groups = (
        lines.order_by()
        .values("product__category", "sale__customer_type")
        .annotate(
            sale_count=Count("sale_id", distinct=True),
            units=Sum("quantity", filter=whole),
            gross=Sum("list_amount", filter=whole),
            discounts=Sum("discount_amount", filter=whole),
            net=Sum("net_amount", filter=whole),
            total=Sum("total", filter=whole),
        )
    )
    for group in groups:
        row, _ = targets(group["product__category"], group["sale__customer_type"])
        row.sale_count = group["sale_count"]
        for target in (row, totals):
            target.units += _units_sum(group["units"])
            target.gross += _money_sum(group["gross"])
            target.discounts += _money_sum(group["discounts"])
            target.net += _money_sum(group["net"])
            target.total += _money_sum(group["total"])
    if rows:
        # The period's sales with a line, read from the sales (through their store and day index).
        totals.sale_count = (
            Sale.objects.filter(**sales).filter(Exists(SaleLine.objects.filter(sale=OuterRef("pk")))).count()
        )
    refunded = lines.filter(refunded_quantity__gt=0).values_list(
        "sale__customer_type",
        "product__category",
        "quantity",
        "refunded_quantity",
        "list_amount",
        "discount_amount",
        "net_amount",
        "total",
    )
    for customer_type, category, quantity, refunded_quantity, listed, discount, net, total in refunded:
        remaining = _decimal(quantity) - _decimal(refunded_quantity)
        for row in targets(category, customer_type):
            row.units += remaining
            row.gross += kept_share(listed, remaining, quantity)
            row.discounts += kept_share(discount, remaining, quantity)
            row.net += kept_share(net, remaining, quantity)
            kept = kept_share(total, remaining, quantity)
            row.total += kept
            row.refunded += _decimal(total) - kept
    tax_names: set[str] = set()
    whole_taxes = (
        taxes.filter(line__refunded_quantity=0)
        .order_by()
        .values("line__sale__customer_type", "line__product__category", "name")
        .annotate(amount=Sum("amount"))
    )
    for group in whole_taxes:
        name = group["name"]
        tax_names.add(name)
        for row in targets(group["line__product__category"], group["line__sale__customer_type"]):
            row.taxes[name] = row.taxes.get(name, ZERO) + _money_sum(group["amount"])
    refunded_taxes = taxes.filter(line__refunded_quantity__gt=0).values_list(
        "line__sale__customer_type",
        "line__product__category",
        "name",
        "amount",
        "line__quantity",
        "line__refunded_quantity",
    )
    for customer_type, category, name, amount, quantity, refunded_quantity in refunded_taxes:
        tax_names.add(name)
        kept = kept_share(amount, _decimal(quantity) - _decimal(refunded_quantity), quantity)
        for row in targets(category, customer_type):
            row.taxes[name] = row.taxes.get(name, ZERO) + kept
    ordered = [
        rows[key] for key in sorted(rows, key=lambda key: (CATEGORY_LABELS.get(key[0], key[0]), key[1]))
    ]
    return DailySales(store, start, end, ordered, totals, sorted(tax_names))


def daily_sales_document(report: DailySales) -> Document:
    columns = ["Category", "Customer type", "Sales", "Units", "Gross", "Discounts", "Net sales"]
    columns += report.tax_names + ["Total collected", "Refunded"]
    table = Table(
        "Sales by category and customer type",
        columns,
        numeric=frozenset(range(2, len(columns))),
        empty_text="No completed sales in this period.",
    )
    for row in [*report.rows, *([report.totals] if report.rows else [])]:
        table.add(
            [
                row.category_label,
                row.customer_type_label if row.customer_type != TOTAL else "",
                row.sales,
                quantity_text(row.units),
                row.gross,
                row.discounts,
                row.net,
                *(row.taxes.get(name, ZERO) for name in report.tax_names),
                row.total,
                row.refunded,
            ]
        )
    table.note = (
        "Voided sales are left out; refunds are taken off the sales they refund. Units mix the products' units "
        "(grams, each) in the total row."
    )
    totals = report.totals
    return Document(
        "Daily sales",
        facts=[
            (
                "Store",
                f"{report.store.name} ({report.store.license_adult_use or report.store.license_medical})",
            ),
            ("Period", f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} ({report.store.time_zone})"),
            ("Sales", str(totals.sales)),
            ("Net sales", str(totals.net)),
            ("Taxes", str(sum(totals.taxes.values(), ZERO))),
        ],
        tables=[table],
    )


# --- A customer's purchase history ----------------------------------------------------------------------------


def purchase_history_table(customer) -> Table:
    """Every sale of the customer at any store of the organization, newest first, one row per line: date,
    store, receipt, product, package tag, quantity, line total, with voided and refunded lines marked. Three
    queries however many sales."""
    table = Table(
        "Sales",
        [
            "Date",
            "Store",
            "Receipt",
            "Customer type",
            "Product",
            "Package",
            "Quantity",
            "Line total",
            "Status",
        ],
        numeric=frozenset({6, 7}),
        empty_text="No purchases recorded.",
    )
    sales = (
        Sale.objects.filter(customer=customer)
        .select_related("store")
        .prefetch_related("lines__product", "lines__package")
        .order_by("-completed_at", "-id")
    )
    for sale in sales:
        voided = sale.status == Sale.Status.VOIDED
        for line in sale.lines.all():
            flags, status = [], "completed"
            if voided:
                flags, status = ["Voided"], "voided"
            elif line.refunded_quantity:
                status = f"refunded {quantity_text(line.refunded_quantity)}"
                flags = ["Refunded" if line.refunded_quantity == line.quantity else "Partly refunded"]
            table.add(
                [
                    f"{sale.local_date:%Y-%m-%d}",
                    sale.store.name,
                    sale.receipt_number,
                    TYPE_LABELS.get(sale.customer_type, sale.customer_type),
                    line.product.name,
                    line.package.tag,
                    f"{quantity_text(line.quantity)} {line.unit}",
                    line.total,
                    status,
                ],
                flags,
            )
    return table


def purchase_history_document(customer) -> Document:
    table = purchase_history_table(customer)
    return Document(
        f"Purchase history: {customer.first_name} {customer.last_name}",
        facts=[("Customer", f"{customer.first_name} {customer.last_name}"), ("Lines", str(len(table.rows)))],
        tables=[table],
    )
