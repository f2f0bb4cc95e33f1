"""PostgreSQL with two roles, as the README sets it up: `migrate` runs as the owner (DATABASE_OWNER_URL) and
grants the application's role (DATABASE_URL) row privileges only. The application's role then cannot
TRUNCATE the append-only tables, drop or disable their triggers, or change their rows, while it reads and
writes everything else. Needs a second login role: TEST_APP_DATABASE_URL (.ci/run creates it)."""

import os
import subprocess
import sys

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.app_role]


def url(parts: dict, name: str) -> str:
    return f"postgres://{parts['USER']}:{parts['PASSWORD']}@{parts['HOST']}:{parts['PORT']}/{name}"


def connect(parts: dict, name: str) -> psycopg.Connection:
    return psycopg.connect(
        dbname=name,
        user=parts["USER"],
        password=parts["PASSWORD"],
        host=parts["HOST"],
        port=parts["PORT"],
        autocommit=True,
    )


@pytest.fixture
def fresh_database(db):
    """An empty database owned by the test's role (the owner), dropped afterwards."""
    owner = connection.settings_dict
    name = f"{owner['NAME']}_roles"[:63]
    with connect(owner, "postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with connect(owner, "postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def refused(app, sql: str, error=psycopg.errors.InsufficientPrivilege) -> str:
    with pytest.raises(error) as caught:
        app.execute(sql)
    return str(caught.value)


@pytest.mark.timeout(600)
def test_migrate_as_the_owner_leaves_the_application_role_only_row_privileges(fresh_database):
    owner = connection.settings_dict
    app_parts = dj_database_url.parse(os.environ["TEST_APP_DATABASE_URL"])
    assert app_parts["USER"] != owner["USER"]
    environment = {
        **os.environ,
        "DATABASE_URL": url(app_parts, fresh_database),
        "DATABASE_OWNER_URL": url(owner, fresh_database),
    }
    environment.pop("CELERY_BROKER_URL", None)

    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert f"Granted row privileges on every table to the application's role {app_parts['USER']}" in (
        migrated.stdout
    )

    with connect(app_parts, fresh_database) as app:
        tables = [
            row[0] for row in app.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {"dispensary_auditrecord", "inventory_stockmovement", "django_migrations"} <= set(tables)
        owners = {
            row[0]
            for row in app.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
        assert owners == {owner["USER"]}

        # Rows: the application reads and writes ordinary tables, and appends to the audit log.
        app.execute(
            "INSERT INTO dispensary_organization (name, slug, created_at) VALUES ('Org', 'org', now())"
        )
        app.execute("UPDATE dispensary_organization SET name = 'Renamed' WHERE slug = 'org'")
        app.execute(
            "INSERT INTO dispensary_auditrecord (actor_label, action, object_type, object_id, object_repr,"
            " created_at) VALUES ('t', 'a', 't', '1', '', now())"
        )
        assert app.execute("SELECT count(*) FROM dispensary_auditrecord").fetchone()[0] == 1

        # The append-only tables: no change of rows, no TRUNCATE, and the triggers stay.
        # (Row triggers fire only on rows: the audit log has one; tests/dispensary/test_append_only.py covers
        # the movements' triggers with real rows.)
        assert "append-only" in refused(app, "UPDATE dispensary_auditrecord SET action = 'forged'")
        assert "append-only" in refused(app, "DELETE FROM dispensary_auditrecord")
        for table in ["dispensary_auditrecord", "inventory_stockmovement"]:
            assert "permission denied" in refused(app, f"TRUNCATE {table}")
            assert "must be owner" in refused(app, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            trigger = app.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table]
            ).fetchone()[0]
            assert "must be owner" in refused(app, f"DROP TRIGGER {trigger} ON {table}")
        assert "must be owner" in refused(app, "DROP FUNCTION dispensary_audit_append_only()")
        assert "must be owner" in refused(app, "DROP TABLE dispensary_auditrecord")
        assert "permission denied" in refused(app, "CREATE TABLE sneaky (id int)")
        assert app.execute("SELECT count(*) FROM dispensary_auditrecord").fetchone()[0] == 1

    # Migrating again (a later release) keeps the grants right for tables it adds.
    again = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-3000:]


def test_migrate_refuses_one_role_for_both(settings):
    from django.core.management import CommandError, call_command

    settings.DATABASE_OWNER_URL = url(connection.settings_dict, connection.settings_dict["NAME"])
    with pytest.raises(CommandError, match="two roles"):
        call_command("migrate", verbosity=0)
