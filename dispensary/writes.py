"""Many inserts in one round trip on PostgreSQL: the parts of one data-modifying WITH statement, each an INSERT
(or UPDATE) with its parameters, gathered by the services that own the rows and sent together by the use case
(a sale's lines, taxes, tenders, audit record and events). Every value is a parameter; only table and column
names, which the code itself spells, and placeholders are formatted into the text."""

import functools
import json
from collections.abc import Sequence

from django.conf import settings
from django.db import connection


def records(
    rows: Sequence[Sequence], columns: Sequence[tuple[str, str]], alias: str = "v"
) -> tuple[str, list]:
    """`jsonb_to_recordset(%s::jsonb) AS v (name type, ...)`: the rows as ONE parameter, so that the statement's
    text is the same whatever the number of rows and its parameters few (the driver then keeps its parsed
    form). Decimals, dates and uuids travel as their text, which the column's type reads back exactly."""
    names = [name for name, _ in columns]
    document = json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str)
    spelled = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"jsonb_to_recordset(%s::jsonb) AS {alias} ({spelled})", [document]


class Statement:
    """The parts of one WITH statement: `add(name, sql, params)` in the order they should run (PostgreSQL runs
    every data-modifying part once, whether or not the final SELECT reads it), then `execute(final)`."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._params: list = []
        self._names: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._parts)

    def fresh_name(self, prefix: str) -> str:
        """A part name not used yet in this statement."""
        number = sum(1 for name in self._names if name.startswith(prefix))
        return f"{prefix}_{number}"

    def add(self, name: str, sql: str, params: Sequence = (), *, materialized: bool = False) -> str:
        if name in self._names:
            raise ValueError(f"Part {name!r} is already in the statement.")
        self._names.add(name)
        self._parts.append(f"{name} AS {'MATERIALIZED ' if materialized else ''}({sql})")
        self._params.extend(params)
        return name

    def execute(self, final: str, params: Sequence = ()) -> list[tuple]:
        """Run the statement ending with `final` (a SELECT reading the parts' RETURNING rows) and return its rows."""
        sql = "WITH " + ", ".join(self._parts) + " " + final
        with prepared_cursor() as cursor:
            cursor.execute(sql, [*self._params, *params])
            return cursor.fetchall()


def prepared_cursor():
    """A cursor for the hot path's own statements: on PostgreSQL it binds the parameters on the server and
    prepares each statement there once per connection (its text is parsed and planned once, the values travel
    apart), unless settings.DATABASE_PREPARED_STATEMENTS is off (a pooler in transaction mode that cannot keep
    prepared statements). Only statements written for it: the ORM keeps Django's client-side binding, which
    some of its queries need. Elsewhere, and where queries are logged, the usual cursor."""
    logged = connection.queries_logged  # DEBUG, tests counting queries: Django's log shows the values
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS or logged:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _preparing_cursor_class()(connection.connection)
    connection.validate_thread_sharing()
    return connection.make_cursor(cursor)


@functools.cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


def in_one_statement() -> bool:
    """Whether the database runs data-modifying WITH statements (PostgreSQL); elsewhere each table gets its own
    INSERT."""
    return connection.vendor == "postgresql"
