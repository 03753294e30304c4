"""One SQLite database behind one connection: transactions, and the pages changed since it was saved.

The page keeps its database in memory (nothing on the worker's file system for a protocol to
delete) and saves it as SQLite pages in IndexedDB: after each request only the pages that
changed are written. On CPython (tests, the command line) the same class wraps a file.
Single-threaded by design: Pyodide has no threads, and the stores never await inside a
transaction.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from browser_runtime.errors import LabwrightError

__all__ = ["Changes", "Database", "DatabaseError"]

SQLITE_HEADER = b"SQLite format 3\x00"
_savepoints = itertools.count(1)


def _connect(target: str) -> sqlite3.Connection:
    # One user at a time by design (the page has no threads); tests on CPython may drive a
    # session from a helper thread, one call after another, so the thread check is off.
    return sqlite3.connect(target, isolation_level=None, check_same_thread=False)


class DatabaseError(LabwrightError, ValueError):
    """A database image that cannot be used (not SQLite, damaged, of a newer Labwright...)."""


@dataclass(frozen=True)
class Changes:
    """The pages to write so the saved copy equals the database; ``generation`` names this state."""

    page_size: int
    page_count: int
    pages: dict[int, bytes]
    generation: int
    marker: tuple[int, int] = (0, 0)

    @property
    def size(self) -> int:
        return self.page_size * self.page_count

    def blob(self) -> bytes:
        """The changed pages back to back, in ``sorted(pages)`` order (what crosses to JS)."""
        return b"".join(self.pages[index] for index in sorted(self.pages))


class Database:
    """The connection every store of one database shares (autocommit; explicit transactions)."""

    def __init__(self, connection: sqlite3.Connection, *, path: Path | None = None) -> None:
        self.connection = connection
        self.path = path
        self.connection.execute("PRAGMA foreign_keys = ON")
        self._saved: bytes | None = None  # the image as last saved (memory databases)
        self._saved_marker: tuple[int, int] | None = None
        self._generation = 0
        #: Called after every commit that changed something (the page schedules a save).
        self.on_commit: Callable[[], None] | None = None

    # ---- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Database:
        """A database file (created if missing)."""
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        return cls(_connect(str(path)), path=path)

    @classmethod
    def in_memory(cls, image: bytes | None = None) -> Database:
        """A database that lives in memory, optionally starting from a saved image."""
        database = cls(_connect(":memory:"))
        if image:
            database.replace(image)
            database._mark_saved(image)
        return database

    @classmethod
    def of(cls, target: Database | str | Path) -> Database:
        """``target`` itself, or the file it names: stores accept either."""
        return target if isinstance(target, Database) else cls.open(target)

    def close(self) -> None:
        self.connection.close()

    # ---- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: nothing is half-written.

        Inside an open transaction this becomes a savepoint of it, so a failing part rolls back
        alone and the whole still commits or rolls back as one.
        """
        db = self.connection
        if db.in_transaction:
            name = f"sp{next(_savepoints)}"
            db.execute(f"SAVEPOINT {name}")
            try:
                yield db
            except BaseException:
                db.execute(f"ROLLBACK TO {name}")
                db.execute(f"RELEASE {name}")
                raise
            db.execute(f"RELEASE {name}")
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if self.on_commit is not None:
            self.on_commit()

    # ---- images and changes -------------------------------------------------------------------

    def image(self) -> bytes:
        """The whole database as one SQLite file image."""
        return self.connection.serialize()

    def replace(self, image: bytes) -> None:
        """Take ``image`` as the database's whole content (every store sees it at once)."""
        if not image.startswith(SQLITE_HEADER):
            raise DatabaseError("not an SQLite database (the image does not start with the SQLite header)")
        if self.connection.in_transaction:
            raise DatabaseError("cannot replace the database inside a transaction")
        try:
            self.connection.deserialize(image)
        except sqlite3.DatabaseError as error:
            raise DatabaseError(f"not a usable SQLite database: {error}") from None
        self.connection.execute("PRAGMA foreign_keys = ON")
        self._saved_marker = None  # compare page by page at the next save
        if self.on_commit is not None:
            self.on_commit()

    def forget_saved(self) -> None:
        """Count every page as changed: the next save writes the whole database."""
        self._saved = None
        self._saved_marker = None

    def _marker(self) -> tuple[int, int]:
        # Rows changed through this connection, and the schema cookie (DDL changes it).
        return self.connection.total_changes, self.connection.execute("PRAGMA schema_version").fetchone()[0]

    def _mark_saved(self, image: bytes) -> None:
        self._saved = image
        self._saved_marker = self._marker()

    def changes(self) -> Changes | None:
        """What a save must write now, or None when nothing changed since the last save.

        Compared page by page with the image last saved, so a request that changed one row
        writes one or two pages, not the database.
        """
        marker = self._marker()
        if self._saved is not None and marker == self._saved_marker:
            return None
        image = self.image()
        page_size = self.connection.execute("PRAGMA page_size").fetchone()[0]
        previous = self._saved or b""
        if image == previous:
            self._saved_marker = marker
            return None
        view, before = memoryview(image), memoryview(previous)
        pages = {}
        for index in range(len(image) // page_size):
            start = index * page_size
            page = view[start:start + page_size]
            if before[start:start + page_size] != page:
                pages[index] = bytes(page)
        self._generation += 1
        return Changes(page_size, len(image) // page_size, pages, self._generation, marker)

    def saved(self, changes: Changes) -> None:
        """The pages of ``changes`` are safely stored: later changes are counted from here."""
        if changes.generation != self._generation:
            return  # an older save finished after a newer one was taken: keep the newer base
        image = bytearray(self._saved or b"")
        image = image[: changes.size] + bytes(max(0, changes.size - len(image)))
        for index, page in changes.pages.items():
            image[index * changes.page_size:(index + 1) * changes.page_size] = page
        self._saved = bytes(image)
        self._saved_marker = changes.marker

    @staticmethod
    def assemble(page_size: int, page_count: int, pages: dict[int, bytes]) -> bytes:
        """An image from stored pages; a missing page is a damaged store, said as such."""
        missing = [index for index in range(page_count) if index not in pages]
        if missing:
            raise DatabaseError(f"the saved database is missing {len(missing)} of {page_count} pages "
                                f"(first: {missing[0]})")
        return b"".join(pages[index] for index in range(page_count))
