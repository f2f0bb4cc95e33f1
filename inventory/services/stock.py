"""Every write of inventory: receiving packages into stock, and the stock services the checkout and delivery
call (allocate, release, commit, sell), adjustments.

Writers lock the packages they change with select_for_update in primary-key order, then decide with the locked
rows; every quantity change is a StockMovement written in the same transaction as the package's totals."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from dispensary import events, writes
from dispensary.audit import actor_label, audit_record
from dispensary.clock import store_local_date
from dispensary.errors import ValidationFailed
from dispensary.inputs import InputRejected, quantity_parse
from dispensary.models import Store, User
from inventory.errors import InsufficientStock, InvalidQuantity, PackageNotSellable, PackageTagTaken
from inventory.events import PackageAdjusted, PackageReceived, StockLow
from inventory.models import ZERO, Package, Product, StockMovement, quantity_text, tag_validator

SELLING_LOCATIONS = (Package.Location.SALES_FLOOR,)


class AdjustmentReason:
    """The fixed list of adjustment and waste reasons; some must be reported to the state."""

    DAMAGED = "damaged"
    EXPIRED = "expired"
    DESTROYED = "destroyed"
    THEFT = "theft_shrinkage"
    SCALE_VARIANCE = "scale_variance"
    ENTRY_ERROR = "entry_error"
    LAB_SAMPLE = "lab_sample"
    RETURNED_TO_VENDOR = "returned_to_vendor"
    COUNT_VARIANCE = "count_variance"

    CHOICES = [
        (DAMAGED, "Damaged"),
        (EXPIRED, "Expired"),
        (DESTROYED, "Destroyed"),
        (THEFT, "Theft or shrinkage"),
        (SCALE_VARIANCE, "Scale variance"),
        (ENTRY_ERROR, "Entry error"),
        (LAB_SAMPLE, "Lab sample"),
        (RETURNED_TO_VENDOR, "Returned to vendor"),
        (COUNT_VARIANCE, "Count variance"),
    ]
    REPORTED_TO_STATE = {THEFT}


@dataclass(frozen=True)
class Reference:
    """What caused a movement: a sale, an order, a transfer, a count."""

    type: str
    id: str


@dataclass(frozen=True)
class StockRequest:
    """A quantity of a product; `package_id` pins a package (a scanned tag) instead of first-expiring-first-out."""

    product_id: int
    quantity: Decimal
    package_id: int | None = None


@dataclass(frozen=True)
class StockTake:
    """Part of a request served by one package."""

    package_id: int
    product_id: int
    quantity: Decimal


def _positive(quantity) -> Decimal:
    """A quantity above zero, within the platform's bounds (dispensary.inputs)."""
    try:
        value = quantity_parse(quantity)
    except InputRejected as error:
        raise InvalidQuantity(error.message, quantity) from None
    if value <= ZERO:
        raise InvalidQuantity("Quantities must be greater than zero.", quantity)
    return value


def _movement(
    package: Package,
    *,
    kind: str,
    quantity: Decimal = ZERO,
    allocated_delta: Decimal = ZERO,
    actor,
    reason: str = "",
    note: str = "",
    reference: Reference | None = None,
) -> StockMovement:
    """Apply a change to a locked package and record it. The caller holds the row lock."""
    if package.unit == Product.SoldBy.EACH and not (
        quantity == quantity.to_integral_value() and allocated_delta == allocated_delta.to_integral_value()
    ):
        raise InvalidQuantity(
            f"Package {package.tag} is counted in whole units.", quantity or allocated_delta
        )
    package.quantity_on_hand += quantity
    package.quantity_allocated += allocated_delta
    if package.quantity_on_hand < ZERO or package.quantity_allocated < ZERO:
        raise InvalidQuantity(f"Package {package.tag} cannot go below zero.", package.quantity_on_hand)
    if package.quantity_allocated > package.quantity_on_hand:
        raise InvalidQuantity(f"Package {package.tag} cannot allocate more than it holds.", allocated_delta)
    fields = ["quantity_on_hand", "quantity_allocated"]
    if package.quantity_on_hand == ZERO and package.status == Package.Status.ACTIVE:
        package.status = Package.Status.FINISHED
        fields.append("status")
    elif package.quantity_on_hand > ZERO and package.status == Package.Status.FINISHED:
        package.status = Package.Status.ACTIVE
        fields.append("status")
    package.save(update_fields=fields)
    return StockMovement(
        package=package,
        store_id=package.store_id,
        kind=kind,
        quantity=quantity,
        allocated_delta=allocated_delta,
        actor=actor if isinstance(actor, User) else None,
        actor_label=actor_label(actor)[:200],
        reason=reason,
        note=note,
        reference_type=reference.type if reference else "",
        reference_id=reference.id if reference else "",
    )


# --- Receiving a package into stock -------------------------------------------------------------------


@transaction.atomic
def package_receive(
    *,
    store: Store,
    product: Product,
    tag: str,
    quantity,
    actor,
    reference: Reference | None = None,
    location: str = Package.Location.VAULT,
    received_at: dt.datetime | None = None,
    **details,
) -> Package:
    """Create a package at the store with a received movement. Bad input changes nothing. `received_at` (aware,
    not in the future) records a receipt entered after the fact; by default it is now."""
    now = timezone.now()
    if received_at is not None and (received_at.tzinfo is None or received_at > now):
        raise ValidationFailed(
            "The time of receipt needs its UTC offset and cannot be in the future.",
            details={"received_at": [str(received_at)]},
        )
    received_at = received_at or now
    tag = (tag or "").strip().upper()
    try:
        tag_validator(tag)
    except DjangoValidationError as error:
        raise ValidationFailed(
            f"{tag!r} is not a package tag: 24 digits and capital letters.", details={"tag": [str(tag)]}
        ) from error
    quantity = _positive(quantity)
    if product.organization_id != store.organization_id:
        raise ValidationFailed(
            "The product belongs to another organization.", details={"product": ["Unknown."]}
        )
    if product.sold_by == Product.SoldBy.EACH and quantity != quantity.to_integral_value():
        raise InvalidQuantity("Packaged units are counted in whole units.", quantity)
    package = Package(
        store=store,
        product=product,
        tag=tag,
        unit=product.sold_by,
        location=location,
        received_at=received_at,
        **details,
    )
    try:
        with transaction.atomic():
            package.save()
    except IntegrityError as error:
        raise PackageTagTaken(tag) from error
    movement = _movement(
        package, kind=StockMovement.Kind.RECEIVED, quantity=quantity, actor=actor, reference=reference
    )
    movement.created_at = received_at
    movement.save()
    events.publish(
        PackageReceived(
            organization_id=store.organization_id,
            store_id=store.pk,
            package_id=package.pk,
            tag=tag,
            quantity=quantity_text(quantity),
            unit=package.unit,
        )
    )
    return package


# --- Stock for the checkout and delivery --------------------------------------------------------------


def _sellable(package: Package, *, today: dt.date, locations: Sequence[str]) -> bool:
    return (
        package.status == Package.Status.ACTIVE
        and package.lab_status != Package.LabStatus.FAILED
        and (package.expires_on is None or package.expires_on >= today)
        and package.location in locations
        and package.quantity_available > ZERO
    )


def fefo_key(package: Package):
    """First-expiring first out, then first received, then oldest row."""
    return (package.expires_on is None, package.expires_on or dt.date.max, package.received_at, package.pk)


def _lock_candidates(store: Store, requests: Sequence[StockRequest], locations) -> dict[int, list[Package]]:
    """Lock every package that could serve the requests, in primary-key order, and group them by product."""
    product_ids = {request.product_id for request in requests if request.package_id is None}
    pinned_ids = {request.package_id for request in requests if request.package_id is not None}
    candidates = Package.objects.filter(store=store, status=Package.Status.ACTIVE)
    ids = set(
        candidates.filter(product_id__in=product_ids, location__in=locations).values_list("pk", flat=True)
    ) | set(Package.objects.filter(store=store, pk__in=pinned_ids).values_list("pk", flat=True))
    locked = (
        Package.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("product")
        .order_by("pk")
    )
    by_product: dict[int, list[Package]] = defaultdict(list)
    for package in locked:
        by_product[package.product_id].append(package)
    return by_product


def _plan(
    store: Store, requests: Sequence[StockRequest], *, locations: Sequence[str]
) -> list[tuple[Package, Decimal]]:
    """Decide which locked packages serve each request; raise before anything is written."""
    today = store_local_date(store)
    by_product = _lock_candidates(store, requests, locations)
    packages = {package.pk: package for group in by_product.values() for package in group}
    remaining = {pk: package.quantity_available for pk, package in packages.items()}
    plan: list[tuple[Package, Decimal]] = []
    for request in requests:
        wanted = _positive(request.quantity)
        if request.package_id is not None:
            package = packages.get(request.package_id)
            if package is None or package.product_id != request.product_id:
                raise PackageNotSellable(
                    "That package is not in this store's stock for this product.",
                    details={"package_id": request.package_id},
                )
            if not _sellable(package, today=today, locations=(package.location,)):
                raise PackageNotSellable(
                    f"Package {package.tag} cannot be sold: {_why_not(package, today)}.",
                    details={"package_id": package.pk, "tag": package.tag},
                )
            pool = [package]
        else:
            pool = sorted(
                (
                    p
                    for p in by_product.get(request.product_id, [])
                    if _sellable(p, today=today, locations=locations)
                ),
                key=fefo_key,
            )
        available = sum((remaining[p.pk] for p in pool), ZERO)
        if available < wanted:
            product = pool[0].product if pool else Product.objects.get(pk=request.product_id)
            raise InsufficientStock(
                product_id=request.product_id,
                product_name=product.name,
                requested=wanted,
                available=available,
            )
        for package in pool:
            if wanted == ZERO:
                break
            take = min(wanted, remaining[package.pk])
            if take <= ZERO:
                continue
            remaining[package.pk] -= take
            wanted -= take
            plan.append((package, take))
    return plan


def _why_not(package: Package, today: dt.date) -> str:
    if package.status != Package.Status.ACTIVE:
        return package.get_status_display().lower()
    if package.lab_status == Package.LabStatus.FAILED:
        return "it failed lab testing"
    if package.expires_on is not None and package.expires_on < today:
        return f"it expired on {package.expires_on:%Y-%m-%d}"
    return "none of it is available"


def _publish_low_stock(
    store: Store,
    product_ids: Iterable[int],
    before: dict[int, Decimal],
    after: dict[int, Decimal] | None = None,
) -> None:
    """StockLow when a product's available quantity at the store crosses below its reorder point."""
    if after is None:
        after = _available_by_product(store, product_ids)
    products = Product.objects.filter(pk__in=list(product_ids), reorder_point__gt=0).only(
        "pk", "reorder_point"
    )
    for product in products:
        if before.get(product.pk, ZERO) >= product.reorder_point > after.get(product.pk, ZERO):
            events.publish(
                StockLow(
                    organization_id=store.organization_id,
                    store_id=store.pk,
                    product_id=product.pk,
                    available=quantity_text(after.get(product.pk, ZERO)),
                    reorder_point=quantity_text(product.reorder_point),
                )
            )


def _available_by_product(store: Store, product_ids: Iterable[int]) -> dict[int, Decimal]:
    rows = (
        Package.objects.filter(store=store, product_id__in=list(product_ids), status=Package.Status.ACTIVE)
        .values("product_id")
        .annotate(available=Sum(F("quantity_on_hand") - F("quantity_allocated")))
    )
    return {row["product_id"]: row["available"] or ZERO for row in rows}


def _apply(
    store: Store,
    plan: list[tuple[Package, Decimal]],
    *,
    kind: str,
    sign_on_hand: int,
    sign_allocated: int,
    actor,
    reference: Reference,
) -> list[StockTake]:
    product_ids = {package.product_id for package, _ in plan}
    before = _available_by_product(store, product_ids)
    movements = [
        _movement(
            package,
            kind=kind,
            quantity=take * sign_on_hand,
            allocated_delta=take * sign_allocated,
            actor=actor,
            reference=reference,
        )
        for package, take in plan
    ]
    StockMovement.objects.bulk_create(movements)
    _publish_low_stock(store, product_ids, before)
    return [StockTake(package.pk, package.product_id, take) for package, take in plan]


@transaction.atomic
def stock_allocate(
    *,
    store: Store,
    requests: Sequence[StockRequest],
    actor,
    reference: Reference,
    locations: Sequence[str] = SELLING_LOCATIONS,
) -> list[StockTake]:
    """Reserve stock for an order (pickup, delivery): first-expiring-first-out unless a package is pinned."""
    plan = _plan(store, requests, locations=locations)
    return _apply(
        store,
        plan,
        kind=StockMovement.Kind.ALLOCATED,
        sign_on_hand=0,
        sign_allocated=1,
        actor=actor,
        reference=reference,
    )


@transaction.atomic
def stock_sell(
    *,
    store: Store,
    requests: Sequence[StockRequest],
    actor,
    reference: Reference,
    locations: Sequence[str] = SELLING_LOCATIONS,
) -> list[StockTake]:
    """Take stock out for a sale at the counter, in one step. All or nothing."""
    plan = _plan(store, requests, locations=locations)
    return _apply(
        store,
        plan,
        kind=StockMovement.Kind.SOLD,
        sign_on_hand=-1,
        sign_allocated=0,
        actor=actor,
        reference=reference,
    )


# --- The checkout's fast path: packages picked by the quote, taken by one conditional UPDATE -------------


@dataclass(frozen=True)
class PackagePick:
    """A package the quote picked for a line, with what a sale line and the state's receipt need of it."""

    package_id: int
    product_id: int
    quantity: Decimal
    tag: str
    unit: str


@dataclass(frozen=True)
class StockPicks:
    """The packages picked for each request, in order; `complete` is False when some request could not be
    served (the sale then takes its stock by `stock_sell`, which says why)."""

    by_request: tuple[tuple[PackagePick, ...], ...]
    complete: bool


def _pick_candidates(store: Store, product_ids, pinned_ids, locations) -> list["_Candidate"]:
    """The store's active packages of `product_ids` in `locations`, and the pinned ones wherever they are: what
    `stock_pick` chooses from. Written in SQL: building the ORM's query cost several times what the database
    spends answering it, on every scan."""
    where, params = [], [store.pk, Package.Status.ACTIVE]
    if product_ids and locations:
        where.append(
            f"(product_id IN ({', '.join('%s' for _ in product_ids)}) "
            f"AND location IN ({', '.join('%s' for _ in locations)}))"
        )
        params += [*product_ids, *locations]
    if pinned_ids:
        where.append(f"id IN ({', '.join('%s' for _ in pinned_ids)})")
        params += [*pinned_ids]
    if not where:
        return []
    table = connection.ops.quote_name(Package._meta.db_table)
    if connection.vendor == "postgresql":
        # One prepared text whatever the number of products: the lists as arrays.
        with writes.prepared_cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(_Candidate.COLUMNS)} FROM {table} WHERE store_id = %s AND status = %s "  # noqa: S608
                "AND ((product_id = ANY(%s::bigint[]) AND location = ANY(%s::varchar[])) OR id = ANY(%s::bigint[])) "
                "ORDER BY id",
                [store.pk, Package.Status.ACTIVE, sorted(product_ids), list(locations), sorted(pinned_ids)],
            )
            return [_Candidate(*row) for row in cursor.fetchall()]
    # Only the table's quoted name, column names and placeholders are formatted in; values are parameters.
    sql = (
        f"SELECT {', '.join(_Candidate.COLUMNS)} FROM {table} "  # noqa: S608
        f"WHERE store_id = %s AND status = %s AND ({' OR '.join(where)}) ORDER BY id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # SQLite hands back dates and times as text and quantities as numbers.
    return [
        _Candidate(
            pk,
            product_id,
            tag,
            unit,
            status,
            lab_status,
            _as_date(expires_on),
            location,
            _as_moment(received_at),
            _as_quantity(on_hand),
            _as_quantity(allocated),
        )
        for pk, product_id, tag, unit, status, lab_status, expires_on, location, received_at, on_hand, allocated in rows
    ]


def _as_date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _as_moment(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _as_quantity(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def stock_pick(
    *, store: Store, requests: Sequence[StockRequest], today: dt.date, locations=SELLING_LOCATIONS
) -> StockPicks:
    """Which packages would serve the requests now (first-expiring-first-out unless pinned), in one read and
    without locking: the quote shows it, the sale takes exactly these with `stock_sell_picked`."""
    product_ids = {request.product_id for request in requests if request.package_id is None}
    pinned_ids = {request.package_id for request in requests if request.package_id is not None}
    if not requests:
        return StockPicks((), True)
    by_product: dict[int, list[_Candidate]] = defaultdict(list)
    packages = {}
    for package in _pick_candidates(store, product_ids, pinned_ids, locations):
        packages[package.pk] = package
        if package.location in locations:
            by_product[package.product_id].append(package)
    remaining = {pk: package.quantity_available for pk, package in packages.items()}
    picked, complete = [], True
    for request in requests:
        wanted, got = Decimal(request.quantity), []
        if request.package_id is not None:
            package = packages.get(request.package_id)
            ok = package is not None and package.product_id == request.product_id
            pool = [package] if ok and _sellable(package, today=today, locations=(package.location,)) else []
        else:
            pool = sorted(
                (
                    p
                    for p in by_product.get(request.product_id, [])
                    if _sellable(p, today=today, locations=locations)
                ),
                key=fefo_key,
            )
        for package in pool:
            take = min(wanted, remaining[package.pk])
            if take <= ZERO:
                continue
            if package.unit == Product.SoldBy.EACH and take != take.to_integral_value():
                break
            remaining[package.pk] -= take
            wanted -= take
            got.append(PackagePick(package.pk, package.product_id, take, package.tag, package.unit))
            if wanted == ZERO:
                break
        complete = complete and wanted == ZERO
        picked.append(tuple(got))
    return StockPicks(tuple(picked), complete)


def _taken_by_one_update(
    store: Store,
    wanted: dict[int, Decimal],
    *,
    today: dt.date,
    locations: Sequence[str],
    movements: writes.Statement | None = None,
    run: bool = True,
) -> int | None:
    """UPDATE the packages that still qualify, taking `wanted[pk]` from each (finished when it reaches zero);
    the number of rows changed. The rows are locked in primary-key order first (PostgreSQL), so two sales
    sharing packages cannot deadlock. Written in SQL: the ORM's CASE per package costs more Python than the
    query itself on the checkout's hot path. `movements` (PostgreSQL): the statement holding the movements'
    insert, which the UPDATE joins (`run=False`: left to the caller, the part named `taken`)."""
    table = connection.ops.quote_name(Package._meta.db_table)
    ids = sorted(wanted)
    if movements is not None:
        # One text whatever the number of packages: the quantities as arrays.
        movements.add(
            "taken",
            f"UPDATE {table} AS p SET quantity_on_hand = p.quantity_on_hand - w.quantity, "  # noqa: S608
            "status = CASE WHEN p.quantity_on_hand = w.quantity THEN %s ELSE p.status END "
            "FROM unnest(%s::bigint[], %s::numeric[]) AS w (id, quantity) "
            f"WHERE p.id = w.id AND p.id IN (SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id "
            "FOR NO KEY UPDATE) AND p.store_id = %s AND p.status = %s AND p.location = ANY(%s::varchar[]) "
            "AND p.lab_status <> %s AND (p.expires_on IS NULL OR p.expires_on >= %s) "
            "AND p.quantity_on_hand - p.quantity_allocated >= w.quantity RETURNING p.id",
            [
                Package.Status.FINISHED,
                ids,
                [wanted[pk] for pk in ids],
                ids,
                store.pk,
                Package.Status.ACTIVE,
                list(locations),
                Package.LabStatus.FAILED,
                today,
            ],
        )
        return None if run is False else movements.execute("SELECT count(*) FROM taken")[0][0]
    # CAST: SQLite compares a quantity with a text parameter as text otherwise.
    taken = "CASE id " + " ".join("WHEN %s THEN CAST(%s AS NUMERIC)" for _ in ids) + " END"
    taken_params = [value for pk in ids for value in (pk, wanted[pk])]
    in_ids = ", ".join("%s" for _ in ids)
    # NO KEY UPDATE: the rows of other sales that merely reference these packages (their lines and movements
    # take a key-share lock) neither wait for this lock nor hold it up.
    lock = ""
    if connection.vendor == "postgresql":
        lock = " FOR NO KEY UPDATE"
    elif connection.features.has_select_for_update:
        lock = " FOR UPDATE"
    # Only the table's quoted name and placeholders are formatted into the text; every value is a parameter.
    sql = (
        f"UPDATE {table} SET quantity_on_hand = quantity_on_hand - ({taken}), "  # noqa: S608
        f"status = CASE WHEN quantity_on_hand = ({taken}) THEN %s ELSE status END "
        f"WHERE id IN (SELECT id FROM {table} WHERE id IN ({in_ids}) ORDER BY id{lock}) "
        f"AND store_id = %s AND status = %s AND location IN ({', '.join('%s' for _ in locations)}) "
        f"AND lab_status <> %s AND (expires_on IS NULL OR expires_on >= %s) "
        f"AND quantity_on_hand - quantity_allocated >= ({taken})"
    )
    params = [
        *taken_params,
        *taken_params,
        Package.Status.FINISHED,
        *ids,
        store.pk,
        Package.Status.ACTIVE,
        *locations,
        Package.LabStatus.FAILED,
        today,
        *taken_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@dataclass(frozen=True)
class _Candidate:
    """What picking needs of a package (plain values: the quote reads many and keeps none)."""

    COLUMNS = (
        "id",
        "product_id",
        "tag",
        "unit",
        "status",
        "lab_status",
        "expires_on",
        "location",
        "received_at",
        "quantity_on_hand",
        "quantity_allocated",
    )

    pk: int
    product_id: int
    tag: str
    unit: str
    status: str
    lab_status: str
    expires_on: dt.date | None
    location: str
    received_at: dt.datetime
    quantity_on_hand: Decimal
    quantity_allocated: Decimal

    @property
    def quantity_available(self) -> Decimal:
        return self.quantity_on_hand - self.quantity_allocated


class StockMoved(Exception):
    """The picked packages no longer hold what was picked (sold meanwhile, moved, expired, failed a test).
    Part of the UPDATE may have been applied: the caller's transaction must roll back."""


def stock_sell_picked(
    *,
    store: Store,
    picks: Sequence[PackagePick],
    actor,
    reference: Reference,
    today: dt.date,
    reorder_points: dict[int, Decimal] | None = None,
    locations: Sequence[str] = SELLING_LOCATIONS,
) -> list[StockTake]:
    """Take exactly the picked quantities for a sale with ONE UPDATE that locks the packages in primary-key
    order and changes only those that still qualify (active, sellable, enough available); StockMoved when any
    does not (the caller rolls back). The movements are one insert, made first. `reorder_points` (product id to reorder point, when the caller has
    the products) spares reading them to publish StockLow."""
    statement = writes.Statement() if writes.in_one_statement() else None
    taken = stock_sell_picked_add(
        statement,
        store=store,
        picks=picks,
        actor=actor,
        reference=reference,
        today=today,
        reorder_points=reorder_points,
        locations=locations,
    )
    if statement is not None:
        return taken(statement.execute("SELECT count(*) FROM taken")[0][0])
    return taken(None)


def stock_sell_picked_add(
    statement: writes.Statement | None,
    *,
    store: Store,
    picks: Sequence[PackagePick],
    actor,
    reference: Reference,
    today: dt.date,
    reorder_points: dict[int, Decimal] | None = None,
    locations: Sequence[str] = SELLING_LOCATIONS,
):
    """`stock_sell_picked` as parts of the caller's statement (PostgreSQL: the movements' insert and the
    UPDATE, whose changed rows are the part `taken`; the caller's final SELECT counts them), or run at once
    without one (`statement` None). Returns the step to call with that count once the statement ran: it raises
    StockMoved when a package did not qualify any more and publishes StockLow; the sale's takes."""
    wanted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pick in picks:
        wanted[pick.package_id] += _positive(pick.quantity)
    # The movements first: the packages then stay locked for the UPDATE and the commit only (on PostgreSQL
    # both are parts of one statement).
    label = actor_label(actor)[:200]
    actor_id = actor.pk if isinstance(actor, User) else None
    if statement is not None:
        now = timezone.now()
        sql, params = writes.records(
            [(pick.package_id, -pick.quantity) for pick in picks],
            (("package_id", "bigint"), ("quantity", "numeric")),
        )
        statement.add(
            "movements",
            f"INSERT INTO {StockMovement._meta.db_table} (package_id, store_id, kind, quantity, "  # noqa: S608
            "allocated_delta, actor_id, actor_label, reason, note, reference_type, reference_id, created_at) "
            "SELECT v.package_id, %s::bigint, %s::varchar, v.quantity, 0, %s::bigint, %s::varchar, '', '', "
            f"%s::varchar, %s::varchar, %s::timestamptz FROM {sql}",
            [store.pk, StockMovement.Kind.SOLD, actor_id, label, reference.type, reference.id, now, *params],
        )
        _taken_by_one_update(store, wanted, today=today, locations=locations, movements=statement, run=False)
        ran = None
    else:
        StockMovement.objects.bulk_create(
            StockMovement(
                package_id=pick.package_id,
                store_id=store.pk,
                kind=StockMovement.Kind.SOLD,
                quantity=-pick.quantity,
                actor_id=actor_id,
                actor_label=label,
                reference_type=reference.type,
                reference_id=reference.id,
            )
            for pick in picks
        )
        ran = _taken_by_one_update(store, wanted, today=today, locations=locations)

    def taken(count: int | None) -> list[StockTake]:
        count = ran if count is None else count
        if count != len(wanted):
            raise StockMoved(f"Some of the {len(wanted)} picked packages changed since the quote.")
        sold: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for pick in picks:
            sold[pick.product_id] += pick.quantity
        if reorder_points is None:
            watched = set(sold)
        else:
            watched = {product_id for product_id in sold if reorder_points.get(product_id, ZERO) > ZERO}
        if watched:
            after = _available_by_product(store, watched)
            before = {product_id: after.get(product_id, ZERO) + sold[product_id] for product_id in watched}
            _publish_low_stock(store, watched, before, after=after)
        return [StockTake(pick.package_id, pick.product_id, pick.quantity) for pick in picks]

    return taken


def _lock_takes(store: Store, takes: Sequence[StockTake]) -> dict[int, Package]:
    ids = sorted({take.package_id for take in takes})
    locked = {
        p.pk: p
        for p in Package.objects.select_for_update(of=("self",))
        .filter(store=store, pk__in=ids)
        .order_by("pk")
    }
    missing = set(ids) - set(locked)
    if missing:
        raise ValidationFailed("Unknown packages for this store.", details={"package_ids": sorted(missing)})
    return locked


def _allocated_plan(store: Store, takes: Sequence[StockTake]) -> list[tuple[Package, Decimal]]:
    """Lock the packages of earlier takes and check each still holds that much allocated."""
    locked = _lock_takes(store, takes)
    plan = []
    for take in takes:
        package, quantity = locked[take.package_id], _positive(take.quantity)
        if quantity > package.quantity_allocated:
            raise InvalidQuantity(
                f"Package {package.tag} has only {package.quantity_allocated} allocated.", quantity
            )
        plan.append((package, quantity))
    return plan


@transaction.atomic
def stock_release(*, store: Store, takes: Sequence[StockTake], actor, reference: Reference) -> None:
    """Give back allocated stock (an order cancelled or changed)."""
    plan = _allocated_plan(store, takes)
    _apply(
        store,
        plan,
        kind=StockMovement.Kind.RELEASED,
        sign_on_hand=0,
        sign_allocated=-1,
        actor=actor,
        reference=reference,
    )


@transaction.atomic
def stock_commit(
    *,
    store: Store,
    takes: Sequence[StockTake],
    actor,
    reference: Reference,
    kind: str = StockMovement.Kind.SOLD,
) -> None:
    """Turn allocated stock into a sale or a delivery: on hand and allocated both go down."""
    if kind not in (StockMovement.Kind.SOLD, StockMovement.Kind.DELIVERED):
        raise ValidationFailed("Only sold or delivered stock can be committed.")
    plan = _allocated_plan(store, takes)
    _apply(store, plan, kind=kind, sign_on_hand=-1, sign_allocated=-1, actor=actor, reference=reference)


@transaction.atomic
def stock_return(*, store: Store, takes: Sequence[StockTake], actor, reference: Reference) -> None:
    """Put sold stock back on hand (a void or a refund that restocks): "returned" movements, packages locked
    in primary-key order. A finished package becomes active again."""
    locked = _lock_takes(store, takes)
    plan = [(locked[take.package_id], _positive(take.quantity)) for take in takes]
    _apply(
        store,
        plan,
        kind=StockMovement.Kind.RETURNED,
        sign_on_hand=1,
        sign_allocated=0,
        actor=actor,
        reference=reference,
    )


# --- Adjustments --------------------------------------------------------------------------------------


@transaction.atomic
def package_adjust(
    *, package: Package, quantity, reason: str, actor, note: str = "", reference: Reference | None = None
) -> StockMovement:
    """Change on hand by a signed quantity for one of the fixed reasons. Never below what is allocated."""
    valid = {code for code, _ in AdjustmentReason.CHOICES}
    if reason not in valid:
        raise ValidationFailed(
            f"Choose a reason from the list, not {reason!r}.", details={"reason": sorted(valid)}
        )
    try:
        delta = quantity_parse(quantity)
    except InputRejected as error:
        raise InvalidQuantity(error.message, quantity) from None
    if delta == ZERO:
        raise InvalidQuantity("An adjustment changes the quantity by a non-zero amount.", quantity)
    _positive(abs(delta))
    locked = Package.objects.select_for_update(of=("self",)).select_related("store").get(pk=package.pk)
    if locked.quantity_on_hand + delta < locked.quantity_allocated:
        raise InvalidQuantity(
            f"Package {locked.tag} holds {locked.quantity_on_hand} with {locked.quantity_allocated} allocated; "
            f"it cannot go down by {abs(delta)}.",
            quantity,
        )
    before = {"quantity_on_hand": quantity_text(locked.quantity_on_hand)}
    movement = _movement(
        locked,
        kind=StockMovement.Kind.ADJUSTED,
        quantity=delta,
        actor=actor,
        reason=reason,
        note=note,
        reference=reference,
    )
    movement.save()
    audit_record(
        actor=actor,
        action="package.adjusted",
        instance=locked,
        before=before,
        after={"quantity_on_hand": quantity_text(locked.quantity_on_hand), "reason": reason, "note": note},
        organization=locked.store.organization,
        store=locked.store,
    )
    publish_adjusted(locked, movement)
    return movement


def publish_adjusted(package: Package, movement: StockMovement) -> None:
    events.publish(
        PackageAdjusted(
            organization_id=package.store.organization_id,
            store_id=package.store_id,
            package_id=package.pk,
            tag=package.tag,
            quantity=quantity_text(movement.quantity),
            reason=movement.reason,
            movement_id=movement.pk,
            report_to_state=movement.reason in AdjustmentReason.REPORTED_TO_STATE,
        )
    )
