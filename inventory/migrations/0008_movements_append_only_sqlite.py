"""On SQLite too the database refuses UPDATE and DELETE on stock movements (PostgreSQL has had its trigger since
0002)."""

from django.db import migrations

from dispensary.append_only import sqlite_migration_operations

forwards, backwards = sqlite_migration_operations("inventory_stockmovement")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0007_state_unit")]
    operations = [migrations.RunPython(forwards, backwards)]
