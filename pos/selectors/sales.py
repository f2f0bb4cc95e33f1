"""Reads of the point of sale: taxes in force for pricing, sales lists, a customer's purchase history (also as
the limit engine's input), and who bought a package (for recalls)."""

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from compliance.models import PatientRegistration, Recommendation, TaxRate
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


def _limit_history_sql(*, recommendation: bool) -> str:
    # Plain SQL because the register asks for this on every scan: building and compiling the ORM query and
    # converting its rows cost several times what the database spends answering it. Rows are (kind, sale,
    # completed at, customer type, quantity, refunded quantity, limit amounts, position): the history's lines
    # are of kind 0 in the order of their sales' completion, each sale's time on its first line only
    # (converting a time costs more than anything else in a row). With `recommendation`, a last row of kind 1
    # holds the limit amounts of the patient's physician's recommendation in force on the day asked for (the
    # latest-expiring one), if any; the history's arm comes first so that the NULLs of the second take its
    # column types (PostgreSQL).
    sale, line = Sale._meta.db_table, SaleLine._meta.db_table
    query = f"""
        SELECT 0, l.sale_id,
            CASE WHEN LAG(l.sale_id) OVER history = l.sale_id THEN NULL ELSE s.completed_at END,
            s.customer_type, l.quantity, l.refunded_quantity, l.limit_amounts, ROW_NUMBER() OVER history
        FROM {line} l
        JOIN {sale} s ON s.id = l.sale_id
        WHERE s.customer_id = %s AND s.status = %s AND s.completed_at >= %s
        WINDOW history AS (ORDER BY s.completed_at, l.sale_id, l.id)
    """  # noqa: S608 - table names come from the models, values are parameters
    if not recommendation:
        return query + " ORDER BY s.completed_at, l.sale_id, l.id"  # the window's order: sorted once
    recommendations, registrations = Recommendation._meta.db_table, PatientRegistration._meta.db_table
    query += f"""
        UNION ALL
        SELECT 1, NULL, NULL, NULL, NULL, NULL, current.allowed_amounts, NULL
        FROM (
            SELECT r.allowed_amounts
            FROM {recommendations} r
            JOIN {registrations} p ON p.id = r.registration_id
            WHERE p.customer_id = %s AND r.issued_on <= %s AND r.expires_on >= %s
            ORDER BY r.expires_on DESC, r.id DESC
            LIMIT 1
        ) current
        """  # noqa: S608 - as above
    return query + " ORDER BY 1, 8"


def _decimal(value) -> Decimal:
    # PostgreSQL hands back Decimal; SQLite a number (the ORM's converter would quantize it to 3 places).
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _aware(value) -> dt.datetime:
    # PostgreSQL hands back an aware datetime; SQLite the stored UTC time without its zone.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _json(value):
    # The JSON columns come back as text (as the ORM's JSONField reads them), or parsed by some drivers.
    return json.loads(value) if isinstance(value, str) else value


# A line's limit amounts as stored (JSON text) to their Decimals: the same few texts come back on every scan
# (one per product and quantity), so each is parsed once per process. The dicts are shared: read only.
_PARSED_AMOUNTS: dict[str, dict[str, Decimal]] = {}


def _amounts(stored) -> dict[str, Decimal]:
    if isinstance(stored, str):
        parsed = _PARSED_AMOUNTS.get(stored)
        if parsed is None:
            if len(_PARSED_AMOUNTS) > 10_000:
                _PARSED_AMOUNTS.clear()
            parsed = _PARSED_AMOUNTS[stored] = {
                bucket: Decimal(amount) for bucket, amount in json.loads(stored).items()
            }
        return parsed
    return {bucket: Decimal(amount) for bucket, amount in stored.items()}


def _purchases(rows) -> list[Purchase]:
    """The history's rows (see `_limit_history_sql`) as the limit engine's purchases."""
    purchases: list[Purchase] = []
    sale_id, at, customer_type, lines = None, None, None, []
    for _, row_sale_id, row_at, row_customer_type, quantity, refunded, limit_amounts, _ in rows:
        if row_sale_id != sale_id:
            if sale_id is not None:
                purchases.append(Purchase(at=_aware(at), lines=tuple(lines), customer_type=customer_type))
            sale_id, at, customer_type, lines = row_sale_id, row_at, row_customer_type, []
        quantity, refunded = _decimal(quantity), _decimal(refunded)
        if refunded >= quantity:
            continue
        amounts = _amounts(limit_amounts)
        if refunded:
            # Multiplied before dividing: 2 of 3 gummies refunded leave 100 mg, not 99.999...
            remaining = quantity - refunded
            amounts = {bucket: amount * remaining / quantity for bucket, amount in amounts.items()}
        lines.append(CartLine(amounts=amounts))
    if sale_id is not None:
        purchases.append(Purchase(at=_aware(at), lines=tuple(lines), customer_type=customer_type))
    return purchases


def customer_limit_history(*, customer: Customer, since: dt.datetime) -> list[Purchase]:
    """The customer's completed purchases since `since` (oldest sale first), as the limit engine's input:
    what each line counted for, less what was refunded; a sale refunded in full is a purchase without lines.
    Voided sales do not count. One query, on the (customer, completed_at) index."""
    with connection.cursor() as cursor:
        cursor.execute(
            _limit_history_sql(recommendation=False),
            [customer.pk, Sale.Status.COMPLETED.value, connection.ops.adapt_datetimefield_value(since)],
        )
        rows = cursor.fetchall()
    return _purchases(rows)


@dataclass(frozen=True)
class PatientLimitHistory:
    purchases: list[Purchase]
    recommendation: dict[str, Decimal]  # the current recommendation's amounts per bucket (empty: none)


def patient_limit_history(*, customer: Customer, since: dt.datetime, today: dt.date) -> PatientLimitHistory:
    """`customer_limit_history` and the amounts of the patient's physician's recommendation in force on
    `today` (the latest-expiring one), in one query: what a medical verdict reads."""
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            _limit_history_sql(recommendation=True),
            [
                customer.pk,
                Sale.Status.COMPLETED.value,
                ops.adapt_datetimefield_value(since),
                customer.pk,
                ops.adapt_datefield_value(today),
                ops.adapt_datefield_value(today),
            ],
        )
        rows = cursor.fetchall()
    amounts = {}
    if rows and rows[-1][0] == 1:
        amounts = {bucket: Decimal(str(amount)) for bucket, amount in (_json(rows.pop()[-2]) or {}).items()}
    return PatientLimitHistory(_purchases(rows), amounts)


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
