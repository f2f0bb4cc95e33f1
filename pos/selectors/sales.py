"""Reads of the point of sale: taxes in force for pricing, sales lists, a customer's purchase history (also as
the limit engine's input), and who bought a package (for recalls)."""

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from compliance.models import TaxRate
from compliance.rules import CartLine, Purchase
from compliance.selectors import RULES
from dispensary.inputs import id_parse
from dispensary.models import Customer, Store
from inventory.recall_parties import Party
from pos.models import Refund, Sale, SaleLine, SaleLineTax, Tender
from pos.pricing import TaxSpec


def tax_specs_in_force(*, jurisdiction: str, on: dt.date) -> tuple[TaxSpec, ...]:
    """The jurisdiction's tax rates in force on `on`, read once per process until a rule row changes."""
    return RULES.get(("taxes", jurisdiction, on), lambda: _tax_specs_load(jurisdiction, on))


def _tax_specs_load(jurisdiction: str, on: dt.date) -> tuple[TaxSpec, ...]:
    rows = TaxRate.objects.filter(
        Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gte=on)),
        jurisdiction__code=jurisdiction,
    ).order_by("level", "id")
    return tuple(
        TaxSpec(
            id=row.pk,
            name=row.name,
            level=row.level,
            customer_type=row.customer_type,
            rate=row.rate,
            base=row.base,
            included_in_price=row.included_in_price,
            products=row.products,
            categories=tuple(row.categories or ()),
        )
        for row in rows
    )


def _with_details(queryset: QuerySet[Sale]) -> QuerySet[Sale]:
    return queryset.select_related("store", "register", "customer", "staff").prefetch_related(
        Prefetch(
            "lines",
            queryset=SaleLine.objects.select_related("package", "product").prefetch_related(
                Prefetch("taxes", queryset=SaleLineTax.objects.order_by("id"))
            ),
        ),
        Prefetch("tenders", queryset=Tender.objects.order_by("id")),
        Prefetch("refunds", queryset=Refund.objects.order_by("id")),
    )


def sale_list(
    *,
    stores: Iterable[Store] | QuerySet[Store],
    filters: dict | None = None,
) -> QuerySet[Sale]:
    """Sales at `stores` (the caller's reach), newest first. filters: store (id), customer (id), status,
    date_from / date_to (store-local dates, inclusive)."""
    filters = filters or {}
    queryset = Sale.objects.filter(store__in=stores)
    if filters.get("store") is not None:
        queryset = queryset.filter(store_id=filters["store"])
    if filters.get("customer") is not None:
        queryset = queryset.filter(customer_id=filters["customer"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("date_from"):
        queryset = queryset.filter(local_date__gte=filters["date_from"])
    if filters.get("date_to"):
        queryset = queryset.filter(local_date__lte=filters["date_to"])
    return _with_details(queryset).order_by("-completed_at", "-id")


def sale_get(*, stores, sale_id: int) -> Sale | None:
    return _with_details(Sale.objects.filter(store__in=stores, pk=sale_id)).first()


def customer_purchase_list(*, customer: Customer, stores=None) -> QuerySet[Sale]:
    """The customer's sales (completed and voided), newest first; limited to `stores` when given."""
    queryset = Sale.objects.filter(customer=customer)
    if stores is not None:
        queryset = queryset.filter(store__in=stores)
    return _with_details(queryset).order_by("-completed_at", "-id")


def _limit_history_sql() -> str:
    # Plain SQL because the register asks for this on every scan: building and compiling the ORM query and
    # converting its rows cost several times what the database spends answering it.
    sale, line = Sale._meta.db_table, SaleLine._meta.db_table
    return f"""
        SELECT l.sale_id, s.completed_at, s.customer_type, l.quantity, l.refunded_quantity, l.limit_amounts
        FROM {line} l
        JOIN {sale} s ON s.id = l.sale_id
        WHERE s.customer_id = %s AND s.status = %s AND s.completed_at >= %s
        ORDER BY s.completed_at, l.sale_id, l.id
    """  # noqa: S608 - table names come from the models, values are parameters


def _decimal(value) -> Decimal:
    # PostgreSQL hands back Decimal; SQLite a number (the ORM's converter would quantize it to 3 places).
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _aware(value) -> dt.datetime:
    # PostgreSQL hands back an aware datetime; SQLite the stored UTC time without its zone.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def customer_limit_history(*, customer: Customer, since: dt.datetime) -> list[Purchase]:
    """The customer's completed purchases since `since` (oldest sale first), as the limit engine's input:
    what each line counted for, less what was refunded; a sale refunded in full is a purchase without lines.
    Voided sales do not count. One query, on the (customer, completed_at) index."""
    with connection.cursor() as cursor:
        cursor.execute(
            _limit_history_sql(),
            [customer.pk, Sale.Status.COMPLETED.value, connection.ops.adapt_datetimefield_value(since)],
        )
        rows = cursor.fetchall()
    purchases: list[Purchase] = []
    sale_id, at, customer_type, lines = None, None, None, []
    for row_sale_id, row_at, row_customer_type, quantity, refunded, limit_amounts in rows:
        if row_sale_id != sale_id:
            if sale_id is not None:
                purchases.append(Purchase(at=_aware(at), lines=tuple(lines), customer_type=customer_type))
            sale_id, at, customer_type, lines = row_sale_id, row_at, row_customer_type, []
        quantity, refunded = _decimal(quantity), _decimal(refunded)
        if refunded >= quantity:
            continue
        if isinstance(limit_amounts, str):
            limit_amounts = json.loads(limit_amounts)
        if refunded:
            # Multiplied before dividing: 2 of 3 gummies refunded leave 100 mg, not 99.999...
            remaining = quantity - refunded
            amounts = {
                bucket: Decimal(amount) * remaining / quantity for bucket, amount in limit_amounts.items()
            }
        else:
            amounts = {bucket: Decimal(amount) for bucket, amount in limit_amounts.items()}
        lines.append(CartLine(amounts=amounts))
    if sale_id is not None:
        purchases.append(Purchase(at=_aware(at), lines=tuple(lines), customer_type=customer_type))
    return purchases


def sale_parties(reference_ids: Iterable[str]) -> dict[str, Party]:
    """The recall resolver for stock movements referencing a sale: its customer, in one query."""
    ids = [number for value in reference_ids if (number := id_parse(value))]
    sales = (
        Sale.objects.filter(pk__in=ids)
        .select_related("customer")
        .only("pk", "customer__id", "customer__first_name", "customer__last_name", "customer__phone")
    )
    result = {}
    for sale in sales:
        customer = sale.customer
        result[str(sale.pk)] = Party(
            customer_id=customer.pk if customer else None,
            customer_name=f"{customer.first_name} {customer.last_name}".strip() if customer else "Anonymous",
            customer_phone=customer.phone if customer else "",
        )
    return result
