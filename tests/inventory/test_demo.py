from decimal import Decimal

import pytest
from django.core.management import call_command

from inventory.models import IncomingTransfer, LabResult, Package, Product
from inventory.selectors import ledger_mismatch_list, package_sellable_list

pytestmark = pytest.mark.django_db


def test_inventory_demo_is_complete_idempotent_and_balanced(capsys):
    call_command("load_demo")
    first = capsys.readouterr().out
    assert "Inventory demo data ready (added: 60 products, 124 packages)" in first
    counts = (Product.objects.count(), Package.objects.count(), LabResult.objects.count())
    call_command("load_demo")
    assert "added: 0 products, 0 packages" in capsys.readouterr().out
    assert (Product.objects.count(), Package.objects.count(), LabResult.objects.count()) == counts

    assert set(Product.objects.values_list("category", flat=True)) == set(Product.Category.values)
    for store in {package.store for package in Package.objects.select_related("store")}:
        assert ledger_mismatch_list(store=store) == []
        expired = Package.objects.get(store=store, tag__endswith="000901")
        failed = Package.objects.get(store=store, tag__endswith="000902")
        assert failed.lab_results.get().passed is False
        sellable = set(package_sellable_list(store=store, product_id=expired.product_id))
        assert expired not in sellable and failed not in sellable
        assert sellable, "the product still has good stock"

    transfer = IncomingTransfer.objects.get()
    assert transfer.status == "pending"
    short = [
        line
        for line in transfer.lines.all()
        if line.received_quantity is not None and line.received_quantity != line.expected_quantity
    ]
    assert [(line.expected_quantity, line.received_quantity) for line in short] == [
        (Decimal(12), Decimal(10))
    ]
