"""Many inserts in one round trip on PostgreSQL: the parts of one data-modifying WITH statement, each an INSERT
(or UPDATE) with its parameters, gathered by the services that own the rows and sent together by the use case
(a sale's lines, taxes, tenders, audit record and events). Every value is a parameter; only table and column
names, which the code itself spells, and placeholders are formatted into the text."""

from collections.abc import Iterable, Sequence

from django.db import connection


def values(rows: Iterable[Sequence], casts: Sequence[str]) -> tuple[str, list]:
    """`VALUES (...), (...)` for `rows`, each placeholder cast to its column's type (needed where the rows are
    read by a SELECT rather than inserted directly: a parameter without a type is text there)."""
    row = "(" + ", ".join(f"%s::{cast}" if cast else "%s" for cast in casts) + ")"
    params: list = []
    count = 0
    for item in rows:
        params.extend(item)
        count += 1
    return "VALUES " + ", ".join([row] * count), params


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
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self._params, *params])
            return cursor.fetchall()


def in_one_statement() -> bool:
    """Whether the database runs data-modifying WITH statements (PostgreSQL); elsewhere each table gets its own
    INSERT."""
    return connection.vendor == "postgresql"
