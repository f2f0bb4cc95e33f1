"""Every write of the point of sale: completing a sale (limits, ID, stock, pricing, tenders in one
transaction), voiding it on the same local day, and refunding lines back to stock or to waste."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from compliance.identity import IdRefused, caregiver_link_get, medical_status
from compliance.models import IdVerification
from dispensary.audit import audit_record
from dispensary.clock import store_local_date
from dispensary.errors import ValidationFailed
from dispensary.events import publish
from dispensary.models import Customer, Store, User
from inventory.models import Package, Product, quantity_text
from inventory.services import AdjustmentReason, Reference, StockRequest, StockTake, stock_return, stock_sell
from inventory.services.waste import package_waste
from pos.errors import (
    CouponInvalid,
    RefundInvalid,
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
from pos.selectors import tax_specs_in_force
from pos.selectors.checks import purchase_check
from pos.selectors.promotions import coupon_codes_normalize
from pos.selectors.quote import (
    Buyer,
    QuoteLine,
    QuoteLineInput,
    buyer_resident,
    cart_discounts,
    limits_age,
    points_to_earn,
    price_lines,
    products_for,
    quote_totals,
)
from pos.services.loyalty import (
    coupon_redemptions_record,
    loyalty_refund_record,
    loyalty_sale_record,
    loyalty_sale_void,
)
from pos.services.pickup import pickup_order_fulfil
from pos.services.pins import approver_check


@dataclass(frozen=True)
class SaleLineInput:
    """A product and quantity; `package_id` when a tag was scanned (otherwise first-expiring-first-out)."""

    product_id: int
    quantity: Decimal
    package_id: int | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    price_override: Decimal | None = None
    approved_by_id: int | None = None


@dataclass(frozen=True)
class TenderInput:
    kind: str  # "cash" or "card"
    amount: Decimal
    reference: str = ""


def _sale_reference(sale: Sale) -> Reference:
    return Reference("sale", str(sale.pk))


# --- Completing a sale -----------------------------------------------------------------------------------------


def _lock_spendings(*, store: Store, customer: Customer | None, coupon_codes: Sequence[str]) -> None:
    """Lock what the sale spends before reading it: the coupons asked for (in primary-key order, so two
    registers cannot both spend the last use of a code) and the customer's loyalty account."""
    codes = coupon_codes_normalize(coupon_codes)
    if codes:
        list(
            Coupon.objects.select_for_update(of=("self",))
            .filter(organization_id=store.organization_id, code__in=codes)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    if customer is not None:
        list(
            LoyaltyAccount.objects.select_for_update(of=("self",))
            .filter(customer=customer)
            .values_list("pk", flat=True)
        )


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


def _open_drawer(register: Register, tenders: Sequence[TenderInput]) -> DrawerSession | None:
    """The register's open drawer, which cash goes into; cash cannot be taken without one."""
    # Locked, so a blind close computing the expected cash waits for this sale (and refuses it after).
    drawer = (
        DrawerSession.objects.select_for_update(of=("self",))
        .filter(register=register, status=DrawerSession.Status.OPEN)
        .first()
    )
    if drawer is None and any(tender.kind == Tender.Kind.CASH for tender in tenders):
        raise TenderInvalid(
            f"Open the drawer of {register.name} before taking cash.", details={"drawer": ["Not open."]}
        )
    return drawer


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


def line_event(line: SaleLine, quantity: Decimal | None = None) -> dict:
    """A line in the events' shape (the state's receipt line); `quantity` for what is left after refunds."""
    quantity = line.quantity if quantity is None else quantity
    data = {
        "package_id": line.package_id,
        "package_label": line.package.tag,
        "quantity": quantity_text(quantity),
        "unit": line.unit,
        "total_amount": str(_share(line.net_amount, quantity, line.quantity)),
        "discount_amount": str(_share(line.discount_amount, quantity, line.quantity)),
    }
    by_field: dict[str, Decimal] = {}
    for tax in line.taxes.all():
        by_field[tax.field] = by_field.get(tax.field, ZERO) + _share(tax.amount, quantity, line.quantity)
    data.update({name: str(amount) for name, amount in by_field.items()})
    return data


def _patient_license(customer, customer_type: str) -> str:
    if customer is None or customer_type != CustomerType.MEDICAL:
        return ""
    registration = getattr(customer, "patient_registration", None)
    return registration.card_number if registration else ""


def _validate(
    *, store, register, customer, customer_type, lines, idempotency_key, caregiver=None, veteran_proof=""
) -> None:
    problems = {}
    if caregiver is not None:
        if caregiver.organization_id != store.organization_id:
            problems["caregiver"] = ["Unknown customer."]
        elif customer is None or customer_type != CustomerType.MEDICAL:
            problems["caregiver"] = ["A caregiver buys medical sales for their patient."]
    if veteran_proof and veteran_proof not in VeteranProof.values:
        problems["veteran_proof"] = [f"Unknown veteran check {veteran_proof!r}."]
    if register.store_id != store.pk:
        problems["register"] = ["The register is at another store."]
    if customer_type not in CustomerType.values:
        problems["customer_type"] = [f"Unknown customer type {customer_type!r}."]
    elif customer is None and customer_type == CustomerType.MEDICAL:
        problems["customer"] = ["A medical sale needs the patient."]
    if customer is not None and customer.organization_id != store.organization_id:
        problems["customer"] = ["Unknown customer."]
    if not lines:
        problems["lines"] = ["A sale has at least one line."]
    if not idempotency_key or len(idempotency_key) > 100:
        problems["idempotency_key"] = ["Give an idempotency key of at most 100 characters."]
    if problems:
        raise ValidationFailed("The sale cannot be completed as given.", details=problems)


def sale_complete(
    *,
    store: Store,
    register: Register,
    staff: User,
    customer: Customer | None,
    customer_type: str,
    lines: Sequence[SaleLineInput],
    tenders: Sequence[TenderInput],
    idempotency_key: str,
    id_verification: IdVerification | None = None,
    now: dt.datetime | None = None,
    coupon_codes: Sequence[str] = (),
    promotion_ids: Sequence[int] = (),
    reward_ids: Sequence[int] = (),
    pickup_order: PickupOrder | None = None,
    caregiver: Customer | None = None,
    employee: User | None = None,
    veteran_proof: str = "",
) -> Sale:
    """Complete a sale in one transaction. A retried call with the same idempotency key returns the first sale
    (the unique constraint decides); a refused sale writes nothing. Automatic promotions apply by themselves;
    `promotion_ids` are chosen at the counter; a code or reward that cannot be used refuses the sale.

    `caregiver` buys for the patient `customer` (their ID is the one checked; the patient's limits, age and
    card count); `employee` is the staff member buying (employee discounts); `veteran_proof` the budtender's
    veteran check. Residency (for visitors' limits) comes from the ID's issuing state."""
    _validate(
        store=store,
        register=register,
        customer=customer,
        customer_type=customer_type,
        lines=lines,
        idempotency_key=idempotency_key,
        caregiver=caregiver,
        veteran_proof=veteran_proof,
    )
    employee_check(store=store, employee=employee, staff=staff)
    now = now or timezone.now()
    today = store_local_date(store, at=now)
    with transaction.atomic():
        sale = Sale(
            store=store,
            register=register,
            customer=customer,
            customer_type=customer_type,
            staff=staff,
            id_verification=id_verification,
            local_date=today,
            completed_at=now,
            receipt_number=f"pending-{uuid.uuid4().hex}",
            idempotency_key=idempotency_key,
            caregiver=caregiver,
            employee=employee,
            veteran_proof=veteran_proof,
        )
        try:
            with transaction.atomic():
                sale.save()
        except IntegrityError:
            first = Sale.objects.filter(store=store, idempotency_key=idempotency_key).first()
            if first is None:
                raise
            return first
        _check_id(id_verification, store=store, customer=customer, today=today, caregiver=caregiver)
        link = caregiver_link_get(caregiver=caregiver, patient=customer, today=today) if caregiver else None
        sale.drawer_session = _open_drawer(register, tenders)
        if customer is not None:
            # One sale at a time per customer, so two registers cannot both use the same allowance.
            Customer.objects.select_for_update(of=("self",)).filter(pk=customer.pk).first()
        if customer_type == CustomerType.MEDICAL:
            status = medical_status(customer=customer, today=today)
            if not status.allowed:
                raise SaleNotAllowed(" ".join(status.problems), details={"problems": list(status.problems)})
        products = products_for(store, [line.product_id for line in lines])
        unknown = sorted({line.product_id for line in lines} - set(products))
        if unknown:
            raise ValidationFailed("Unknown products.", details={"product_ids": unknown})
        purchase_check(
            store=store,
            customer=customer,
            customer_type=customer_type,
            age=limits_age(id_age=id_verification.age, patient=customer, caregiver=caregiver, today=today),
            lines=lines,
            products=products,
            now=now,
            resident=buyer_resident(store=store, verification=id_verification, customer=customer),
            via_caregiver=caregiver is not None,
        )
        quote_lines = [_quote_input(line) for line in lines]
        _lock_spendings(store=store, customer=customer, coupon_codes=coupon_codes)
        applied, loyalty = cart_discounts(
            store=store,
            customer=customer,
            customer_type=customer_type,
            age=id_verification.age,
            lines=quote_lines,
            products=products,
            coupon_codes=coupon_codes,
            promotion_ids=promotion_ids,
            reward_ids=reward_ids,
            now=now,
            buyer=Buyer(employee_id=employee.pk if employee else None, veteran_proof=veteran_proof),
        )
        if applied.refused:
            raise CouponInvalid(
                " ".join(result.message for result in applied.refused),
                details={"codes": {result.code: result.message for result in applied.refused}},
            )
        takes = _take_stock(
            store=store, sale=sale, lines=lines, staff=staff, pickup_order=pickup_order, now=now
        )
        priced_lines = price_lines(
            quote_lines,
            products,
            tax_specs_in_force(jurisdiction=store.jurisdiction, on=today),
            customer_type,
            applied.discounts_by_line,
        )
        sale_lines = _write_lines(sale, priced_lines, takes)
        priced = SimpleNamespace(**quote_totals(priced_lines))
        tender_rows = _tenders(tenders, priced.total)
        for row in tender_rows:
            row.sale = sale
        Tender.objects.bulk_create(tender_rows)
        sale.receipt_number = f"{store.code}-{sale.pk}"
        sale.subtotal = priced.subtotal
        sale.discount_total = priced.discount_total
        sale.excise_tax_total = priced.tax_totals.get("excise", ZERO)
        sale.sales_tax_total = priced.tax_totals.get("state", ZERO)
        sale.local_tax_total = priced.tax_totals.get("local", ZERO)
        sale.tax_total = priced.tax_total
        sale.total = priced.total
        sale.save(
            update_fields=[
                "drawer_session",
                "receipt_number",
                "subtotal",
                "discount_total",
                "excise_tax_total",
                "sales_tax_total",
                "local_tax_total",
                "tax_total",
                "total",
            ]
        )
        coupon_redemptions_record(sale=sale, coupons=applied.coupons, now=now)
        if customer is not None:
            loyalty_sale_record(
                sale=sale,
                loyalty=loyalty,
                rewards=applied.rewards,
                points=points_to_earn(loyalty, priced_lines, today),
                now=now,
            )
        audit_record(
            actor=staff,
            action="sale.completed",
            instance=sale,
            after={
                "receipt_number": sale.receipt_number,
                "total": str(sale.total),
                "customer_type": customer_type,
                "caregiver": caregiver.pk if caregiver else None,
                "employee": employee.pk if employee else None,
                "veteran_proof": veteran_proof,
                "lines": len(sale_lines),
                "change_due": str(sum((row.change_due for row in tender_rows), ZERO)),
            },
            organization=store.organization,
            store=store,
        )
        publish(
            SaleCompleted(
                sale_id=sale.pk,
                organization_id=store.organization_id,
                store_id=store.pk,
                completed_at=now.astimezone(dt.UTC).isoformat(),
                customer_type=customer_type,
                lines=[line_event(line) for line in sale_lines],
                customer_id=customer.pk if customer else None,
                patient_license_number=_patient_license(customer, customer_type),
                caregiver_license_number=link.caregiver_card_number if link else "",
                receipt_number=sale.receipt_number,
            )
        )
        return sale


def _take_stock(*, store, sale, lines, staff, pickup_order, now) -> list[StockTake]:
    """The stock of the sale's lines, in their order: sold from the shelf or, completing a pickup order,
    committed from its allocation first (the rest of the allocation released)."""
    requests = [
        StockRequest(product_id=line.product_id, quantity=Decimal(line.quantity), package_id=line.package_id)
        for line in lines
    ]
    if pickup_order is not None:
        return pickup_order_fulfil(order=pickup_order, sale=sale, requests=requests, actor=staff, now=now)
    return stock_sell(store=store, requests=requests, actor=staff, reference=_sale_reference(sale))


def _quote_input(line: SaleLineInput) -> QuoteLineInput:
    return QuoteLineInput(
        product_id=line.product_id,
        quantity=Decimal(line.quantity),
        package_id=line.package_id,
        price_override=line.price_override,
        discount_percent=line.discount_percent,
        discount_amount=line.discount_amount,
        approved_by_id=line.approved_by_id,
    )


def _split(amount: Decimal, shares: list[Decimal], whole: Decimal) -> list[Decimal]:
    """`amount` in parts proportional to `shares` (which sum to `whole`); the last part takes the rounding."""
    parts, left = [], amount
    for share in shares[:-1]:
        part = money(amount * share / whole)
        parts.append(part)
        left -= part
    return [*parts, left]


def _write_lines(sale: Sale, priced: list[QuoteLine], takes: list[StockTake]) -> list:
    """One sale line per package taken (a line served by two packages makes two sale lines, its amounts,
    discounts and taxes split by quantity so they still add up to the quoted line)."""
    packages = {p.pk: p for p in Package.objects.filter(pk__in={take.package_id for take in takes})}
    pieces = iter(takes)
    rows, discounts, tax_rows = [], [], []
    for quoted in priced:
        line_takes, wanted = [], quoted.quantity
        while wanted > ZERO:
            take = next(pieces)
            wanted -= take.quantity
            line_takes.append(take)
        shares = [take.quantity for take in line_takes]

        def split(amount, shares=shares, quoted=quoted):
            return _split(amount, shares, quoted.quantity)

        parts = zip(
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
        )
        for take, list_amount, discount, net, tax, total, discount_parts, tax_parts in parts:
            package = packages[take.package_id]
            row = SaleLine(
                sale=sale,
                product=quoted.product,
                package=package,
                quantity=take.quantity,
                unit=package.unit,
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


class _Prefetched(list):
    def all(self):
        return self


# --- Voids and refunds -----------------------------------------------------------------------------------------


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
