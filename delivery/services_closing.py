"""Closing a trip when the car is back (issue 13 part 6): what left the store, what was sold at the doors and
what came back, per package; the cash collected counted against the trip's drawer (its cash sales plus the
delivery fees collected) with over/short kept; the goods not delivered back to available stock (their orders
cancelled with the reason, which releases their allocation in the ledger); the state's records closed after
commit (TripReturned). Refuses while anything is unaccounted for, and changes nothing then."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from delivery.events import TripReturned
from delivery.models import StopVisit, Trip, TripStop
from delivery.services_orders import delivery_order_cancel
from delivery.services_trips import TripRefused, _audit, _lock, _touch, _version
from delivery.state_records import RETAILER, SALES, trip_state_mode
from dispensary import events
from dispensary.errors import Conflict
from pos.models import DrawerMovement, DrawerSession, PickupOrder, PickupOrderLine, Register, SaleLine, Tender
from pos.selectors.drawers import drawer_expected
from pos.services.drawers import drawer_close, drawer_movement_add, drawer_open

ZERO = Decimal(0)
CENT = Decimal("0.01")
OPEN_ORDER_STATUSES = (PickupOrder.Status.RESERVED, PickupOrder.Status.CHECKED_IN)


@dataclass
class PackageBalance:
    """One package of the trip: what left at departure, what was sold at the doors, what came back."""

    package: object
    left: Decimal = ZERO
    sold: Decimal = ZERO
    back: Decimal = ZERO

    @property
    def unaccounted(self) -> Decimal:
        return self.left - self.sold - self.back


@dataclass
class TripBalance:
    stops: list[TripStop]
    packages: list[PackageBalance]
    pending: list[TripStop]
    delivered: list[TripStop]
    returned: list[TripStop]
    session: DrawerSession | None
    cash_sales: Decimal
    fees: Decimal
    problems: list[str] = field(default_factory=list)

    @property
    def expected_cash(self) -> Decimal:
        return self.cash_sales + self.fees

    @property
    def balanced(self) -> bool:
        return not self.problems

    @property
    def fingerprint(self) -> str:
        """What the manager's count depends on, as the trip page showed it: each stop's outcome, each package's
        left / sold / back and the cash expected. The End trip form sends it back instead of the trip's version,
        which also moves when the state answers about a door sale and changes nothing the manager counts."""
        facts = [f"{stop.pk}:{stop.status}" for stop in self.stops]
        facts += [f"{entry.package.pk}:{entry.left}:{entry.sold}:{entry.back}" for entry in self.packages]
        facts.append(f"{self.expected_cash:.2f}")
        return hashlib.sha256("|".join(facts).encode()).hexdigest()[:32]


def trip_register(trip: Trip) -> Register | None:
    """The trip's own register ("Trip <id>"), made by the driver app at the first hand-over."""
    return Register.objects.filter(store=trip.store, name=f"Trip {trip.pk}").first()


def trip_all_stops(trip: Trip) -> list[TripStop]:
    """Every stop the trip carried, delivered, returned or pending, with its visit, order, lines and packages."""
    return list(
        trip.stops.select_related("order__order__customer", "order__address", "visit__sale")
        .prefetch_related(
            Prefetch(
                "order__order__lines",
                queryset=PickupOrderLine.objects.select_related("package__product").order_by("id"),
            )
        )
        .order_by("sequence")
    )


def _visit(stop: TripStop) -> StopVisit | None:
    try:
        return stop.visit
    except StopVisit.DoesNotExist:
        return None


def _fee_collected(stop: TripStop, cash_change: dict[int, Decimal]) -> Decimal:
    """The delivery fee, as far as the cash handed over beyond the sale covered it (the driver asks for the
    goods plus the fee; what went beyond the sale is the fee, up to the fee)."""
    visit = _visit(stop)
    if visit is None or visit.sale_id is None:
        return ZERO
    return min(cash_change.get(visit.sale_id, ZERO), stop.order.fee)


def trip_balance(trip: Trip, stops: list[TripStop] | None = None) -> TripBalance:
    """The trip's reconciliation as it stands: per package left / sold / back, stops still pending, and the cash
    the drawer should hold. A fixed number of queries."""
    stops = trip_all_stops(trip) if stops is None else stops
    balances: dict[int, PackageBalance] = {}
    pending, delivered, returned = [], [], []
    for stop in stops:
        for line in stop.order.order.lines.all():
            entry = balances.setdefault(line.package_id, PackageBalance(package=line.package))
            entry.left += line.quantity
            if stop.status == TripStop.Status.RETURNED:
                entry.back += line.quantity
        {
            TripStop.Status.PENDING: pending,
            TripStop.Status.DELIVERED: delivered,
            TripStop.Status.RETURNED: returned,
        }[stop.status].append(stop)
    sale_ids = [v.sale_id for v in (_visit(s) for s in delivered) if v is not None and v.sale_id]
    for line in SaleLine.objects.filter(sale_id__in=sale_ids).select_related("package__product"):
        entry = balances.setdefault(line.package_id, PackageBalance(package=line.package))
        entry.sold += line.quantity
    cash_change: dict[int, Decimal] = {}
    for sale_id, change in Tender.objects.filter(sale_id__in=sale_ids, kind=Tender.Kind.CASH).values_list(
        "sale_id", "change_due"
    ):
        cash_change[sale_id] = cash_change.get(sale_id, ZERO) + change
    register = trip_register(trip)
    session = (
        DrawerSession.objects.filter(register=register).order_by("-opened_at", "-id").first()
        if register
        else None
    )
    cash_sales = ZERO
    fees_recorded = ZERO
    if session is not None:
        expected = drawer_expected(session=session)
        cash_sales = expected.cash_sales - expected.cash_refunds
        fees_recorded = expected.paid_in
    fees = sum((_fee_collected(stop, cash_change) for stop in delivered), ZERO)
    if session is not None and session.status == DrawerSession.Status.CLOSED:
        fees = fees_recorded  # recorded in the drawer when the trip was ended
    problems = [
        f"Stop {stop.sequence} ({stop.order.order.customer.first_name}) is still to deliver: the driver marks it "
        "delivered or not delivered first."
        for stop in pending
    ]
    for stop in delivered:
        visit = _visit(stop)
        if visit is None or visit.sale_id is None:
            problems.append(f"Stop {stop.sequence} is marked delivered without a sale.")
    packages = sorted(balances.values(), key=lambda entry: entry.package.tag)
    for entry in packages:
        if entry.unaccounted != ZERO:
            problems.append(
                f"Package {entry.package.tag}: {entry.left.normalize():f} left, {entry.sold.normalize():f} sold "
                f"and {entry.back.normalize():f} back do not add up."
            )
    return TripBalance(
        stops=stops,
        packages=packages,
        pending=pending,
        delivered=delivered,
        returned=returned,
        session=session,
        cash_sales=cash_sales.quantize(CENT),
        fees=fees.quantize(CENT),
        problems=problems,
    )


def _return_reason_label(stop: TripStop) -> str:
    visit = _visit(stop)
    reason = visit.return_reason if visit else ""
    return StopVisit.ReturnReason(reason).label if reason else "Not delivered"


class TripBalanceChanged(Conflict):
    """The trip's stops, packages or expected cash changed since the manager opened the page."""

    code = "trip_balance_changed"


@transaction.atomic
def trip_end(
    *,
    trip: Trip,
    by,
    counted_cash,
    version=None,
    balance_seen: str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Trip:
    """Departed -> returned: every stop delivered or returned and every package's quantity accounted for (left
    = sold + back), else TripRefused and nothing changes. The goods of the stops not delivered go back to
    available stock (their orders cancelled with the driver's reason), the delivery fees collected are recorded
    in the trip's drawer, which is closed with the counted cash (over/short kept), and the state's records are
    closed after commit (TripReturned). `balance_seen` (the End trip form's `TripBalance.fingerprint`) stands
    for the version: the end goes through when nothing the manager counted has changed, whatever else moved
    the trip's version (the state's answers about its door sales)."""
    locked = _lock(trip, _version(version))
    if locked.status != Trip.Status.DEPARTED:
        raise TripRefused(
            f"This trip is {locked.get_status_display().lower()}; only a trip on the road is ended.",
            details={"reasons": ["The trip is not on the road."]},
        )
    now = now or timezone.now()
    balance = trip_balance(locked)
    if balance_seen is not None and balance_seen != balance.fingerprint and not balance.problems:
        raise TripBalanceChanged(
            "The trip changed since you opened the page (a stop, a package or the cash expected): check the "
            f"figures now shown and count again; the drawer should now hold ${balance.expected_cash:.2f}.",
            details={"expected_cash": f"{balance.expected_cash:.2f}"},
        )
    if balance.problems:
        raise TripRefused(
            "The trip cannot end while something is unaccounted for: " + " ".join(balance.problems),
            details={"reasons": balance.problems},
        )
    returned = []
    for stop in balance.returned:
        order = stop.order.order
        label = _return_reason_label(stop)
        visit = _visit(stop)
        if order.status in OPEN_ORDER_STATUSES:
            # Cancelling releases the order's allocation: its goods are available again.
            delivery_order_cancel(
                delivery=stop.order, actor=by, reason=f"Not delivered on trip {locked.pk}: {label}.", now=now
            )
        returned.append(
            {"stop_id": stop.pk, "order_id": order.pk, "reason": visit.return_reason if visit else ""}
        )
    register = trip_register(locked)
    if register is None:
        register = Register.objects.create(store=locked.store, name=f"Trip {locked.pk}")
    session = DrawerSession.objects.filter(register=register, status=DrawerSession.Status.OPEN).first()
    if session is None:
        session = drawer_open(register=register, staff=by, opening_amount=ZERO, now=now)
    if balance.fees > ZERO:
        drawer_movement_add(
            session=session,
            kind=DrawerMovement.Kind.PAID_IN,
            amount=balance.fees,
            reason=f"Delivery fees collected on trip {locked.pk}",
            actor=by,
            now=now,
        )
    closed = drawer_close(
        session=session,
        counted_amount=counted_cash,
        actor=by,
        note=(note or f"Trip {locked.pk} back at the store").strip()[:500],
        now=now,
    )
    before = {"status": locked.status}
    locked.status = Trip.Status.RETURNED
    locked.returned_at = now
    fields = ["status", "returned_at"]
    mode = trip_state_mode(locked.store.jurisdiction)
    files_end = (mode == RETAILER and bool(locked.state_reference)) or (
        mode == SALES and any(stop.state_reference for stop in balance.returned)
    )
    if files_end:  # the end's answer settles it (trip_state_settle)
        locked.state_status = Trip.StateStatus.PENDING
        locked.state_updated_at = now
        fields += ["state_status", "state_updated_at"]
    _touch(locked, fields)
    _audit(
        locked,
        by,
        "trip.returned",
        before,
        {
            "status": locked.status,
            "returned_at": now.isoformat(),
            "packages": [
                {
                    "tag": entry.package.tag,
                    "left": str(entry.left),
                    "sold": str(entry.sold),
                    "back": str(entry.back),
                }
                for entry in balance.packages
            ],
            "returned": [
                {**item, "label": _return_reason_label(stop)}
                for item, stop in zip(returned, balance.returned, strict=True)
            ],
            "counted_cash": str(closed.counted_amount),
            "expected_cash": str(closed.expected_amount),
            "over_short": str(closed.over_short),
        },
    )
    events.publish(
        TripReturned(
            organization_id=locked.organization_id,
            store_id=locked.store_id,
            trip_id=locked.pk,
            returned_at=now.isoformat(),
            returned=returned,
            by_id=getattr(by, "pk", None),
        )
    )
    return locked
