"""Two registers redeeming the same single-use code at once, on PostgreSQL with real concurrent connections:
the coupon row is locked, so the second sale sees the use and is refused."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connections

from compliance.identity import id_verify
from pos.errors import CouponInvalid
from pos.models import Coupon, CouponRedemption, Promotion, Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import checkout

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("shipped_rules"),
]


def test_a_single_use_code_is_redeemed_once_by_two_registers():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    staff = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    product = ProductFactory(organization=organization, price=D("10.00"))
    receive(store, product, 5)
    registers = [register_with_drawer(store, staff, name=f"R{i}") for i in range(2)]
    promotion = Promotion.objects.create(
        organization=organization, name="Two off", kind="amount", value=D("2"), automatic=False
    )
    coupon = Coupon.objects.create(organization=organization, code="ONCE", promotion=promotion, max_uses=1)
    verification = id_verify(
        store=store, staff=staff, minimum_age=21, date_of_birth=dt.date(1990, 1, 1)
    ).verification
    barrier = threading.Barrier(2)
    sales, refused, lock = [], [], threading.Lock()

    def run(index):
        try:
            barrier.wait()
            sale = checkout(
                store=store,
                register=registers[index],
                staff=staff,
                customer=None,
                customer_type="adult_use",
                lines=[QuoteLineInput(product.pk, D("1"))],
                tenders=[TenderInput("cash", D("20"))],
                idempotency_key=f"once-{index}",
                id_verification=verification,
                coupon_codes=["once"],
            )
            with lock:
                sales.append(sale)
        except CouponInvalid as error:
            with lock:
                refused.append(error.message)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert len(sales) == 1 and refused == ["ONCE has already been used."]
    coupon.refresh_from_db()
    assert coupon.uses == 1
    assert CouponRedemption.objects.count() == 1 and Sale.objects.count() == 1
