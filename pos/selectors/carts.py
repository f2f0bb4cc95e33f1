"""Reads for the checkout screen: the store's registers and their drawers, an open cart with its quote, the
customer's profile at the counter and the product search."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from compliance.identity import MedicalStatus, medical_status
from compliance.models import CaregiverLink
from dispensary import access_cache
from dispensary.clock import store_local_date
from dispensary.inputs import id_parse
from dispensary.models import Customer, Store, User
from inventory.models import Product
from pos.models import (
    Cart,
    CartLine,
    DrawerSession,
    LoyaltyAccount,
    Promotion,
    Register,
    Reward,
    Sale,
    VeteranProof,
)
from pos.selectors.promotions import promotion_choice_list
from pos.selectors.quote import Buyer, CartInput, Quote, QuoteLineInput, buyer_resident, quote

SEARCH_LIMIT = 8


def register_list(*, store: Store) -> QuerySet[Register]:
    return Register.objects.filter(store=store, active=True).order_by("name", "pk")


def register_get(*, store: Store, register_id) -> Register | None:
    register_id = id_parse(register_id)
    if register_id is None:
        return None
    return register_list(store=store).filter(pk=register_id).first()


def drawer_open_get(*, register: Register) -> DrawerSession | None:
    return DrawerSession.objects.filter(register=register, status=DrawerSession.Status.OPEN).first()


def cart_get(*, store: Store, cart_id) -> Cart | None:
    """A cart of this store (None for other stores' carts and unknown ids), with its register, customer and ID
    check; its store is `store` itself. Built for the register's every request: no ordering, and no join for
    what is seldom there (the caregiver, the staff buyer, the sale: read when present), since compiling each
    joined table's columns costs more than the query itself."""
    cart_id = id_parse(cart_id)
    if cart_id is None:
        return None
    try:
        cart = Cart.objects.select_related("register", "customer", "id_verification").get(
            store=store, pk=cart_id
        )
    except Cart.DoesNotExist:
        return None
    cart.store = store
    return cart


@dataclass(frozen=True)
class CartView:
    cart: Cart
    lines: list[CartLine]
    quote: Quote

    def rows(self):
        """Each cart line with its priced quote line."""
        return list(zip(self.lines, self.quote.lines, strict=False))


def cart_buyer(cart: Cart, *, customer: Customer | None = None) -> Buyer:
    """Who buys at this cart: residency by the ID checked (or the record), the caregiver, the staff member
    buying and the veteran check."""
    customer = cart.customer if customer is None else customer
    return Buyer(
        resident=buyer_resident(store=cart.store, verification=cart.id_verification, customer=customer),
        caregiver=cart.caregiver,
        employee_id=cart.employee_id,
        veteran_proof=cart.veteran_proof,
    )


def cart_input(
    cart: Cart, lines: Sequence[QuoteLineInput], *, customer: Customer | None = None, customer_type=None
) -> CartInput:
    """The quote's input for `lines` in this cart, for the cart's buyer (or `customer` as the cart's customer)."""
    customer = cart.customer if customer is None else customer
    return CartInput(
        store=cart.store,
        customer_type=customer_type or cart.customer_type,
        lines=tuple(lines),
        customer=customer,
        id_verification=cart.id_verification,
        caregiver=cart.caregiver,
        employee=cart.employee,
        veteran_proof=cart.veteran_proof,
        coupon_codes=tuple(cart.coupon_codes or ()),
        promotion_ids=tuple(int(pk) for pk in cart.promotion_ids or ()),
        reward_ids=tuple(int(pk) for pk in cart.reward_ids or ()),
        pickup_order=cart.pickup_order if cart.pickup_order_id else None,
    )


def cart_quote(
    cart: Cart,
    lines: Sequence[QuoteLineInput],
    *,
    customer: Customer | None = None,
    customer_type=None,
    picks: bool = False,
) -> Quote:
    """What `lines` in this cart would cost and how they stand against the limits, for the cart's buyer (or
    `customer` as the cart's customer). `picks`: choose the packages too (completing the sale; the screen
    shows prices only)."""
    return quote(cart_input(cart, lines, customer=customer, customer_type=customer_type), picks=picks)


def cart_view(*, cart: Cart, lines: list[CartLine] | None = None, quote: Quote | None = None) -> CartView:
    """The cart's lines and what they cost now, with the limit meter. A fixed number of queries whatever the
    number of lines; none for what the caller already has (the lines and quote of a change just made)."""
    if lines is None:
        lines = list(CartLine.objects.filter(cart=cart).select_related("package").order_by("pk"))
    if quote is not None:
        return CartView(cart=cart, lines=lines, quote=quote)
    quote = cart_quote(
        cart,
        [
            QuoteLineInput(
                product_id=line.product_id,
                quantity=line.quantity,
                package_id=line.package_id,
                price_override=line.price_override,
                approved_by_id=line.override_approved_by_id,
            )
            for line in lines
        ],
    )
    return CartView(cart=cart, lines=lines, quote=quote)


@dataclass(frozen=True)
class CounterChoices:
    """What the budtender may apply at the counter, with the checks each needs."""

    promotions: list[Promotion]  # chosen at the counter (not automatic)
    rewards: list[Reward]
    staff: list[User]  # who may be the staff member buying (not the budtender)
    patients: list[CaregiverLink]  # the customer's patients, when the customer is a caregiver
    veteran_proofs: list[tuple[str, str]]
    resident: bool


def counter_choices(*, cart: Cart, staff: User) -> CounterChoices:
    """The discounts a budtender may choose on this cart, the staff who may buy, and the caregiver's patients."""
    promotions, rewards = promotion_choice_list(store=cart.store)
    organization_id = cart.store.organization_id
    buyers = [
        member
        for member in access_cache.organization_staff(
            organization_id,
            lambda: User.objects.filter(organization_id=organization_id, is_active=True).order_by(
                "first_name", "last_name", "username"
            ),
        )
        if member.pk != staff.pk
    ]
    patients = []
    caregiver = cart.caregiver or cart.customer
    if caregiver is not None:
        today = store_local_date(cart.store)
        patients = list(
            CaregiverLink.objects.filter(caregiver=caregiver)
            .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
            .select_related("patient")
            .order_by("patient__last_name", "patient__first_name", "pk")
        )
    return CounterChoices(
        promotions=promotions,
        rewards=rewards,
        staff=buyers,
        patients=patients,
        veteran_proofs=[
            (value, label) for value, label in VeteranProof.choices if value != VeteranProof.RECORD
        ],
        resident=cart_buyer(cart).resident,
    )


@dataclass(frozen=True)
class CounterProfile:
    customer: Customer
    medical: MedicalStatus | None
    loyalty: LoyaltyAccount | None
    recent: list[Sale]


def counter_profile(*, customer: Customer, store: Store) -> CounterProfile:
    """What the budtender sees of a customer: medical card status, loyalty points and tier, last 3 purchases.
    The caller logs the read (customer_record_viewed)."""
    medical = None
    if customer.customer_type == Customer.Type.MEDICAL:
        medical = medical_status(customer=customer, today=store_local_date(store))
    loyalty = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    recent = list(
        Sale.objects.filter(customer=customer, store__organization_id=store.organization_id)
        .select_related("store")
        .order_by("-completed_at", "-id")[:3]
    )
    return CounterProfile(customer=customer, medical=medical, loyalty=loyalty, recent=recent)


def product_search(*, store: Store, query: str) -> list[Product]:
    """Active products of the organization matching the name, brand or SKU (barcode exactly)."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    return list(
        Product.objects.filter(organization_id=store.organization_id, is_active=True)
        .filter(
            Q(name__icontains=query) | Q(brand__icontains=query) | Q(sku__icontains=query) | Q(barcode=query)
        )
        .order_by("name", "pk")[:SEARCH_LIMIT]
    )
