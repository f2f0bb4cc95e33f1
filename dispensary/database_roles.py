"""Two PostgreSQL roles: an owner that runs migrations, and the application's role that reads and writes rows.

The application's role owns nothing, so it cannot drop or disable the append-only triggers, alter tables or
TRUNCATE (dispensary/append_only.py); it holds SELECT, INSERT, UPDATE and DELETE on the tables and nothing
else. `manage.py migrate` connects as the owner when DATABASE_OWNER_URL is set and grants these privileges
to the role of DATABASE_URL after every migration, so new tables are covered at once (README, "Database
roles")."""

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


def privileges_grant(connection: BaseDatabaseWrapper, role: str) -> None:
    """Give `role` exactly the row privileges on every table and sequence of the current schema."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = quote(cursor.fetchone()[0])
        grantee = quote(role)
        for statement in [
            f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
            # Whatever was granted before (TRUNCATE, TRIGGER, REFERENCES...) goes; only row privileges stay.
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}",
            f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO {grantee}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
        ]:
            cursor.execute(statement)
