"""Versioned schemas of one database's parts, their migrations, and checking a whole database.

Each part (the inventory, run history, saved plans, the catalog cache...) owns its tables
and a list of migrations; the database records each part's version in ``labwright_schema``.
A database is checked against what the migrations make of an empty one, so an import with a
missing table or column is refused before it replaces anything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from browser_runtime.storage.database import DatabaseError

__all__ = ["Component", "Migration", "SchemaProblem", "migrate", "problems", "shape", "versions"]

#: A migration is an SQL script or a function of the connection (for steps that must look first).
Migration = str | Callable[[sqlite3.Connection], None]

_VERSIONS = """
CREATE TABLE IF NOT EXISTS labwright_schema (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class Component:
    """One part of a database: its name, the tables it owns and the migrations that build them.

    ``legacy_version`` says which version a database written before versions were recorded is
    at (by looking at it); ``read_version``/``write_version`` let a part keep its version
    elsewhere (the inventory keeps SQLite's ``user_version``, which the bridge server reads too).
    """

    name: str
    tables: tuple[str, ...]
    migrations: tuple[Migration, ...]
    legacy_version: Callable[[sqlite3.Connection], int] | None = None
    read_version: Callable[[sqlite3.Connection], int] | None = None
    write_version: Callable[[sqlite3.Connection, int], None] | None = None

    @property
    def latest(self) -> int:
        return len(self.migrations)


@dataclass(frozen=True)
class SchemaProblem:
    where: str  # "table runs", "table runs, column value", "component runs"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def _recorded(connection: sqlite3.Connection, component: Component) -> int | None:
    if component.read_version is not None:
        return component.read_version(connection)
    if "labwright_schema" not in _tables(connection):
        return None
    row = connection.execute("SELECT version FROM labwright_schema WHERE component = ?",
                             (component.name,)).fetchone()
    return None if row is None else int(row[0])


def _version(connection: sqlite3.Connection, component: Component) -> int:
    recorded = _recorded(connection, component)
    if recorded is not None:
        return recorded
    if component.legacy_version is not None and set(component.tables) & _tables(connection):
        return component.legacy_version(connection)
    return 0


def versions(connection: sqlite3.Connection, components: Sequence[Component]) -> dict[str, int]:
    return {component.name: _version(connection, component) for component in components}


def _run(connection: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(connection)
        return
    for statement in migration.split(";"):
        if statement.strip():
            connection.execute(statement)


def migrate(connection: sqlite3.Connection, components: Sequence[Component]) -> dict[str, int]:
    """Bring every part up to its latest version; returns the versions it found.

    Each part's steps run in one transaction (all of a step or none). A part newer than this
    Labwright is refused, never guessed at.
    """
    found = versions(connection, components)
    for component in components:
        current = found[component.name]
        if current > component.latest:
            raise DatabaseError(f"the {component.name} tables are at schema version {current}, newer than "
                                f"this Labwright knows ({component.latest}); upgrade Labwright")
        if current == component.latest and _recorded(connection, component) == current:
            continue  # nothing to do, and nothing written (a save would find no change)
        connection.execute("BEGIN IMMEDIATE")
        try:
            for version in range(current, component.latest):
                _run(connection, component.migrations[version])
            if component.write_version is not None:
                component.write_version(connection, component.latest)
            else:
                connection.execute(_VERSIONS)
                connection.execute("INSERT OR REPLACE INTO labwright_schema VALUES (?, ?)",
                                   (component.name, component.latest))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return found


def shape(connection: sqlite3.Connection) -> dict[str, list[str]]:
    """Every table with its columns, in order: what two databases are compared by."""
    return {table: [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
            for table in sorted(_tables(connection))}


def problems(connection: sqlite3.Connection, components: Sequence[Component]) -> list[SchemaProblem]:
    """Everything wrong with a migrated database, against what the migrations make of an empty one."""
    reference = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(reference, components)
        expected = shape(reference)
    finally:
        reference.close()
    actual = shape(connection)
    found: list[SchemaProblem] = []
    for table, columns in expected.items():
        if table not in actual:
            found.append(SchemaProblem(f"table {table}", "is missing"))
            continue
        missing = [column for column in columns if column not in actual[table]]
        extra = [column for column in actual[table] if column not in columns]
        for column in missing:
            found.append(SchemaProblem(f"table {table}, column {column}", "is missing"))
        for column in extra:
            found.append(SchemaProblem(f"table {table}, column {column}", "is not a Labwright column"))
    for table in sorted(set(actual) - set(expected)):
        found.append(SchemaProblem(f"table {table}", "is not a Labwright table"))
    return found
