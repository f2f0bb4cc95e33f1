"""A GIN index on the reports' order keys (package labels) on PostgreSQL: the audit center finds a package's or a
batch's reports to the state by containment instead of reading every report of the store."""

from django.db import migrations

INDEX = "compliance_syncrecord_order_keys_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON compliance_syncrecord USING gin (order_keys jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("compliance", "0007_sync_record_license")]

    operations = [migrations.RunPython(create, drop)]
