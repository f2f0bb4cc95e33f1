"""The checkout's pieces together, through their services: an order placed ahead arrives, is checked in and
served, its cart holds the reserved packages, a coupon from a message applies, and completing the cart commits
the allocation, records the coupon's redemption with the message, earns points and finishes the queue entry."""

import datetime as dt
from decimal import Decimal as D

import pytest

from inventory.models import Package
from inventory.selectors import ledger_mismatch_list
from pos.models import Coupon, CouponRedemption, LoyaltyProgram, PickupOrder, Promotion, QueueEntry
from pos.services import TenderInput
from pos.services.carts import cart_complete, cart_discounts_set, cart_id_verify, cart_open
from pos.services.pickup import pickup_order_create
from pos.services.queue import queue_check_in, queue_entry_call
from tests.factories import CustomerFactory
from tests.inventory.factories import days

pytestmark = pytest.mark.django_db


def test_a_pickup_order_from_door_to_receipt(store, register, budtender, product, package, organization):
    customer = CustomerFactory(organization=organization, date_of_birth=dt.date(1990, 5, 17))
    LoyaltyProgram.objects.create(organization=organization)
    five = Promotion.objects.create(
        organization=organization, name="Five off", kind="amount", value=D("5"), scope="cart", automatic=False
    )
    Coupon.objects.create(organization=organization, code="TEXT5", promotion=five, message_id="msg-7")
    order = pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, D("2"))],
        idempotency_key="web-1",
    )
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("2")

    entry = queue_check_in(
        store=store, staff=budtender, customer=customer, customer_type="adult_use", pickup_order=order
    )
    entry = queue_entry_call(entry=entry, staff=budtender, register=register)
    cart = cart_open(store=store, register=register, staff=budtender, queue_entry=entry)
    assert cart.pickup_order == order
    assert list(cart.lines.values_list("package_id", "quantity")) == [(package.pk, D("2"))]
    cart_id_verify(cart=cart, staff=budtender, date_of_birth=dt.date(1990, 5, 17), expires_on=days(400))
    cart_discounts_set(cart=cart, staff=budtender, coupon_codes=["text5"])
    cart.refresh_from_db()

    sale = cart_complete(
        cart=cart,
        staff=budtender,
        tenders=[TenderInput("cash", D("200"))],
        idempotency_key=cart.idempotency_key,
    )

    assert sale.discount_total == D("5.00") and sale.pickup_order == order
    [redemption] = CouponRedemption.objects.filter(sale=sale)
    assert (redemption.coupon.code, redemption.message_id, redemption.amount) == ("TEXT5", "msg-7", D("5.00"))
    assert sale.points_earned > 0
    order.refresh_from_db()
    entry.refresh_from_db()
    package.refresh_from_db()
    assert (order.status, entry.status) == (PickupOrder.Status.COMPLETED, QueueEntry.Status.DONE)
    assert (package.quantity_on_hand, package.quantity_allocated) == (D("8"), D("0"))
    assert ledger_mismatch_list(store=store) == []
