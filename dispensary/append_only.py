"""Append-only tables: the database itself refuses UPDATE and DELETE of their rows, on PostgreSQL and SQLite.

The model layer refuses too, but QuerySet.update() and .delete() and raw SQL go around it; a trigger does not.
On PostgreSQL the application connects as a role that does not own the tables (see README, "Database
roles"), so it can neither drop nor disable the trigger, nor TRUNCATE the table: only the owner role that
runs migrations can."""

# The tables, with the words of the refusal.
TABLES = {
    "dispensary_auditrecord": "audit records",
    "inventory_stockmovement": "stock movements",
}


def sqlite_trigger_names(table: str) -> list[str]:
    return [f"{table}_append_only_update", f"{table}_append_only_delete"]


def sqlite_create(table: str) -> list[str]:
    what = TABLES[table]
    update, delete = sqlite_trigger_names(table)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {update} BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{what} are append-only (UPDATE refused)'); END",
        f"CREATE TRIGGER IF NOT EXISTS {delete} BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{what} are append-only (DELETE refused)'); END",
    ]


def sqlite_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in sqlite_trigger_names(table)]


def sqlite_migration_operations(table: str):
    """RunPython callables that add (and on reversal remove) the SQLite triggers of one table."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in sqlite_create(table):
                schema_editor.execute(statement)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in sqlite_drop(table):
                schema_editor.execute(statement)

    return forwards, backwards
