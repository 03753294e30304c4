"""Run history in SQLite: every run with its parameters, plan, events, outcome and duration.

A run's plan (its deck drawn in full) and events are most of a record: they are stored as
zlib-compressed JSON (a BLOB; about 20 times smaller), the rest as JSON text. Records written
before hold JSON text in those columns too and read the same.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from browser_runtime.storage import Component, Database, migrate

_RUNS_V1 = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    protocol TEXT NOT NULL,          -- the protocol's name (decorator name or function)
    function TEXT NOT NULL,
    filename TEXT NOT NULL,
    source TEXT NOT NULL,
    parameters TEXT NOT NULL,        -- JSON: what the caller gave
    plan TEXT NOT NULL,              -- JSON: how every parameter was resolved (see _packed)
    simulate INTEGER NOT NULL,
    status TEXT NOT NULL,            -- running | completed | failed | cancelled | interrupted
    started_at TEXT NOT NULL,
    duration_ms REAL,
    error TEXT,                      -- JSON or NULL
    events TEXT                      -- JSON list, written when the run ends (see _packed)
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at)
"""


def _add_value_column(connection: sqlite3.Connection) -> None:
    # v2: runs keep what the protocol returned (a history from before gains the column).
    columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    if "value" not in columns:
        connection.execute("ALTER TABLE runs ADD COLUMN value TEXT")


def _legacy_version(connection: sqlite3.Connection) -> int:
    columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    return 2 if "value" in columns else 1


#: The run history as one part of a database (see browser_runtime.storage.schema).
COMPONENT = Component("runs", tables=("runs",), migrations=(_RUNS_V1, _add_value_column),
                      legacy_version=_legacy_version)


def _packed(document: Any) -> bytes:
    """A large JSON column's value: compressed (level 1: a run's events repeat themselves a lot,
    the fastest level already takes them to about a twentieth)."""
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 1)


def _unpacked(value: str | bytes | None) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes):
        return json.loads(zlib.decompress(value))
    return json.loads(value)  # JSON text: every column of records written before, the small ones now


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunHistory:
    def __init__(self, database: Database | str | Path) -> None:
        self.database = Database.of(database)
        self.path = self.database.path
        migrate(self.database.connection, [COMPONENT])

    def _write(self, sql: str, values: tuple[Any, ...]) -> None:
        with self.database.transaction() as connection:
            connection.execute(sql, values)

    def started(
        self,
        run_id: str,
        *,
        protocol: str,
        function: str,
        filename: str,
        source: str,
        parameters: dict[str, Any],
        plan: dict[str, Any],
        simulate: bool,
    ) -> None:
        self._write(
            "INSERT INTO runs (run_id, protocol, function, filename, source, parameters, plan, simulate,"
            " status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
            (run_id, protocol, function, filename, source, json.dumps(parameters), _packed(plan),
             int(simulate), _now()),
        )

    def finished(self, run_id: str, result: dict[str, Any]) -> None:
        self._write(
            "UPDATE runs SET status = ?, duration_ms = ?, error = ?, events = ?, value = ?"
            " WHERE run_id = ?",
            (result["status"], result["duration_ms"], json.dumps(result["error"]),
             _packed(result["events"]), json.dumps(result.get("value")), run_id),
        )

    def mark_interrupted(self) -> list[str]:
        """Runs still 'running' from an earlier page load were cut short (reload, crash): their ids."""
        with self.database.transaction() as connection:
            run_ids = [row[0] for row in connection.execute("SELECT run_id FROM runs WHERE status = 'running'")]
            connection.execute("UPDATE runs SET status = 'interrupted',"
                               " error = COALESCE(error, ?) WHERE status = 'running'",
                               (json.dumps({"type": "Interrupted", "message":
                                            "the page was closed or reloaded while the run ran"}),))
        return run_ids

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.database.connection.execute(
            "SELECT run_id, protocol, function, status, started_at, duration_ms, simulate"
            " FROM runs ORDER BY started_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("run_id", "protocol", "function", "status", "started_at", "duration_ms", "simulate")
        return [dict(zip(keys, row)) | {"simulate": bool(row[6])} for row in rows]

    def get(self, run_id: str) -> dict[str, Any] | None:
        cursor = self.database.connection.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        record = dict(zip([column[0] for column in cursor.description], row))
        for key in ("parameters", "plan", "error", "events", "value"):
            record[key] = _unpacked(record[key])
        record["simulate"] = bool(record["simulate"])
        return record
