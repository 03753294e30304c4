"""An imported database is checked whole (schema, versions, integrity), migrated, and can be undone."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from browser_runtime.page import data
from browser_runtime.storage import Database, DatabaseError


def _image(build) -> str:
    connection = sqlite3.connect(":memory:")
    build(connection)
    connection.commit()
    return base64.b64encode(connection.serialize()).decode()


def _run_ids(session) -> list[str]:
    return [run["run_id"] for run in session.history.list()]


@pytest.fixture
def with_a_run(page_session):
    page_session.history.started("ours", protocol="p", function="f", filename="p.py", source="", parameters={},
                                 plan={}, simulate=True)
    return page_session


def test_a_file_with_a_runs_table_of_another_shape_is_refused_and_nothing_changes(with_a_run, run_async):
    # The check this replaces took any SQLite file with a table named `runs`.
    impostor = _image(lambda c: c.execute("CREATE TABLE runs (id INTEGER, note TEXT)"))
    with pytest.raises(DatabaseError) as refused:
        run_async(data.import_database(with_a_run, impostor))
    message = str(refused.value)
    assert "table runs, column run_id: is missing" in message
    assert "table runs, column note: is not a Labwright column" in message
    assert _run_ids(with_a_run) == ["ours"]


@pytest.mark.parametrize(("payload", "message"), [
    ("not base64!", "not a database export"),
    (base64.b64encode(b"hello, not a database").decode(), "does not start with the SQLite header"),
    (_image(lambda c: c.execute("CREATE TABLE photos (id)")), "not a Labwright database: it has none"),
])
def test_what_is_not_a_labwright_database_is_refused_saying_why(with_a_run, run_async, payload, message):
    with pytest.raises(DatabaseError, match=message):
        run_async(data.import_database(with_a_run, payload))
    assert _run_ids(with_a_run) == ["ours"]


def test_a_damaged_file_is_refused(with_a_run, run_async):
    exported = base64.b64decode(data.export_database(with_a_run)["base64"])
    damaged = bytearray(exported)
    for page in range(1, len(damaged) // 4096):  # every b-tree page but the first: an invalid page type
        damaged[page * 4096] = 0x42
    with pytest.raises(DatabaseError, match="damaged|not a usable|malformed"):
        run_async(data.import_database(with_a_run, base64.b64encode(bytes(damaged)).decode()))
    assert _run_ids(with_a_run) == ["ours"]


def test_a_database_of_a_newer_labwright_is_refused(with_a_run, run_async):
    exported = base64.b64decode(data.export_database(with_a_run)["base64"])
    newer = Database.in_memory(exported)
    with newer.transaction() as db:
        db.execute("UPDATE labwright_schema SET version = 99 WHERE component = 'runs'")
    with pytest.raises(DatabaseError, match="newer Labwright: runs is at version 99, this Labwright knows 2"):
        run_async(data.import_database(with_a_run, base64.b64encode(newer.image()).decode()))


def test_an_older_export_is_migrated_and_the_import_can_be_undone(with_a_run, run_async):
    def older(connection):  # what Labwright wrote before runs kept their value (no versions table)
        connection.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, protocol TEXT NOT NULL, function TEXT NOT NULL,"
            " filename TEXT NOT NULL, source TEXT NOT NULL, parameters TEXT NOT NULL, plan TEXT NOT NULL,"
            " simulate INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL,"
            " duration_ms REAL, error TEXT, events TEXT)")
        connection.execute("INSERT INTO runs VALUES ('theirs', 'p', 'f', 'p.py', '', '{}', '{}', 1, 'completed',"
                           " '2026-01-01T00:00:00.000+00:00', 12.5, 'null', '[]')")

    imported = run_async(data.import_database(with_a_run, _image(older)))
    assert "runs" in imported["migrated"] and imported["undo"] is True
    assert _run_ids(with_a_run) == ["theirs"]
    assert with_a_run.history.get("theirs")["value"] is None  # the column the migration added
    restored = run_async(data.undo_import(with_a_run))
    assert restored["restored"] == "before the import"
    assert _run_ids(with_a_run) == ["ours"]
    with pytest.raises(DatabaseError, match="no import to undo"):
        run_async(data.undo_import(with_a_run))


def test_an_export_imports_as_it_was(page_session, run_async):
    page_session.saved_plans.save("kept", "x = 1", {"parameters": {"a": 1}})
    exported = data.export_database(page_session)
    page_session.saved_plans.delete("kept")
    run_async(data.import_database(page_session, exported["base64"]))
    assert [p["name"] for p in page_session.saved_plans.list()] == ["kept"]
