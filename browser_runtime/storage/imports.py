"""Checking a database file before it may replace ours: SQLite, whole, Labwright's, migrated.

The file is opened on its own, never in place of the live database: its integrity and foreign
keys are checked, each part's schema version read (a newer Labwright's is refused), older
parts migrated, and the result compared table by table and column by column with what this
Labwright's migrations make. Every problem is reported at once; only a file with none is used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from browser_runtime.storage.database import SQLITE_HEADER, Database, DatabaseError
from browser_runtime.storage.schema import Component, migrate, problems, versions

__all__ = ["CheckedImage", "check_image"]


@dataclass(frozen=True)
class CheckedImage:
    image: bytes  # migrated to this Labwright's schema
    found_versions: dict[str, int]
    migrated: list[str]  # parts that were older and were brought up to date
    tables: list[str]


def check_image(image: bytes, components: Sequence[Component]) -> CheckedImage:
    """``image`` made current, or ``DatabaseError`` listing everything wrong with it."""
    if not image.startswith(SQLITE_HEADER):
        raise DatabaseError("not an SQLite database (the file does not start with the SQLite header)")
    scratch = Database.in_memory()
    try:
        try:
            scratch.replace(image)
            integrity = [row[0] for row in scratch.connection.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as error:
            raise DatabaseError(f"not a usable SQLite database: {error}") from None
        if integrity != ["ok"]:
            raise DatabaseError("the database is damaged: " + "; ".join(integrity[:5]))
        connection = scratch.connection
        tables = sorted(row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        ours = {table for component in components for table in component.tables}
        if not ours & set(tables):
            raise DatabaseError("not a Labwright database: it has none of Labwright's tables "
                                f"(it has {', '.join(tables) or 'no tables'})")
        found = versions(connection, components)
        newer = [f"{c.name} is at version {found[c.name]}, this Labwright knows {c.latest}"
                 for c in components if found[c.name] > c.latest]
        if newer:
            raise DatabaseError("the database was written by a newer Labwright: " + "; ".join(newer))
        try:
            migrate(connection, components)
        except (sqlite3.DatabaseError, DatabaseError) as error:
            raise DatabaseError(f"the database cannot be brought up to date: {error}") from None
        wrong = problems(connection, components)
        broken_keys = connection.execute("PRAGMA foreign_key_check").fetchall()
        messages = [str(problem) for problem in wrong]
        messages += [f"table {row[0]}, row {row[1]}: refers to a missing {row[2]}" for row in broken_keys[:5]]
        if messages:
            raise DatabaseError("not a Labwright database this version can use: " + "; ".join(messages))
        migrated = [c.name for c in components if found[c.name] < c.latest]
        return CheckedImage(scratch.image(), found, migrated, tables)
    finally:
        scratch.close()
