"""Pricing, pure: lines and totals from list prices, line discounts and the jurisdiction's taxes in force.
Every amount is rounded per line to the cent (ROUND_HALF_UP); totals are sums of the rounded lines.

A tax is charged only on the product categories its row names (cannabis taxes leave accessories out), on the
retail price after discounts, or on that price plus excise; a tax included in the
shelf price is taken out of it (the line's total stays the shelf price); wholesale taxes and taxes without a
rate (set per locality) are not on the receipt."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")

RETAIL_PRICE = "retail_price"
RETAIL_PRICE_WITH_EXCISE = "retail_price_with_excise"
EXCISE, STATE, LOCAL = "excise", "state", "local"


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxSpec:
    """A tax rate row in force (compliance.models.TaxRate): rate in percent."""

    name: str
    level: str
    customer_type: str  # adult_use, medical or both
    rate: Decimal | None
    base: str = RETAIL_PRICE
    included_in_price: bool = False
    products: str = ""
    categories: tuple[str, ...] = ()  # empty: every category
    id: int | None = None

    def applies(self, customer_type: str, category: str | None = None) -> bool:
        """Charged on this customer type's sale of a product of `category` (None: the category is unknown,
        so only taxes on every category apply)."""
        return (
            self.rate is not None
            and self.base in (RETAIL_PRICE, RETAIL_PRICE_WITH_EXCISE)
            and not self.products  # product-specific rows (Illinois' THC tiers) are not priced yet
            and self.customer_type in ("both", customer_type)
            and (not self.categories or category in self.categories)
        )

    @property
    def field(self) -> str:
        """The state's receipt field for this tax."""
        if self.level == EXCISE:
            return "excise_tax"
        if self.level == STATE:
            return "sales_tax"
        name = self.name.lower()
        if "city" in name:
            return "city_tax"
        if "county" in name:
            return "county_tax"
        return "municipal_tax"


@dataclass(frozen=True)
class Discount:
    """A line discount: a percentage of the line's list amount, or a fixed amount (never below zero)."""

    percent: Decimal | None = None
    amount: Decimal | None = None

    def of(self, list_amount: Decimal) -> Decimal:
        if self.percent is not None:
            if not ZERO <= self.percent <= HUNDRED:
                raise ValueError("A percentage discount is between 0 and 100.")
            return money(list_amount * self.percent / HUNDRED)
        if self.amount is not None:
            if self.amount < ZERO:
                raise ValueError("A fixed discount is not negative.")
            return min(money(self.amount), list_amount)
        return ZERO


@dataclass(frozen=True)
class PriceLine:
    unit_price: Decimal
    quantity: Decimal
    discount: Discount = Discount()
    category: str | None = None  # the product's category, which decides the taxes charged


@dataclass(frozen=True)
class TaxAmount:
    tax: TaxSpec
    amount: Decimal


@dataclass(frozen=True)
class PricedLine:
    unit_price: Decimal
    quantity: Decimal
    list_amount: Decimal
    discount_amount: Decimal
    net_amount: Decimal  # after discounts, before taxes: what taxes are charged on
    taxes: tuple[TaxAmount, ...]
    tax_amount: Decimal
    total: Decimal

    def tax_by_field(self) -> dict[str, Decimal]:
        result: dict[str, Decimal] = {}
        for tax in self.taxes:
            result[tax.tax.field] = result.get(tax.tax.field, ZERO) + tax.amount
        return result


@dataclass(frozen=True)
class PricedSale:
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_totals: dict[str, Decimal] = field(default_factory=dict)  # by level: excise, state, local
    tax_total: Decimal = ZERO
    total: Decimal = ZERO


def _factor(tax: TaxSpec, excise_rate: Decimal) -> Decimal:
    """What the tax is as a fraction of the pre-tax price."""
    rate = tax.rate / HUNDRED
    if tax.base == RETAIL_PRICE_WITH_EXCISE:
        return rate * (1 + excise_rate)
    return rate


def line_price(line: PriceLine, taxes: Sequence[TaxSpec], customer_type: str) -> PricedLine:
    applying = [tax for tax in taxes if tax.applies(customer_type, line.category)]
    list_amount = money(line.unit_price * line.quantity)
    discount = line.discount.of(list_amount)
    after_discount = list_amount - discount
    excise_rate = sum((t.rate / HUNDRED for t in applying if t.level == EXCISE), ZERO)
    included = [t for t in applying if t.included_in_price]
    # Taxes in the shelf price are taken out of it; the last one absorbs the rounding so the parts add up.
    net = money(after_discount / (1 + sum((_factor(t, excise_rate) for t in included), ZERO)))
    amounts: dict[int, Decimal] = {}
    left = after_discount - net
    for index, tax in enumerate(included):
        amount = left if index == len(included) - 1 else money(net * _factor(tax, excise_rate))
        amounts[id(tax)] = amount
        left -= amount
    excise_amount = sum((money(net * t.rate / HUNDRED) for t in applying if t.level == EXCISE), ZERO)
    for tax in applying:
        if tax.included_in_price:
            continue
        if tax.base == RETAIL_PRICE_WITH_EXCISE:
            amounts[id(tax)] = money((net + excise_amount) * tax.rate / HUNDRED)
        else:
            amounts[id(tax)] = money(net * tax.rate / HUNDRED)
    tax_amounts = tuple(TaxAmount(tax, amounts[id(tax)]) for tax in applying)
    added = sum((amounts[id(t)] for t in applying if not t.included_in_price), ZERO)
    return PricedLine(
        unit_price=line.unit_price,
        quantity=line.quantity,
        list_amount=list_amount,
        discount_amount=discount,
        net_amount=net,
        taxes=tax_amounts,
        tax_amount=sum((t.amount for t in tax_amounts), ZERO),
        total=after_discount + added,
    )


def sale_price(lines: Sequence[PriceLine], taxes: Sequence[TaxSpec], customer_type: str) -> PricedSale:
    priced = tuple(line_price(line, taxes, customer_type) for line in lines)
    return totals_of(priced)


def totals_of(priced: Sequence[PricedLine]) -> PricedSale:
    by_level = {EXCISE: ZERO, STATE: ZERO, LOCAL: ZERO}
    for line in priced:
        for tax in line.taxes:
            by_level[tax.tax.level] = by_level.get(tax.tax.level, ZERO) + tax.amount
    return PricedSale(
        lines=tuple(priced),
        subtotal=sum((line.list_amount for line in priced), ZERO),
        discount_total=sum((line.discount_amount for line in priced), ZERO),
        tax_totals=by_level,
        tax_total=sum((line.tax_amount for line in priced), ZERO),
        total=sum((line.total for line in priced), ZERO),
    )
