"""The lab's shared state in SQLite or PostgreSQL: one schema, versioned migrations, change notifications."""

from bridge_server.database.engine import (
    DatabaseError,
    DatabaseTooNew,
    DatabaseUnavailable,
    LabDatabase,
    database_url,
    redacted,
)

__all__ = ["DatabaseError", "DatabaseTooNew", "DatabaseUnavailable", "LabDatabase", "database_url",
           "redacted"]
