"""On SQLite too the database refuses UPDATE and DELETE on audit records (PostgreSQL has had its trigger since
0002)."""

from django.db import migrations

from dispensary.append_only import sqlite_migration_operations

forwards, backwards = sqlite_migration_operations("dispensary_auditrecord")


class Migration(migrations.Migration):
    dependencies = [("dispensary", "0004_checkout")]
    operations = [migrations.RunPython(forwards, backwards)]
