"""Captures kept with their runs: the device IO of each hardware run, in PLR's capture format, in SQLite."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from browser_runtime.storage import Component, Database, migrate

__all__ = ["COMPONENT", "CaptureStore"]

_V1 = """
CREATE TABLE IF NOT EXISTS run_captures (
    run_id TEXT PRIMARY KEY,         -- the run (runs.run_id) whose devices this is the IO of
    capture TEXT NOT NULL,           -- PLR's capture JSON: {version, commands: [...]}
    commands INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
)
"""

#: Run captures as one part of a database (see browser_runtime.storage.schema).
COMPONENT = Component("run_captures", tables=("run_captures",), migrations=(_V1,),
                      legacy_version=lambda connection: 1)


class CaptureStore:
    def __init__(self, database: Database | str | Path) -> None:
        self.database = Database.of(database)
        migrate(self.database.connection, [COMPONENT])

    def save(self, run_id: str, document: dict[str, Any]) -> None:
        recorded_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self.database.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO run_captures VALUES (?, ?, ?, ?)",
                               (run_id, json.dumps(document), len(document.get("commands") or []), recorded_at))

    def get(self, run_id: str) -> dict[str, Any] | None:
        row = self.database.connection.execute(
            "SELECT capture FROM run_captures WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def summary(self, run_id: str) -> dict[str, Any] | None:
        row = self.database.connection.execute(
            "SELECT commands, recorded_at FROM run_captures WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else {"run_id": run_id, "commands": row[0], "recorded_at": row[1]}
