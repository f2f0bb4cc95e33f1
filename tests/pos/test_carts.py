import datetime as dt
from decimal import Decimal as D

import pytest

from dispensary.clock import store_local_date
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord
from inventory.errors import PackageNotSellable
from inventory.models import Package, Product
from pos.errors import ApprovalRequired, PurchaseLimitExceeded
from pos.models import Cart, CartLine, QueueEntry, Sale
from pos.services import TenderInput
from pos.services.carts import (
    cart_cancel,
    cart_complete,
    cart_customer_set,
    cart_discounts_set,
    cart_id_verify,
    cart_line_add,
    cart_line_price_override,
    cart_line_remove,
    cart_line_update_quantity,
    cart_open,
    cart_scan,
)
from pos.services.pins import manager_pin_set
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, days, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(store):
    return CustomerFactory(organization=store.organization)


@pytest.fixture
def cart(store, register, budtender, customer):
    return cart_open(store=store, register=register, staff=budtender, customer=customer)


def verified(cart, budtender):
    cart_id_verify(cart=cart, staff=budtender, date_of_birth=dt.date(1990, 5, 17), expires_on=days(400))
    cart.refresh_from_db()
    return cart


def test_open_gives_a_fresh_key_and_takes_the_queue_entry(store, register, budtender, customer, adult_id):
    verification = adult_id(customer)
    entry = QueueEntry.objects.create(
        store=store,
        local_date=store_local_date(store),
        number=1,
        customer=customer,
        display_name="Ada L.",
        customer_type="adult_use",
        id_verification=verification,
        checked_in_at=dt.datetime.now(dt.UTC),
    )
    first = cart_open(store=store, register=register, staff=budtender, queue_entry=entry)
    second = cart_open(store=store, register=register, staff=budtender)
    assert (first.customer, first.id_verification, first.queue_entry) == (customer, verification, entry)
    assert len(first.idempotency_key) == 32 and first.idempotency_key != second.idempotency_key
    entry.refresh_from_db()
    assert entry.status == QueueEntry.Status.WAITING


def test_scanning_a_tag_pins_its_package(cart, budtender, product, package):
    before = cart.updated_at
    line = cart_scan(cart=cart, staff=budtender, code=package.tag.lower()).line
    again = cart_scan(cart=cart, staff=budtender, code=package.tag).line
    assert again.pk == line.pk
    # The change carries the cart's lines after it and their quote, priced once.
    change = cart_scan(cart=cart, staff=budtender, code=package.tag)
    assert [(each.pk, each.quantity, each.package.tag) for each in change.lines] == [
        (line.pk, D("3"), package.tag)
    ]
    assert [priced.quantity for priced in change.quote.lines] == [D("3")]
    CartLine.objects.filter(cart=cart).update(quantity=2)
    assert list(CartLine.objects.filter(cart=cart).values_list("product", "package", "quantity")) == [
        (product.pk, package.pk, D("2"))
    ]
    cart.refresh_from_db()
    assert cart.updated_at > before


def test_scanning_a_barcode_or_sku_adds_the_product_unpinned(store, cart, budtender, product, package):
    product.barcode = "012345678905"
    product.save()
    cart_scan(cart=cart, staff=budtender, code="012345678905")
    cart_scan(cart=cart, staff=budtender, code=product.sku.lower())
    assert list(CartLine.objects.filter(cart=cart).values_list("product", "package", "quantity")) == [
        (product.pk, None, D("2"))
    ]


def test_unknown_code_is_refused(cart, budtender):
    with pytest.raises(ValidationFailed, match="Nothing here has the tag, barcode or SKU NOPE"):
        cart_scan(cart=cart, staff=budtender, code="NOPE")
    assert not CartLine.objects.exists()


def test_bulk_flower_needs_its_weight(store, organization, cart, budtender):
    bulk = ProductFactory(organization=organization, sold_by=Product.SoldBy.WEIGHT, price=D("10.00"))
    ProductLimitAmountFactory(product=bulk, bucket="flower_g", amount=D("1"))
    package = receive(store, bulk, 100)
    with pytest.raises(ValidationFailed, match="sold by weight"):
        cart_scan(cart=cart, staff=budtender, code=package.tag)
    assert not CartLine.objects.exists()
    line = cart_scan(cart=cart, staff=budtender, code=package.tag, quantity="3.25").line
    assert (line.quantity, line.package_id) == (D("3.25"), package.pk)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"expires_on": dt.date(2020, 1, 1)}, "it expired on Jan 01, 2020"),
        ({"status": Package.Status.ON_HOLD}, "it is on hold"),
        ({"lab_status": Package.LabStatus.FAILED}, "it failed lab testing"),
    ],
)
def test_unsellable_packages_are_refused_saying_why(cart, budtender, package, change, reason):
    Package.objects.filter(pk=package.pk).update(**change)
    with pytest.raises(PackageNotSellable) as error:
        cart_scan(cart=cart, staff=budtender, code=package.tag)
    assert error.value.message == f"Package {package.tag} cannot be sold: {reason}."
    assert not CartLine.objects.exists()


def test_more_than_the_stock_is_refused(cart, budtender, product, package):
    with pytest.raises(PackageNotSellable, match="Only 10 each"):
        cart_line_add(cart=cart, staff=budtender, product_id=product.pk, quantity="11")
    assert not CartLine.objects.exists()


def test_a_line_over_the_limit_is_refused_naming_the_limit_and_writes_nothing(
    cart, budtender, product, package
):
    line = cart_line_add(cart=cart, staff=budtender, product_id=product.pk, quantity="8").line
    cart.refresh_from_db()
    updated = cart.updated_at
    with pytest.raises(PurchaseLimitExceeded) as error:
        cart_scan(cart=cart, staff=budtender, code=package.tag)
    assert error.value.message == (
        f"Refused: Line 2 (1 x {product.name}) would bring non-concentrated cannabis to 31.5 g of the 28.5 g"
        " daily limit: 3 g over."
    )
    [violation] = error.value.details["violations"]
    assert violation["over"] == "3"
    with pytest.raises(PurchaseLimitExceeded):
        cart_line_update_quantity(cart=cart, staff=budtender, line_id=line.pk, quantity="9")
    assert list(CartLine.objects.filter(cart=cart).values_list("quantity", flat=True)) == [D("8")]
    cart.refresh_from_db()
    assert cart.updated_at == updated


def test_quantity_edit_and_remove(cart, budtender, product, package):
    line = cart_line_add(cart=cart, staff=budtender, product_id=product.pk, quantity="2").line
    cart_line_update_quantity(cart=cart, staff=budtender, line_id=line.pk, quantity="1")
    line.refresh_from_db()
    assert line.quantity == D("1")
    with pytest.raises(ValidationFailed, match="whole units"):
        cart_line_update_quantity(cart=cart, staff=budtender, line_id=line.pk, quantity="1.5")
    with pytest.raises(ValidationFailed, match="above zero"):
        cart_line_update_quantity(cart=cart, staff=budtender, line_id=line.pk, quantity="0")
    cart_line_remove(cart=cart, staff=budtender, line_id=line.pk)
    assert not CartLine.objects.exists()


def test_price_override_needs_a_managers_pin(store, cart, budtender, manager, product, package):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    line = cart_line_add(cart=cart, staff=budtender, product_id=product.pk, quantity="1").line
    with pytest.raises(ApprovalRequired):
        cart_line_price_override(cart=cart, staff=budtender, line_id=line.pk, unit_price="40", pin="0000")
    line.refresh_from_db()
    assert line.price_override is None
    cart_line_price_override(cart=cart, staff=budtender, line_id=line.pk, unit_price="40", pin="4821")
    line.refresh_from_db()
    assert (line.price_override, line.override_approved_by) == (D("40.00"), manager)
    record = AuditRecord.objects.get(action="cart_line.price_overridden")
    assert record.after == {"line": line.pk, "unit_price": "40.00", "approved_by": manager.pk}


def test_discount_choices_are_kept_on_the_cart(cart, budtender):
    cart_discounts_set(
        cart=cart, staff=budtender, coupon_codes=[" save10 ", "SAVE10", "vip"], reward_ids=["3"]
    )
    cart.refresh_from_db()
    assert (cart.coupon_codes, cart.promotion_ids, cart.reward_ids) == (["SAVE10", "VIP"], [], [3])


def test_id_check_under_age_is_recorded_and_blocks_completion(cart, budtender, product, package):
    result = cart_id_verify(
        cart=cart,
        staff=budtender,
        date_of_birth=store_local_date(cart.store) - dt.timedelta(days=365 * 19),
        expires_on=days(9),
    )
    assert not result.passed
    cart_line_add(cart=cart, staff=budtender, product_id=product.pk, quantity="1")
    cart.refresh_from_db()
    with pytest.raises(Exception) as error:
        cart_complete(
            cart=cart,
            staff=budtender,
            tenders=[TenderInput("cash", D("100"))],
            idempotency_key=cart.idempotency_key,
        )
    assert error.value.code == "id_refused"
    assert not Sale.objects.exists()


def test_anonymous_medical_is_refused(cart, budtender):
    with pytest.raises(ValidationFailed, match="without the customer"):
        cart_customer_set(cart=cart, staff=budtender, customer=None, customer_type="medical")


def test_completion_is_idempotent_and_marks_the_cart(cart, budtender, product, package):
    cart = verified(cart, budtender)
    cart_scan(cart=cart, staff=budtender, code=package.tag)
    cart_line_add(cart=cart, staff=budtender, product_id=product.pk, quantity="1")
    tenders = [TenderInput("cash", D("200"))]
    sale = cart_complete(cart=cart, staff=budtender, tenders=tenders, idempotency_key=cart.idempotency_key)
    again = cart_complete(cart=cart, staff=budtender, tenders=tenders, idempotency_key=cart.idempotency_key)
    assert again.pk == sale.pk and Sale.objects.count() == 1
    cart.refresh_from_db()
    assert (cart.status, cart.sale) == (Cart.Status.COMPLETED, sale)
    assert sorted(sale.lines.values_list("package", "quantity")) == [
        (package.pk, D("1")),
        (package.pk, D("1")),
    ]
    with pytest.raises(Conflict):
        cart_scan(cart=cart, staff=budtender, code=package.tag)


def test_completion_with_another_key_is_refused(cart, budtender, product, package):
    cart = verified(cart, budtender)
    cart_scan(cart=cart, staff=budtender, code=package.tag)
    with pytest.raises(ValidationFailed, match="does not belong to this cart"):
        cart_complete(
            cart=cart, staff=budtender, tenders=[TenderInput("cash", D("100"))], idempotency_key="other"
        )
    assert not Sale.objects.exists()


def test_cancelled_cart_cannot_complete(cart, budtender, product, package):
    cart_cancel(cart=cart, staff=budtender)
    with pytest.raises(Conflict):
        cart_complete(
            cart=cart,
            staff=budtender,
            tenders=[TenderInput("cash", D("100"))],
            idempotency_key=cart.idempotency_key,
        )
