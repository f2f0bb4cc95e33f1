"""On PostgreSQL the database itself refuses UPDATE and DELETE on audit records. (TRUNCATE stays possible
for the owner of the database, which test teardown uses; no application code path issues it.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION dispensary_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER dispensary_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON dispensary_auditrecord
    FOR EACH ROW EXECUTE FUNCTION dispensary_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS dispensary_auditrecord_append_only ON dispensary_auditrecord;
DROP FUNCTION IF EXISTS dispensary_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL holds a literal % (RAISE format), which must not be read as a placeholder.
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("dispensary", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
