"""The catalog cache in SQLite: the page keeps its last catalog (and where it came from) here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from browser_runtime.catalog.schema import SCHEMA_VERSION
from browser_runtime.storage import Component, Database, migrate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_cache (
    slot INTEGER PRIMARY KEY CHECK (slot = 1),
    source TEXT NOT NULL,          -- 'server' | 'prebuilt'
    etag TEXT,                     -- the server's ETag, for If-None-Match
    schema_version TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS custom_definitions (
    fqn TEXT PRIMARY KEY,
    entry TEXT NOT NULL,           -- a catalog resource entry (JSON)
    serialized TEXT NOT NULL,      -- the PLR serialize() document it came from (JSON)
    added_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class CachedCatalog:
    source: str
    etag: str | None
    stored_at: str
    document: dict[str, Any]


#: The catalog cache as one part of a database (see browser_runtime.storage.schema).
COMPONENT = Component("catalog", tables=("catalog_cache", "custom_definitions"), migrations=(_SCHEMA,),
                      legacy_version=lambda connection: 1)


class CatalogStore:
    """One part of a database; every write is one transaction, so a failed write keeps the old copy."""

    def __init__(self, database: Database | str | Path) -> None:
        self.database = Database.of(database)
        migrate(self.database.connection, [COMPONENT])

    def load(self) -> CachedCatalog | None:
        row = self.database.connection.execute(
            "SELECT source, etag, stored_at, schema_version, document FROM catalog_cache"
        ).fetchone()
        if row is None or row[3] != SCHEMA_VERSION:
            return None  # a catalog of another schema is refetched, never misread
        return CachedCatalog(source=row[0], etag=row[1], stored_at=row[2], document=json.loads(row[4]))

    def save(self, document: dict[str, Any], *, source: str, etag: str | None) -> CachedCatalog:
        if document.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"catalog schema_version {document.get('schema_version')!r} is not the supported "
                f"{SCHEMA_VERSION!r}"
            )
        stored_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        text = json.dumps(document, separators=(",", ":"))
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO catalog_cache VALUES (1, ?, ?, ?, ?, ?)",
                (source, etag, SCHEMA_VERSION, stored_at, text),
            )
        return CachedCatalog(source=source, etag=etag, stored_at=stored_at, document=document)

    def custom_definitions(self) -> list[dict[str, Any]]:
        rows = self.database.connection.execute("SELECT entry FROM custom_definitions ORDER BY fqn").fetchall()
        return [json.loads(row[0]) for row in rows]

    def add_custom_definition(self, entry: dict[str, Any], serialized: dict[str, Any]) -> None:
        added_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO custom_definitions VALUES (?, ?, ?, ?)",
                (entry["fqn"], json.dumps(entry), json.dumps(serialized), added_at),
            )

    def custom_serialized(self, fqn: str) -> dict[str, Any] | None:
        row = self.database.connection.execute(
            "SELECT serialized FROM custom_definitions WHERE fqn = ?", (fqn,)
        ).fetchone()
        return json.loads(row[0]) if row else None
