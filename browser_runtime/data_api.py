"""The page's whole database as a file: export it, or import one in its place (checked first)."""

from __future__ import annotations

import base64
import os
import sqlite3
import tempfile
from typing import Any

__all__ = ["export_database", "import_database", "saved_plans", "save_plan", "delete_plan"]

_PLANS = """
CREATE TABLE IF NOT EXISTS saved_plans (
    name TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    source TEXT NOT NULL,
    options TEXT NOT NULL,         -- JSON: {function, parameters, deck}
    saved_at TEXT NOT NULL
)
"""
# A database we can take in place of ours has at least these tables.
_REQUIRED_TABLES = {"runs"}


def _path() -> str:
    from browser_runtime.runner.page_api import DATABASE

    return DATABASE


def _connect() -> sqlite3.Connection:
    connection = sqlite3.connect(_path())
    connection.execute(_PLANS)
    return connection


def export_database() -> dict[str, Any]:
    """A consistent copy (SQLite's backup API) as base64, for the page to download."""
    from browser_runtime.runner.page_api import _runs

    _runs()  # make sure the file exists with its tables
    source = sqlite3.connect(_path())
    with tempfile.TemporaryDirectory() as folder:
        copy_path = os.path.join(folder, "export.sqlite")
        target = sqlite3.connect(copy_path)
        with target:
            source.backup(target)
        target.close()
        source.close()
        with open(copy_path, "rb") as handle:
            data = handle.read()
    return {"filename": "labwright.sqlite", "size": len(data), "base64": base64.b64encode(data).decode()}


def import_database(base64_data: str) -> dict[str, Any]:
    """Replace the database with an exported one; refused (and ours kept) unless it checks out."""
    try:
        data = base64.b64decode(base64_data, validate=True)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"not a database export: {error}") from None
    if not data.startswith(b"SQLite format 3\x00"):
        raise ValueError("not an SQLite database (the file does not start with the SQLite header)")
    folder = os.path.dirname(_path()) or "."
    staged = os.path.join(folder, ".import.sqlite")
    with open(staged, "wb") as handle:
        handle.write(data)
    try:
        connection = sqlite3.connect(staged)
        try:
            check = connection.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            connection.close()
        if check != "ok":
            raise ValueError(f"the database is damaged: {check}")
        missing = _REQUIRED_TABLES - tables
        if missing:
            raise ValueError(f"not a Labwright database: no {', '.join(sorted(missing))} table")
    except sqlite3.DatabaseError as error:
        os.remove(staged)
        raise ValueError(f"not a usable SQLite database: {error}") from None
    except ValueError:
        os.remove(staged)
        raise
    _forget_open_handles()
    os.replace(staged, _path())  # atomic: the old database stays whole until this succeeds
    return {"imported": True, "size": len(data), "tables": sorted(tables)}


def _forget_open_handles() -> None:
    from browser_runtime.runner import page_api

    if page_api._inventory_store is not None:
        page_api._inventory_store.close()
    page_api._inventory_store = None
    page_api._history = None


def saved_plans() -> list[dict[str, Any]]:
    import json

    with _connect() as connection:
        rows = connection.execute(
            "SELECT name, filename, source, options, saved_at FROM saved_plans ORDER BY saved_at DESC"
        ).fetchall()
    return [{"name": r[0], "filename": r[1], "source": r[2], "options": json.loads(r[3]), "saved_at": r[4]}
            for r in rows]


def save_plan(name: str, source: str, options: dict[str, Any], filename: str = "protocol.py") -> dict[str, Any]:
    import json
    from datetime import datetime, timezone

    if not name.strip():
        raise ValueError("a saved plan needs a name")
    saved_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    connection = _connect()
    try:
        with connection:
            connection.execute("INSERT OR REPLACE INTO saved_plans VALUES (?, ?, ?, ?, ?)",
                               (name, filename, source, json.dumps(options), saved_at))
    finally:
        connection.close()
    return {"name": name, "saved_at": saved_at}


def delete_plan(name: str) -> dict[str, Any]:
    connection = _connect()
    try:
        with connection:
            deleted = connection.execute("DELETE FROM saved_plans WHERE name = ?", (name,)).rowcount
    finally:
        connection.close()
    return {"deleted": bool(deleted)}
