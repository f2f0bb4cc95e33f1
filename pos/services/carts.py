"""Carts: the sale a budtender builds at a register, line by line. Every change that adds to the cart is priced
and metered with `quote` first and refused (nothing written) when it would break a purchase limit; no
override lifts a limit. Completing a cart calls `sale_complete` with the cart's own idempotency key."""

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from compliance.identity import IdVerificationResult, caregiver_link_get, id_verify
from compliance.models import IdVerification
from compliance.selectors import jurisdiction_rules_get
from dispensary.audit import audit_record
from dispensary.clock import store_local_date
from dispensary.errors import Conflict, ValidationFailed
from dispensary.inputs import InputRejected, id_parse, money_parse, quantity_parse
from dispensary.models import Customer, Store, User
from dispensary.writes import prepared_cursor
from inventory.errors import PackageNotSellable
from inventory.models import Package, Product, quantity_text
from inventory.selectors import package_sellable_list
from pos.errors import CouponInvalid, PurchaseLimitExceeded
from pos.models import Cart, CartLine, CustomerType, PickupOrder, QueueEntry, Register, Sale, VeteranProof
from pos.selectors.carts import cart_quote
from pos.selectors.checks import minimum_age_get
from pos.selectors.quote import Quote, QuoteLineInput, products_for
from pos.services.pins import manager_pin_identify
from pos.services.queue import queue_entry_finish
from pos.services.sales import (
    TenderInput,
    employee_check,
    sale_complete,
)

# --- Helpers --------------------------------------------------------------------------------------------------


class _Columns:
    """One model's columns in a hand-written statement: their SQL (under an alias), and the instance made from a
    row's part with the converters the ORM would apply (dates, decimals and JSON on SQLite, JSON on PostgreSQL).
    Made once per process and vendor, so the hot reads below compile nothing per request."""

    def __init__(self, model, alias: str, vendor: str) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
        self.width = len(fields)
        self.names = [field.attname for field in fields]
        self.converters = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((index, column, found))

    def make(self, row: Sequence, start: int = 0):
        """The instance of `row[start:start + width]` (None for a LEFT JOIN's missing row)."""
        values = list(row[start : start + self.width])
        if values[0] is None:
            return None
        for index, column, converters in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.names, values)


@functools.cache
def _lock_statements(vendor: str, with_store: bool) -> tuple[str, list[_Columns]]:
    """The cart's lock and touch in one statement: `UPDATE ... WHERE id AND store AND open RETURNING`, which
    takes the row lock as SELECT FOR UPDATE did, with the customer and ID check (and the store when the caller
    has none) joined to it on PostgreSQL. SQLite, which locks the whole database on the first write and cannot
    join to an UPDATE's rows, reads the cart joined first and then touches it (the same two statements as
    before the change)."""
    quote = connection.ops.quote_name
    joined = [(Customer, "cu", "customer_id"), (IdVerification, "iv", "id_verification_id")]
    if with_store:
        joined.append((Store, "st", "store_id"))
    cart = _Columns(Cart, "c", vendor)
    columns = [cart, *(_Columns(model, alias, vendor) for model, alias, _ in joined)]
    joins = " ".join(
        f"LEFT JOIN {quote(model._meta.db_table)} {alias} ON {alias}.{quote(model._meta.pk.column)} = c.{quote(fk)}"
        for model, alias, fk in joined
    )
    table = quote(Cart._meta.db_table)
    select = ", ".join(column.sql for column in columns)
    if vendor == "postgresql":
        sql = (
            f"WITH c AS (UPDATE {table} SET {quote('updated_at')} = %s WHERE {quote('id')} = %s"  # noqa: S608
            f" AND {quote('store_id')} = %s AND {quote('status')} = %s RETURNING *)"
            f" SELECT {select} FROM c {joins}"
        )
    else:
        sql = f"SELECT {select} FROM {table} c {joins} WHERE c.{quote('id')} = %s AND c.{quote('store_id')} = %s"  # noqa: S608 - names from the models, values are parameters
    return sql, columns


def _locked(cart: Cart) -> Cart:
    """The cart, locked and touched (its `updated_at` now) for this change, and still open, with its customer and
    ID check. Read by id within its store, so that `cart` may be only that (`Cart(pk=..., store=...)`, the
    register's own request): Cart.DoesNotExist for another store's, Conflict for a cart no longer open."""
    store_known = Cart.store.is_cached(cart)
    vendor = connection.vendor
    sql, columns = _lock_statements(vendor, not store_known)
    now = timezone.now()
    stamp = Cart._meta.get_field("updated_at").get_db_prep_value(now, connection)
    with prepared_cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(sql, [stamp, cart.pk, cart.store_id, Cart.Status.OPEN.value])
        else:
            cursor.execute(sql, [cart.pk, cart.store_id])
        row = cursor.fetchone()
        if (
            vendor != "postgresql"
            and row is not None
            and row[columns[0].names.index("status")] == Cart.Status.OPEN
        ):
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(Cart._meta.db_table)} SET updated_at = %s WHERE id = %s",  # noqa: S608 - names from the models, values are parameters
                [stamp, cart.pk],
            )
    if row is None and vendor == "postgresql":
        # Not locked: missing, another store's, or no longer open (the refusal says which).
        found = (
            Cart.objects.filter(pk=cart.pk, store_id=cart.store_id).values_list("status", flat=True).first()
        )
        if found is None:
            raise Cart.DoesNotExist("Cart matching query does not exist.")
        _refuse_closed(found)
    if row is None:
        raise Cart.DoesNotExist("Cart matching query does not exist.")
    locked = columns[0].make(row)
    _refuse_closed(locked.status)
    locked.updated_at = now
    start = columns[0].width
    related = ["customer", "id_verification", *(() if store_known else ("store",))]
    for name, column in zip(related, columns[1:], strict=True):
        Cart._meta.get_field(name).set_cached_value(locked, column.make(row, start))
        start += column.width
    if store_known:
        locked.store = cart.store
    return locked


def _refuse_closed(status: str) -> None:
    if status != Cart.Status.OPEN:
        raise Conflict(
            f"This cart is {Cart.Status(status).label.lower()}: start a new one.",
            details={"cart": [status]},
        )


def _touch(cart: Cart, *fields: str) -> None:
    """Save `fields` of a cart `_locked` read (and touched); nothing more to write without fields."""
    if not fields:
        return
    cart.updated_at = timezone.now()
    cart.save(update_fields=[*fields, "updated_at"])


def _quantity(raw, *, product: Product) -> Decimal:
    """A positive quantity: whole units for packaged goods, grams (up to three decimals) for bulk."""
    try:
        quantity = quantity_parse(raw)
    except InputRejected as error:
        raise ValidationFailed(error.message, details={"quantity": [error.message]}) from None
    if quantity <= 0:
        raise ValidationFailed(
            "Give a quantity above zero.", details={"quantity": [f"{raw!r} is not a quantity above zero."]}
        )
    if product.sold_by == Product.SoldBy.EACH and quantity != quantity.to_integral_value():
        raise ValidationFailed(
            f"{product.name} is sold in whole units.", details={"quantity": ["Whole units only."]}
        )
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ValidationFailed(
            "Weigh to the milligram at most.", details={"quantity": ["Three decimals at most."]}
        )
    return quantity


def line_input(line: CartLine, *, quantity: Decimal | None = None) -> QuoteLineInput:
    return QuoteLineInput(
        product_id=line.product_id,
        quantity=line.quantity if quantity is None else quantity,
        package_id=line.package_id,
        price_override=line.price_override,
        approved_by_id=line.override_approved_by_id,
    )


def cart_quote_of(cart: Cart, lines: Sequence[QuoteLineInput], *, customer=None, customer_type=None) -> Quote:
    """What `lines` in this cart would cost and how they stand against the limits."""
    return cart_quote(cart, lines, customer=customer, customer_type=customer_type)


def _refuse_over_limit(quote: Quote) -> Quote:
    violations = quote.limit_violations
    if violations:
        raise PurchaseLimitExceeded(
            "Refused: " + " ".join(violation.message for violation in violations),
            details={
                "violations": [violation.as_dict() for violation in violations],
                "limits": [usage.as_dict() for usage in quote.limits],
            },
        )
    return quote


@functools.cache
def _lines_statement(vendor: str) -> tuple[str, _Columns, _Columns]:
    quote = connection.ops.quote_name
    line, package = _Columns(CartLine, "l", vendor), _Columns(Package, "p", vendor)
    sql = (
        f"SELECT {line.sql}, {package.sql} FROM {quote(CartLine._meta.db_table)} l"  # noqa: S608
        f" LEFT JOIN {quote(Package._meta.db_table)} p ON p.{quote('id')} = l.{quote('package_id')}"
        f" WHERE l.{quote('cart_id')} = %s ORDER BY l.{quote('id')}"
    )
    return sql, line, package


def _current_lines(cart: Cart) -> list[CartLine]:
    """The cart's lines in the screen's order, each with its package (what the register shows of each line, so
    the screen needs no second read of them); one statement written once per process."""
    sql, line_columns, package_columns = _lines_statement(connection.vendor)
    with prepared_cursor() as cursor:
        cursor.execute(sql, [cart.pk])
        rows = cursor.fetchall()
    package_field = CartLine._meta.get_field("package")
    lines = []
    for row in rows:
        line = line_columns.make(row)
        package_field.set_cached_value(line, package_columns.make(row, line_columns.width))
        lines.append(line)
    return lines


@dataclass(frozen=True)
class LineChange:
    """A line added or changed, with every line of the cart after the change (in the screen's order) and, when
    the change had to be priced to be allowed, the quote of exactly those lines, so the register shows the
    change without pricing the cart a second time."""

    line: CartLine
    lines: list[CartLine]
    quote: Quote | None
    cart: Cart | None = None  # the cart as locked for the change (with its store, customer and ID check)


def _check_stock(
    cart: Cart, lines: list[CartLine], *, product: Product, package: Package | None, extra: Decimal
):
    """Refuse now what completion would refuse for want of stock (completion decides again under lock)."""
    wanted = extra + sum(
        (
            line.quantity
            for line in lines
            if line.product_id == product.pk and (package is None or line.package_id == package.pk)
        ),
        Decimal(0),
    )
    if package is not None:
        available = package.quantity_available
    else:
        available = package_sellable_list(store=cart.store, product_id=product.pk).aggregate(
            total=Sum("quantity_on_hand") - Sum("quantity_allocated")
        )["total"] or Decimal(0)
    if wanted > available:
        raise PackageNotSellable(
            f"Only {quantity_text(available)} {product.sold_by} of {product.name} can be sold here"
            f" ({quantity_text(wanted)} in the cart).",
            details={"product_id": product.pk, "available": quantity_text(available)},
        )


def _why_not_sellable(package: Package, today: dt.date) -> str | None:
    if package.status != Package.Status.ACTIVE:
        return f"it is {package.get_status_display().lower()}"
    if package.lab_status == Package.LabStatus.FAILED:
        return "it failed lab testing"
    if package.expires_on is not None and package.expires_on < today:
        return f"it expired on {package.expires_on:%b %d, %Y}"
    if package.quantity_available <= 0:
        return "none of it is left"
    return None


def _add(cart: Cart, *, staff: User, product: Product, quantity, package: Package | None) -> LineChange:
    """Add to the cart (merging with the same product and package), after the stock and limit checks."""
    if product.sold_by == Product.SoldBy.WEIGHT and quantity in (None, ""):
        raise ValidationFailed(
            f"{product.name} is sold by weight: weigh it and give the grams.",
            details={"quantity": ["Weight in grams required."]},
        )
    quantity = _quantity(1 if quantity in (None, "") else quantity, product=product)
    lines = _current_lines(cart)
    _check_stock(cart, lines, product=product, package=package, extra=quantity)
    package_id = package.pk if package else None
    same = next(
        (
            line
            for line in lines
            if line.product_id == product.pk and line.package_id == package_id and line.price_override is None
        ),
        None,
    )
    inputs = [line_input(line, quantity=line.quantity + quantity if line is same else None) for line in lines]
    if same is None:
        inputs.append(QuoteLineInput(product_id=product.pk, quantity=quantity, package_id=package_id))
    quote = _refuse_over_limit(cart_quote_of(cart, inputs))
    if same is not None:
        same.quantity += quantity
        same.save(update_fields=["quantity"])
        line = same
    else:
        line = CartLine.objects.create(
            cart=cart, product=product, package=package, quantity=quantity, added_at=timezone.now()
        )
        lines.append(line)
    _touch(cart)
    return LineChange(line=line, lines=lines, quote=quote, cart=cart)


def _line(cart: Cart, line_id) -> CartLine:
    line = (
        CartLine.objects.filter(cart=cart, pk=id_parse(line_id)).select_related("product").first()
        if id_parse(line_id)
        else None
    )
    if line is None:
        raise ValidationFailed("That line is not in this cart.", details={"line": ["Unknown line."]})
    return line


# --- Opening and the customer ---------------------------------------------------------------------------------


@transaction.atomic
def cart_open(
    *,
    store: Store,
    register: Register,
    staff: User,
    customer: Customer | None = None,
    customer_type: str = CustomerType.ADULT_USE,
    queue_entry: QueueEntry | None = None,
) -> Cart:
    """A new, empty cart at `register` with its own idempotency key. From a queue entry it takes the entry's
    customer, type and door ID check (the entry itself is left to the queue's services)."""
    problems = {}
    if register.store_id != store.pk or not register.active:
        problems["register"] = ["Not an active register of this store."]
    if queue_entry is not None:
        if queue_entry.store_id != store.pk:
            problems["queue_entry"] = ["Not in this store's queue."]
        customer = queue_entry.customer
        customer_type = queue_entry.customer_type
    if customer_type not in CustomerType.values:
        problems["customer_type"] = [f"Unknown customer type {customer_type!r}."]
    if customer is not None and customer.organization_id != store.organization_id:
        problems["customer"] = ["Unknown customer."]
    if problems:
        raise ValidationFailed("The cart cannot be opened as given.", details=problems)
    now = timezone.now()
    cart = Cart.objects.create(
        store=store,
        register=register,
        staff=staff,
        customer=customer,
        customer_type=customer_type,
        queue_entry=queue_entry,
        id_verification=queue_entry.id_verification if queue_entry is not None else None,
        idempotency_key=uuid.uuid4().hex,
        created_at=now,
        updated_at=now,
    )
    order = queue_entry.pickup_order if queue_entry is not None else None
    if order is not None and order.status in (PickupOrder.Status.RESERVED, PickupOrder.Status.CHECKED_IN):
        # A pickup order's cart holds the order's reserved packages; completing it commits that allocation.
        # A patient's order collected by their caregiver is sold to the patient through the caregiver.
        cart.pickup_order = order
        fields = ["pickup_order"]
        if order.caregiver_id is not None:
            cart.customer, cart.customer_type, cart.caregiver = (
                order.customer,
                order.customer_type,
                order.caregiver,
            )
            fields += ["customer", "customer_type", "caregiver"]
        cart.save(update_fields=fields)
        CartLine.objects.bulk_create(
            CartLine(
                cart=cart,
                product_id=line.product_id,
                package_id=line.package_id,
                quantity=line.quantity,
                added_at=now,
            )
            for line in order.lines.all()
        )
    audit_record(
        actor=staff,
        action="cart.opened",
        instance=cart,
        after={"register": register.pk, "customer": customer.pk if customer else None, "type": customer_type},
        organization=store.organization,
        store=store,
    )
    return cart


@transaction.atomic
def cart_customer_set(
    *, cart: Cart, staff: User, customer: Customer | None, customer_type: str | None = None
) -> Cart:
    """Sell to `customer` (None: anonymous, where the state allows it; medical sales never). The cart's lines
    must stay within the new customer's limits; an ID checked for someone else is dropped."""
    cart = _locked(cart)
    customer_type = customer_type or cart.customer_type
    if customer_type not in CustomerType.values:
        raise ValidationFailed("Unknown customer type.", details={"customer_type": [customer_type]})
    if customer is not None and customer.organization_id != cart.store.organization_id:
        raise ValidationFailed("Unknown customer.", details={"customer": ["Unknown customer."]})
    if customer is None:
        rules = jurisdiction_rules_get(jurisdiction=cart.store.jurisdiction, on=store_local_date(cart.store))
        if customer_type == CustomerType.MEDICAL or not rules.anonymous_sales_allowed:
            raise ValidationFailed(
                f"{rules.name} does not allow this sale without the customer: look them up or add them.",
                details={"customer": ["Required."]},
            )
    if cart.caregiver is not None and customer == cart.customer and customer_type != CustomerType.MEDICAL:
        raise ValidationFailed(
            "A caregiver buys medical sales for their patient: sell to the caregiver instead to sell adult use.",
            details={"customer_type": ["Medical with a caregiver."]},
        )
    lines = [line_input(line) for line in _current_lines(cart)]
    if customer != cart.customer:
        cart.caregiver = None
    if lines:
        _refuse_over_limit(cart_quote_of(cart, lines, customer=customer, customer_type=customer_type))
    verification = cart.id_verification
    holders = (None, customer.pk if customer else None, cart.caregiver_id)
    if verification is not None and verification.customer_id not in holders:
        cart.id_verification = None
    before = {"customer": cart.customer_id, "type": cart.customer_type}
    fields = ["customer", "customer_type", "id_verification"]
    if customer != cart.customer:
        # The checks made for the previous customer do not carry over.
        cart.caregiver, cart.employee, cart.veteran_proof = None, None, ""
        fields += ["caregiver", "employee", "veteran_proof"]
    cart.customer, cart.customer_type = customer, customer_type
    _touch(cart, *fields)
    audit_record(
        actor=staff,
        action="cart.customer_set",
        instance=cart,
        before=before,
        after={"customer": customer.pk if customer else None, "type": customer_type},
        organization=cart.store.organization,
        store=cart.store,
    )
    return cart


@transaction.atomic
def cart_caregiver_buy_for(*, cart: Cart, staff: User, patient_id) -> Cart:
    """The cart's customer is a caregiver buying for one of their patients: the patient becomes the sale's
    customer (their card, limits and recommendation count; a patient under the minimum age may be served this
    way where the state allows it) and the caregiver stays on the cart, whose ID is the one checked."""
    cart = _locked(cart)
    caregiver = cart.caregiver or cart.customer
    if caregiver is None:
        raise ValidationFailed("Look the caregiver up first.", details={"customer": ["Required."]})
    patient_id = id_parse(patient_id)
    patient = (
        Customer.objects.filter(organization_id=cart.store.organization_id, pk=patient_id).first()
        if patient_id
        else None
    )
    if patient is None or patient.pk == caregiver.pk:
        raise ValidationFailed("Unknown patient.", details={"patient": ["Unknown patient."]})
    caregiver_link_get(caregiver=caregiver, patient=patient, today=store_local_date(cart.store))
    cart.caregiver = caregiver
    lines = [line_input(line) for line in _current_lines(cart)]
    if lines:
        _refuse_over_limit(cart_quote_of(cart, lines, customer=patient, customer_type=CustomerType.MEDICAL))
    before = {"customer": cart.customer_id, "caregiver": None}
    cart.customer, cart.customer_type = patient, CustomerType.MEDICAL
    cart.employee, cart.veteran_proof = None, ""
    if cart.id_verification is not None and cart.id_verification.customer_id not in (None, caregiver.pk):
        cart.id_verification = None
    _touch(cart, "customer", "customer_type", "caregiver", "employee", "veteran_proof", "id_verification")
    audit_record(
        actor=staff,
        action="cart.caregiver_set",
        instance=cart,
        before=before,
        after={"customer": patient.pk, "caregiver": caregiver.pk},
        organization=cart.store.organization,
        store=cart.store,
    )
    return cart


@transaction.atomic
def cart_caregiver_end(*, cart: Cart, staff: User) -> Cart:
    """The caregiver buys for themselves again (the patient leaves the cart)."""
    cart = _locked(cart)
    if cart.caregiver is None:
        return cart
    caregiver = cart.caregiver
    lines = [line_input(line) for line in _current_lines(cart)]
    cart.caregiver = None
    if lines:
        _refuse_over_limit(
            cart_quote_of(cart, lines, customer=caregiver, customer_type=caregiver.customer_type)
        )
    cart.customer, cart.customer_type = caregiver, caregiver.customer_type
    _touch(cart, "customer", "customer_type", "caregiver")
    return cart


@transaction.atomic
def cart_employee_set(*, cart: Cart, staff: User, employee_id) -> Cart:
    """The staff member buying, for employee discounts (None: not a staff purchase). Audited."""
    cart = _locked(cart)
    employee = None
    if employee_id not in (None, ""):
        employee_id = id_parse(employee_id)
        employee = (
            User.objects.filter(organization_id=cart.store.organization_id, pk=employee_id).first()
            if employee_id
            else None
        )
        if employee is None:
            raise ValidationFailed("Unknown staff member.", details={"employee": ["Unknown staff member."]})
        employee_check(store=cart.store, employee=employee, staff=staff)
    before = {"employee": cart.employee_id}
    cart.employee = employee
    _touch(cart, "employee")
    audit_record(
        actor=staff,
        action="cart.employee_set",
        instance=cart,
        before=before,
        after={"employee": employee.pk if employee else None},
        organization=cart.store.organization,
        store=cart.store,
    )
    return cart


@transaction.atomic
def cart_veteran_check(*, cart: Cart, staff: User, proof: str) -> Cart:
    """The budtender's veteran check: which proof they saw ("" withdraws it). Audited."""
    cart = _locked(cart)
    proof = (proof or "").strip()
    if proof and (proof not in VeteranProof.values or proof == VeteranProof.RECORD):
        raise ValidationFailed(
            "Choose the proof of veteran status you saw.", details={"veteran_proof": ["Unknown proof."]}
        )
    if proof and cart.customer is None:
        raise ValidationFailed(
            "Look the customer up first: veteran discounts need the customer.",
            details={"customer": ["Required."]},
        )
    before = {"veteran_proof": cart.veteran_proof}
    cart.veteran_proof = proof
    _touch(cart, "veteran_proof")
    audit_record(
        actor=staff,
        action="cart.veteran_checked",
        instance=cart,
        before=before,
        after={"veteran_proof": proof},
        organization=cart.store.organization,
        store=cart.store,
    )
    return cart


@transaction.atomic
def cart_promotion_choose(*, cart: Cart, staff: User, promotion_id, chosen: bool = True) -> Cart:
    """Choose (or drop) a promotion offered at the counter. One that does not apply to this cart (its group's
    check is missing, its hours, nothing qualifies) is not kept: the refusal says why."""
    cart = _locked(cart)
    promotion_id = id_parse(promotion_id)
    if promotion_id is None:
        raise ValidationFailed("Unknown promotion.", details={"promotion": ["Unknown promotion."]})
    if not chosen:
        cart.promotion_ids = [pk for pk in cart.promotion_ids if pk != promotion_id]
        _touch(cart, "promotion_ids")
        return cart
    if promotion_id in cart.promotion_ids:
        return cart
    cart.promotion_ids = sorted({*cart.promotion_ids, promotion_id})
    quote = cart_quote_of(cart, [line_input(line) for line in _current_lines(cart)])
    result = next(result for result in quote.chosen if result.promotion_id == promotion_id)
    if not result.applied:
        raise CouponInvalid(
            f"{result.code} was not applied: {result.message}", details={"promotion": [result.message]}
        )
    _touch(cart, "promotion_ids")
    return cart


@transaction.atomic
def cart_reward_choose(*, cart: Cart, staff: User, reward_id, chosen: bool = True) -> Cart:
    """Redeem (or drop) a loyalty reward; one the customer cannot have now is not kept, with the reason."""
    cart = _locked(cart)
    reward_id = id_parse(reward_id)
    if reward_id is None:
        raise ValidationFailed("Unknown reward.", details={"reward": ["Unknown reward."]})
    if not chosen:
        cart.reward_ids = [pk for pk in cart.reward_ids if pk != reward_id]
        _touch(cart, "reward_ids")
        return cart
    if reward_id in cart.reward_ids:
        return cart
    cart.reward_ids = [*cart.reward_ids, reward_id]
    quote = cart_quote_of(cart, [line_input(line) for line in _current_lines(cart)])
    result = next(result for result in quote.rewards if result.reward_id == reward_id)
    if not result.applied:
        raise CouponInvalid(
            f"{result.code} was not applied: {result.message}", details={"reward": [result.message]}
        )
    _touch(cart, "reward_ids")
    return cart


@transaction.atomic
def cart_id_verify(
    *,
    cart: Cart,
    staff: User,
    scan_text: str | None = None,
    date_of_birth: dt.date | None = None,
    expires_on: dt.date | None = None,
    issuing_state: str = "",
) -> IdVerificationResult:
    """Check the ID of the person at the counter (the caregiver, when one buys for a patient) against the
    minimum age for the cart's customer type. The check is recorded either way; a refused check (under age,
    expired) stays on the cart and blocks completion. A typed ID gives its issuing state (residency)."""
    cart = _locked(cart)
    result = id_verify(
        store=cart.store,
        staff=staff,
        minimum_age=minimum_age_get(
            store=cart.store, customer_type=cart.customer_type, on=store_local_date(cart.store)
        ),
        scan_text=scan_text or None,
        date_of_birth=date_of_birth,
        expires_on=expires_on,
        customer=cart.caregiver or cart.customer,
        issuing_state=issuing_state,
    )
    cart.id_verification = result.verification
    _touch(cart, "id_verification")
    return result


# --- Lines ----------------------------------------------------------------------------------------------------


@functools.cache
def _package_statement(vendor: str) -> tuple[str, _Columns]:
    quote = connection.ops.quote_name
    package = _Columns(Package, "p", vendor)
    sql = (
        f"SELECT {package.sql} FROM {quote(Package._meta.db_table)} p"  # noqa: S608
        f" WHERE p.{quote('store_id')} = %s AND p.{quote('tag')} = %s"
    )
    return sql, package


def _package_by_tag(store: Store, code: str) -> Package | None:
    """The store's package with this tag, with its product as this process keeps the catalog (no join)."""
    sql, columns = _package_statement(connection.vendor)
    with prepared_cursor() as cursor:
        cursor.execute(sql, [store.pk, code.upper()])
        row = cursor.fetchone()
    if row is None:
        return None
    package = columns.make(row)
    product = products_for(store, [package.product_id]).get(package.product_id)
    if product is not None:
        package.product = product
    return package


@transaction.atomic
def cart_scan(*, cart: Cart, staff: User, code: str, quantity=None) -> LineChange:
    """A scanned or typed code: a package tag of this store pins that package; otherwise a product's barcode or
    SKU, served first-expiring-first-out at completion. Bulk flower needs its weight in grams."""
    cart = _locked(cart)
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("Scan a tag or barcode.", details={"code": ["Required."]})
    package = _package_by_tag(cart.store, code) if len(code) == 24 else None
    if package is not None:
        why = _why_not_sellable(package, store_local_date(cart.store))
        if why:
            raise PackageNotSellable(
                f"Package {package.tag} cannot be sold: {why}.",
                details={"package_id": package.pk, "tag": package.tag},
            )
        return _add(cart, staff=staff, product=package.product, quantity=quantity, package=package)
    product = (
        Product.objects.filter(organization_id=cart.store.organization_id, is_active=True)
        .filter(Q(barcode=code) | Q(sku__iexact=code))
        .order_by("pk")
        .first()
    )
    if product is None:
        raise ValidationFailed(
            f"Nothing here has the tag, barcode or SKU {code}.", details={"code": [f"Unknown code {code}."]}
        )
    return _add(cart, staff=staff, product=product, quantity=quantity, package=None)


@transaction.atomic
def cart_line_add(*, cart: Cart, staff: User, product_id, quantity=None, package_id=None) -> LineChange:
    """A product picked from the search (optionally one of its packages)."""
    cart = _locked(cart)
    product = (
        Product.objects.filter(
            organization_id=cart.store.organization_id, is_active=True, pk=id_parse(product_id)
        ).first()
        if id_parse(product_id)
        else None
    )
    if product is None:
        raise ValidationFailed("Unknown product.", details={"product_id": ["Unknown product."]})
    package = None
    if package_id not in (None, ""):
        package = (
            Package.objects.filter(store=cart.store, product=product, pk=id_parse(package_id)).first()
            if id_parse(package_id)
            else None
        )
        if package is None:
            raise ValidationFailed("Unknown package.", details={"package_id": ["Unknown package."]})
        why = _why_not_sellable(package, store_local_date(cart.store))
        if why:
            raise PackageNotSellable(
                f"Package {package.tag} cannot be sold: {why}.",
                details={"package_id": package.pk, "tag": package.tag},
            )
    return _add(cart, staff=staff, product=product, quantity=quantity, package=package)


@transaction.atomic
def cart_line_update_quantity(*, cart: Cart, staff: User, line_id, quantity) -> LineChange:
    """A new quantity for a line; more than before must stay within stock and the limits."""
    cart = _locked(cart)
    line = _line(cart, line_id)
    quantity = _quantity(quantity, product=line.product)
    lines = _current_lines(cart)
    quote = None
    if quantity > line.quantity:
        others = [other for other in lines if other.pk != line.pk]
        package = Package.objects.get(pk=line.package_id) if line.package_id else None
        _check_stock(cart, others, product=line.product, package=package, extra=quantity)
        quote = _refuse_over_limit(
            cart_quote_of(
                cart,
                [line_input(other, quantity=quantity if other.pk == line.pk else None) for other in lines],
            )
        )
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    _touch(cart)
    for other in lines:
        if other.pk == line.pk:
            other.quantity = quantity
    return LineChange(line=line, lines=lines, quote=quote, cart=cart)


@transaction.atomic
def cart_line_remove(*, cart: Cart, staff: User, line_id) -> None:
    """Take a line out (always allowed: less never breaks a limit)."""
    cart = _locked(cart)
    _line(cart, line_id).delete()
    _touch(cart)


def cart_line_price_override(*, cart: Cart, staff: User, line_id, unit_price, pin: str) -> CartLine:
    """A lower unit price for a line, approved by a manager of the store with their PIN, which says who they
    are (audited). The PIN is checked before the change's transaction so a wrong try is counted even though
    the change is refused."""
    manager = manager_pin_identify(store=cart.store, pin=pin, actor=staff)
    with transaction.atomic():
        cart = _locked(cart)
        line = _line(cart, line_id)
        try:
            price = money_parse(unit_price, minimum=Decimal(0))
        except InputRejected:
            price = None
        if price is None or price > line.product.price:
            raise ValidationFailed(
                f"An override is a unit price from 0.00 to the list price {line.product.price}.",
                details={"unit_price": [f"{unit_price!r} is not a price from 0 to {line.product.price}."]},
            )
        price = price.quantize(Decimal("0.01"))
        before = {
            "unit_price": str(line.price_override if line.price_override is not None else line.product.price)
        }
        line.price_override = price
        line.override_approved_by = manager
        line.save(update_fields=["price_override", "override_approved_by"])
        _touch(cart)
        audit_record(
            actor=staff,
            action="cart_line.price_overridden",
            instance=cart,
            before=before,
            after={"line": line.pk, "unit_price": str(price), "approved_by": manager.pk},
            organization=cart.store.organization,
            store=cart.store,
        )
        return line


@transaction.atomic
def cart_discounts_set(
    *,
    cart: Cart,
    staff: User,
    coupon_codes: Sequence[str] | None = None,
    promotion_ids: Sequence[int] | None = None,
    reward_ids: Sequence[int] | None = None,
) -> Cart:
    """The coupon codes typed, promotions chosen and rewards redeemed on the cart (None leaves one as it is).
    The quote decides what each is worth; codes are kept upper case and once."""
    cart = _locked(cart)
    fields = []
    if coupon_codes is not None:
        codes = []
        for code in coupon_codes:
            code = str(code).strip().upper()
            if code and code not in codes:
                if len(code) > 40:
                    raise ValidationFailed(
                        "A coupon code is at most 40 characters.", details={"code": [code]}
                    )
                codes.append(code)
        cart.coupon_codes = codes
        fields.append("coupon_codes")
    for name, values in (("promotion_ids", promotion_ids), ("reward_ids", reward_ids)):
        if values is not None:
            if not all(id_parse(value) for value in values):
                raise ValidationFailed("Unknown discount.", details={name: ["Ids only."]})
            setattr(cart, name, sorted({int(value) for value in values}))
            fields.append(name)
    _touch(cart, *fields)
    return cart


def _code(raw) -> str:
    code = str(raw or "").strip().upper()
    if not code:
        raise ValidationFailed("Type or scan a coupon code.", details={"code": ["Required."]})
    if len(code) > 40:
        raise ValidationFailed("A coupon code is at most 40 characters.", details={"code": [code[:40]]})
    return code


@transaction.atomic
def cart_coupon_add(*, cart: Cart, staff: User, code: str) -> Cart:
    """Apply a coupon code to the cart. A code the quote refuses (unknown, expired, used up, nothing in the
    cart qualifies, a better promotion applies) is not kept: the refusal says why and the cart is unchanged."""
    cart = _locked(cart)
    code = _code(code)
    if code in cart.coupon_codes:
        return cart
    cart.coupon_codes = [*cart.coupon_codes, code]
    quote = cart_quote_of(cart, [line_input(line) for line in _current_lines(cart)])
    result = next(result for result in quote.coupons if result.code == code)
    if not result.applied:
        raise CouponInvalid(f"{code} was not applied: {result.message}", details={"code": [result.message]})
    _touch(cart, "coupon_codes")
    return cart


@transaction.atomic
def cart_coupon_remove(*, cart: Cart, staff: User, code: str) -> Cart:
    cart = _locked(cart)
    code = str(code or "").strip().upper()
    cart.coupon_codes = [kept for kept in cart.coupon_codes if kept != code]
    _touch(cart, "coupon_codes")
    return cart


@transaction.atomic
def cart_cancel(*, cart: Cart, staff: User) -> Cart:
    cart = _locked(cart)
    cart.status = Cart.Status.CANCELLED
    _touch(cart, "status")
    audit_record(
        actor=staff,
        action="cart.cancelled",
        instance=cart,
        after={"lines": CartLine.objects.filter(cart=cart).count()},
        organization=cart.store.organization,
        store=cart.store,
    )
    return cart


# --- Completion -----------------------------------------------------------------------------------------------


@transaction.atomic
def cart_complete(*, cart: Cart, staff: User, tenders: Sequence[TenderInput], idempotency_key: str) -> Sale:
    """Complete the cart as one sale, and mark it completed with its sale in the same transaction. A second call
    with the cart's key returns the same sale; a key that is not the cart's is refused. `cart` may be only its
    id and store (`Cart(pk=..., store=...)`): Cart.DoesNotExist for another store's."""
    if not idempotency_key:
        raise ValidationFailed(
            "This completion does not belong to this cart: reload the register.",
            details={"idempotency_key": ["Not this cart's key."]},
        )
    locked = (
        Cart.objects.select_for_update(of=("self",))
        .select_related(
            "store",
            "register",
            "customer",
            "id_verification",
            "queue_entry",
            "pickup_order",
            "caregiver",
            "employee",
        )
        .get(pk=cart.pk, store_id=cart.store_id)
    )
    if idempotency_key != locked.idempotency_key:
        raise ValidationFailed(
            "This completion does not belong to this cart: reload the register.",
            details={"idempotency_key": ["Not this cart's key."]},
        )
    if locked.status == Cart.Status.COMPLETED and locked.sale_id:
        return locked.sale
    if locked.status != Cart.Status.OPEN:
        raise Conflict("This cart was cancelled: start a new one.", details={"cart": [locked.status]})
    if locked.register is None:
        raise ValidationFailed("Choose the register first.", details={"register": ["Required."]})
    priced = cart_quote(locked, [line_input(line) for line in _current_lines(locked)], picks=True)
    sale = sale_complete(
        quote=priced,
        tenders=tenders,
        register=locked.register,
        staff=staff,
        idempotency_key=locked.idempotency_key,
    )
    locked.status = Cart.Status.COMPLETED
    locked.sale = sale
    _touch(locked, "status", "sale")
    entry = locked.queue_entry
    if entry is not None and entry.status == QueueEntry.Status.SERVING:
        queue_entry_finish(entry=entry, staff=staff)
    return sale
