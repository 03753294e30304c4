"""The page's database in memory, saved page by page: a change writes what changed, not the file."""

from __future__ import annotations

import pytest

from browser_runtime.storage import Database, DatabaseError


def _filled(rows: int = 2000) -> Database:
    database = Database.in_memory()
    with database.transaction() as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        db.executemany("INSERT INTO notes (text) VALUES (?)", [(f"note {i} " * 10,) for i in range(rows)])
    return database


def _save(database: Database, store: dict[int, bytes]) -> int:
    """Write what ``changes`` says into ``store`` (the page's IndexedDB), as the worker does."""
    changes = database.changes()
    if changes is None:
        return 0
    for index, page in changes.pages.items():
        store[index] = page
    for index in [i for i in store if i >= changes.page_count]:
        del store[index]
    database.saved(changes)
    return len(changes.pages)


def test_one_changed_row_writes_a_page_or_two_not_the_database():
    database = _filled()
    store: dict[int, bytes] = {}
    total = _save(database, store)
    assert total > 50  # the first save writes every page
    assert database.changes() is None  # reads and no-ops write nothing
    database.connection.execute("SELECT count(*) FROM notes").fetchone()
    assert _save(database, store) == 0
    with database.transaction() as db:
        db.execute("UPDATE notes SET text = 'changed' WHERE id = 1000")
    written = _save(database, store)
    assert 1 <= written <= 3
    # What was saved is the database: it opens as it is.
    image = Database.assemble(4096, len(store), store)
    again = Database.in_memory(image)
    assert again.connection.execute("SELECT text FROM notes WHERE id = 1000").fetchone() == ("changed",)


def test_a_failed_save_is_written_again_with_the_next_one():
    database = _filled(200)
    store: dict[int, bytes] = {}
    _save(database, store)
    with database.transaction() as db:
        db.execute("UPDATE notes SET text = 'first' WHERE id = 1")
    lost = database.changes()  # the write of these pages failed: saved() is never called
    assert lost is not None
    with database.transaction() as db:
        db.execute("UPDATE notes SET text = 'second' WHERE id = 150")
    _save(database, store)
    image = Database.assemble(4096, len(store), store)
    assert Database.in_memory(image).connection.execute(
        "SELECT text FROM notes WHERE id IN (1, 150) ORDER BY id").fetchall() == [("first",), ("second",)]


def test_a_database_that_shrinks_drops_its_last_pages():
    database = _filled(3000)
    store: dict[int, bytes] = {}
    _save(database, store)
    before = len(store)
    with database.transaction() as db:
        db.execute("DELETE FROM notes")
    database.connection.execute("VACUUM")
    _save(database, store)
    assert len(store) < before
    assert Database.in_memory(Database.assemble(4096, len(store), store)).connection.execute(
        "SELECT count(*) FROM notes").fetchone() == (0,)


def test_a_store_missing_a_page_says_so():
    with pytest.raises(DatabaseError, match="missing 1 of 3 pages"):
        Database.assemble(4096, 3, {0: bytes(4096), 2: bytes(4096)})


def test_nested_transactions_roll_back_their_own_part():
    database = _filled(1)
    with database.transaction() as db:
        db.execute("INSERT INTO notes (text) VALUES ('kept')")
        with pytest.raises(RuntimeError):
            with database.transaction() as inner:
                inner.execute("INSERT INTO notes (text) VALUES ('rolled back')")
                raise RuntimeError("inner part fails")
    texts = [row[0] for row in database.connection.execute("SELECT text FROM notes")]
    assert "kept" in texts and "rolled back" not in texts
