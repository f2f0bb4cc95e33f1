"""A sale's receipt: everything printed or sent, read in a fixed number of queries, as one dataclass; and its
plain-text form for email and SMS. What a state requires is on it: the licence number, the store's address, and
each tax by name with excise on its own line (California), after the rows stored with the sale."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch

from dispensary.clock import store_local_now
from dispensary.phones import phone_display
from inventory.models import quantity_text
from pos.models import (
    CustomerType,
    Refund,
    Sale,
    SaleLine,
    SaleLineDiscount,
    SaleLineTax,
    Tender,
)

ZERO = Decimal("0")
TEXT_WIDTH = 42
SMS_LIMIT = 1000
LEVEL_ORDER = {"excise": 0, "state": 1, "local": 2}


@dataclass(frozen=True)
class ReceiptDiscount:
    name: str
    amount: Decimal


@dataclass(frozen=True)
class ReceiptTax:
    name: str
    field: str  # the state's receipt field: excise_tax, sales_tax, city_tax, ...
    level: str  # excise, state, local
    rate: Decimal
    amount: Decimal
    included_in_price: bool

    @property
    def is_excise(self) -> bool:
        return self.level == "excise" or self.field == "excise_tax"

    @property
    def label(self) -> str:
        rate = format(self.rate.normalize(), "f")
        return f"{self.name} {rate}%" + (" (incl.)" if self.included_in_price else "")


@dataclass(frozen=True)
class ReceiptLine:
    product_name: str
    package_tag: str
    quantity: Decimal
    unit: str  # "each" or "g"
    unit_price: Decimal
    list_amount: Decimal
    discounts: tuple[ReceiptDiscount, ...]
    net_amount: Decimal
    tax_amount: Decimal
    total: Decimal
    refunded_quantity: Decimal

    @property
    def quantity_label(self) -> str:
        if self.unit == "each":
            return f"{quantity_text(self.quantity)} x {money_text(self.unit_price)}"
        return f"{quantity_text(self.quantity)} {self.unit} @ {money_text(self.unit_price)}/{self.unit}"

    @property
    def refunded_label(self) -> str:
        if not self.refunded_quantity:
            return ""
        unit = "" if self.unit == "each" else f" {self.unit}"
        return f"Refunded {quantity_text(self.refunded_quantity)}{unit}"


@dataclass(frozen=True)
class ReceiptTender:
    kind: str
    label: str
    amount: Decimal  # handed over
    applied: Decimal
    change_due: Decimal
    reference: str


@dataclass(frozen=True)
class ReceiptRefund:
    refund_id: int
    local_time: dt.datetime
    total: Decimal
    tender_label: str


@dataclass(frozen=True)
class Receipt:
    sale_id: int
    organization_id: int
    store_id: int
    customer_id: int | None
    store_name: str
    address_lines: tuple[str, ...]
    store_phone: str
    licence_number: str
    receipt_number: str
    local_time: dt.datetime  # in the store's zone
    budtender: str
    customer_type: str
    customer_type_label: str
    lines: tuple[ReceiptLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    taxes: tuple[ReceiptTax, ...]  # excise first, then state, then local
    tax_total: Decimal
    total: Decimal
    tenders: tuple[ReceiptTender, ...]
    change_due: Decimal
    has_loyalty_account: bool
    points_earned: int
    points_redeemed: int
    points_balance: int | None
    loyalty_tier: str
    voided: bool
    voided_local_time: dt.datetime | None
    refunds: tuple[ReceiptRefund, ...]
    refunded_total: Decimal
    customer_phone: str  # not printed: the default destination of a texted receipt
    customer_email: str

    @property
    def excise_taxes(self) -> tuple[ReceiptTax, ...]:
        return tuple(tax for tax in self.taxes if tax.is_excise)

    @property
    def other_taxes(self) -> tuple[ReceiptTax, ...]:
        return tuple(tax for tax in self.taxes if not tax.is_excise)

    @property
    def net_total(self) -> Decimal:
        """What the customer paid, less what was refunded."""
        return self.total - self.refunded_total


def money_text(amount: Decimal) -> str:
    amount = Decimal(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _licence(store, customer_type: str) -> str:
    if customer_type == CustomerType.MEDICAL:
        return store.license_medical or store.license_adult_use
    return store.license_adult_use or store.license_medical


def _address(store) -> tuple[str, ...]:
    street = ", ".join(part for part in (store.address_line1, store.address_line2) if part)
    city = f"{store.city}, {store.region} {store.postal_code}".strip()
    return tuple(part for part in (street, city) if part)


def _discounts(line: SaleLine) -> tuple[ReceiptDiscount, ...]:
    rows = tuple(ReceiptDiscount(row.name, row.amount) for row in line.discounts.all())
    recorded = sum((row.amount for row in rows), ZERO)
    if line.discount_amount > recorded:
        # A discount given at the counter without a named source (a percentage or amount off the line).
        rows += (ReceiptDiscount("Discount", line.discount_amount - recorded),)
    return rows


def _tax_totals(lines) -> tuple[ReceiptTax, ...]:
    totals: dict[tuple, Decimal] = {}
    for line in lines:
        for tax in line.taxes.all():
            key = (tax.level, tax.field, tax.name, tax.rate, tax.included_in_price)
            totals[key] = totals.get(key, ZERO) + tax.amount
    ordered = sorted(totals.items(), key=lambda item: (LEVEL_ORDER.get(item[0][0], 9), item[0][2]))
    return tuple(
        ReceiptTax(name=name, field=field, level=level, rate=rate, amount=amount, included_in_price=included)
        for (level, field, name, rate, included), amount in ordered
    )


def _receipt_sales():
    return Sale.objects.select_related(
        "store", "staff", "customer", "customer__loyalty_account", "customer__loyalty_account__tier"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=SaleLine.objects.select_related("product", "package")
            .prefetch_related(
                Prefetch("taxes", queryset=SaleLineTax.objects.order_by("id")),
                Prefetch("discounts", queryset=SaleLineDiscount.objects.order_by("id")),
            )
            .order_by("id"),
        ),
        Prefetch("tenders", queryset=Tender.objects.order_by("id")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")),
    )


def receipt_get(*, sale_id: int, stores=None) -> Receipt | None:
    """The receipt of a sale at one of `stores` (every store when None), or None. Six queries, whatever the
    number of lines, taxes, discounts, tenders and refunds."""
    sales = _receipt_sales().filter(pk=sale_id)
    if stores is not None:
        sales = sales.filter(store__in=stores)
    sale = sales.first()
    return receipt_from_sale(sale) if sale is not None else None


def receipt_from_sale(sale: Sale) -> Receipt:
    """Build the receipt of a sale loaded with receipt_get's related rows."""
    store = sale.store
    tender_labels = dict(Tender.Kind.choices)
    lines = list(sale.lines.all())
    customer = sale.customer
    account = getattr(customer, "loyalty_account", None) if customer is not None else None
    staff = sale.staff
    return Receipt(
        sale_id=sale.pk,
        organization_id=store.organization_id,
        store_id=store.pk,
        customer_id=sale.customer_id,
        store_name=store.name,
        address_lines=_address(store),
        store_phone=store.phone,
        licence_number=_licence(store, sale.customer_type),
        receipt_number=sale.receipt_number,
        local_time=store_local_now(store, at=sale.completed_at),
        budtender=staff.first_name or staff.get_username(),
        customer_type=sale.customer_type,
        customer_type_label=CustomerType(sale.customer_type).label,
        lines=tuple(
            ReceiptLine(
                product_name=line.product.name,
                package_tag=line.package.tag,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                list_amount=line.list_amount,
                discounts=_discounts(line),
                net_amount=line.net_amount,
                tax_amount=line.tax_amount,
                total=line.total,
                refunded_quantity=line.refunded_quantity,
            )
            for line in lines
        ),
        subtotal=sale.subtotal,
        discount_total=sale.discount_total,
        taxes=_tax_totals(lines),
        tax_total=sale.tax_total,
        total=sale.total,
        tenders=tuple(
            ReceiptTender(
                kind=tender.kind,
                label=tender_labels.get(tender.kind, tender.kind),
                amount=tender.amount,
                applied=tender.applied,
                change_due=tender.change_due,
                reference=tender.reference,
            )
            for tender in sale.tenders.all()
        ),
        change_due=sum((tender.change_due for tender in sale.tenders.all()), ZERO),
        has_loyalty_account=account is not None,
        points_earned=sale.points_earned,
        points_redeemed=sale.points_redeemed,
        points_balance=account.balance if account is not None else None,
        loyalty_tier=account.tier.name if account is not None and account.tier is not None else "",
        voided=sale.status == Sale.Status.VOIDED,
        voided_local_time=store_local_now(store, at=sale.voided_at) if sale.voided_at else None,
        refunds=tuple(
            ReceiptRefund(
                refund_id=refund.pk,
                local_time=store_local_now(store, at=refund.created_at),
                total=refund.total,
                tender_label=tender_labels.get(refund.tender_kind, refund.tender_kind),
            )
            for refund in sale.refunds.all()
        ),
        refunded_total=sale.refunded_total,
        customer_phone=customer.phone if customer is not None else "",
        customer_email=customer.email if customer is not None else "",
    )


# --- Plain text ----------------------------------------------------------------------------------------------


def _row(label: str, amount: Decimal | str, width: int = TEXT_WIDTH) -> str:
    value = amount if isinstance(amount, str) else money_text(amount)
    room = width - len(value) - 1
    if len(label) > room:
        label = label[: max(room - 1, 0)] + "…"
    return f"{label:<{room}} {value}"


def _when(moment: dt.datetime) -> str:
    hour = moment.strftime("%I").lstrip("0")
    return f"{moment:%b} {moment.day}, {moment:%Y} {hour}:{moment:%M %p %Z}"


def _points(receipt: Receipt) -> str:
    parts = [f"Points earned {receipt.points_earned}"]
    if receipt.points_redeemed:
        parts.append(f"redeemed {receipt.points_redeemed}")
    parts.append(f"balance {receipt.points_balance}")
    text = ", ".join(parts)
    return f"{text} ({receipt.loyalty_tier})" if receipt.loyalty_tier else text


def _full_text(receipt: Receipt) -> str:
    rule = "-" * TEXT_WIDTH
    out = [receipt.store_name, *receipt.address_lines]
    if receipt.store_phone:
        out.append(phone_display(receipt.store_phone))
    out += [
        f"Licence {receipt.licence_number}",
        rule,
        f"Receipt {receipt.receipt_number}",
        _when(receipt.local_time),
        f"Budtender: {receipt.budtender}",
        f"Customer: {receipt.customer_type_label}",
    ]
    if receipt.voided:
        out.append(f"*** VOIDED {_when(receipt.voided_local_time)} ***")
    out.append(rule)
    for line in receipt.lines:
        out.append(line.product_name)
        out.append(f"  Tag {line.package_tag}")
        out.append(_row(f"  {line.quantity_label}", line.list_amount))
        for discount in line.discounts:
            out.append(_row(f"  {discount.name}", -discount.amount))
        if line.discounts:
            out.append(_row("  Net", line.net_amount))
        if line.refunded_quantity:
            out.append(f"  {line.refunded_label}")
    out.append(rule)
    out.append(_row("Subtotal", receipt.subtotal))
    if receipt.discount_total:
        out.append(_row("Discounts", -receipt.discount_total))
    for tax in (*receipt.excise_taxes, *receipt.other_taxes):
        out.append(_row(tax.label, tax.amount))
    out.append(_row("TOTAL", receipt.total))
    out.append(rule)
    for tender in receipt.tenders:
        label = f"{tender.label} {tender.reference}".strip()
        out.append(_row(label, tender.amount))
    out.append(_row("Change due", receipt.change_due))
    for refund in receipt.refunds:
        out.append(_row(f"Refund {refund.local_time:%Y-%m-%d} ({refund.tender_label})", -refund.total))
    if receipt.refunds:
        out.append(_row("Net after refunds", receipt.net_total))
    if receipt.has_loyalty_account:
        out.append(rule)
        out.append(_points(receipt))
    return "\n".join(out) + "\n"


def _short_text(receipt: Receipt, lines_shown: int) -> str:
    out = [
        f"{receipt.store_name} receipt {receipt.receipt_number}",
        _when(receipt.local_time),
    ]
    if receipt.voided:
        out.append("VOIDED")
    for line in receipt.lines[:lines_shown]:
        quantity = quantity_text(line.quantity) + ("" if line.unit == "each" else f" {line.unit}")
        out.append(f"{quantity} x {line.product_name} {money_text(line.net_amount)}")
    hidden = len(receipt.lines) - lines_shown
    if hidden > 0:
        out.append(f"+{hidden} more item{'s' if hidden > 1 else ''}")
    out.append(f"Subtotal {money_text(receipt.subtotal)}")
    if receipt.discount_total:
        out.append(f"Discounts {money_text(-receipt.discount_total)}")
    for tax in (*receipt.excise_taxes, *receipt.other_taxes):
        out.append(f"{tax.label} {money_text(tax.amount)}")
    out.append(f"Total {money_text(receipt.total)}")
    if receipt.refunds:
        out.append(f"Refunded {money_text(receipt.refunded_total)}")
    if receipt.change_due:
        out.append(f"Change {money_text(receipt.change_due)}")
    if receipt.has_loyalty_account:
        out.append(_points(receipt))
    out.append(f"Lic {receipt.licence_number}")
    return "\n".join(out)


def receipt_text(receipt: Receipt, *, short: bool = False) -> str:
    """The receipt as plain text: the full form for email (42 columns, like the printed one), the short form
    for SMS (under 1,000 characters: lines beyond what fits are counted, not listed)."""
    if not short:
        return _full_text(receipt)
    shown = len(receipt.lines)
    text = _short_text(receipt, shown)
    while len(text) > SMS_LIMIT and shown > 0:
        shown -= 1
        text = _short_text(receipt, shown)
    return text[:SMS_LIMIT]
