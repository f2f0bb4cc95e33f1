"""The embedded default's simulator keeps its state in a journal beside the database: after a restart (a new
process, here a new shared simulator) it still knows every sale it was told, so reconciliation flags nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from compliance.models import SyncRecord
from compliance.reporting.reports.inventory import three_way_reconciliation
from compliance.traceability import registry
from dispensary import events
from inventory.models import Package
from inventory.services import Reference, StockRequest, stock_sell
from pos.events import SaleCompleted
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_simulator():
    registry.reset_shared_simulator()
    yield
    registry.reset_shared_simulator()


def sell(store, package, quantity, sale_id):
    with transaction.atomic():
        stock_sell(
            store=store, requests=[StockRequest(package.product_id, Decimal(quantity), package_id=package.pk)],
            actor=None, reference=Reference("sale", str(sale_id)),
        )  # fmt: skip
        events.publish(
            SaleCompleted(
                sale_id=sale_id, organization_id=store.organization_id, store_id=store.pk,
                completed_at=timezone.now().isoformat(), customer_type="adult_use",
                lines=[{"package_label": package.tag, "quantity": str(quantity), "unit": "each", "total_amount": "45"}],
            )
        )  # fmt: skip


@pytest.mark.parametrize(
    ("journal", "flags_after_restart"), [(True, 0), (False, 2)], ids=["kept", "forgotten"]
)
def test_reconciliation_after_a_restart_flags_nothing_the_state_was_told(
    settings, store, manager, tmp_path, journal, flags_after_restart
):
    state_file = str(tmp_path / "db.sqlite3-metrc-simulator.jsonl") if journal else ""
    settings.METRC = {
        **settings.METRC,
        "VENDOR_KEY": "",
        "SIMULATOR_URL": "",
        "SIMULATOR_STATE_FILE": state_file,
    }
    packages = [
        receive(
            store,
            ProductFactory(organization=store.organization),
            20,
            actor=manager,
            lab_status=Package.LabStatus.PASSED,
        )
        for _ in range(2)
    ]
    for sale_id, package in enumerate(packages, start=1):
        sell(store, package, 3, sale_id)
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {"accepted"}
    assert three_way_reconciliation(store=store).mismatch_count == 0

    registry.reset_shared_simulator()  # `make run` stopped and started again
    assert three_way_reconciliation(store=store).mismatch_count == flags_after_restart
    if journal:
        receipts = registry.shared_simulator().receipts(store.license_adult_use)
        assert sorted(r["ExternalReceiptNumber"] for r in receipts) == [f"{store.code}-1", f"{store.code}-2"]


def test_the_journal_lies_beside_a_sqlite_database_file(settings):
    settings.METRC = {k: v for k, v in settings.METRC.items() if k != "SIMULATOR_STATE_FILE"}
    from django.db import connections

    database = connections["default"]
    if database.vendor != "sqlite" or database.creation.is_in_memory_db(database.settings_dict["NAME"]):
        assert registry.simulator_state_file() is None  # the tests' in-memory database keeps no journal
    else:
        assert (
            str(registry.simulator_state_file()) == f"{database.settings_dict['NAME']}-metrc-simulator.jsonl"
        )
