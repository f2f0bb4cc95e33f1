"""Reads of the voids and returns screens: a store's sales of a day or by receipt number, and one sale with
everything its page shows (lines with tags, discounts and taxes, tenders, refunds and their lines)."""

import datetime as dt

from django.db.models import Count, Prefetch, QuerySet

from dispensary.models import Store
from pos.models import (
    DrawerSession,
    Refund,
    RefundLine,
    Register,
    Sale,
    SaleLine,
    SaleLineDiscount,
    SaleLineTax,
    Tender,
)


def store_sale_list(*, store: Store, day: dt.date | None = None, receipt: str = "") -> QuerySet[Sale]:
    """The store's sales, newest first: of one local day, and/or whose receipt number contains `receipt`.
    Three queries a page (count, sales, tenders) however many sales."""
    sales = Sale.objects.filter(store=store)
    if day is not None:
        sales = sales.filter(local_date=day)
    receipt = (receipt or "").strip()
    if receipt:
        sales = sales.filter(receipt_number__icontains=receipt)
    return (
        sales.select_related("register", "staff", "customer")
        .annotate(line_count=Count("lines"))
        .prefetch_related(Prefetch("tenders", queryset=Tender.objects.order_by("id")))
        .order_by("-completed_at", "-id")
    )


def sale_detail_get(*, store: Store, sale_id: int) -> Sale | None:
    """One sale of `store` (None for another store's) with everything its page shows, in a fixed number of
    queries."""
    return (
        Sale.objects.filter(store=store, pk=sale_id)
        .select_related("store", "register", "customer", "staff", "voided_by", "void_approved_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=SaleLine.objects.select_related("package", "product")
                .prefetch_related(
                    Prefetch("taxes", queryset=SaleLineTax.objects.order_by("id")),
                    Prefetch("discounts", queryset=SaleLineDiscount.objects.order_by("id")),
                )
                .order_by("id"),
            ),
            Prefetch("tenders", queryset=Tender.objects.order_by("id")),
            Prefetch(
                "refunds",
                queryset=Refund.objects.select_related("actor", "approved_by", "drawer_session__register")
                .prefetch_related(
                    Prefetch(
                        "lines",
                        queryset=RefundLine.objects.select_related("sale_line__product").order_by("id"),
                    )
                )
                .order_by("created_at", "id"),
            ),
        )
        .first()
    )


def registers_with_open_drawer(*, store: Store) -> QuerySet[Register]:
    """The registers cash can be refunded from."""
    return Register.objects.filter(store=store, drawer_sessions__status=DrawerSession.Status.OPEN).order_by(
        "name", "id"
    )
