"""Shared fixtures, and the markers for outside services.

Tests that need outside services: `postgres` runs only when the default database is PostgreSQL, and
`celery_live` also needs a Redis broker in TEST_CELERY_BROKER_URL. With TEST_REQUIRE_LIVE=1 (CI's PostgreSQL
pass) a missing service fails those tests instead of skipping them, so a misconfigured CI cannot pass by
skipping them.
"""

import datetime as dt
import os

import pytest
import time_machine
from django.db import connection

import tests.dispensary.outbox_handlers  # noqa: F401 - registers the probe handlers
from tests.clock import Clock
from tests.factories import OrganizationFactory, StoreFactory, UserFactory


@pytest.fixture(scope="session", autouse=True)
def moved_clock():
    """TEST_CLOCK_START (an ISO datetime with its offset) starts the whole run at that moment, ticking: CI runs
    the suite once late in the evening of a daylight-saving change, so a test that depends on the real date
    (or on UTC and local days being the same) fails there rather than on some later day."""
    start = os.environ.get("TEST_CLOCK_START")
    if not start:
        yield None
        return
    moment = dt.datetime.fromisoformat(start)
    if moment.tzinfo is None:
        raise pytest.UsageError("TEST_CLOCK_START needs an offset, e.g. 2027-03-14T23:30:00-07:00")
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Passwords are hashed with MD5 in tests: the platform's Argon2 takes about 0.2 s per hash on purpose, and
    the suite creates thousands of users. Nothing here tests the hasher's strength (settings.py chooses it)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def clock():
    """Sets "now" for this test: clock.move_to(aware datetime), clock.advance(timedelta)."""
    controller = Clock()
    yield controller
    controller.stop()


@pytest.fixture(autouse=True)
def state_reports_sent_inline(settings):
    """Reports to the state go out as soon as their transaction commits, in the test's own thread (the
    embedded default sends them from a background thread; tests of that ask for it)."""
    settings.STATE_SYNC = {**settings.STATE_SYNC, "IN_PROCESS": "inline"}


@pytest.fixture(autouse=True)
def versioned_reads_forgotten(settings):
    """Rules, taxes, promotions and the loyalty program are kept per process under a version in the cache
    (dispensary.versioned); each test's database starts over, so each test starts with nothing kept. The
    tests run in one process: kept reads do not expire by age within a test (query counts stay exact)."""
    from django.core.cache import cache

    from dispensary.versioned import forget_all

    settings.VERSIONED_LOCAL_SECONDS = 3600
    forget_all()
    cache.clear()
    yield
    forget_all()


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def store(organization):
    return StoreFactory(organization=organization)


@pytest.fixture
def manager(organization, store):
    return UserFactory(organization=organization, roles=["manager"], stores=[store])


@pytest.fixture
def budtender(organization, store):
    return UserFactory(organization=organization, roles=["budtender"], stores=[store])


def _sqlite_flush_keeps_append_only_triggers() -> None:
    """Test teardown of transactional tests empties every table (PostgreSQL: TRUNCATE, which the owner may do
    and which fires no row trigger; SQLite: DELETE, which the append-only triggers refuse). On SQLite the
    flush lifts the triggers for its own DELETEs and puts them back at once."""
    if connection.vendor != "sqlite":
        return
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from dispensary.append_only import TABLES, sqlite_create, sqlite_drop

    DatabaseOperations = DatabaseWrapper.ops_class
    original = DatabaseOperations.sql_flush
    if getattr(original, "keeps_append_only_triggers", False):
        return

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        guarded = [table for table in TABLES if table in tables]
        if not statements or not guarded:
            return statements
        drop = [statement for table in guarded for statement in sqlite_drop(table)]
        create = [statement for table in guarded for statement in sqlite_create(table)]
        return [*drop, *statements, *create]

    sql_flush.keeps_append_only_triggers = True
    DatabaseOperations.sql_flush = sql_flush


@pytest.fixture(autouse=True, scope="session")
def _append_only_triggers_survive_flush():
    _sqlite_flush_keeps_append_only_triggers()


def live_service_missing(item: pytest.Item) -> str | None:
    """Why this test cannot run here, or None when it can."""
    needs_postgres = item.get_closest_marker("postgres") or item.get_closest_marker("celery_live")
    if needs_postgres and connection.vendor != "postgresql":
        return f"needs PostgreSQL (DATABASE_URL); the default database is {connection.vendor}"
    if item.get_closest_marker("celery_live") and not os.environ.get("TEST_CELERY_BROKER_URL"):
        return "needs a Redis broker for a live Celery worker (TEST_CELERY_BROKER_URL)"
    if item.get_closest_marker("app_role") and not os.environ.get("TEST_APP_DATABASE_URL"):
        return "needs a second PostgreSQL login role for the application (TEST_APP_DATABASE_URL)"
    if item.get_closest_marker("redis") and not os.environ.get("TEST_CELERY_BROKER_URL"):
        return "needs a Redis server (TEST_CELERY_BROKER_URL)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture is set up, so a module's live worker is never started for tests that cannot run.
    reason = live_service_missing(item)
    if reason is None:
        return
    if os.environ.get("TEST_REQUIRE_LIVE") == "1":
        pytest.fail(f"TEST_REQUIRE_LIVE=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def shipped_rules(db):
    """The jurisdiction rules the data migration ships. A transactional test on PostgreSQL starts from a
    flushed database, which has lost them; this puts them back (and does nothing where they are present)."""
    import importlib

    from django.apps import apps

    from compliance.models import PurchaseLimit

    if not PurchaseLimit.objects.exists():
        importlib.import_module("compliance.migrations.0003_rules_data").rules_load(apps, None)
        importlib.import_module("compliance.migrations.0006_tax_categories").categories_set(apps, None)
        importlib.import_module("compliance.migrations.0009_delivery_rule_hours_caps").hours_kind_fill(
            apps, None
        )
        importlib.import_module("compliance.migrations.0010_delivery_rules_data").rows_load(apps, None)
