"""Every write of the point of sale: completing a sale (limits, ID, stock, pricing, tenders in one
transaction), voiding it on the same local day, and refunding lines back to stock or to waste."""

import copy
import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import repeat

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from compliance.identity import IdRefused, caregiver_link_get, medical_status
from compliance.models import IdVerification
from dispensary import events, writes
from dispensary.audit import audit_add, audit_record
from dispensary.clock import store_local_date
from dispensary.errors import ValidationFailed
from dispensary.events import publish
from dispensary.models import Customer, Store, User
from inventory.models import Package, Product, quantity_text
from inventory.services import (
    AdjustmentReason,
    PackagePick,
    Reference,
    StockMoved,
    StockRequest,
    StockTake,
    stock_return,
    stock_sell,
    stock_sell_picked,
    stock_sell_picked_add,
)
from inventory.services.waste import package_waste
from pos.errors import (
    CouponInvalid,
    QuoteChanged,
    RefundInvalid,
    SaleChangeRefused,
    SaleNotAllowed,
    TenderInvalid,
    VoidNotAllowed,
)
from pos.events import SaleCompleted, SaleRefunded, SaleVoided
from pos.models import (
    Coupon,
    CustomerType,
    DrawerSession,
    LoyaltyAccount,
    PickupOrder,
    Refund,
    RefundLine,
    Register,
    Sale,
    SaleLine,
    SaleLineDiscount,
    SaleLineTax,
    Tender,
    VeteranProof,
)
from pos.pricing import ZERO, money
from pos.selectors.checks import anonymous_check, verdict_enforce
from pos.selectors.loyalty import LoyaltyContext
from pos.selectors.pickup import OPEN_STATUSES
from pos.selectors.promotions import coupon_codes_normalize
from pos.selectors.quote import CartInput, Quote, QuoteLine, quote_versions
from pos.selectors.quote import quote as quote_cart
from pos.services.loyalty import (
    coupon_redemptions_record,
    loyalty_refund_record,
    loyalty_sale_record,
    loyalty_sale_void,
)
from pos.services.pickup import pickup_order_fulfil
from pos.services.pins import approver_check


@dataclass(frozen=True)
class TenderInput:
    kind: str  # "cash" or "card"
    amount: Decimal
    reference: str = ""


def _sale_reference(sale: Sale) -> Reference:
    return Reference("sale", str(sale.pk))


# --- Completing a sale -----------------------------------------------------------------------------------------


def _check_id(
    id_verification: IdVerification | None, *, store: Store, customer, today: dt.date, caregiver=None
) -> None:
    if id_verification is None:
        raise IdRefused("Check the customer's ID before the sale.", details={"id_verification": ["Missing."]})
    if id_verification.store_id != store.pk or id_verification.local_date != today:
        raise IdRefused(
            "The ID check is not from this visit: check the ID again.",
            details={"id_verification": ["Not from this store today."]},
        )
    buyers = (None, customer.pk if customer else None, caregiver.pk if caregiver else None)
    if customer is not None and id_verification.customer_id not in buyers:
        raise IdRefused(
            "The ID checked belongs to another customer.", details={"id_verification": ["Other customer."]}
        )
    if id_verification.expires_on is not None and id_verification.expires_on < today:
        raise IdRefused(
            f"The ID expired on {id_verification.expires_on:%b %d, %Y}.", details={"expires_on": ["Expired."]}
        )
    if not id_verification.passed:
        problems = list(id_verification.problems or ["The ID check did not pass."])
        raise IdRefused(" ".join(problems), details={"problems": problems})


def employee_check(*, store: Store, employee: User | None, staff: User) -> None:
    """An employee discount needs the staff member buying: an active member of this organization, and not the
    budtender ringing the sale up (a colleague sells to them)."""
    if employee is None:
        return
    if employee.organization_id != store.organization_id or not employee.is_active:
        raise ValidationFailed("Unknown staff member.", details={"employee": ["Not a staff member here."]})
    if employee.pk == staff.pk:
        raise SaleNotAllowed(
            "Staff do not ring up their own purchase: a colleague sells it to you.",
            details={"employee": ["The budtender themselves."]},
        )


def _tenders(tenders: Sequence[TenderInput], total: Decimal) -> list[Tender]:
    """Cards pay first and exactly; cash covers the rest and gets the change."""
    if not tenders:
        raise TenderInvalid("Take a payment.", details={"tenders": ["At least one tender."]})
    rows, paid_by_card, cash = [], ZERO, ZERO
    for tender in tenders:
        amount = money(Decimal(tender.amount))
        if tender.kind not in Tender.Kind.values or amount <= ZERO:
            raise TenderInvalid(
                "Each tender is cash or card with a positive amount.", details={"tenders": [str(tender)]}
            )
        if tender.kind == Tender.Kind.CARD:
            if not tender.reference:
                raise TenderInvalid(
                    "A card payment needs its reference.", details={"reference": ["Required."]}
                )
            paid_by_card += amount
        else:
            cash += amount
    if paid_by_card > total:
        raise TenderInvalid(
            f"Cards cover {paid_by_card} of a {total} sale; a card is never charged more than the sale.",
            details={"card": str(paid_by_card), "total": str(total)},
        )
    due_in_cash = total - paid_by_card
    if cash < due_in_cash:
        raise TenderInvalid(
            f"{due_in_cash} is due in cash and {cash} was tendered.",
            details={"due": str(due_in_cash), "tendered": str(cash + paid_by_card)},
        )

    for tender in tenders:
        amount = money(Decimal(tender.amount))
        if tender.kind == Tender.Kind.CARD:
            rows.append(Tender(kind=tender.kind, amount=amount, applied=amount, reference=tender.reference))
        else:
            applied = min(amount, due_in_cash)
            due_in_cash -= applied
            rows.append(
                Tender(
                    kind=tender.kind,
                    amount=amount,
                    applied=applied,
                    change_due=amount - applied,
                    reference=tender.reference,
                )
            )
    return rows


def _share(amount: Decimal, quantity: Decimal, of: Decimal) -> Decimal:
    return amount if quantity == of else money(amount * quantity / of)


def line_event(line: SaleLine, quantity: Decimal | None = None, *, tag: str | None = None) -> dict:
    """A line in the events' shape (the state's receipt line); `quantity` for what is left after refunds;
    `tag` the package's when the caller has it (else read through the line)."""
    quantity = line.quantity if quantity is None else quantity
    return _line_data(
        package_id=line.package_id,
        tag=line.package.tag if tag is None else tag,
        quantity=quantity,
        unit=line.unit,
        net=_share(line.net_amount, quantity, line.quantity),
        discount=_share(line.discount_amount, quantity, line.quantity),
        taxes=((tax.field, _share(tax.amount, quantity, line.quantity)) for tax in line.taxes.all()),
    )


def _line_data(*, package_id, tag, quantity, unit, net, discount, taxes) -> dict:
    data = {
        "package_id": package_id,
        "package_label": tag,
        "quantity": quantity_text(quantity),
        "unit": unit,
        "total_amount": str(net),
        "discount_amount": str(discount),
    }
    by_field: dict[str, Decimal] = {}
    for field, amount in taxes:
        by_field[field] = by_field.get(field, ZERO) + amount
    data.update({name: str(amount) for name, amount in by_field.items()})
    return data


def _patient_license(customer, customer_type: str) -> str:
    if customer is None or customer_type != CustomerType.MEDICAL:
        return ""
    registration = getattr(customer, "patient_registration", None)
    return registration.card_number if registration else ""


def _validate(cart: CartInput | None, *, register: Register, idempotency_key: str) -> None:
    if cart is None:
        raise ValidationFailed("Complete a quote of a cart.", details={"quote": ["Not a cart's quote."]})
    store, customer, customer_type, caregiver = cart.store, cart.customer, cart.customer_type, cart.caregiver
    problems = {}
    if caregiver is not None:
        if caregiver.organization_id != store.organization_id:
            problems["caregiver"] = ["Unknown customer."]
        elif customer is None or customer_type != CustomerType.MEDICAL:
            problems["caregiver"] = ["A caregiver buys medical sales for their patient."]
    if cart.veteran_proof and cart.veteran_proof not in VeteranProof.values:
        problems["veteran_proof"] = [f"Unknown veteran check {cart.veteran_proof!r}."]
    if register.store_id != store.pk:
        problems["register"] = ["The register is at another store."]
    if customer_type not in CustomerType.values:
        problems["customer_type"] = [f"Unknown customer type {customer_type!r}."]
    elif customer is None and customer_type == CustomerType.MEDICAL:
        problems["customer"] = ["A medical sale needs the patient."]
    if customer is not None and customer.organization_id != store.organization_id:
        problems["customer"] = ["Unknown customer."]
    if not cart.lines:
        problems["lines"] = ["A sale has at least one line."]
    if not idempotency_key or len(idempotency_key) > 100:
        problems["idempotency_key"] = ["Give an idempotency key of at most 100 characters."]
    if problems:
        raise ValidationFailed("The sale cannot be completed as given.", details=problems)


# A quote older than this is priced again at completion (time-of-day promotions, points multipliers by day).
QUOTE_VALID_FOR = dt.timedelta(minutes=10)


def sale_complete(
    *,
    quote: Quote,
    tenders: Sequence[TenderInput],
    register: Register,
    staff: User,
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> Sale:
    """Complete the sale `quote` priced (pos.selectors.quote.quote), in one transaction of small steps in this
    order: validate the cart; lock the register's drawer; claim the idempotency key (the sale's row: a retried
    key returns the first sale, the unique constraint decides); check the ID, the caregiver and the drawer;
    lock the customer with their loyalty account, then the codes spent; re-check what can have changed since
    the quote; write the lines, discounts, taxes, tenders, coupon uses, points, the sale's totals, the audit
    record and the events; take the stock last (the packages every register sells from stay locked the
    shortest time). A refused sale writes nothing.

    Re-checked: the ID (this store, today, unexpired, passed), the caregiver's registration and the patient's
    card; the stock by one conditional update of the packages the quote picked (when one of them was sold or
    changed meanwhile, the whole attempt rolls back and the packages are picked again under locks, which says
    why when the stock is not there). The cart is quoted again under the locks when the rules, promotions,
    loyalty program or catalog changed since (their versions), the local day turned, the quote is older than
    QUOTE_VALID_FOR, the customer bought meanwhile (their purchases in the limits' window are counted with
    their lock), or codes or rewards are spent (uses and points are counted under the locks): the sale goes
    on with the new quote when its total is the one quoted, and QuoteChanged refuses it otherwise (a code
    used up meanwhile refuses it with CouponInvalid)."""
    cart = quote.cart
    _validate(cart, register=register, idempotency_key=idempotency_key)
    employee_check(store=cart.store, employee=cart.employee, staff=staff)
    now = now or timezone.now()
    attempt = functools.partial(
        _complete, quote, tenders=tenders, register=register, staff=staff, key=idempotency_key, now=now
    )
    try:
        try:
            return attempt(pick_again=False)
        except StockMoved:
            return attempt(pick_again=True)
    except IntegrityError:
        first = Sale.objects.filter(store=cart.store, idempotency_key=idempotency_key).first()
        if first is None:
            raise
        return first


def _complete(
    quote: Quote,
    *,
    tenders: Sequence[TenderInput],
    register: Register,
    staff: User,
    key: str,
    now: dt.datetime,
    pick_again: bool,
) -> Sale:
    cart = quote.cart
    store = cart.store
    today = store_local_date(store, at=now)
    with transaction.atomic():
        with events.batch() as pending:
            sale, quote, picked = _sale_write(
                quote,
                pending=pending,
                tenders=tenders,
                register=register,
                staff=staff,
                key=key,
                now=now,
                today=today,
                pick_again=pick_again,
            )
        if picked:
            # Last, so that the packages, which every register sells from, stay locked the shortest time.
            _picked_stock_take(quote, sale=sale, staff=staff, today=today)
        return sale


def _sale_write(
    quote, *, pending, tenders, register, staff, key, now, today, pick_again
) -> tuple[Sale, Quote, bool]:
    """Every step but taking the stock the quote picked: (the sale, the quote it was written with, whether
    that stock is still to take)."""
    cart = quote.cart
    store = cart.store
    if writes.in_one_statement():  # the drawer locked by the sale's INSERT, first
        sale = _claim(quote, register=register, staff=staff, key=key, now=now, today=today, drawer=None)
        drawer = sale.drawer_session_id
    else:
        drawer = _drawer_lock(register)
        sale = _claim(quote, register=register, staff=staff, key=key, now=now, today=today, drawer=drawer)
    _check_id(
        cart.id_verification, store=store, customer=cart.customer, today=today, caregiver=cart.caregiver
    )
    link = (
        caregiver_link_get(caregiver=cart.caregiver, patient=cart.customer, today=today)
        if cart.caregiver
        else None
    )
    if drawer is None and any(tender.kind == Tender.Kind.CASH for tender in tenders):
        raise TenderInvalid(
            f"Open the drawer of {register.name} before taking cash.", details={"drawer": ["Not open."]}
        )
    buyer = _lock_buyer(quote, sale)
    _lock_codes(store=store, coupon_codes=cart.coupon_codes)
    quote = _current(quote, now=now, today=today, buyer=buyer)
    _allowed(quote, today=today)
    tender_rows = _tenders(tenders, quote.total)
    picked = cart.pickup_order is None and quote.stock_picked and not pick_again
    if picked:
        picks = [line.picks for line in quote.lines]
    else:
        picks = _stock_take(quote, sale=sale, staff=staff, now=now)
    coupon_redemptions_record(sale=sale, coupons=quote.coupons, now=now)
    if cart.customer is not None:
        loyalty_sale_record(
            sale=sale, loyalty=buyer.loyalty, rewards=quote.rewards, points=quote.points_to_earn, now=now
        )
    _sale_totals_write(sale, quote)
    if writes.in_one_statement():
        _sale_rows_write(
            sale,
            quote,
            picks=picks,
            tenders=tender_rows,
            staff=staff,
            now=now,
            today=today,
            link=link,
            pending=pending,
            take_picked=picked,
        )
        return sale, quote, False
    sale_lines = _write_lines(sale, quote.lines, picks)
    for row in tender_rows:
        row.sale = sale
    Tender.objects.bulk_create(tender_rows)
    _sale_completed_record(
        sale, quote, staff=staff, now=now, lines=sale_lines, tenders=tender_rows, link=link
    )
    return sale, quote, picked


def _drawer_lock(register: Register) -> int | None:
    """The id of the register's open drawer, which cash goes into, locked: a blind close computing the expected
    cash waits for this sale (and refuses it after)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Written in SQL: the ORM's compiling costs more than the query on the checkout's hot path.
    with writes.prepared_cursor() as cursor:
        cursor.execute(f"{_DRAWER_SQL}{lock}", [register.pk, DrawerSession.Status.OPEN])
        row = cursor.fetchone()
    return row[0] if row else None


_DRAWER_SQL = (
    f"SELECT id FROM {DrawerSession._meta.db_table} WHERE register_id = %s AND status = %s "  # noqa: S608
    "ORDER BY opened_at DESC, id DESC LIMIT 1"
)


def _claim(quote: Quote, *, register, staff, key, now, today, drawer) -> Sale:
    """The sale's row, inserted first: its (store, idempotency key) is unique, so a second completion with the
    key fails here and the caller returns the first sale. It is inserted with the quote's totals and points and
    (on PostgreSQL, which gives it its id in the same statement) its receipt number: the sale's row is updated
    later only when these moved (a cart quoted again under the locks, points not as quoted)."""
    cart = quote.cart
    sale = Sale(
        store=cart.store,
        register=register,
        customer=cart.customer,
        customer_type=cart.customer_type,
        staff=staff,
        id_verification=cart.id_verification,
        local_date=today,
        completed_at=now,
        receipt_number=f"pending-{uuid.uuid4().hex}",
        idempotency_key=key,
        caregiver=cart.caregiver,
        employee=cart.employee,
        veteran_proof=cart.veteran_proof,
        drawer_session_id=drawer,
    )
    _totals_set(sale, quote)
    sale.points_earned, sale.points_redeemed = _points(quote)
    if not writes.in_one_statement():
        sale.save(force_insert=True)
        sale.written = _written(sale)
        return sale
    fields = _sale_insert_fields()
    prefix = f"{cart.store.code}-"
    # PostgreSQL: the register's open drawer locked first (as _drawer_lock), then the row inserted with the id
    # from the table's sequence, so that the receipt number is the final one, in one statement.
    sql = (
        f"WITH drawer AS ({_DRAWER_SQL} FOR UPDATE) "  # noqa: S608
        f"INSERT INTO {Sale._meta.db_table} (id, receipt_number, drawer_session_id, "
        + ", ".join(field.column for field, _ in fields)
        + ") SELECT s.id, %s::varchar || s.id, (SELECT id FROM drawer), "
        + ", ".join(f"%s::{cast}" for _, cast in fields)
        + f" FROM (SELECT nextval(pg_get_serial_sequence('{Sale._meta.db_table}', 'id')) AS id) AS s "
        "RETURNING id, drawer_session_id"
    )
    params = [register.pk, DrawerSession.Status.OPEN, prefix]
    with writes.prepared_cursor() as cursor:
        cursor.execute(sql, [*params, *(getattr(sale, field.attname) for field, _ in fields)])
        sale.pk, sale.drawer_session_id = cursor.fetchone()
    sale.receipt_number = f"{prefix}{sale.pk}"
    sale._state.adding = False
    sale._state.db = connection.alias
    sale.written = _written(sale)
    return sale


@functools.cache
def _sale_insert_fields() -> list:
    """The sale's columns but its id and receipt number, each with the type its parameter is cast to."""
    return [
        (field, field.cast_db_type(connection))
        for field in Sale._meta.concrete_fields
        if field.attname not in ("id", "receipt_number", "drawer_session_id")
    ]


_WRITTEN_LATER = (
    "subtotal",
    "discount_total",
    "excise_tax_total",
    "sales_tax_total",
    "local_tax_total",
    "tax_total",
    "total",
    "points_earned",
    "points_redeemed",
)


def _written(sale: Sale) -> dict:
    return {name: getattr(sale, name) for name in ("receipt_number", *_WRITTEN_LATER)}


def _points(quote: Quote) -> tuple[int, int]:
    """The points the sale will earn and redeem, as loyalty_sale_record will count them, when nothing moves
    meanwhile (the sale's row is corrected when something did)."""
    cart, loyalty = quote.cart, quote.loyalty
    applied = [result for result in quote.rewards if result.applied]
    points = quote.points_to_earn
    if cart.customer is None or loyalty is None or not loyalty.enabled or (points <= 0 and not applied):
        return 0, 0
    return points, sum(result.points for result in applied)


@dataclass(frozen=True)
class _LockedBuyer:
    purchases: int  # the customer's purchases in the quote's limits window, now
    open_orders: int  # ...and their other open orders, now
    loyalty: LoyaltyContext | None  # the quote's, with the account's balance as locked


def _purchases_since(since: dt.datetime | None, customer_ref: str, sale: Sale):
    sales = (
        Sale.objects.filter(
            customer_id=OuterRef(customer_ref), status=Sale.Status.COMPLETED, completed_at__gte=since
        )
        .exclude(pk=sale.pk)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(sales), 0)


def _open_orders(customer_ref: str, quote: Quote):
    order = quote.cart.pickup_order
    orders = PickupOrder.objects.filter(customer_id=OuterRef(customer_ref), status__in=OPEN_STATUSES)
    if order is not None:
        orders = orders.exclude(pk=order.pk)
    orders = orders.order_by().values("customer_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(orders), 0)


def _lock_buyer(quote: Quote, sale: Sale) -> _LockedBuyer | None:
    """Lock the customer (one sale at a time per customer, so two registers cannot both use the same
    allowance), with their loyalty account when the quote read one, in one query that also counts their
    purchases in the limits' window: another count than the quote's means they bought meanwhile."""
    customer = quote.cart.customer
    if customer is None:
        return None
    loyalty = quote.loyalty
    account = loyalty.account if loyalty is not None else None
    if account is None:
        purchases = (
            Customer.objects.select_for_update(of=("self",))
            .filter(pk=customer.pk)
            .annotate(
                purchases=_purchases_since(quote.history_since, "pk", sale),
                open_orders=_open_orders("pk", quote),
            )
            .values_list("purchases", "open_orders")
            .first()
        ) or (0, 0)
        return _LockedBuyer(purchases[0], purchases[1], loyalty)
    locked = (
        LoyaltyAccount.objects.select_for_update(of=("self", "customer"))
        .select_related("customer")
        .only("pk", "balance", "customer__id")
        .annotate(
            purchases=_purchases_since(quote.history_since, "customer_id", sale),
            open_orders=_open_orders("customer_id", quote),
        )
        .get(pk=account.pk)
    )
    current = copy.copy(account)
    current.balance = locked.balance
    current.customer = customer
    return _LockedBuyer(locked.purchases, locked.open_orders, replace(loyalty, account=current))


def _lock_codes(*, store: Store, coupon_codes: Sequence[str]) -> None:
    """Lock the coupons asked for in primary-key order, so two registers cannot both spend a code's last use."""
    codes = coupon_codes_normalize(coupon_codes)
    if codes:
        list(
            Coupon.objects.select_for_update(of=("self",))
            .filter(organization_id=store.organization_id, code__in=codes)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _current(quote: Quote, *, now: dt.datetime, today: dt.date, buyer: _LockedBuyer | None) -> Quote:
    """The quote if nothing it depends on moved since; else the cart quoted again under the locks, refused when
    its total is not the one quoted."""
    cart = quote.cart
    account = quote.loyalty.account if quote.loyalty is not None else None
    moved = (
        quote.versions != quote_versions(cart.store)
        or quote.local_date != today
        or quote.at is None
        or abs(now - quote.at) > QUOTE_VALID_FOR
        or bool(cart.coupon_codes or cart.reward_ids)
        or (buyer is not None and buyer.purchases != quote.history_count)
        or (buyer is not None and buyer.open_orders != quote.open_orders_count)
        or (buyer is not None and account is not None and buyer.loyalty.account.balance != account.balance)
    )
    if not moved:
        return quote
    fresh = quote_cart(replace(cart, at=now))
    _codes_usable(fresh)  # a code used up meanwhile says so, rather than that the total moved
    if fresh.total != quote.total:
        raise QuoteChanged(
            f"The total changed from {quote.total} to {fresh.total} since the sale was priced: show the "
            "customer the new total.",
            details={"quoted": str(quote.total), "total": str(fresh.total)},
        )
    return fresh


def _allowed(quote: Quote, *, today: dt.date) -> None:
    """Refuse what the rules do not allow: a medical patient without a valid card, products of another
    organization, an anonymous sale where the state names every buyer, the limit engine's verdict, and codes
    or rewards that cannot be used."""
    cart = quote.cart
    if cart.customer_type == CustomerType.MEDICAL:
        status = medical_status(customer=cart.customer, today=today)
        if not status.allowed:
            raise SaleNotAllowed(" ".join(status.problems), details={"problems": list(status.problems)})
    if quote.unknown_product_ids:
        raise ValidationFailed("Unknown products.", details={"product_ids": list(quote.unknown_product_ids)})
    anonymous_check(rules=quote.rules, customer=cart.customer)
    verdict_enforce(quote.verdict)
    _codes_usable(quote)


def _codes_usable(quote: Quote) -> None:
    if quote.refused:
        raise CouponInvalid(
            " ".join(result.message for result in quote.refused),
            details={"codes": {result.code: result.message for result in quote.refused}},
        )


def _picked_stock_take(quote: Quote, *, sale: Sale, staff: User, today: dt.date) -> None:
    """Take the packages the quote picked with one conditional update (StockMoved when one of them was sold or
    changed meanwhile: the caller rolls back and picks again under locks)."""
    stock_sell_picked(**_picked_stock(quote, sale=sale, staff=staff, today=today))


def _picked_stock(quote: Quote, *, sale: Sale, staff: User, today: dt.date) -> dict:
    return {
        "store": quote.cart.store,
        "picks": [pick for line in quote.lines for pick in line.picks],
        "actor": staff,
        "reference": Reference("sale", str(sale.pk)),
        "today": today,
        "reorder_points": {line.product.pk: line.product.reorder_point for line in quote.lines},
    }


def _stock_take(quote: Quote, *, sale: Sale, staff: User, now: dt.datetime) -> list[tuple[PackagePick, ...]]:
    """The packages of each line when the quote's picks cannot be taken as they are: completing a pickup order,
    its allocation first (the rest released); otherwise picked again under locks (which says why when the
    stock is not there)."""
    cart = quote.cart
    requests = [StockRequest(line.product.pk, line.quantity, line.package_id) for line in quote.lines]
    if cart.pickup_order is not None:
        takes = pickup_order_fulfil(
            order=cart.pickup_order, sale=sale, requests=requests, actor=staff, now=now
        )
    else:
        takes = stock_sell(
            store=cart.store, requests=requests, actor=staff, reference=Reference("sale", str(sale.pk))
        )
    packages = {
        package.pk: package
        for package in Package.objects.filter(pk__in={take.package_id for take in takes}).only(
            "pk", "tag", "unit"
        )
    }
    pieces, by_line = iter(takes), []
    for line in quote.lines:
        got, wanted = [], line.quantity
        while wanted > ZERO:
            take = next(pieces)
            wanted -= take.quantity
            package = packages[take.package_id]
            got.append(
                PackagePick(take.package_id, take.product_id, take.quantity, package.tag, package.unit)
            )
        by_line.append(tuple(got))
    return by_line


def _sale_totals_write(sale: Sale, quote: Quote) -> None:
    """The receipt number (which needs the sale's id: without PostgreSQL's sequence in the INSERT it is
    written here), the totals and the points, in one update of what changed since the sale's row was
    inserted; none when nothing did."""
    sale.receipt_number = f"{quote.cart.store.code}-{sale.pk}"
    _totals_set(sale, quote)
    changed = [name for name, value in sale.written.items() if getattr(sale, name) != value]
    if changed:
        sale.save(update_fields=changed)
        sale.written = _written(sale)


def _totals_set(sale: Sale, quote: Quote) -> None:
    sale.subtotal = quote.subtotal
    sale.discount_total = quote.discount_total
    sale.excise_tax_total = quote.tax_totals.get("excise", ZERO)
    sale.sales_tax_total = quote.tax_totals.get("state", ZERO)
    sale.local_tax_total = quote.tax_totals.get("local", ZERO)
    sale.tax_total = quote.tax_total
    sale.total = quote.total


def _sale_completed_record(sale: Sale, quote: Quote, *, staff, now, lines, tenders, link) -> None:
    """The audit record and SaleCompleted (the state's receipt, the customer's receipt)."""
    cart = quote.cart
    store = cart.store
    audit_record(
        actor=staff,
        action="sale.completed",
        instance=sale,
        after=_completed_audit(sale, quote, lines=len(lines), tenders=tenders),
        organization=store.organization,
        store=store,
    )
    publish(
        _sale_completed(
            sale, quote, now=now, lines=[line_event(line, tag=line.package_tag) for line in lines], link=link
        )
    )


def _completed_audit(sale: Sale, quote: Quote, *, lines: int, tenders) -> dict:
    cart = quote.cart
    return {
        "receipt_number": sale.receipt_number,
        "total": str(sale.total),
        "customer_type": cart.customer_type,
        "caregiver": cart.caregiver.pk if cart.caregiver else None,
        "employee": cart.employee.pk if cart.employee else None,
        "veteran_proof": cart.veteran_proof,
        "lines": lines,
        "change_due": str(sum((row.change_due for row in tenders), ZERO)),
    }


def _sale_completed(sale: Sale, quote: Quote, *, now, lines: list[dict], link) -> SaleCompleted:
    cart = quote.cart
    store = cart.store
    return SaleCompleted(
        sale_id=sale.pk,
        organization_id=store.organization_id,
        store_id=store.pk,
        completed_at=now.astimezone(dt.UTC).isoformat(),
        customer_type=cart.customer_type,
        lines=lines,
        customer_id=cart.customer.pk if cart.customer else None,
        patient_license_number=_patient_license(cart.customer, cart.customer_type),
        caregiver_license_number=link.caregiver_card_number if link else "",
        receipt_number=sale.receipt_number,
    )


def _split(amount: Decimal, shares: list[Decimal], whole: Decimal) -> list[Decimal]:
    """`amount` in parts proportional to `shares` (which sum to `whole`); the last part takes the rounding."""
    parts, left = [], amount
    for share in shares[:-1]:
        part = money(amount * share / whole)
        parts.append(part)
        left -= part
    return [*parts, left]


def _write_lines(sale: Sale, priced: Sequence[QuoteLine], picks: list[tuple[PackagePick, ...]]) -> list:
    """One sale line per package taken (a line served by two packages makes two sale lines, its amounts,
    discounts and taxes split by quantity so they still add up to the quoted line)."""
    rows, discounts, tax_rows = [], [], []
    for quoted, parts in _line_parts(priced, picks):
        for take, list_amount, discount, net, tax, total, discount_parts, tax_parts in parts:
            row = SaleLine(
                sale=sale,
                product=quoted.product,
                package_id=take.package_id,
                quantity=take.quantity,
                unit=take.unit,
                unit_price=quoted.unit_price,
                list_amount=list_amount,
                discount_amount=discount,
                net_amount=net,
                tax_amount=tax,
                total=total,
                limit_amounts={
                    amount.bucket: quantity_text(amount.amount * take.quantity)
                    for amount in quoted.product.limit_amounts.all()
                },
            )
            row.package_tag = take.tag  # the state's receipt line names the package without reading it
            rows.append(row)
            discounts += [
                SaleLineDiscount(
                    line=row,
                    source=d.source,
                    name=d.name,
                    amount=amount,
                    promotion_id=d.promotion_id,
                    coupon_id=d.coupon_id,
                    reward_id=d.reward_id,
                    approved_by_id=d.approved_by_id,
                )
                for d, amount in zip(quoted.discounts, discount_parts, strict=True)
                if amount > ZERO
            ]
            tax_rows += [
                SaleLineTax(
                    line=row,
                    tax_rate_id=t.tax.id,
                    name=t.tax.name,
                    field=t.tax.field,
                    level=t.tax.level,
                    rate=t.tax.rate,
                    included_in_price=t.tax.included_in_price,
                    amount=amount,
                )
                for t, amount in zip(quoted.taxes, tax_parts, strict=True)
            ]
    SaleLine.objects.bulk_create(rows)
    SaleLineDiscount.objects.bulk_create(discounts)
    SaleLineTax.objects.bulk_create(tax_rows)
    by_line: dict[int, list] = {}
    for tax in tax_rows:
        by_line.setdefault(id(tax.line), []).append(tax)
    for row in rows:
        # The events read the taxes through the related manager; fill its cache instead of querying again.
        row._prefetched_objects_cache = {"taxes": _Prefetched(by_line.get(id(row), []))}
    return rows


def _line_parts(priced: Sequence[QuoteLine], picks: list[tuple[PackagePick, ...]]):
    """For each quoted line, its parts by package taken: (take, list amount, discount, net, tax, total, each
    discount's part, each tax's part)."""
    for quoted, line_takes in zip(priced, picks, strict=True):
        if len(line_takes) == 1:
            discounts = tuple(d.amount for d in quoted.discounts)
            taxes = tuple(t.amount for t in quoted.taxes)
            yield (
                quoted,
                [
                    (
                        line_takes[0],
                        quoted.list_amount,
                        quoted.discount_amount,
                        quoted.net_amount,
                        quoted.tax_amount,
                        quoted.total,
                        discounts,
                        taxes,
                    )
                ],
            )
            continue
        shares = [take.quantity for take in line_takes]

        def split(amount, shares=shares, quoted=quoted):
            return _split(amount, shares, quoted.quantity)

        yield (
            quoted,
            zip(
                line_takes,
                split(quoted.list_amount),
                split(quoted.discount_amount),
                split(quoted.net_amount),
                split(quoted.tax_amount),
                split(quoted.total),
                zip(*[split(d.amount) for d in quoted.discounts], strict=True)
                if quoted.discounts
                else repeat(()),
                zip(*[split(t.amount) for t in quoted.taxes], strict=True) if quoted.taxes else repeat(()),
                strict=False,
            ),
        )


_LINE_COLUMNS = (
    ("product_id", "bigint"),
    ("package_id", "bigint"),
    ("quantity", "numeric"),
    ("unit", "varchar"),
    ("unit_price", "numeric"),
    ("list_amount", "numeric"),
    ("discount_amount", "numeric"),
    ("net_amount", "numeric"),
    ("tax_amount", "numeric"),
    ("total", "numeric"),
    ("limit_amounts", "jsonb"),
)
_TAX_COLUMNS = (
    ("tax_rate_id", "bigint"),
    ("name", "varchar"),
    ("field", "varchar"),
    ("level", "varchar"),
    ("rate", "numeric"),
    ("included_in_price", "boolean"),
    ("amount", "numeric"),
)
_DISCOUNT_COLUMNS = (
    ("source", "varchar"),
    ("name", "varchar"),
    ("amount", "numeric"),
    ("promotion_id", "bigint"),
    ("coupon_id", "bigint"),
    ("reward_id", "bigint"),
    ("approved_by_id", "bigint"),
)


def _sale_rows_write(
    sale: Sale, quote: Quote, *, picks, tenders, staff, now, today, link, pending, take_picked
) -> None:
    """PostgreSQL: the lines with their discounts and taxes, the tenders, the audit record, the events (with
    those published before, in the batch `pending`) and, with `take_picked`, the stock the quote picked
    (its movements and conditional UPDATE, last) in ONE statement. The lines' ids come from their table's
    sequence in the statement, so that their discounts and taxes can name them."""
    lines, taxes, discounts, event_lines = [], [], [], []
    for quoted, parts in _line_parts(quote.lines, picks):
        buckets = [(amount.bucket, amount.amount) for amount in quoted.product.limit_amounts.all()]
        for take, list_amount, discount, net, tax, total, discount_parts, tax_parts in parts:
            n = len(lines) + 1
            limits = {bucket: quantity_text(amount * take.quantity) for bucket, amount in buckets}
            lines.append(
                (
                    n,
                    quoted.product.pk,
                    take.package_id,
                    take.quantity,
                    take.unit,
                    quoted.unit_price,
                    list_amount,
                    discount,
                    net,
                    tax,
                    total,
                    limits,
                )
            )
            for t, amount in zip(quoted.taxes, tax_parts, strict=True):
                rate = t.tax
                row = (rate.id, rate.name, rate.field, rate.level, rate.rate, rate.included_in_price, amount)
                taxes.append((len(taxes), n, *row))
            for d, amount in zip(quoted.discounts, discount_parts, strict=True):
                if amount > ZERO:
                    row = (
                        d.source,
                        d.name,
                        amount,
                        d.promotion_id,
                        d.coupon_id,
                        d.reward_id,
                        d.approved_by_id,
                    )
                    discounts.append((len(discounts), n, *row))
            event_lines.append(
                _line_data(
                    package_id=take.package_id,
                    tag=take.tag,
                    quantity=take.quantity,
                    unit=take.unit,
                    net=net,
                    discount=discount,
                    taxes=((t.tax.field, amount) for t, amount in zip(quoted.taxes, tax_parts, strict=True)),
                )
            )
    statement = writes.Statement()
    line_table = SaleLine._meta.db_table
    statement.add(
        "line_ids",
        f"SELECT nextval(pg_get_serial_sequence('{line_table}', 'id')) AS id, n "  # noqa: S608 - names from the code, values as parameters
        "FROM generate_series(1, %s) AS n",
        [len(lines)],
        materialized=True,
    )
    names = ", ".join(name for name, _ in _LINE_COLUMNS)
    sql, params = writes.records(lines, (("n", "int"), *_LINE_COLUMNS))
    statement.add(
        "sale_lines",
        f"INSERT INTO {line_table} (id, sale_id, {names}, refunded_quantity) "  # noqa: S608 - names from the code, values as parameters
        f"SELECT i.id, %s::bigint, {', '.join('v.' + name for name, _ in _LINE_COLUMNS)}, 0 "
        f"FROM {sql} JOIN line_ids AS i USING (n)",
        [sale.pk, *params],
    )
    for name, table, columns, rows in (
        ("sale_line_taxes", SaleLineTax._meta.db_table, _TAX_COLUMNS, taxes),
        ("sale_line_discounts", SaleLineDiscount._meta.db_table, _DISCOUNT_COLUMNS, discounts),
    ):
        if not rows:
            continue
        names = ", ".join(column for column, _ in columns)
        sql, params = writes.records(rows, (("k", "int"), ("n", "int"), *columns))
        statement.add(
            name,
            f"INSERT INTO {table} (line_id, {names}) "  # noqa: S608 - names from the code, values as parameters
            f"SELECT i.id, {', '.join('v.' + column for column, _ in columns)} "
            f"FROM {sql} JOIN line_ids AS i USING (n) ORDER BY v.k",
            params,
        )
    sql, params = writes.records(
        [(t.kind, t.amount, t.applied, t.change_due, t.reference) for t in tenders],
        (
            ("kind", "varchar"),
            ("amount", "numeric"),
            ("applied", "numeric"),
            ("change_due", "numeric"),
            ("reference", "varchar"),
        ),
    )
    statement.add(
        "tenders",
        f"INSERT INTO {Tender._meta.db_table} (sale_id, kind, amount, applied, change_due, reference) "  # noqa: S608
        f"SELECT %s::bigint, v.kind, v.amount, v.applied, v.change_due, v.reference FROM {sql}",
        [sale.pk, *params],
    )
    cart = quote.cart
    store = cart.store
    audit_add(
        statement,
        actor=staff,
        action="sale.completed",
        instance=sale,
        after=_completed_audit(sale, quote, lines=len(lines), tenders=tenders),
        organization_id=store.organization_id,
        store_id=store.pk,
    )
    publish(_sale_completed(sale, quote, now=now, lines=event_lines, link=link))
    rows = pending.take()
    outbox = events.outbox_add(statement, rows)
    if not take_picked:
        events.outbox_written(rows, statement.execute(outbox))
        return
    # Last, so that the packages, which every register sells from, stay locked the shortest time.
    taken = stock_sell_picked_add(statement, **_picked_stock(quote, sale=sale, staff=staff, today=today))
    results = statement.execute(
        f"SELECT 'taken', count(*), NULL::uuid FROM taken UNION ALL SELECT 'outbox', e.* FROM ({outbox}) AS e"  # noqa: S608
    )
    events.outbox_written(rows, [(pk, uuid_) for part, pk, uuid_ in results if part == "outbox"])
    taken(next(count for part, count, _ in results if part == "taken"))  # StockMoved: the caller picks again


class _Prefetched(list):
    def all(self):
        return self


# --- Voids and refunds -----------------------------------------------------------------------------------------


# A floor above may refuse a change of a sale that the state's records cannot take (delivery registers one for the
# sales reported as part of a delivery record, which Metrc's API cannot void or amend). Each guard takes the sale
# and "void" or "refund" and answers the refusal in plain words, or None.
_SALE_CHANGE_GUARDS: list = []


def sale_change_guard_register(guard) -> None:
    if guard not in _SALE_CHANGE_GUARDS:
        _SALE_CHANGE_GUARDS.append(guard)


def sale_change_refusal(sale: Sale, change: str) -> str | None:
    """Why the sale may not be voided or refunded (`change`), in plain words; None when it may."""
    for guard in _SALE_CHANGE_GUARDS:
        refusal = guard(sale, change)
        if refusal:
            return refusal
    return None


def _change_check(sale: Sale, change: str) -> None:
    refusal = sale_change_refusal(sale, change)
    if refusal:
        raise SaleChangeRefused(refusal, details={"change": change})


def _locked_sale(sale: Sale) -> Sale:
    return (
        Sale.objects.select_for_update(of=("self",))
        .select_related("store", "store__organization")
        .get(pk=sale.pk)
    )


@transaction.atomic
def sale_void(*, sale: Sale, actor: User, approver: User, now: dt.datetime | None = None) -> Sale:
    """Void a sale on its local day: everything not refunded goes back to stock, the state's receipt is voided."""
    now = now or timezone.now()
    locked = _locked_sale(sale)
    store = locked.store
    approver_check(approver, store)
    if locked.status != Sale.Status.COMPLETED:
        raise VoidNotAllowed("This sale is already voided.", details={"status": locked.status})
    _change_check(locked, "void")
    if store_local_date(store, at=now) != locked.local_date:
        raise VoidNotAllowed(
            f"Only sales of today can be voided; this one is from {locked.local_date:%Y-%m-%d}. Refund it instead.",
            details={"local_date": locked.local_date.isoformat()},
        )
    takes = [
        StockTake(line.package_id, line.product_id, line.remaining_quantity)
        for line in locked.lines.all()
        if line.remaining_quantity > ZERO
    ]
    if takes:
        stock_return(store=store, takes=takes, actor=actor, reference=_sale_reference(locked))
    locked.status = Sale.Status.VOIDED
    locked.voided_at = now
    locked.voided_by = actor
    locked.void_approved_by = approver
    locked.save(update_fields=["status", "voided_at", "voided_by", "void_approved_by"])
    loyalty_sale_void(sale=locked, actor=actor, now=now)
    audit_record(
        actor=actor,
        action="sale.voided",
        instance=locked,
        before={"status": Sale.Status.COMPLETED},
        after={"status": Sale.Status.VOIDED, "approved_by": approver.get_username()},
        organization=store.organization,
        store=store,
    )
    publish(
        SaleVoided(
            sale_id=locked.pk,
            organization_id=store.organization_id,
            store_id=store.pk,
            voided_at=now.astimezone(dt.UTC).isoformat(),
        )
    )
    return locked


@transaction.atomic
def sale_refund(
    *,
    sale: Sale,
    lines: Sequence[tuple[SaleLine, Decimal, bool]],
    reason: str,
    actor: User,
    approver: User,
    waste_reason: str = AdjustmentReason.DAMAGED,
    now: dt.datetime | None = None,
    tender_kind: str = Tender.Kind.CASH,
    register: Register | None = None,
) -> Refund:
    """Refund some quantity of some lines: restocked, or returned and wasted. Amounts are the line's rounded
    shares, so refunds of a whole line add up to exactly what was paid. Cash goes back from the open drawer of
    `register` (the sale's own when not given), card refunds go back to the card."""
    now = now or timezone.now()
    locked = _locked_sale(sale)
    _change_check(locked, "refund")
    drawer = _refund_drawer(locked, tender_kind, register)
    store = locked.store
    approver_check(approver, store)
    reason = (reason or "").strip()
    if locked.status != Sale.Status.COMPLETED:
        raise RefundInvalid("A voided sale cannot be refunded.", details={"status": locked.status})
    if not reason:
        raise RefundInvalid("Give the reason for the refund.", details={"reason": ["Required."]})
    if not lines:
        raise RefundInvalid("Choose the lines to refund.", details={"lines": ["At least one."]})
    sale_lines = {
        line.pk: line
        for line in SaleLine.objects.select_for_update(of=("self",))
        .filter(sale=locked)
        .select_related("package")
        .order_by("pk")
    }
    for line in sale_lines.values():
        line.taxes_list = list(line.taxes.all())
    seen, plan = set(), []
    for sale_line, quantity, restock in lines:
        line = sale_lines.get(sale_line.pk)
        quantity = Decimal(str(quantity))
        if line is None or line.pk in seen:
            raise RefundInvalid("Each line of this sale at most once.", details={"line": [sale_line.pk]})
        seen.add(line.pk)
        whole = line.unit != Product.SoldBy.EACH or quantity == quantity.to_integral_value()
        if not (ZERO < quantity <= line.remaining_quantity) or not whole:
            raise RefundInvalid(
                f"Line {line.pk} has {quantity_text(line.remaining_quantity)} left to refund.",
                details={"line": line.pk, "quantity": str(quantity)},
            )
        plan.append((line, quantity, bool(restock)))

    refund = Refund.objects.create(
        sale=locked,
        reason=reason,
        actor=actor,
        approved_by=approver,
        created_at=now,
        tender_kind=tender_kind,
        drawer_session=drawer,
    )
    rows = []
    for line, quantity, restock in plan:
        before, after = line.remaining_quantity, line.remaining_quantity - quantity
        net = _share(line.net_amount, before, line.quantity) - _share(line.net_amount, after, line.quantity)
        tax = sum(
            (
                _share(t.amount, before, line.quantity) - _share(t.amount, after, line.quantity)
                for t in line.taxes_list
            ),
            ZERO,
        )
        total = _share(line.total, before, line.quantity) - _share(line.total, after, line.quantity)
        rows.append(
            RefundLine(
                refund=refund,
                sale_line=line,
                quantity=quantity,
                restock=restock,
                net_amount=net,
                tax_amount=tax,
                total=total,
            )
        )
        SaleLine.objects.filter(pk=line.pk).update(refunded_quantity=F("refunded_quantity") + quantity)
        line.refunded_quantity += quantity
    stock_return(
        store=store,
        takes=[StockTake(line.package_id, line.product_id, quantity) for line, quantity, _ in plan],
        actor=actor,
        reference=Reference("refund", str(refund.pk)),
    )
    for row, (line, quantity, restock) in zip(rows, plan, strict=True):
        if not restock:
            row.waste_record = package_waste(
                package=line.package,
                quantity=quantity,
                reason=waste_reason,
                actor=actor,
                note=f"Refund {refund.pk} of sale {locked.receipt_number}: {reason}"[:2000],
                reference=Reference("refund", str(refund.pk)),
            )
    RefundLine.objects.bulk_create(rows)
    refund.net_amount = sum((row.net_amount for row in rows), ZERO)
    refund.tax_amount = sum((row.tax_amount for row in rows), ZERO)
    refund.total = sum((row.total for row in rows), ZERO)
    refund.save(update_fields=["net_amount", "tax_amount", "total"])
    Sale.objects.filter(pk=locked.pk).update(refunded_total=F("refunded_total") + refund.total)
    loyalty_refund_record(sale=locked, refund=refund, actor=actor, now=now)
    audit_record(
        actor=actor,
        action="sale.refunded",
        instance=locked,
        after={
            "refund_id": refund.pk,
            "total": str(refund.total),
            "reason": reason,
            "approved_by": approver.get_username(),
            "lines": [
                {"line": line.pk, "quantity": quantity_text(quantity), "restock": restock}
                for line, quantity, restock in plan
            ],
        },
        organization=store.organization,
        store=store,
    )
    remaining = []
    for line in sale_lines.values():
        if line.remaining_quantity > ZERO:
            line._prefetched_objects_cache = {"taxes": _Prefetched(line.taxes_list)}
            remaining.append(line_event(line, line.remaining_quantity))
    publish(
        SaleRefunded(
            sale_id=locked.pk,
            organization_id=store.organization_id,
            store_id=store.pk,
            refund_id=refund.pk,
            refunded_at=now.astimezone(dt.UTC).isoformat(),
            remaining_lines=remaining,
        )
    )
    return refund


def _refund_drawer(sale: Sale, tender_kind: str, register: Register | None) -> DrawerSession | None:
    """The open drawer cash is refunded from, locked like a sale's (a blind close waits for it); None for cards."""
    if tender_kind not in Tender.Kind.values:
        raise RefundInvalid(
            "Refund in cash or to the card.", details={"tender_kind": [f"Unknown kind {tender_kind!r}."]}
        )
    if tender_kind != Tender.Kind.CASH:
        return None
    register = register or sale.register
    if register.store_id != sale.store_id:
        raise RefundInvalid(
            "Refund cash from a register of the sale's store.", details={"register": ["Another store's."]}
        )
    drawer = (
        DrawerSession.objects.select_for_update(of=("self",))
        .filter(register=register, status=DrawerSession.Status.OPEN)
        .first()
    )
    if drawer is None:
        raise TenderInvalid(
            f"Open the drawer of {register.name} before refunding cash, or refund to the card.",
            details={"register": ["Drawer not open."]},
        )
    return drawer
