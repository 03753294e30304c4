"""Run history in SQLite: every run with its parameters, plan, events, outcome and duration."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    protocol TEXT NOT NULL,          -- the protocol's name (decorator name or function)
    function TEXT NOT NULL,
    filename TEXT NOT NULL,
    source TEXT NOT NULL,
    parameters TEXT NOT NULL,        -- JSON: what the caller gave
    plan TEXT NOT NULL,              -- JSON: how every parameter was resolved
    simulate INTEGER NOT NULL,
    status TEXT NOT NULL,            -- running | completed | failed | cancelled | interrupted
    started_at TEXT NOT NULL,
    duration_ms REAL,
    error TEXT,                      -- JSON or NULL
    events TEXT,                     -- JSON list, written when the run ends
    value TEXT                       -- JSON: what the protocol returned, written when it ends
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunHistory:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._schema_ready = False

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path)
        if not self._schema_ready:  # once per history, not on every read and write
            connection.executescript(_SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
            if "value" not in columns:  # a history written before runs kept their return value
                with connection:
                    connection.execute("ALTER TABLE runs ADD COLUMN value TEXT")
            self._schema_ready = True
        return connection

    def _write(self, sql: str, values: tuple[Any, ...]) -> None:
        connection = self._connect()
        try:
            with connection:
                connection.execute(sql, values)
        finally:
            connection.close()

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
            (run_id, protocol, function, filename, source, json.dumps(parameters), json.dumps(plan),
             int(simulate), _now()),
        )

    def finished(self, run_id: str, result: dict[str, Any]) -> None:
        self._write(
            "UPDATE runs SET status = ?, duration_ms = ?, error = ?, events = ?, value = ?"
            " WHERE run_id = ?",
            (result["status"], result["duration_ms"], json.dumps(result["error"]),
             json.dumps(result["events"]), json.dumps(result.get("value")), run_id),
        )

    def mark_interrupted(self) -> int:
        """Runs still 'running' from an earlier page load were cut short (reload, crash)."""
        connection = self._connect()
        try:
            with connection:
                return connection.execute(
                    "UPDATE runs SET status = 'interrupted' WHERE status = 'running'"
                ).rowcount
        finally:
            connection.close()

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT run_id, protocol, function, status, started_at, duration_ms, simulate"
                " FROM runs ORDER BY started_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("run_id", "protocol", "function", "status", "started_at", "duration_ms", "simulate")
        return [dict(zip(keys, row)) | {"simulate": bool(row[6])} for row in rows]

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        record = dict(row)
        for key in ("parameters", "plan", "error", "events", "value"):
            record[key] = json.loads(record[key]) if record[key] is not None else None
        record["simulate"] = bool(record["simulate"])
        return record
