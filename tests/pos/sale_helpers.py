"""Helpers of the drawer and returns tests: a completed sale through the real service, with its own ID check."""

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from compliance.identity import id_verify
from pos.services import SaleLineInput, TenderInput, sale_complete
from tests.factories import CustomerFactory

_keys = itertools.count(1)


def cash(amount) -> TenderInput:
    return TenderInput("cash", Decimal(str(amount)))


def card(amount, reference: str = "AUTH-1") -> TenderInput:
    return TenderInput("card", Decimal(str(amount)), reference)


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
    return sale_complete(
        store=store,
        register=register,
        staff=staff,
        customer=customer,
        customer_type="adult_use",
        lines=[SaleLineInput(product.pk, Decimal(str(quantity)), package_id=package.pk)],
        tenders=tenders or [cash(500)],
        idempotency_key=f"helper-sale-{next(_keys)}",
        id_verification=verification,
        now=at,
    )
