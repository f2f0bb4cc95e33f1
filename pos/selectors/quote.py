"""What a cart would cost and how it stands against the purchase limits, without writing anything: the
checkout screen shows it after every change, and completing the sale prices with the same functions, so the
customer pays what the screen showed.

Discounts on a line come from price overrides and manual discounts a manager approved (and, through
`line_discounts_for`, from promotions, coupons and loyalty rewards); taxes from the jurisdiction's rows in force."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from compliance.models import IdVerification, Recommendation
from compliance.rules import (
    MEDICAL,
    CartLine,
    Purchase,
    is_resident,
    purchase_limits_check,
    recommendation_limits,
    with_limits,
)
from compliance.rules import Customer as RulesCustomer
from compliance.rules.limits import JurisdictionRules, LimitUsage, Verdict, Violation
from compliance.selectors import RULES, jurisdiction_rules_get
from dispensary.clock import age_on, store_local_date
from dispensary.models import Customer, Store, User
from dispensary.versioned import Versioned, pinned, versions
from inventory.models import Product, ProductLimitAmount, quantity_text
from inventory.services import PackagePick, StockPicks, StockRequest, stock_pick
from pos.models import PickupOrder
from pos.pricing import ZERO, Discount, PriceLine, TaxAmount, line_price, money
from pos.promotions import (
    Applied,
    CartItem,
    CodeResult,
    CustomerContext,
    QuoteDiscount,
    discounts_apply,
    points_for,
)
from pos.selectors.loyalty import LOYALTY, LoyaltyContext, loyalty_context_get
from pos.selectors.pickup import pickup_reserved_purchases
from pos.selectors.promotions import PROMOTIONS, promotion_data_get
from pos.selectors.sales import customer_limit_history, patient_limit_history, tax_specs_in_force


@dataclass(frozen=True)
class Buyer:
    """Who stands at the counter beyond the customer record: whether they live in the state, a caregiver
    buying for the patient (the sale's customer), the staff member buying (employee discounts) and the
    veteran check the budtender made."""

    resident: bool = True
    caregiver: Customer | None = None
    employee_id: int | None = None
    veteran_proof: str = ""


def buyer_resident(*, store: Store, verification=None, customer: Customer | None = None) -> bool:
    """Resident of the store's state by the ID's issuing state, else by the customer's address on record."""
    return is_resident(
        jurisdiction=store.jurisdiction,
        issuing_state=verification.issuing_state if verification is not None else "",
        home_state=customer.region if customer is not None else "",
    )


def limits_age(*, id_age: int | None, patient: Customer | None, caregiver: Customer | None, today: dt.date):
    """The age the limit engine judges: the age on the ID checked, or when a caregiver buys for a patient, the
    patient's (from their record; the caregiver's ID when the record has no date of birth)."""
    if caregiver is not None and patient is not None and patient.date_of_birth:
        return age_on(patient.date_of_birth, today)
    return id_age


def recommendation_amounts(*, customer: Customer, today: dt.date) -> dict[str, Decimal]:
    """The amounts the patient's current physician's recommendation allows, per bucket (empty when none)."""
    current = (
        Recommendation.objects.filter(
            registration__customer=customer, issued_on__lte=today, expires_on__gte=today
        )
        .order_by("-expires_on", "-id")
        .first()
    )
    return {
        bucket: Decimal(str(amount))
        for bucket, amount in (current.allowed_amounts if current else {}).items()
    }


@dataclass(frozen=True)
class QuoteLineInput:
    """A cart line: a product and quantity, the pinned package when a tag was scanned, and what a manager
    approved for it (a unit price override, or a percentage or amount off)."""

    product_id: int
    quantity: Decimal
    package_id: int | None = None
    price_override: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    approved_by_id: int | None = None


@dataclass(frozen=True)
class QuoteLine:
    index: int  # position in the input lines
    product: Product
    package_id: int | None
    quantity: Decimal
    unit: str
    unit_price: Decimal  # the list price
    list_amount: Decimal
    discounts: tuple[QuoteDiscount, ...]
    discount_amount: Decimal
    net_amount: Decimal
    taxes: tuple[TaxAmount, ...]
    tax_amount: Decimal
    total: Decimal
    limit_amounts: dict[str, Decimal]
    picks: tuple[PackagePick, ...] = ()  # the packages that serve it, when the quote picked them


@dataclass(frozen=True)
class Quote:
    """A cart priced once (see `quote`): what the screen shows and what completing the sale commits."""

    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_totals: dict[str, Decimal]  # by level: excise, state, local
    tax_fields: dict[str, Decimal]  # by receipt field: excise_tax, sales_tax, city_tax, ...
    tax_total: Decimal
    total: Decimal
    verdict: Verdict
    coupons: tuple[CodeResult, ...] = ()
    rewards: tuple[CodeResult, ...] = ()
    chosen: tuple[CodeResult, ...] = ()  # promotions chosen at the counter
    points_balance: int | None = None  # None: no loyalty account
    points_to_earn: int = 0
    points_to_redeem: int = 0
    tier_name: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    refused: tuple[CodeResult, ...] = ()  # codes and rewards asked for that cannot be used
    cart: "CartInput | None" = None
    at: dt.datetime | None = None
    local_date: dt.date | None = None
    # (name, version) of the kept reads it was priced under: rules (limits, ages, taxes), promotions, the
    # loyalty program, the catalog (prices, limit amounts).
    versions: tuple[tuple[str, int], ...] = ()
    rules: JurisdictionRules | None = None
    loyalty: LoyaltyContext | None = None
    unknown_product_ids: tuple[int, ...] = ()
    stock_picked: bool = False  # every line has its packages (else the sale picks them under locks)
    history_since: dt.datetime | None = None  # the limits' history was read from then...
    history_count: int = 0  # ...and held this many purchases
    open_orders_count: int = 0  # the customer's other open orders counted as bought

    @property
    def limits(self) -> tuple[LimitUsage, ...]:
        return self.verdict.limits

    @property
    def limit_violations(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.verdict.violations if v.code == "limit_exceeded")


# Products with their limit amounts, kept per process until a product or a limit amount changes: a price
# change moves this version, so completing a quote priced before it prices the cart again.
CATALOG = Versioned("catalog").watch(Product, ProductLimitAmount)


def products_for(store: Store, product_ids) -> dict[int, Product]:
    """The organization's products among `product_ids` (with their limit amounts), by id. Kept per process:
    the instances are shared, read them only."""
    found = CATALOG.get_many(sorted(set(product_ids)), _products_load)
    return {pk: product for pk, product in found.items() if product.organization_id == store.organization_id}


def _products_load(product_ids: list[int]) -> dict[int, Product]:
    products = {
        product.pk: product
        for product in Product.objects.filter(pk__in=product_ids)
        .prefetch_related("limit_amounts")
        .order_by("pk")
    }
    for product in products.values():
        # Every scan multiplies these: pairs spare building a related manager per line.
        product._limit_amount_pairs = _limit_amount_pairs(product)
    return products


def _limit_amount_pairs(product: Product) -> tuple[tuple[str, Decimal], ...]:
    return tuple((row.bucket, row.amount) for row in product.limit_amounts.all())


def limit_amounts_of(product: Product, quantity: Decimal) -> dict[str, Decimal]:
    pairs = product.__dict__.get("_limit_amount_pairs")
    if pairs is None:
        pairs = _limit_amount_pairs(product)
    quantity = Decimal(quantity)
    return {bucket: amount * quantity for bucket, amount in pairs}


def limits_since(rules, now: dt.datetime) -> dt.datetime:
    """The start of the longest window of the rules: the purchases since then are the limits' history."""
    longest = max((limit.window_days or 1 for limit in rules.limits), default=1)
    return now - dt.timedelta(days=longest + 1)


def limits_read(
    *, rules, customer: Customer | None, customer_type: str, today: dt.date, now: dt.datetime
) -> tuple[JurisdictionRules, dt.datetime, list[Purchase]]:
    """What a verdict reads, in one query: the customer's purchases in the longest window of the rules and,
    for a medical patient, their current recommendation, whose amounts join the rules as the patient's own
    allowances. Returns the rules the limits are judged by, the start of the history and the history.

    The window does not depend on the recommendation: its allowances take the windows of the state's medical
    allowances on their buckets, or the store's day (`recommendation_limits`), never a longer one."""
    since = limits_since(rules, now)
    if customer is None:
        return rules, since, []
    if customer_type != MEDICAL:
        return rules, since, customer_limit_history(customer=customer, since=since)
    read = patient_limit_history(customer=customer, since=since, today=today)
    return (
        with_limits(rules, recommendation_limits(rules, read.recommendation, on=today)),
        since,
        read.purchases,
    )


def limits_verdict(
    *,
    store: Store,
    customer: Customer | None,
    customer_type: str,
    age: int | None,
    lines: Sequence,
    products: dict[int, Product],
    now: dt.datetime,
    rules=None,
    pending: Sequence[Purchase] = (),
    resident: bool = True,
    via_caregiver: bool = False,
    history: Sequence[Purchase] | None = None,
) -> Verdict:
    """The limit engine's verdict on lines (anything with product_id and quantity) for this customer today,
    with their purchases in the longest window (net of refunds, voids left out); `pending` counts as bought
    too (the customer's reserved pickup orders). Residency picks the allowances for residents or visitors;
    `via_caregiver` is a patient served through their caregiver; a medical patient's current recommendation
    adds its amounts as the patient's own allowances. `history` (read by the caller with `limits_read`) spares
    reading it again."""
    today = store_local_date(store, at=now)
    if history is None:
        rules = rules or jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=today)
        rules, _, history = limits_read(
            rules=rules, customer=customer, customer_type=customer_type, today=today, now=now
        )
    history = [*history, *pending]
    cart = [
        CartLine(
            amounts=limit_amounts_of(products[line.product_id], Decimal(line.quantity)),
            label=f"{quantity_text(Decimal(line.quantity))} x {products[line.product_id].name}",
        )
        for line in lines
    ]
    buyer = RulesCustomer(type=customer_type, age=age, resident=resident, via_caregiver=via_caregiver)
    return purchase_limits_check(rules, buyer, history, cart, on=today, time_zone=store.time_zone)


def manual_discounts(line: QuoteLineInput, product: Product) -> list[QuoteDiscount]:
    """A manager's price override and manual discounts, as discounts on the list price."""
    list_amount = money(product.price * Decimal(line.quantity))
    found = []
    if line.price_override is not None:
        overridden = money(Decimal(line.price_override) * Decimal(line.quantity))
        if overridden < list_amount:
            found.append(
                QuoteDiscount(
                    "override",
                    f"Price override to {money(Decimal(line.price_override))}",
                    list_amount - overridden,
                    approved_by_id=line.approved_by_id,
                )
            )
    if line.discount_percent is not None:
        amount = Discount(percent=Decimal(line.discount_percent)).of(list_amount)
        found.append(
            QuoteDiscount(
                "override", f"{line.discount_percent}% off", amount, approved_by_id=line.approved_by_id
            )
        )
    if line.discount_amount is not None:
        amount = Discount(amount=Decimal(line.discount_amount)).of(list_amount)
        found.append(QuoteDiscount("override", "Amount off", amount, approved_by_id=line.approved_by_id))
    return found


def _capped(discounts: list[QuoteDiscount], list_amount: Decimal) -> tuple[QuoteDiscount, ...]:
    """Discounts never take a line below zero: the last ones shrink."""
    result, left = [], list_amount
    for discount in discounts:
        amount = min(discount.amount, left)
        if amount > ZERO:
            result.append(QuoteDiscount(**{**discount.__dict__, "amount": amount}))
            left -= amount
    return tuple(result)


def price_lines(
    lines: Sequence[QuoteLineInput],
    products: dict[int, Product],
    taxes,
    customer_type: str,
    discounts_by_line: dict[int, list[QuoteDiscount]] | None = None,
    *,
    picks: Sequence[tuple[PackagePick, ...]] = (),
) -> list[QuoteLine]:
    """The lines priced, each with the packages picked for it (`picks`, by line, when they were)."""
    discounts_by_line = discounts_by_line or {}
    priced = []
    for index, line in enumerate(lines):
        product = products[line.product_id]
        quantity = Decimal(line.quantity)
        list_amount = money(product.price * quantity)
        discounts = _capped(manual_discounts(line, product) + discounts_by_line.get(index, []), list_amount)
        amount_off = sum((d.amount for d in discounts), ZERO)
        result = line_price(
            PriceLine(product.price, quantity, Discount(amount=amount_off), category=product.category),
            taxes,
            customer_type,
        )
        priced.append(
            QuoteLine(
                index=index,
                product=product,
                package_id=line.package_id,
                quantity=quantity,
                unit=product.sold_by,
                unit_price=product.price,
                list_amount=result.list_amount,
                discounts=discounts,
                discount_amount=result.discount_amount,
                net_amount=result.net_amount,
                taxes=result.taxes,
                tax_amount=result.tax_amount,
                total=result.total,
                limit_amounts=limit_amounts_of(product, quantity),
                picks=picks[index] if picks else (),
            )
        )
    return priced


def quote_totals(lines: Sequence[QuoteLine]) -> dict:
    by_level: dict[str, Decimal] = {"excise": ZERO, "state": ZERO, "local": ZERO}
    by_field: dict[str, Decimal] = {}
    for line in lines:
        for tax in line.taxes:
            by_level[tax.tax.level] = by_level.get(tax.tax.level, ZERO) + tax.amount
            by_field[tax.tax.field] = by_field.get(tax.tax.field, ZERO) + tax.amount
    return {
        "subtotal": sum((line.list_amount for line in lines), ZERO),
        "discount_total": sum((line.discount_amount for line in lines), ZERO),
        "tax_totals": by_level,
        "tax_fields": by_field,
        "tax_total": sum((line.tax_amount for line in lines), ZERO),
        "total": sum((line.total for line in lines), ZERO),
    }


def cart_discounts(
    *,
    store: Store,
    customer: Customer | None,
    customer_type: str,
    age: int | None,
    lines: Sequence,
    products: dict[int, Product],
    coupon_codes: Sequence[str] = (),
    promotion_ids: Sequence[int] = (),
    reward_ids: Sequence[int] = (),
    now: dt.datetime,
    buyer: Buyer = Buyer(),
) -> tuple[Applied, LoyaltyContext]:
    """Promotions, coupons and rewards on `lines` (QuoteLineInput), as the quote and the sale both apply them.

    Group promotions need their check: seniors by the age on the ID checked (`age`), employees by the staff
    member buying, veterans by the customer's verified record or the budtender's stated check."""
    loyalty = loyalty_context_get(organization_id=store.organization_id, customer=customer)
    data = promotion_data_get(
        store=store,
        customer=customer,
        coupon_codes=coupon_codes,
        promotion_ids=promotion_ids,
        reward_ids=reward_ids,
    )
    items = []
    for index, line in enumerate(lines):
        product = products[line.product_id]
        list_amount = money(product.price * Decimal(line.quantity))
        manual = sum((d.amount for d in manual_discounts(line, product)), ZERO)
        items.append(
            CartItem(
                index=index,
                product_id=product.pk,
                category=product.category,
                brand=product.brand,
                quantity=Decimal(line.quantity),
                unit_price=product.price,
                list_amount=list_amount,
                available=max(list_amount - manual, ZERO),
            )
        )
    context = CustomerContext(
        type=customer_type,
        customer_id=customer.pk if customer else None,
        age=age,
        is_employee=buyer.employee_id is not None,
        is_veteran=bool(buyer.veteran_proof) or bool(customer and customer.is_veteran),
    )
    balance = loyalty.account.balance if loyalty.account else (0 if loyalty.enabled and customer else None)
    applied = discounts_apply(
        items=items,
        customer=context,
        local_now=timezone.localtime(now, store.tz),
        now=now,
        promotions=data.promotions,
        chosen_promotion_ids=[int(pk) for pk in promotion_ids],
        coupon_codes=coupon_codes,
        coupons=data.coupons,
        reward_ids=[int(pk) for pk in reward_ids],
        rewards=data.rewards,
        points_balance=balance,
    )
    return applied, loyalty


def points_to_earn(loyalty: LoyaltyContext, priced: Sequence[QuoteLine], day: dt.date) -> int:
    """Points the priced lines earn (nothing without a program or a customer)."""
    if not loyalty.enabled or loyalty.program is None:
        return 0
    return points_for(
        nets=[(line.product.category, line.net_amount) for line in priced],
        points_per_unit=loyalty.program.points_per_currency_unit,
        multipliers=loyalty.multipliers,
        tier_multiplier=loyalty.tier_multiplier,
        day=day,
    )


@dataclass(frozen=True)
class CartInput:
    """What is being bought, by whom, where and when: the input of `quote`.

    `id_verification` is the ID checked at this visit (its age and issuing state count); `age` stands in for
    it when none was checked yet (a pickup order placed ahead, aged by the customer's record). `caregiver` buys
    for the patient `customer`; `employee` is the staff member buying (employee discounts); `veteran_proof` the
    budtender's veteran check; `pickup_order` the order this sale hands over; `at` the moment priced (now)."""

    store: Store
    customer_type: str
    lines: tuple[QuoteLineInput, ...]
    customer: Customer | None = None
    id_verification: IdVerification | None = None
    age: int | None = None
    resident: bool | None = None  # None: by the ID's issuing state, else the customer's address
    caregiver: Customer | None = None
    employee: User | None = None
    veteran_proof: str = ""
    coupon_codes: tuple[str, ...] = ()
    promotion_ids: tuple[int, ...] = ()
    reward_ids: tuple[int, ...] = ()
    pickup_order: PickupOrder | None = None
    at: dt.datetime | None = None

    @property
    def id_age(self) -> int | None:
        verification = self.id_verification
        if verification is not None and verification.passed:
            return verification.age
        return self.age

    @property
    def buyer(self) -> Buyer:
        resident = self.resident
        if resident is None:
            resident = buyer_resident(
                store=self.store, verification=self.id_verification, customer=self.customer
            )
        return Buyer(
            resident=resident,
            caregiver=self.caregiver,
            employee_id=self.employee.pk if self.employee is not None else None,
            veteran_proof=self.veteran_proof,
        )


VERSIONED = (RULES.name, PROMOTIONS.name, LOYALTY.name, CATALOG.name)


def quote_versions(store: Store) -> tuple[tuple[str, int], ...]:
    """The versions of what a quote reads from the process's kept reads, in one cache round trip."""
    return tuple(sorted(versions(*VERSIONED).items()))


def quote(cart: CartInput, *, picks: bool = True) -> Quote:
    """Price the cart once: the packages each line takes now (first-expiring-first-out unless a tag was
    scanned), prices, every discount and tax, totals, the limit verdict and the points, with the versions of
    the rules, promotions and loyalty program they were read under. Writes nothing; completing the sale takes
    this Quote (pos.services.sales.sale_complete). Products of other organizations are left out and listed in
    `unknown_product_ids`. `picks=False` skips choosing packages (a screen that shows prices only)."""
    read_under = quote_versions(cart.store)
    with pinned(dict(read_under)):  # every kept read under the versions the Quote records
        return _quote(cart, picks=picks, read_under=read_under)


def _quote(cart: CartInput, *, picks: bool, read_under: tuple[tuple[str, int], ...]) -> Quote:
    store = cart.store
    now = cart.at or timezone.now()
    today = store_local_date(store, at=now)
    products = products_for(store, [line.product_id for line in cart.lines])
    unknown = tuple(sorted({line.product_id for line in cart.lines} - set(products)))
    lines = [line for line in cart.lines if line.product_id in products]
    rules = jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=today)
    buyer = cart.buyer
    id_age = cart.id_age
    customer = cart.customer
    verdict_age = limits_age(id_age=id_age, patient=customer, caregiver=cart.caregiver, today=today)
    judged_by, since, history = limits_read(
        rules=rules, customer=customer, customer_type=cart.customer_type, today=today, now=now
    )
    # The customer's open orders (pickup or delivery, every channel) count as bought: an order and walk-in
    # sales cannot together pass a limit. The order this sale hands over is the cart itself.
    pending = (
        pickup_reserved_purchases(
            customer=customer,
            at=now,
            exclude_order_id=cart.pickup_order.pk if cart.pickup_order is not None else None,
        )
        if customer is not None
        else []
    )
    verdict = limits_verdict(
        store=store,
        customer=customer,
        customer_type=cart.customer_type,
        age=verdict_age,
        lines=lines,
        products=products,
        now=now,
        rules=judged_by,
        resident=buyer.resident,
        via_caregiver=cart.caregiver is not None,
        history=history,
        pending=pending,
    )
    taxes = tax_specs_in_force(jurisdiction=store.jurisdiction, on=today)
    applied, loyalty = cart_discounts(
        store=store,
        customer=customer,
        customer_type=cart.customer_type,
        age=id_age,
        lines=lines,
        products=products,
        coupon_codes=cart.coupon_codes,
        promotion_ids=cart.promotion_ids,
        reward_ids=cart.reward_ids,
        now=now,
        buyer=buyer,
    )
    stock = StockPicks((), False)
    if picks and lines and cart.pickup_order is None:
        stock = stock_pick(
            store=store,
            requests=[
                StockRequest(line.product_id, Decimal(line.quantity), line.package_id) for line in lines
            ],
            today=today,
        )
    priced = price_lines(
        lines, products, taxes, cart.customer_type, applied.discounts_by_line, picks=stock.by_request
    )
    account = loyalty.account
    return Quote(
        lines=tuple(priced),
        verdict=verdict,
        coupons=applied.coupons,
        rewards=applied.rewards,
        chosen=applied.chosen,
        refused=tuple(applied.refused),
        points_balance=account.balance if account else (0 if loyalty.enabled and customer else None),
        points_to_earn=points_to_earn(loyalty, priced, today) if customer else 0,
        points_to_redeem=applied.points_to_redeem,
        tier_name=account.tier.name if account and account.tier_id and account.tier else "",
        cart=cart,
        at=now,
        local_date=today,
        versions=read_under,
        rules=rules,
        loyalty=loyalty,
        unknown_product_ids=unknown,
        stock_picked=stock.complete,
        history_since=since,
        history_count=len(history),
        open_orders_count=len(pending),
        **quote_totals(priced),
    )
