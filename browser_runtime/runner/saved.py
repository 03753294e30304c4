"""Saved plans: a protocol with the choices a user made for it (parameters, deck), under a name."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from browser_runtime.storage import Component, Database, migrate

__all__ = ["COMPONENT", "SavedPlans"]

_V1 = """
CREATE TABLE IF NOT EXISTS saved_plans (
    name TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    source TEXT NOT NULL,
    options TEXT NOT NULL,         -- JSON: {function, parameters, deck}
    saved_at TEXT NOT NULL
)
"""

#: Saved plans as one part of a database (see browser_runtime.storage.schema).
COMPONENT = Component("saved_plans", tables=("saved_plans",), migrations=(_V1,),
                      legacy_version=lambda connection: 1)


class SavedPlans:
    def __init__(self, database: Database | str | Path) -> None:
        self.database = Database.of(database)
        migrate(self.database.connection, [COMPONENT])

    def list(self) -> list[dict[str, Any]]:
        rows = self.database.connection.execute(
            "SELECT name, filename, source, options, saved_at FROM saved_plans ORDER BY saved_at DESC, name"
        ).fetchall()
        return [{"name": r[0], "filename": r[1], "source": r[2], "options": json.loads(r[3]), "saved_at": r[4]}
                for r in rows]

    def save(self, name: str, source: str, options: dict[str, Any], filename: str = "protocol.py") -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a saved plan needs a name")
        if not isinstance(options, dict):
            raise ValueError("a saved plan's options are an object: {function, parameters, deck}")
        saved_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.database.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO saved_plans VALUES (?, ?, ?, ?, ?)",
                               (name, filename, source, json.dumps(options), saved_at))
        return {"name": name, "saved_at": saved_at}

    def delete(self, name: str) -> bool:
        with self.database.transaction() as connection:
            return bool(connection.execute("DELETE FROM saved_plans WHERE name = ?", (name,)).rowcount)
