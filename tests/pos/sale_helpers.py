"""Helpers of the sale tests: a sale quoted and completed through the real services (`checkout`), and a sale
with its own ID check (`sell`)."""

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from compliance.identity import id_verify
from pos.selectors.quote import CartInput, QuoteLineInput, quote
from pos.services import TenderInput, sale_complete
from tests.factories import CustomerFactory

_keys = itertools.count(1)


def cash(amount) -> TenderInput:
    return TenderInput("cash", Decimal(str(amount)))


def card(amount, reference: str = "AUTH-1") -> TenderInput:
    return TenderInput("card", Decimal(str(amount)), reference)


def checkout(
    *,
    store,
    register,
    staff,
    customer,
    customer_type,
    lines,
    tenders,
    idempotency_key,
    id_verification=None,
    now: dt.datetime | None = None,
    coupon_codes=(),
    promotion_ids=(),
    reward_ids=(),
    pickup_order=None,
    caregiver=None,
    employee=None,
    veteran_proof="",
):
    """Quote the cart and complete the sale, as the register does (at `now` when given)."""
    priced = quote(
        CartInput(
            store=store,
            customer_type=customer_type,
            lines=tuple(lines),
            customer=customer,
            id_verification=id_verification,
            caregiver=caregiver,
            employee=employee,
            veteran_proof=veteran_proof,
            coupon_codes=tuple(coupon_codes),
            promotion_ids=tuple(promotion_ids),
            reward_ids=tuple(reward_ids),
            pickup_order=pickup_order,
            at=now,
        )
    )
    return sale_complete(
        quote=priced,
        tenders=tenders,
        register=register,
        staff=staff,
        idempotency_key=idempotency_key,
        now=now,
    )


def priced(
    *,
    store,
    customer,
    customer_type,
    lines,
    age=None,
    coupon_codes=(),
    promotion_ids=(),
    reward_ids=(),
    at=None,
):
    """The quote of a cart, its buyer aged `age` (no ID check needed)."""
    return quote(
        CartInput(
            store=store,
            customer_type=customer_type,
            lines=tuple(lines),
            customer=customer,
            age=age,
            coupon_codes=tuple(coupon_codes),
            promotion_ids=tuple(promotion_ids),
            reward_ids=tuple(reward_ids),
            at=at,
        )
    )


def sell(
    store, register, staff, product, package, *, quantity=1, tenders=None, at: dt.datetime | None = None
):
    """A sale of `quantity` of `package` to a new adult customer; cash 500 unless told."""
    customer = CustomerFactory(organization=store.organization)
    verification = id_verify(
        store=store,
        staff=staff,
        minimum_age=21,
        date_of_birth=dt.date(1990, 5, 17),
        expires_on=timezone.now().date() + dt.timedelta(days=800),
        customer=customer,
        at=at,
    ).verification
    return checkout(
        store=store,
        register=register,
        staff=staff,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, Decimal(str(quantity)), package_id=package.pk)],
        tenders=tenders or [cash(500)],
        idempotency_key=f"helper-sale-{next(_keys)}",
        id_verification=verification,
        now=at,
    )
