"""The in-store kiosk: a tablet a staff member signed into kiosk mode for one store, where a walk-in customer
browses the store's menu, builds a cart priced and limit-checked by the register's Quote, and places a pickup
order (channel kiosk) that the budtender fulfils from the pickup queue. The customer states their age (21+, or a
medical card number); the ID is checked at the counter when the order is handed over. The kiosk never shows or
looks up a customer: a phone number already on file places the order for that customer without revealing them."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dispensary.clock import age_on, store_local_date
from dispensary.errors import ApplicationError, DuplicateCustomer, ValidationFailed
from dispensary.models import Customer, Store
from dispensary.phones import phone_normalize
from dispensary.selectors import store_list_for_user
from dispensary.services import customer_create
from inventory.models import Product
from pos.models import AgeVerificationMethod, CustomerType, OrderChannel, PickupOrder
from pos.selectors.quote import CartInput, Quote, QuoteLineInput, quote
from pos.services.pickup import AgeVerificationInput, pickup_order_create

SESSION_KEY = "kiosk"
CART_KEY = "kiosk_cart"
LAST_ORDER_KEY = "kiosk_last_order"
PERMISSION = "pos.use_kiosk"
ADULT_AGE, MEDICAL_AGE = 21, 18
MAX_CART_LINES = 20
MAX_QUANTITY = Decimal("10")
PAGE_SIZE = 60
STATED_BY = "The customer, at the kiosk"


class KioskNotAllowed(ApplicationError):
    code = "kiosk_not_allowed"
    status = 403


@dataclass(frozen=True)
class Kiosk:
    """A tablet in kiosk mode: the store, and the staff member who started it (the orders' `created_by`)."""

    store: Store
    started_by: object


def kiosk_may_start(user, store: Store) -> bool:
    """Whether this staff member may put a tablet into kiosk mode for this store (or take it out)."""
    return (
        user is not None
        and user.is_active
        and user.has_perm(PERMISSION)
        and store_list_for_user(user).filter(pk=store.pk).exists()
    )


def kiosk_from_session(session) -> Kiosk | None:
    """The kiosk this session is, while the staff member who started it may still start it there."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    store = Store.objects.filter(pk=data.get("store"), is_active=True).select_related("organization").first()
    user = get_user_model().objects.filter(pk=data.get("by")).first()
    if store is None or user is None or not kiosk_may_start(user, store):
        return None
    return Kiosk(store=store, started_by=user)


# --- The menu --------------------------------------------------------------------------------------------------


def kiosk_products(*, store: Store, category: str = "", search: str = "") -> list[Product]:
    """Active products of the store's organization with stock available at the store (on hand, not allocated),
    by category then name; filtered by category and a search in the name, brand and strain. One query."""
    products = Product.objects.filter(
        organization_id=store.organization_id,
        is_active=True,
        packages__store=store,
        packages__quantity_on_hand__gt=F("packages__quantity_allocated"),
    )
    if category:
        products = products.filter(category=category)
    search = search.strip()[:80]
    if search:
        products = products.filter(
            Q(name__icontains=search) | Q(brand__icontains=search) | Q(strain__icontains=search)
        )
    return list(products.distinct().order_by("category", "name", "id")[:PAGE_SIZE])


def kiosk_categories(*, store: Store) -> list[tuple[str, str]]:
    """The categories the store has something in stock in, as (value, label). One query."""
    present = set(
        Product.objects.filter(
            organization_id=store.organization_id,
            is_active=True,
            packages__store=store,
            packages__quantity_on_hand__gt=F("packages__quantity_allocated"),
        )
        .values_list("category", flat=True)
        .distinct()
    )
    return [(value, label) for value, label in Product.Category.choices if value in present]


# --- The cart (kept in the tablet's session) -------------------------------------------------------------------


def cart_lines(session) -> list[tuple[int, Decimal]]:
    cart = session.get(CART_KEY) or {}
    lines = []
    for product_id, quantity in cart.items():
        try:
            lines.append((int(product_id), Decimal(quantity)))
        except (ValueError, ArithmeticError):
            continue
    return lines


def cart_set(session, *, product_id: int, quantity: Decimal) -> None:
    """Put a quantity of a product in the cart (0 removes it), within the kiosk's bounds."""
    cart = dict(session.get(CART_KEY) or {})
    if quantity <= 0:
        cart.pop(str(product_id), None)
    else:
        if str(product_id) not in cart and len(cart) >= MAX_CART_LINES:
            raise ValidationFailed(
                f"At most {MAX_CART_LINES} different products per order.", details={"product": ["Cart full."]}
            )
        cart[str(product_id)] = str(min(quantity, MAX_QUANTITY))
    session[CART_KEY] = cart


def cart_quote(
    *, store: Store, lines: list[tuple[int, Decimal]], customer_type: str = CustomerType.ADULT_USE
) -> Quote:
    """The cart priced by the register's Quote, with the limits left for one purchase (no customer is known
    yet: their other purchases are counted when the order is placed)."""
    return quote(
        CartInput(
            store=store,
            customer_type=customer_type,
            lines=tuple(QuoteLineInput(product_id=p, quantity=q) for p, q in lines),
            at=timezone.now(),
        ),
        picks=False,
    )


# --- Placing the order -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KioskCustomerInput:
    first_name: str
    last_name: str
    phone: str
    date_of_birth: dt.date | None
    medical_card: str = ""


def _customer_problems(data: KioskCustomerInput, *, today: dt.date) -> tuple[str, dict]:
    problems: dict[str, list[str]] = {}
    if not data.first_name.strip():
        problems["first_name"] = ["Enter your first name."]
    if not data.last_name.strip():
        problems["last_name"] = ["Enter your last name."]
    phone = ""
    try:
        phone = phone_normalize(data.phone)
    except ValidationFailed:
        problems["phone"] = ["Enter a mobile phone number we can text, such as (415) 555-0134."]
    card = data.medical_card.strip()
    if data.date_of_birth is None:
        problems["date_of_birth"] = ["Enter your date of birth."]
    elif data.date_of_birth > today:
        problems["date_of_birth"] = ["That date of birth is in the future."]
    else:
        age = age_on(data.date_of_birth, today)
        if card and age < MEDICAL_AGE:
            problems["date_of_birth"] = [
                f"Medical orders at the kiosk are for patients {MEDICAL_AGE} or older."
            ]
        elif not card and age < ADULT_AGE:
            problems["date_of_birth"] = [
                f"You must be {ADULT_AGE} or older to order. Medical patients: enter your medical card number."
            ]
    if len(card) > 60:
        problems["medical_card"] = ["At most 60 characters."]
    return phone, problems


def _customer_add(kiosk: Kiosk, data: KioskCustomerInput, *, phone: str, customer_type: str) -> Customer:
    try:
        return customer_create(
            organization=kiosk.store.organization,
            actor=kiosk.started_by,
            phone=phone,
            first_name=data.first_name.strip()[:100],
            last_name=data.last_name.strip()[:100],
            date_of_birth=data.date_of_birth,
            customer_type=customer_type,
            home_store=kiosk.store,
            store=kiosk.store,
        )
    except DuplicateCustomer:
        # Added by another order at this very moment: that is the customer.
        return Customer.objects.get(organization_id=kiosk.store.organization_id, phone=phone)


def kiosk_order_place(
    *,
    kiosk: Kiosk,
    customer_data: KioskCustomerInput,
    lines: list[tuple[int, Decimal]],
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> PickupOrder:
    """Place the walk-in customer's pickup order in one transaction: the customer found by phone in the store's
    organization (never shown) or added with the name, phone and date of birth given; then the pickup order
    service (channel kiosk; the limits with the customer's purchases and open orders; the stock allocated), the
    age recorded as stated at the kiosk, the ID to be checked at the counter. Bad input raises ValidationFailed
    before anything is written; a refused order (a limit, the stock) rolls the new customer back too. The same
    key (one per checkout form) returns the first order."""
    now = now or timezone.now()
    store = kiosk.store
    phone, problems = _customer_problems(customer_data, today=store_local_date(store, at=now))
    if not lines:
        problems["cart"] = ["Your cart is empty: add something from the menu first."]
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], details=problems)
    card = customer_data.medical_card.strip()
    customer_type = CustomerType.MEDICAL if card else CustomerType.ADULT_USE
    with transaction.atomic():
        customer = Customer.objects.filter(organization_id=store.organization_id, phone=phone).first()
        if customer is None:
            customer = _customer_add(kiosk, customer_data, phone=phone, customer_type=customer_type)
        return pickup_order_create(
            store=store,
            customer=customer,
            customer_type=customer_type,
            lines=lines,
            idempotency_key=idempotency_key,
            created_by=kiosk.started_by,
            channel=OrderChannel.KIOSK,
            note="Placed at the in-store kiosk.",
            now=now,
            age_verification=AgeVerificationInput(
                method=AgeVerificationMethod.KIOSK_STATED,
                reference=f"Medical card {card}"[:120] if card else "Stated 21 or older",
                verified_by_name=STATED_BY,
            ),
        )
