import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord, OutboxEvent
from inventory.errors import InsufficientStock, InvalidQuantity, PackageNotSellable, PackageTagTaken
from inventory.models import Package, Product, StockMovement
from inventory.selectors import ledger_mismatch_list, package_sellable_list
from inventory.services import (
    Reference,
    StockRequest,
    StockTake,
    package_adjust,
    package_receive,
    stock_allocate,
    stock_commit,
    stock_pick,
    stock_release,
    stock_sell,
)
from tests.factories import StoreFactory
from tests.inventory.factories import ProductFactory, days, receive

pytestmark = pytest.mark.django_db
D = Decimal
SALE = Reference("sale", "S-1")


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization)


def movements(package):
    return list(package.movements.order_by("id").values_list("kind", "quantity", "allocated_delta"))


def test_receive_creates_the_package_and_its_first_movement(store, product, manager):
    package = package_receive(
        store=store,
        product=product,
        tag="1a4ff0100000022000000123",
        quantity="12",
        actor=manager,
        reference=Reference("transfer", "M-77"),
        supplier_name="Coastal Farms",
        harvest_batch="HB-1",
    )
    assert package.tag == "1A4FF0100000022000000123"
    assert (package.quantity_on_hand, package.quantity_allocated, package.unit) == (D(12), D(0), "each")
    assert movements(package) == [("received", D(12), D(0))]
    movement = package.movements.get()
    assert (movement.actor, movement.reference_type, movement.reference_id) == (manager, "transfer", "M-77")
    event = OutboxEvent.objects.get(name="inventory.package_received")
    assert event.payload["tag"] == package.tag and event.payload["quantity"] == "12"


@pytest.mark.parametrize(
    ("tag", "quantity", "error"),
    [
        ("1A4FF01000000220000001", "5", ValidationFailed),  # 22 characters
        ("1A4FF0100000022000000-23", "5", ValidationFailed),  # not alphanumeric
        ("1A4FF0100000022000000123", "-5", InvalidQuantity),
        ("1A4FF0100000022000000123", "0", InvalidQuantity),
        ("1A4FF0100000022000000123", "2.5", InvalidQuantity),  # packaged units are whole
        ("1A4FF0100000022000000123", "abc", InvalidQuantity),
        ("1A4FF0100000022000000123", "1.0001", InvalidQuantity),
    ],
)
def test_bad_receiving_input_changes_nothing(store, product, tag, quantity, error):
    with pytest.raises(error):
        package_receive(store=store, product=product, tag=tag, quantity=quantity, actor=None)
    assert Package.objects.count() == 0
    assert StockMovement.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_receiving_a_tag_twice_is_refused(store, product):
    receive(store, product, 5, tag="1A4FF0100000022000000123")
    with pytest.raises(PackageTagTaken):
        receive(store, product, 5, tag="1A4FF0100000022000000123")
    assert Package.objects.count() == 1
    assert StockMovement.objects.count() == 1


def test_product_of_another_organization_cannot_be_received(store):
    with pytest.raises(ValidationFailed):
        receive(store, ProductFactory(), 5)
    assert Package.objects.count() == 0


def test_sell_takes_first_expiring_first_then_first_received(store, product):
    late = receive(store, product, 5, expires_on=days(90))
    soon = receive(store, product, 2, expires_on=days(30))
    no_expiry_old = receive(store, product, 4)
    no_expiry_new = receive(store, product, 4)
    order = list(package_sellable_list(store=store, product_id=product.pk))
    assert order == [soon, late, no_expiry_old, no_expiry_new]

    takes = stock_sell(store=store, requests=[StockRequest(product.pk, D(9))], actor=None, reference=SALE)
    assert [(t.package_id, t.quantity) for t in takes] == [
        (soon.pk, D(2)),
        (late.pk, D(5)),
        (no_expiry_old.pk, D(2)),
    ]
    for package, expected in [(soon, 0), (late, 0), (no_expiry_old, 2), (no_expiry_new, 4)]:
        package.refresh_from_db()
        assert package.quantity_on_hand == D(expected)
    soon.refresh_from_db()
    assert soon.status == Package.Status.FINISHED
    assert movements(late) == [("received", D(5), D(0)), ("sold", D(-5), D(0))]
    assert StockMovement.objects.filter(kind="sold", reference_id="S-1").count() == 3


def test_expired_on_hold_recalled_failed_lab_and_back_room_stock_is_skipped(store, product):
    receive(store, product, 5, expires_on=days(-10))
    receive(store, product, 5, status=Package.Status.ON_HOLD)
    receive(store, product, 5, status=Package.Status.RECALLED)
    receive(store, product, 5, lab_status=Package.LabStatus.FAILED)
    receive(store, product, 5, location=Package.Location.QUARANTINE)
    good = receive(store, product, 3, expires_on=days(20))
    assert list(package_sellable_list(store=store, product_id=product.pk)) == [good]
    with pytest.raises(InsufficientStock) as error:
        stock_sell(store=store, requests=[StockRequest(product.pk, D(4))], actor=None, reference=SALE)
    assert error.value.details == {
        "product_id": product.pk,
        "product": product.name,
        "requested": "4",
        "available": "3",
    }
    assert StockMovement.objects.filter(kind="sold").count() == 0


def test_insufficient_stock_on_one_line_sells_nothing_at_all(store, product, organization):
    other = ProductFactory(organization=organization)
    first = receive(store, product, 5)
    receive(store, other, 1)
    with pytest.raises(InsufficientStock) as error:
        stock_sell(
            store=store,
            requests=[StockRequest(product.pk, D(2)), StockRequest(other.pk, D(3))],
            actor=None,
            reference=SALE,
        )
    assert error.value.product_id == other.pk
    first.refresh_from_db()
    assert first.quantity_on_hand == D(5)
    assert StockMovement.objects.filter(kind="sold").count() == 0


def test_a_scanned_tag_overrides_fefo(store, product):
    receive(store, product, 5, expires_on=days(10))
    pinned = receive(store, product, 5, expires_on=days(200))
    takes = stock_sell(
        store=store,
        requests=[StockRequest(product.pk, D(1), package_id=pinned.pk)],
        actor=None,
        reference=SALE,
    )
    assert takes == [StockTake(pinned.pk, product.pk, D(1))]


def test_a_scanned_unsellable_tag_says_why(store, product):
    expired = receive(store, product, 5, expires_on=days(-3))
    with pytest.raises(PackageNotSellable, match="expired"):
        stock_sell(
            store=store,
            requests=[StockRequest(product.pk, D(1), package_id=expired.pk)],
            actor=None,
            reference=SALE,
        )
    other_store_package = receive(StoreFactory(organization=store.organization), product, 5)
    with pytest.raises(PackageNotSellable):
        stock_sell(
            store=store,
            requests=[StockRequest(product.pk, D(1), package_id=other_store_package.pk)],
            actor=None,
            reference=SALE,
        )
    assert StockMovement.objects.filter(kind="sold").count() == 0


def test_allocation_reserves_stock_then_commit_or_release(store, product):
    package = receive(store, product, 5)
    order = Reference("order", "O-1")
    takes = stock_allocate(
        store=store, requests=[StockRequest(product.pk, D(3))], actor=None, reference=order
    )
    package.refresh_from_db()
    assert (package.quantity_on_hand, package.quantity_allocated, package.quantity_available) == (
        D(5),
        D(3),
        D(2),
    )
    # Nothing sells what is allocated to another order.
    with pytest.raises(InsufficientStock):
        stock_sell(store=store, requests=[StockRequest(product.pk, D(3))], actor=None, reference=SALE)
    stock_release(store=store, takes=[StockTake(package.pk, product.pk, D(1))], actor=None, reference=order)
    stock_commit(
        store=store,
        takes=[StockTake(package.pk, product.pk, D(2))],
        actor=None,
        reference=order,
        kind="delivered",
    )
    package.refresh_from_db()
    assert (package.quantity_on_hand, package.quantity_allocated) == (D(3), D(0))
    assert movements(package) == [
        ("received", D(5), D(0)),
        ("allocated", D(0), D(3)),
        ("released", D(0), D(-1)),
        ("delivered", D(-2), D(-2)),
    ]
    assert takes == [StockTake(package.pk, product.pk, D(3))]
    with pytest.raises(InvalidQuantity):
        stock_commit(
            store=store, takes=[StockTake(package.pk, product.pk, D(1))], actor=None, reference=order
        )
    assert ledger_mismatch_list(store=store) == []


def test_adjustment_needs_a_listed_reason_and_never_goes_below_allocated(store, product, manager):
    package = receive(store, product, 5)
    stock_allocate(
        store=store, requests=[StockRequest(product.pk, D(2))], actor=None, reference=Reference("order", "1")
    )
    with pytest.raises(ValidationFailed):
        package_adjust(package=package, quantity="-1", reason="felt like it", actor=manager)
    with pytest.raises(InvalidQuantity):
        package_adjust(package=package, quantity="-4", reason="damaged", actor=manager)
    with pytest.raises(InvalidQuantity):
        package_adjust(package=package, quantity="0", reason="damaged", actor=manager)
    assert AuditRecord.objects.filter(action="package.adjusted").count() == 0

    movement = package_adjust(
        package=package, quantity="-3", reason="theft_shrinkage", actor=manager, note="case 14"
    )
    package.refresh_from_db()
    assert (package.quantity_on_hand, package.quantity_allocated) == (D(2), D(2))
    assert (movement.kind, movement.quantity, movement.reason, movement.note) == (
        "adjusted",
        D(-3),
        "theft_shrinkage",
        "case 14",
    )
    event = OutboxEvent.objects.get(name="inventory.package_adjusted")
    assert event.payload["report_to_state"] is True
    assert AuditRecord.objects.get(action="package.adjusted").before == {"quantity_on_hand": "5"}


def test_stock_low_fires_once_when_crossing_the_reorder_point(store, organization):
    product = ProductFactory(organization=organization, reorder_point=D(5))
    receive(store, product, 8)
    stock_sell(store=store, requests=[StockRequest(product.pk, D(2))], actor=None, reference=SALE)  # 6 left
    assert OutboxEvent.objects.filter(name="inventory.stock_low").count() == 0
    stock_sell(store=store, requests=[StockRequest(product.pk, D(2))], actor=None, reference=SALE)  # 4 left
    stock_sell(store=store, requests=[StockRequest(product.pk, D(1))], actor=None, reference=SALE)  # 3 left
    low = OutboxEvent.objects.filter(name="inventory.stock_low")
    assert low.count() == 1
    assert low.get().payload["available"] == "4"


def test_movements_are_immutable(store, product):
    package = receive(store, product, 5)
    movement = package.movements.get()
    movement.quantity = D(50)
    with pytest.raises(Exception, match="immutable"):
        movement.save()
    with pytest.raises(Exception, match="immutable"):
        movement.delete()


def test_ledger_check_finds_a_tampered_package(store, product, capsys):
    package = receive(store, product, 5)
    stock_sell(store=store, requests=[StockRequest(product.pk, D(2))], actor=None, reference=SALE)
    call_command("ledger_check", store=store.code)
    assert "ledger balances" in capsys.readouterr().out
    Package.objects.filter(pk=package.pk).update(quantity_on_hand=D(7))
    mismatches = ledger_mismatch_list(store=store)
    assert [(m.tag, m.on_hand, m.movements_on_hand) for m in mismatches] == [(package.tag, D(7), D(3))]
    with pytest.raises(CommandError, match="1 package"):
        call_command("ledger_check", store=store.code)
    assert package.tag in capsys.readouterr().out


def test_ledger_check_is_one_query_per_store(store, product, django_assert_num_queries):
    for _ in range(10):
        receive(store, product, 3)
    with django_assert_num_queries(1):
        assert ledger_mismatch_list(store=store) == []


def test_bulk_flower_sells_by_weight(store, organization):
    product = ProductFactory(organization=organization, sold_by="g", price=D("9.50"))
    package = receive(store, product, "453.592")
    stock_sell(store=store, requests=[StockRequest(product.pk, D("3.543"))], actor=None, reference=SALE)
    package.refresh_from_db()
    assert package.quantity_on_hand == D("450.049")
    for _ in range(7):
        stock_sell(store=store, requests=[StockRequest(product.pk, D("0.1"))], actor=None, reference=SALE)
    package.refresh_from_db()
    assert package.quantity_on_hand == D("449.349")
    assert ledger_mismatch_list(store=store) == []


def test_packaged_units_change_only_in_whole_units(store, product, manager):
    package = receive(store, product, 5)
    with pytest.raises(InvalidQuantity, match="whole units"):
        package_adjust(package=package, quantity="-1.5", reason="damaged", actor=manager)
    with pytest.raises(InvalidQuantity, match="whole units"):
        stock_sell(store=store, requests=[StockRequest(product.pk, D("0.5"))], actor=None, reference=SALE)
    package.refresh_from_db()
    assert package.quantity_on_hand == D(5)
    assert package.movements.count() == 1


# --- The quote's pick: which packages would serve a request now, read in one query -------------------------------


def test_pick_takes_first_expiring_then_first_received_and_skips_what_cannot_be_sold(
    store, django_assert_num_queries
):
    product = ProductFactory(organization=store.organization, sold_by=Product.SoldBy.WEIGHT)  # bulk, in grams
    today = timezone.localdate()
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    no_expiry = receive(store, product, 5)
    later_received = receive(store, product, "0.5", expires_on=days(30))
    first_received = receive(store, product, "1.5", expires_on=days(30), received_at=hour_ago)
    expired = receive(store, product, 5, expires_on=days(-1))
    failed = receive(store, product, 5, expires_on=days(1))
    Package.objects.filter(pk=failed.pk).update(lab_status=Package.LabStatus.FAILED)
    in_vault = receive(store, product, 5, expires_on=days(1), location=Package.Location.VAULT)
    other = ProductFactory(organization=store.organization)
    pinned = receive(store, other, 2, location=Package.Location.VAULT)

    with django_assert_num_queries(1):
        picked = stock_pick(
            store=store,
            requests=[StockRequest(product.pk, D("3")), StockRequest(other.pk, D("1"), pinned.pk)],
            today=today,
        )

    assert picked.complete
    assert [[(pick.package_id, pick.quantity) for pick in line] for line in picked.by_request] == [
        [(first_received.pk, D("1.5")), (later_received.pk, D("0.5")), (no_expiry.pk, D("1"))],
        [(pinned.pk, D("1"))],  # a scanned tag is served wherever the package is
    ]
    assert {expired.pk, failed.pk, in_vault.pk}.isdisjoint(
        pick.package_id for line in picked.by_request for pick in line
    )
    short = stock_pick(store=store, requests=[StockRequest(product.pk, D("8"))], today=today)
    assert not short.complete
    assert sum(pick.quantity for pick in short.by_request[0]) == D("7")
