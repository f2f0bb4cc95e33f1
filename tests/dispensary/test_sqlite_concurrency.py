"""The embedded default under concurrent registers: eight registers selling at once on a SQLite file. Each sale
succeeds or is refused cleanly ("not enough stock"); none fails with "database is locked"."""

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from compliance.identity import id_verify
from inventory.models import Package, StockMovement
from pos.models import Sale
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.factories import register_with_drawer

REGISTERS = 8
SALES_PER_REGISTER = 4
STOCK = 20


def test_the_embedded_default_opens_write_transactions_immediately_with_wal_and_a_busy_timeout():
    from dispensary import settings as platform_settings

    options = platform_settings.sqlite_options()
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 20
    assert "journal_mode=WAL" in options["init_command"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's SQLite file")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("shipped_rules")
def test_eight_registers_selling_at_once_on_sqlite_each_succeed_or_are_refused_cleanly(tmp_path: Path):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    staff = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    product = ProductFactory(organization=organization, price=D("10.00"))
    package = receive(store, product, STOCK)
    registers = [register_with_drawer(store, staff, name=f"R{i}") for i in range(REGISTERS)]
    verification = id_verify(
        store=store, staff=staff, minimum_age=21, date_of_birth=dt.date(1990, 1, 1)
    ).verification

    # The test database lives in memory: copy it to a file, and let a second process sell from it with the
    # settings the platform runs with.
    database = tmp_path / "registers.sqlite3"
    target = sqlite3.connect(database)
    connection.ensure_connection()
    connection.connection.backup(target)
    target.close()
    arguments = {
        "store": store.pk,
        "staff": staff.pk,
        "product": product.pk,
        "registers": [register.pk for register in registers],
        "id_verification": verification.pk,
        "sales_per_register": SALES_PER_REGISTER,
        "now": timezone.now().isoformat(),
    }
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "dispensary.settings",
        "METRC_SIMULATOR_STATE_DIR": str(tmp_path),
    }
    environment.pop("CELERY_BROKER_URL", None)
    environment.pop("TEST_CLOCK_START", None)
    finished = subprocess.run(
        [sys.executable, "-m", "tests.dispensary.sqlite_registers", json.dumps(arguments)],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    outcome = json.loads(finished.stdout.strip().splitlines()[-1])

    assert outcome["errors"] == []
    assert outcome["sold"] == STOCK
    assert outcome["refused"] == {"InsufficientStock": REGISTERS * SALES_PER_REGISTER - STOCK}
    # What the other process wrote adds up: the package is sold out and its ledger balances.
    copy = sqlite3.connect(database)
    try:
        (on_hand,) = copy.execute(
            f"SELECT quantity_on_hand FROM {Package._meta.db_table} WHERE id = ?", [package.pk]
        ).fetchone()
        (ledger,) = copy.execute(
            f"SELECT SUM(quantity) FROM {StockMovement._meta.db_table} WHERE package_id = ?", [package.pk]
        ).fetchone()
        (sales,) = copy.execute(f"SELECT COUNT(*) FROM {Sale._meta.db_table}").fetchone()
    finally:
        copy.close()
    assert D(str(on_hand)) == D(str(ledger)) == 0
    assert sales == STOCK
