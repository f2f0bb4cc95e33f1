import datetime as dt
from decimal import Decimal as D

import pytest
from django.test import override_settings
from django.utils import timezone

from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord, OutboxEvent
from inventory.errors import InsufficientStock
from inventory.models import Package, StockMovement
from inventory.selectors import ledger_mismatch_list
from pos.errors import PurchaseLimitExceeded, SaleNotAllowed, TenderInvalid
from pos.models import PickupOrder, PickupOrderLine, Sale, SaleLine
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.pickup import (
    PickupOrderClosedAlready,
    pickup_order_cancel,
    pickup_order_create,
    pickup_orders_expire,
)
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, date_of_birth=dt.date(1990, 5, 17))


@pytest.fixture
def ounce(organization, store):
    product = ProductFactory(organization=organization, price=D("100.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("28.5"))
    receive(store, product, 3)
    return product


def place(store, customer, lines, *, key="order-1", customer_type="adult_use", **kw):
    return pickup_order_create(
        store=store,
        customer=customer,
        customer_type=customer_type,
        lines=lines,
        idempotency_key=key,
        **kw,
    )


def allocated(package) -> D:
    return Package.objects.get(pk=package.pk).quantity_allocated


def test_placing_allocates_stock_and_writes_lines_audit_and_event(
    store, customer, product, package, budtender
):
    order = place(store, customer, [(product.pk, D("2"))], created_by=budtender, note="Side door", now=NOW)

    assert (order.status, order.source, order.placed_at, order.expires_at) == (
        "reserved",
        "staff",
        NOW,
        NOW + dt.timedelta(hours=24),
    )
    # 90.00 list, excise 15% = 13.50 (of the list price), sales tax 7.25% = 6.5250 -> 6.53 (same as the checkout)
    assert order.estimated_total == D("110.03")
    assert list(order.lines.values_list("product_id", "package_id", "quantity", "unit_price")) == [
        (product.pk, package.pk, D("2"), D("45.00"))
    ]
    assert allocated(package) == D("2")
    movement = StockMovement.objects.get(kind="allocated")
    assert (movement.reference_type, movement.reference_id) == ("pickup", str(order.pk))
    assert ledger_mismatch_list(store=store) == []
    assert AuditRecord.objects.filter(action="pickup_order.placed", object_id=str(order.pk)).count() == 1
    event = OutboxEvent.objects.get(name="pos.pickup_order_placed")
    assert event.payload["lines"] == [
        {"product_id": product.pk, "package_id": package.pk, "quantity": "2", "unit": "each"}
    ]


def test_pickup_after_sets_the_hold_from_that_time(store, customer, product, package):
    later = timezone.now() + dt.timedelta(hours=5)
    with override_settings(POS_PICKUP_HOLD_HOURS=2):
        order = place(store, customer, [(product.pk, 1)], pickup_after=later)

    assert order.expires_at == later + dt.timedelta(hours=2)


def test_the_same_key_returns_the_first_order_and_allocates_once(store, customer, product, package):
    first = place(store, customer, [(product.pk, 1)])
    again = place(store, customer, [(product.pk, 3)])

    assert again.pk == first.pk
    assert PickupOrder.objects.count() == 1
    assert allocated(package) == D("1")


def test_limits_count_the_customers_other_reserved_orders(store, customer, ounce, product, package):
    place(store, customer, [(ounce.pk, 1)], key="a")

    with pytest.raises(PurchaseLimitExceeded) as error:
        place(store, customer, [(product.pk, 1)], key="b")

    assert error.value.status == 422
    violation = error.value.details["violations"][0]
    assert (violation["code"], violation["over"], violation["unit"]) == ("limit_exceeded", "3.5", "g")
    assert PickupOrder.objects.count() == 1
    assert allocated(package) == D("0")
    # Cancelled orders count no longer.
    pickup_order_cancel(order=PickupOrder.objects.get(), actor=None, reason="Changed my mind")
    assert place(store, customer, [(product.pk, 1)], key="b").status == "reserved"


def test_limits_count_purchases_too(store, register, budtender, customer, ounce, product, package, adult_id):
    checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(ounce.pk, D("1"))],
        tenders=[TenderInput("cash", D("200"))],
        idempotency_key="sale-1",
        id_verification=adult_id(customer),
    )
    with pytest.raises(PurchaseLimitExceeded):
        place(store, customer, [(product.pk, 1)])
    assert PickupOrder.objects.count() == 0


def test_stock_shortfall_and_bad_input_write_nothing(store, customer, product, package, organization):
    pre_roll = ProductFactory(organization=organization, price=D("10.00"))
    receive(store, pre_roll, 1)
    with pytest.raises(InsufficientStock) as error:
        place(store, customer, [(product.pk, 1), (pre_roll.pk, 2)])
    assert (error.value.status, error.value.details["available"]) == (409, "1")
    with pytest.raises(ValidationFailed) as invalid:
        place(store, customer, [(product.pk, "-1"), ("x", 1)])
    assert invalid.value.details["lines"] == [
        "Line 1: a product id and a quantity above 0.",
        "Line 2: a product id and a quantity above 0.",
    ]
    other_product = ProductFactory()
    with pytest.raises(ValidationFailed):
        place(store, customer, [(other_product.pk, 1)])
    stranger = CustomerFactory()
    with pytest.raises(ValidationFailed):
        place(store, stranger, [(product.pk, 1)])
    assert PickupOrder.objects.count() == 0
    assert StockMovement.objects.filter(kind="allocated").count() == 0
    assert AuditRecord.objects.filter(action__startswith="pickup_order").count() == 0


def test_medical_orders_need_a_valid_card(store, organization, product, package):
    patient = CustomerFactory(organization=organization, customer_type="medical")
    with pytest.raises(SaleNotAllowed):
        place(store, patient, [(product.pk, 1)], customer_type="medical")
    assert PickupOrder.objects.count() == 0


def test_cancel_releases_the_allocation(store, customer, product, package, manager):
    order = place(store, customer, [(product.pk, 2)])

    cancelled = pickup_order_cancel(order=order, actor=manager, reason="Customer called")

    assert (cancelled.status, cancelled.closed_at is not None) == ("cancelled", True)
    assert allocated(package) == D("0")
    released = StockMovement.objects.get(kind="released")
    assert (released.allocated_delta, released.reference_id) == (D("-2"), str(order.pk))
    assert ledger_mismatch_list(store=store) == []
    assert OutboxEvent.objects.get(name="pos.pickup_order_closed").payload["status"] == "cancelled"
    with pytest.raises(PickupOrderClosedAlready):
        pickup_order_cancel(order=order, actor=manager, reason="Again")
    with pytest.raises(ValidationFailed):
        pickup_order_cancel(
            order=place(store, customer, [(product.pk, 1)], key="k2"), actor=manager, reason=" "
        )


def test_expiry_releases_only_orders_past_their_hold(store, customer, product, package):
    old = place(store, customer, [(product.pk, 2)], key="old", now=NOW)
    fresh = place(store, customer, [(product.pk, 1)], key="fresh", now=NOW + dt.timedelta(hours=20))

    assert pickup_orders_expire(now=NOW + dt.timedelta(hours=25)) == 1
    assert pickup_orders_expire(now=NOW + dt.timedelta(hours=25)) == 0

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("expired", "reserved")
    assert allocated(package) == D("1")
    assert ledger_mismatch_list(store=store) == []


def _pickup_sale(
    store, register, budtender, customer, verification, lines, order, *, tenders=None, key="s-1"
):
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=lines,
        tenders=tenders or [TenderInput("cash", D("500"))],
        idempotency_key=key,
        id_verification=verification,
        pickup_order=order,
    )


def test_completing_commits_the_allocation_and_releases_what_the_sale_did_not_take(
    store, register, budtender, customer, product, package, organization, adult_id
):
    pre_roll = ProductFactory(organization=organization, price=D("10.00"))
    pre_roll_package = receive(store, pre_roll, 5)
    order = place(store, customer, [(product.pk, 3), (pre_roll.pk, 2)])

    sale = _pickup_sale(
        store,
        register,
        budtender,
        customer,
        adult_id(customer),
        [QuoteLineInput(product.pk, D("2")), QuoteLineInput(pre_roll.pk, D("3"))],
        order,
    )

    order.refresh_from_db()
    assert (order.status, order.closed_at, Sale.objects.get().pickup_order_id) == (
        "completed",
        sale.completed_at,
        order.pk,
    )
    package.refresh_from_db()
    pre_roll_package.refresh_from_db()
    # Eighths: 2 of the 3 allocated committed, 1 released; pre-rolls: 2 committed, 1 more sold from the shelf.
    assert (package.quantity_on_hand, package.quantity_allocated) == (D("8"), D("0"))
    assert (pre_roll_package.quantity_on_hand, pre_roll_package.quantity_allocated) == (D("2"), D("0"))
    assert list(SaleLine.objects.filter(sale=sale).values_list("package_id", "quantity")) == [
        (package.pk, D("2")),
        (pre_roll_package.pk, D("3")),
    ]
    kinds = sorted(
        StockMovement.objects.filter(reference_type__in=["sale", "pickup"])
        .exclude(kind="allocated")
        .values_list("kind", "package_id", "quantity", "allocated_delta")
    )
    assert kinds == sorted(
        [
            ("sold", package.pk, D("-2"), D("-2")),
            ("released", package.pk, D("0"), D("-1")),
            ("sold", pre_roll_package.pk, D("-2"), D("-2")),
            ("sold", pre_roll_package.pk, D("-1"), D("0")),
        ]
    )
    assert ledger_mismatch_list(store=store) == []
    closed = OutboxEvent.objects.get(name="pos.pickup_order_closed").payload
    assert (closed["status"], closed["sale_id"]) == ("completed", sale.pk)


def test_a_failed_completion_writes_nothing(store, register, budtender, customer, product, package, adult_id):
    order = place(store, customer, [(product.pk, 2)])

    with pytest.raises(TenderInvalid):
        _pickup_sale(
            store,
            register,
            budtender,
            customer,
            adult_id(customer),
            [QuoteLineInput(product.pk, D("2"))],
            order,
            tenders=[TenderInput("cash", D("1"))],
        )
    other = CustomerFactory(organization=store.organization)
    with pytest.raises(ValidationFailed):
        _pickup_sale(
            store, register, budtender, other, adult_id(other), [QuoteLineInput(product.pk, D("2"))], order
        )

    order.refresh_from_db()
    assert (order.status, allocated(package), Sale.objects.count()) == ("reserved", D("2"), 0)
    assert StockMovement.objects.exclude(kind__in=["received", "allocated"]).count() == 0
    assert PickupOrderLine.objects.count() == 1
    assert ledger_mismatch_list(store=store) == []


def test_a_key_reused_for_another_customer_or_a_past_pickup_time_is_refused(
    store, customer, product, package
):
    place(store, customer, [(product.pk, 1)])
    with pytest.raises(Conflict) as reused:
        place(store, CustomerFactory(organization=store.organization), [(product.pk, 1)])
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises(ValidationFailed) as past:
        place(
            store, customer, [(product.pk, 1)], key="k2", pickup_after=timezone.now() - dt.timedelta(hours=1)
        )
    assert past.value.details == {"pickup_after": ["This time has passed."]}
    assert (PickupOrder.objects.count(), allocated(package)) == (1, D("1"))
