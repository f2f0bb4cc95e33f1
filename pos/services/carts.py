"""Carts: the sale a budtender builds at a register, line by line. Every change that adds to the cart is priced
and metered with `sale_quote` first and refused (nothing written) when it would break a purchase limit; no
override lifts a limit. Completing a cart calls `sale_complete` with the cart's own idempotency key."""

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from compliance.identity import IdVerificationResult, id_verify
from compliance.selectors import jurisdiction_rules_get
from dispensary.audit import audit_record
from dispensary.clock import store_local_date
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import Customer, Store, User
from inventory.errors import PackageNotSellable
from inventory.models import Package, Product, quantity_text
from inventory.selectors import package_sellable_list
from pos.errors import PurchaseLimitExceeded
from pos.models import Cart, CartLine, CustomerType, PickupOrder, QueueEntry, Register, Sale
from pos.selectors.quote import Quote, QuoteLineInput, sale_quote
from pos.services.pins import manager_pin_identify
from pos.services.queue import queue_entry_finish
from pos.services.sales import SaleLineInput, TenderInput, sale_complete

DEFAULT_MINIMUM_AGE = {CustomerType.ADULT_USE: 21, CustomerType.MEDICAL: 18}


# --- Helpers --------------------------------------------------------------------------------------------------


def _locked(cart: Cart) -> Cart:
    """The cart, locked for this change, and still open."""
    locked = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("store", "customer", "id_verification")
        .get(pk=cart.pk)
    )
    if locked.status != Cart.Status.OPEN:
        raise Conflict(
            f"This cart is {locked.get_status_display().lower()}: start a new one.",
            details={"cart": [locked.status]},
        )
    return locked


def _touch(cart: Cart, *fields: str) -> None:
    cart.updated_at = timezone.now()
    cart.save(update_fields=[*fields, "updated_at"])


def _quantity(raw, *, product: Product) -> Decimal:
    """A positive quantity: whole units for packaged goods, grams (up to three decimals) for bulk."""
    try:
        quantity = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        quantity = None
    if quantity is None or not quantity.is_finite() or quantity <= 0:
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
    verification = cart.id_verification
    return sale_quote(
        store=cart.store,
        customer=cart.customer if customer is None else customer,
        customer_type=customer_type or cart.customer_type,
        lines=lines,
        age=verification.age if verification is not None and verification.passed else None,
        coupon_codes=tuple(cart.coupon_codes),
        promotion_ids=tuple(cart.promotion_ids),
        reward_ids=tuple(cart.reward_ids),
    )


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


def _current_lines(cart: Cart) -> list[CartLine]:
    return list(CartLine.objects.filter(cart=cart).order_by("pk"))


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


def _add(cart: Cart, *, staff: User, product: Product, quantity, package: Package | None) -> CartLine:
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
    _refuse_over_limit(cart_quote_of(cart, inputs))
    if same is not None:
        same.quantity += quantity
        same.save(update_fields=["quantity"])
        line = same
    else:
        line = CartLine.objects.create(
            cart=cart, product=product, package=package, quantity=quantity, added_at=timezone.now()
        )
    _touch(cart)
    return line


def _line(cart: Cart, line_id) -> CartLine:
    line = (
        CartLine.objects.filter(cart=cart, pk=line_id).select_related("product").first()
        if str(line_id).isdigit()
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
        cart.pickup_order = order
        cart.save(update_fields=["pickup_order"])
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
    lines = [line_input(line) for line in _current_lines(cart)]
    if lines:
        _refuse_over_limit(cart_quote_of(cart, lines, customer=customer, customer_type=customer_type))
    verification = cart.id_verification
    if verification is not None and verification.customer_id not in (None, customer.pk if customer else None):
        cart.id_verification = None
    before = {"customer": cart.customer_id, "type": cart.customer_type}
    cart.customer, cart.customer_type = customer, customer_type
    _touch(cart, "customer", "customer_type", "id_verification")
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


def minimum_age(store: Store, customer_type: str) -> int:
    """The jurisdiction's minimum age for this customer type today."""
    today = store_local_date(store)
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=today)
    requirement = next(
        (rule for rule in rules.ages if rule.customer_type == customer_type and rule.in_force(today)), None
    )
    return requirement.minimum_age if requirement else DEFAULT_MINIMUM_AGE.get(customer_type, 21)


@transaction.atomic
def cart_id_verify(
    *,
    cart: Cart,
    staff: User,
    scan_text: str | None = None,
    date_of_birth: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> IdVerificationResult:
    """Check the customer's ID against the minimum age for the cart's customer type. The check is recorded
    either way; a refused check (under age, expired) stays on the cart and blocks completion."""
    cart = _locked(cart)
    result = id_verify(
        store=cart.store,
        staff=staff,
        minimum_age=minimum_age(cart.store, cart.customer_type),
        scan_text=scan_text or None,
        date_of_birth=date_of_birth,
        expires_on=expires_on,
        customer=cart.customer,
    )
    cart.id_verification = result.verification
    _touch(cart, "id_verification")
    return result


# --- Lines ----------------------------------------------------------------------------------------------------


@transaction.atomic
def cart_scan(*, cart: Cart, staff: User, code: str, quantity=None) -> CartLine:
    """A scanned or typed code: a package tag of this store pins that package; otherwise a product's barcode or
    SKU, served first-expiring-first-out at completion. Bulk flower needs its weight in grams."""
    cart = _locked(cart)
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("Scan a tag or barcode.", details={"code": ["Required."]})
    package = (
        Package.objects.filter(store=cart.store, tag=code.upper()).select_related("product").first()
        if len(code) == 24
        else None
    )
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
def cart_line_add(*, cart: Cart, staff: User, product_id, quantity=None, package_id=None) -> CartLine:
    """A product picked from the search (optionally one of its packages)."""
    cart = _locked(cart)
    product = (
        Product.objects.filter(
            organization_id=cart.store.organization_id, is_active=True, pk=product_id
        ).first()
        if str(product_id).isdigit()
        else None
    )
    if product is None:
        raise ValidationFailed("Unknown product.", details={"product_id": ["Unknown product."]})
    package = None
    if package_id not in (None, ""):
        package = (
            Package.objects.filter(store=cart.store, product=product, pk=package_id).first()
            if str(package_id).isdigit()
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
def cart_line_update_quantity(*, cart: Cart, staff: User, line_id, quantity) -> CartLine:
    """A new quantity for a line; more than before must stay within stock and the limits."""
    cart = _locked(cart)
    line = _line(cart, line_id)
    quantity = _quantity(quantity, product=line.product)
    if quantity > line.quantity:
        lines = _current_lines(cart)
        others = [other for other in lines if other.pk != line.pk]
        package = Package.objects.get(pk=line.package_id) if line.package_id else None
        _check_stock(cart, others, product=line.product, package=package, extra=quantity)
        _refuse_over_limit(
            cart_quote_of(
                cart,
                [line_input(other, quantity=quantity if other.pk == line.pk else None) for other in lines],
            )
        )
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    _touch(cart)
    return line


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
            price = Decimal(str(unit_price).strip())
        except (InvalidOperation, ValueError):
            price = None
        if price is None or not price.is_finite() or price < 0 or price > line.product.price:
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
            if not all(str(value).isdigit() for value in values):
                raise ValidationFailed("Unknown discount.", details={name: ["Ids only."]})
            setattr(cart, name, sorted({int(value) for value in values}))
            fields.append(name)
    _touch(cart, *fields)
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
    with the cart's key returns the same sale; a key that is not the cart's is refused."""
    if not idempotency_key or idempotency_key != cart.idempotency_key:
        raise ValidationFailed(
            "This completion does not belong to this cart: reload the register.",
            details={"idempotency_key": ["Not this cart's key."]},
        )
    locked = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("store", "register", "customer", "id_verification", "queue_entry", "pickup_order")
        .get(pk=cart.pk)
    )
    if locked.status == Cart.Status.COMPLETED and locked.sale_id:
        return locked.sale
    if locked.status != Cart.Status.OPEN:
        raise Conflict("This cart was cancelled: start a new one.", details={"cart": [locked.status]})
    if locked.register is None:
        raise ValidationFailed("Choose the register first.", details={"register": ["Required."]})
    lines = [
        SaleLineInput(
            product_id=line.product_id,
            quantity=line.quantity,
            package_id=line.package_id,
            price_override=line.price_override,
            approved_by_id=line.override_approved_by_id,
        )
        for line in _current_lines(locked)
    ]
    sale = sale_complete(
        store=locked.store,
        register=locked.register,
        staff=staff,
        customer=locked.customer,
        customer_type=locked.customer_type,
        lines=lines,
        tenders=tenders,
        idempotency_key=locked.idempotency_key,
        id_verification=locked.id_verification,
        coupon_codes=list(locked.coupon_codes or []),
        promotion_ids=list(locked.promotion_ids or []),
        reward_ids=list(locked.reward_ids or []),
        pickup_order=locked.pickup_order,
    )
    locked.status = Cart.Status.COMPLETED
    locked.sale = sale
    _touch(locked, "status", "sale")
    entry = locked.queue_entry
    if entry is not None and entry.status == QueueEntry.Status.SERVING:
        queue_entry_finish(entry=entry, staff=staff)
    return sale
