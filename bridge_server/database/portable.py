"""A PostgreSQL connection with the ``sqlite3.Connection`` surface the lab's stores are written for.

The inventory and the schedule (``browser_runtime.inventory``, ``browser_runtime.scheduler``)
run in the page on SQLite and must not depend on anything else; on a lab's PostgreSQL the
bridge server runs the same code over this adapter. It speaks their SQL (portable SQL with
SQLite's parameter styles) and their DB-API habits, translated once, here:

- ``?`` and ``:name`` parameters become psycopg's ``%s`` / ``%(name)s`` (outside string literals);
- ``BEGIN IMMEDIATE`` (SQLite's "take the write lock now") becomes ``BEGIN`` plus one advisory
  transaction lock, so the stores' check-then-write transactions are serialised across every
  server of the lab exactly as SQLite serialises them on one file;
- ``cursor.lastrowid`` after an insert into a table whose ``id`` the database assigns is that
  id (``RETURNING id``), as SQLite gives it;
- booleans are stored as 0/1 (SQLite has no boolean);
- a unique or check violation is ``sqlite3.IntegrityError``, a value the column cannot hold a
  :class:`UnstorableValue` (a ``ValueError``: the API answers 422), as the stores expect;
- ``PRAGMA foreign_keys = ON`` is a no-op (PostgreSQL always enforces them); any other PRAGMA
  is refused loudly.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from browser_runtime.errors import LabwrightError

#: The advisory lock every write transaction of the inventory and schedule takes ("LABW").
WRITE_LOCK = 0x4C414257


class UnstorableValue(LabwrightError, ValueError):
    """A value the database cannot hold (out of range, malformed): the caller's input, not a bug."""


_NAMED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite-style parameters to psycopg's, leaving string literals, identifiers and casts alone."""
    out: list[str] = []
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if char in ("'", '"'):  # a literal or a quoted identifier, copied whole
            end = index + 1
            while end < length:
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:  # doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[index:end + 1].replace("%", "%%"))
            index = end + 1
        elif char == "?":
            out.append("%s")
            index += 1
        elif char == ":" and index + 1 < length and sql[index + 1] == ":":  # a cast: ::text
            out.append("::")
            index += 2
        elif char == ":" and (match := _NAMED.match(sql, index + 1)):
            out.append(f"%({match.group()})s")
            index = match.end()
        elif char == "%":
            out.append("%%")
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+\"?([A-Za-z_][A-Za-z0-9_]*)\"?", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+foreign_keys\s*=\s*(ON|1)\s*;?\s*$", re.IGNORECASE)


def _value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _params(params: Sequence[Any] | dict[str, Any]) -> Any:
    if isinstance(params, dict):
        return {key: _value(value) for key, value in params.items()}
    return tuple(_value(value) for value in params)


class PortableCursor:
    """What ``execute`` returns: rows, ``rowcount`` and ``lastrowid`` as sqlite3 gives them."""

    def __init__(self, rows: list[tuple[Any, ...]] | None, rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows or []
        self._position = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._position >= len(self._rows):
            return None
        self._position += 1
        return self._rows[self._position - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._position = self._rows[self._position:], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


class PortableConnection:
    """A psycopg connection (autocommit; transactions are explicit, as the stores open them)."""

    def __init__(self, connection: Any, generated_ids: Sequence[str] = (),
                 before_commit: Callable[[PortableConnection], None] | None = None) -> None:
        import psycopg

        self.raw = connection
        self.raw.autocommit = True
        # Parameters bound in the client, as sqlite3 binds them: PostgreSQL never has to guess a
        # parameter's type (``? IS NULL`` has none to infer on the server).
        self.raw.cursor_factory = psycopg.ClientCursor
        self.generated_ids = frozenset(generated_ids)
        #: Runs inside each write transaction just before it commits (notifications go out with it).
        self.before_commit = before_commit
        self._write_depth = 0

    @property
    def in_transaction(self) -> bool:
        import psycopg.pq

        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> PortableCursor:
        statement = sql.strip().rstrip(";").strip()
        word = statement.split(None, 1)[0].upper() if statement else ""
        if word == "PRAGMA":
            if _PRAGMA.match(statement):
                return PortableCursor(None, -1, None)
            raise sqlite3.OperationalError(f"SQLite's {statement!r} has no PostgreSQL equivalent here")
        if word == "BEGIN":
            self._run("BEGIN", ())
            # Every write transaction takes the one write lock, as SQLite's BEGIN IMMEDIATE does.
            self._run("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            return PortableCursor(None, -1, None)
        if word in ("COMMIT", "END") and self.before_commit is not None and self.in_transaction:
            self.before_commit(self)
        generated = None
        insert = _INSERT.match(statement)
        if insert and insert.group(1).lower() in self.generated_ids and not _RETURNING.search(statement):
            statement += " RETURNING id"
            generated = True
        cursor = self._run(translate(statement), _params(params))
        rows = cursor.fetchall() if cursor.description is not None else None
        lastrowid = int(rows[-1][0]) if generated and rows else None
        return PortableCursor(None if generated else rows, cursor.rowcount, lastrowid)

    def _run(self, sql: str, params: Any) -> Any:
        import psycopg

        try:
            return self.raw.execute(sql, params)
        except psycopg.errors.IntegrityError as error:
            raise sqlite3.IntegrityError(_message(error)) from error
        except psycopg.errors.DataError as error:
            raise UnstorableValue(f"the value cannot be stored: {_message(error)}") from error

    def executescript(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                self.execute(statement)

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")


def _message(error: Exception) -> str:
    diagnostic = getattr(error, "diag", None)
    primary = getattr(diagnostic, "message_primary", None)
    return str(primary or error).strip()
