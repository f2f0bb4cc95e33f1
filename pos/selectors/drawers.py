"""Reads of the cash drawers: what a drawer should hold (the expected figure of a blind close), the store's
registers with their drawer state, one session with its movements, and the closed sessions with over/short."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, Sum

from dispensary.models import Store
from pos.models import DrawerMovement, DrawerSession, Refund, Register, Sale, Tender
from pos.pricing import money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DrawerExpected:
    """The parts of a drawer's expected cash: opening + cash sales - cash refunds + paid in - paid out - drops."""

    opening: Decimal
    cash_sales: Decimal
    cash_refunds: Decimal
    paid_in: Decimal
    paid_out: Decimal
    drops: Decimal

    @property
    def expected(self) -> Decimal:
        return self.opening + self.cash_sales - self.cash_refunds + self.paid_in - self.paid_out - self.drops


def drawer_expected(*, session: DrawerSession) -> DrawerExpected:
    """What the drawer should hold now. Cash sales count what the cash tenders applied to the sale (the change
    went back out); voided sales count nothing, and neither do cash refunds of them, since a void hands back
    what is left of the sale after its refunds. Three queries."""
    cash_sales = Tender.objects.filter(
        sale__drawer_session=session, sale__status=Sale.Status.COMPLETED, kind=Tender.Kind.CASH
    ).aggregate(total=Sum("applied"))["total"]
    cash_refunds = Refund.objects.filter(
        drawer_session=session, tender_kind=Tender.Kind.CASH, sale__status=Sale.Status.COMPLETED
    ).aggregate(total=Sum("total"))["total"]
    movements = dict(
        DrawerMovement.objects.filter(session=session)
        .values("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )
    # Sums come back with the database's own precision (SQLite: 265.0400000000000): cents again.
    return DrawerExpected(
        opening=money(session.opening_amount),
        cash_sales=money(cash_sales or ZERO),
        cash_refunds=money(cash_refunds or ZERO),
        paid_in=money(movements.get(DrawerMovement.Kind.PAID_IN) or ZERO),
        paid_out=money(movements.get(DrawerMovement.Kind.PAID_OUT) or ZERO),
        drops=money(movements.get(DrawerMovement.Kind.DROP) or ZERO),
    )


def register_drawer_list(*, store: Store) -> list[Register]:
    """The store's active registers by name, each with `open_session` (or None) and `last_closed_at` (when
    its drawer was last closed, or None). Two queries, however long the registers' history."""
    last_closed = (
        DrawerSession.objects.filter(register=OuterRef("pk"), status=DrawerSession.Status.CLOSED)
        .order_by("-closed_at")
        .values("closed_at")[:1]
    )
    registers = list(
        Register.objects.filter(store=store, active=True)
        .annotate(last_closed_at=Subquery(last_closed))
        .order_by("name", "id")
        .prefetch_related(
            Prefetch(
                "drawer_sessions",
                queryset=DrawerSession.objects.filter(status=DrawerSession.Status.OPEN).select_related(
                    "opened_by"
                ),
                to_attr="open_sessions",
            )
        )
    )
    for register in registers:
        register.open_session = register.open_sessions[0] if register.open_sessions else None
    return registers


def drawer_session_get(*, store: Store, session_id: int) -> DrawerSession | None:
    """One session of `store` (None for another store's), with its movements oldest first."""
    return (
        DrawerSession.objects.filter(store=store, pk=session_id)
        .select_related("register", "opened_by", "closed_by")
        .prefetch_related(
            Prefetch(
                "movements",
                queryset=DrawerMovement.objects.select_related("actor", "approved_by").order_by(
                    "created_at", "id"
                ),
            )
        )
        .first()
    )


def drawer_history_list(*, store: Store, register_id: int | None = None) -> QuerySet[DrawerSession]:
    """Closed sessions of `store`, most recently closed first: for the managers' over/short history."""
    sessions = DrawerSession.objects.filter(store=store, status=DrawerSession.Status.CLOSED)
    if register_id is not None:
        sessions = sessions.filter(register_id=register_id)
    return sessions.select_related("register", "opened_by", "closed_by").order_by("-closed_at", "-id")
