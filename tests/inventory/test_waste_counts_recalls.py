from decimal import Decimal

import pytest

from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord, OutboxEvent
from inventory import recall_parties
from inventory.errors import InvalidQuantity
from inventory.models import InventoryCount, Package, StockMovement, WasteRecord
from inventory.recall_parties import Party
from inventory.selectors import ledger_mismatch_list, recall_sold_unit_list, recall_stock_list
from inventory.services import Reference, StockRequest, stock_allocate, stock_sell
from inventory.services.counts import count_approve, count_enter, count_open
from inventory.services.recalls import recall_hold, recall_open
from inventory.services.waste import package_move, package_waste
from tests.factories import StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization, category="flower", sku="FLW-9")


@pytest.fixture
def witness(organization, store):
    return UserFactory(organization=organization, roles=["inventory_manager"], stores=[store])


def test_waste_takes_stock_out_with_a_record(store, product, manager):
    package = receive(store, product, 10)
    record = package_waste(package=package, quantity="2", reason="damaged", actor=manager, note="dropped")
    package.refresh_from_db()
    assert package.quantity_on_hand == D(8)
    assert (record.quantity, record.reason, record.note, record.actor) == (
        D(2),
        "damaged",
        "dropped",
        manager,
    )
    assert record.movement.kind == "wasted" and record.movement.quantity == D(-2)
    assert record.report_to_state is False
    assert OutboxEvent.objects.get(name="inventory.package_wasted").payload["reason"] == "damaged"


def test_theft_is_flagged_for_the_state(store, product, manager):
    package = receive(store, product, 10)
    record = package_waste(package=package, quantity="1", reason="theft_shrinkage", actor=manager)
    assert record.report_to_state is True
    assert OutboxEvent.objects.get(name="inventory.package_wasted").payload["report_to_state"] is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"method": "", "waste_weight_g": "30"}, "method"),
        ({"method": "compost", "waste_weight_g": ""}, "waste_weight_g"),
        ({"method": "compost", "waste_weight_g": "30", "witness": "self"}, "witness"),
        ({"method": "compost", "waste_weight_g": "30", "witness": None}, "witness"),
    ],
)
def test_destruction_needs_method_weight_and_another_witness(store, product, manager, witness, kwargs, field):
    package = receive(store, product, 10)
    kwargs = dict(kwargs)
    kwargs["witness"] = {"self": manager, None: None}.get(kwargs.get("witness", "w"), witness)
    with pytest.raises(ValidationFailed) as error:
        package_waste(package=package, quantity="3", reason="destroyed", actor=manager, **kwargs)
    assert field in error.value.details
    package.refresh_from_db()
    assert package.quantity_on_hand == D(10)
    assert WasteRecord.objects.count() == 0


def test_destruction_with_witness(store, product, manager, witness):
    package = receive(store, product, 10)
    record = package_waste(
        package=package,
        quantity="3",
        reason="destroyed",
        actor=manager,
        method="grind_and_mix",
        waste_weight_g="61.5",
        witness=witness,
    )
    assert (record.method, record.waste_weight_g, record.witness) == ("grind_and_mix", D("61.5"), witness)
    audit = AuditRecord.objects.get(action="package.wasted")
    assert audit.after["witness"] == witness.username


def test_witness_from_another_store_is_refused(store, product, manager, organization):
    outsider = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    package = receive(store, product, 10)
    with pytest.raises(ValidationFailed):
        package_waste(
            package=package,
            quantity="1",
            reason="destroyed",
            actor=manager,
            method="compost",
            waste_weight_g="5",
            witness=outsider,
        )
    assert WasteRecord.objects.count() == 0


def test_cannot_waste_more_than_available(store, product, manager):
    package = receive(store, product, 5)
    stock_allocate(
        store=store, requests=[StockRequest(product.pk, D(2))], actor=None, reference=Reference("order", "1")
    )
    with pytest.raises(InvalidQuantity, match="3 available"):
        package_waste(package=package, quantity="4", reason="damaged", actor=manager)
    with pytest.raises(InvalidQuantity):
        package_waste(package=package, quantity="-1", reason="damaged", actor=manager)
    with pytest.raises(ValidationFailed):
        package_waste(package=package, quantity="1", reason="scale_variance", actor=manager)
    package.refresh_from_db()
    assert package.quantity_on_hand == D(5)
    assert StockMovement.objects.filter(kind="wasted").count() == 0


def test_moving_a_package_records_a_movement_and_an_event(store, product, manager):
    package = receive(store, product, 5)
    package_move(package=package, location="vault", detail="safe 2", actor=manager)
    package.refresh_from_db()
    assert (package.location, package.location_detail, package.quantity_on_hand) == ("vault", "safe 2", D(5))
    assert package.movements.filter(kind="moved").count() == 1
    assert OutboxEvent.objects.get(name="inventory.package_moved").payload["to_location"] == "vault"
    with pytest.raises(ValidationFailed):
        package_move(package=package, location="car park", actor=manager)


def test_blind_count_with_variances_becomes_adjustments(store, organization, product, manager, witness):
    edible = ProductFactory(organization=organization, category="edible")
    a = receive(store, product, 10)
    b = receive(store, product, 4)
    other = receive(store, edible, 7)
    count = count_open(store=store, scope="category", scope_value="flower", actor=manager)
    assert sorted(line.package_id for line in count.lines.all()) == sorted([a.pk, b.pk])
    count_enter(count=count, tag=a.tag, quantity="9", actor=witness)
    with pytest.raises(ValidationFailed, match="not been counted"):
        count_approve(count=count, actor=manager)
    with pytest.raises(ValidationFailed, match="not on this count"):
        count_enter(count=count, tag=other.tag, quantity="7", actor=witness)
    with pytest.raises(InvalidQuantity):
        count_enter(count=count, tag=b.tag, quantity="-1", actor=witness)
    count_enter(count=count, tag=b.tag.lower(), quantity="4", actor=witness)
    with pytest.raises(ValidationFailed, match="did not count"):
        count_approve(count=count, actor=witness)
    count_approve(count=count, actor=manager)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.quantity_on_hand, b.quantity_on_hand) == (D(9), D(4))
    adjustment = a.movements.get(kind="adjusted")
    assert (adjustment.quantity, adjustment.reason, adjustment.reference_type) == (
        D(-1),
        "count_variance",
        "count",
    )
    assert b.movements.filter(kind="adjusted").count() == 0
    assert OutboxEvent.objects.filter(name="inventory.package_adjusted").count() == 1
    with pytest.raises(Conflict):
        count_enter(count=count, tag=a.tag, quantity="1", actor=witness)
    assert ledger_mismatch_list(store=store) == []
    assert InventoryCount.objects.get().status == "approved"


def test_bad_count_scope_is_refused(store, manager):
    with pytest.raises(ValidationFailed):
        count_open(store=store, scope="category", scope_value="snacks", actor=manager)
    assert InventoryCount.objects.count() == 0


def test_recall_by_batch_finds_stock_across_stores_and_holds_it(
    store, organization, product, manager, monkeypatch
):
    second = StoreFactory(organization=organization)
    a = receive(store, product, 5, harvest_batch="HB-13")
    b = receive(second, product, 3, harvest_batch="HB-13")
    unrelated = receive(store, product, 5, harvest_batch="HB-14")
    foreign_store = StoreFactory()
    receive(foreign_store, ProductFactory(organization=foreign_store.organization), 5, harvest_batch="HB-13")
    stock_sell(
        store=store,
        requests=[StockRequest(product.pk, D(2), package_id=a.pk)],
        actor=None,
        reference=Reference("sale", "77"),
    )
    # A stand-in for the checkout's resolver, for this test only (pos registers the real one).
    monkeypatch.setitem(
        recall_parties._RESOLVERS,
        "sale",
        lambda ids: {
            i: Party(customer_id=5, customer_name="Ana Lima", customer_phone="+14155550134") for i in ids
        },
    )
    recall = recall_open(
        organization=organization, criterion="harvest_batch", value="HB-13", reason="Pesticide", actor=manager
    )
    assert OutboxEvent.objects.get(name="inventory.recall_opened").payload["package_ids"] == sorted(
        [a.pk, b.pk]
    )
    stock = {row.tag: row for row in recall_stock_list(recall=recall)}
    assert set(stock) == {a.tag, b.tag}
    assert stock[a.tag].on_hand == D(3)
    sold = recall_sold_unit_list(recall=recall)
    assert [(u.tag, u.quantity, u.reference_id, u.customer_name) for u in sold] == [
        (a.tag, D(2), "77", "Ana Lima")
    ]

    assert recall_hold(recall=recall, actor=manager) == 2
    a.refresh_from_db()
    unrelated.refresh_from_db()
    assert a.status == Package.Status.RECALLED and unrelated.status == Package.Status.ACTIVE
    with pytest.raises(Conflict):
        recall_hold(recall=recall, actor=manager)
    assert ledger_mismatch_list(store=store) == []


def test_recall_that_matches_nothing_is_refused(organization, manager):
    with pytest.raises(ValidationFailed, match="No package"):
        recall_open(
            organization=organization,
            criterion="tag",
            value="1A4FF0100000022000000000",
            reason="x",
            actor=manager,
        )
