"""SQLite for every store: one shared connection, versioned schemas, saving only what changed."""

from __future__ import annotations

from browser_runtime.storage.database import Changes, Database, DatabaseError
from browser_runtime.storage.schema import Component, SchemaProblem, migrate, problems, shape, versions

__all__ = [
    "Changes",
    "Component",
    "Database",
    "DatabaseError",
    "SchemaProblem",
    "migrate",
    "problems",
    "shape",
    "versions",
]
