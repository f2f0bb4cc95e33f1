"""Audit records and stock movements are append-only in the database itself, on SQLite as on PostgreSQL:
UPDATE and DELETE are refused however they are issued (raw SQL, QuerySet.update/delete)."""

import pytest
from django.db import DatabaseError, connection, transaction

from dispensary.models import AuditRecord
from inventory.models import StockMovement
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_row(db):
    return AuditRecord.objects.create(
        actor_label="tester", action="customer.created", object_type="customer", object_id="1"
    )


@pytest.fixture
def movement(store, organization):
    receive(store, ProductFactory(organization=organization), 5)
    return StockMovement.objects.get()


def refused(operation: str):
    return pytest.raises(DatabaseError, match=rf"append-only \({operation} refused\)")


def test_audit_records_refuse_raw_update_and_delete(audit_row):
    for sql, operation in [
        ("UPDATE dispensary_auditrecord SET action = 'forged' WHERE id = %s", "UPDATE"),
        ("DELETE FROM dispensary_auditrecord WHERE id = %s", "DELETE"),
    ]:
        with refused(operation), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [audit_row.pk])
    assert AuditRecord.objects.filter(pk=audit_row.pk, action="customer.created").count() == 1


def test_audit_records_refuse_queryset_update_and_delete(audit_row):
    with refused("UPDATE"), transaction.atomic():
        AuditRecord.objects.filter(pk=audit_row.pk).update(action="forged")
    with refused("DELETE"), transaction.atomic():
        AuditRecord.objects.filter(pk=audit_row.pk).delete()
    assert AuditRecord.objects.filter(pk=audit_row.pk, action="customer.created").count() == 1


def test_stock_movements_refuse_update_and_delete(movement):
    with refused("UPDATE"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(quantity=500)
    with refused("DELETE"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).delete()
    with refused("UPDATE"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stockmovement SET quantity = 0 WHERE id = %s", [movement.pk])
    movement_after = StockMovement.objects.get(pk=movement.pk)
    assert movement_after.quantity == movement.quantity


def test_appending_still_works(audit_row, movement):
    AuditRecord.objects.create(actor_label="tester", action="again", object_type="customer", object_id="1")
    assert AuditRecord.objects.count() >= 2


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds tables to alter them")
def test_the_triggers_come_back_after_a_table_is_rebuilt(audit_row):
    """Django alters a SQLite table by building a new one, which loses its triggers; migrate puts them back."""
    from django.core.management import call_command

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER dispensary_auditrecord_append_only_update")
    call_command("migrate", verbosity=0)

    with refused("UPDATE"), transaction.atomic():
        AuditRecord.objects.filter(pk=audit_row.pk).update(action="forged")


@pytest.mark.django_db(transaction=True)
def test_transactional_test_teardown_still_empties_the_tables(store, organization):
    # Runs last in this module: its teardown flushes the tables with the triggers in place (on SQLite the
    # flush lifts them for its own DELETEs, see tests/conftest.py) and must leave them in place.
    receive(store, ProductFactory(organization=organization), 1)
    AuditRecord.objects.create(actor_label="t", action="a", object_type="t", object_id="1")
