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

from compliance.models import Recommendation
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
from compliance.rules.limits import LimitUsage, Verdict, Violation
from compliance.selectors import jurisdiction_rules_get
from dispensary.clock import age_on, store_local_date
from dispensary.models import Customer, Store
from inventory.models import Product, quantity_text
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
from pos.selectors.loyalty import LoyaltyContext, loyalty_context_get
from pos.selectors.promotions import promotion_data_get
from pos.selectors.sales import customer_limit_history, tax_specs_in_force


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


@dataclass(frozen=True)
class Quote:
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

    @property
    def limits(self) -> tuple[LimitUsage, ...]:
        return self.verdict.limits

    @property
    def limit_violations(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.verdict.violations if v.code == "limit_exceeded")


def products_for(store: Store, product_ids) -> dict[int, Product]:
    return {
        product.pk: product
        for product in Product.objects.filter(organization_id=store.organization_id, pk__in=set(product_ids))
        .prefetch_related("limit_amounts")
        .order_by("pk")
    }


def limit_amounts_of(product: Product, quantity: Decimal) -> dict[str, Decimal]:
    return {row.bucket: row.amount * Decimal(quantity) for row in product.limit_amounts.all()}


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
) -> Verdict:
    """The limit engine's verdict on lines (anything with product_id and quantity) for this customer today,
    with their purchases in the longest window (net of refunds, voids left out); `pending` counts as bought
    too (the customer's reserved pickup orders). Residency picks the allowances for residents or visitors;
    `via_caregiver` is a patient served through their caregiver; a medical patient's current recommendation
    adds its amounts as the patient's own allowances."""
    today = store_local_date(store, at=now)
    rules = rules or jurisdiction_rules_get(jurisdiction=store.jurisdiction, on=today)
    if customer is not None and customer_type == MEDICAL:
        amounts = recommendation_amounts(customer=customer, today=today)
        rules = with_limits(rules, recommendation_limits(rules, amounts, on=today))
    longest = max((limit.window_days or 1 for limit in rules.limits), default=1)
    since = now - dt.timedelta(days=longest + 1)
    history = customer_limit_history(customer=customer, since=since) if customer else []
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
) -> list[QuoteLine]:
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


def sale_quote(
    *,
    store: Store,
    customer: Customer | None,
    customer_type: str,
    lines: Sequence[QuoteLineInput],
    age: int | None = None,
    coupon_codes: Sequence[str] = (),
    promotion_ids: Sequence[int] = (),
    reward_ids: Sequence[int] = (),
    at: dt.datetime | None = None,
    buyer: Buyer = Buyer(),
    limits_age: int | None = None,
) -> Quote:
    """Price `lines` and check them against the limits, as completing the sale now would. Products of other
    organizations are left out (a cart only holds this organization's). `age` is the age on the ID checked;
    `limits_age` the patient's when a caregiver buys for them (default: `age`)."""
    now = at or timezone.now()
    today = store_local_date(store, at=now)
    products = products_for(store, [line.product_id for line in lines])
    lines = [line for line in lines if line.product_id in products]
    verdict = limits_verdict(
        store=store,
        customer=customer,
        customer_type=customer_type,
        age=age if limits_age is None else limits_age,
        lines=lines,
        products=products,
        now=now,
        resident=buyer.resident,
        via_caregiver=buyer.caregiver is not None,
    )
    taxes = tax_specs_in_force(jurisdiction=store.jurisdiction, on=today)
    applied, loyalty = cart_discounts(
        store=store,
        customer=customer,
        customer_type=customer_type,
        age=age,
        lines=lines,
        products=products,
        coupon_codes=coupon_codes,
        promotion_ids=promotion_ids,
        reward_ids=reward_ids,
        now=now,
        buyer=buyer,
    )
    priced = price_lines(lines, products, taxes, customer_type, applied.discounts_by_line)
    account = loyalty.account
    return Quote(
        lines=tuple(priced),
        verdict=verdict,
        coupons=applied.coupons,
        rewards=applied.rewards,
        chosen=applied.chosen,
        points_balance=account.balance if account else (0 if loyalty.enabled and customer else None),
        points_to_earn=points_to_earn(loyalty, priced, today) if customer else 0,
        points_to_redeem=applied.points_to_redeem,
        tier_name=account.tier.name if account and account.tier else "",
        **quote_totals(priced),
    )
