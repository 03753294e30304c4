"""The page's protocol library: files with an autosaved draft each, and saved versions to compare.

A file has a name (unique), its draft (what the editor shows, saved as it is typed), where it
came from (new, upload, paste, a demo's copy, a duplicate) and numbered versions saved on
purpose. Demo protocols are never changed: opening one makes an editable copy here. Restoring
an old version first keeps the draft it replaces as a version, so nothing typed is lost.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from browser_runtime.errors import LabwrightError
from browser_runtime.storage import Component, Database, migrate

__all__ = ["COMPONENT", "LibraryError", "ProtocolLibrary"]

_V1 = """
CREATE TABLE protocol_files (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,             -- the draft: what the editor shows, saved as it is typed
    origin TEXT NOT NULL,             -- new | upload | paste | demo:<file> | copy:<name>
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0  -- bumped by every change of the draft
);
CREATE TABLE protocol_versions (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES protocol_files(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    source TEXT NOT NULL,
    label TEXT,
    saved_at TEXT NOT NULL,
    UNIQUE (file_id, number)
)
"""

#: The protocol library as one part of a database (see browser_runtime.storage.schema).
COMPONENT = Component("library", tables=("protocol_files", "protocol_versions"), migrations=(_V1,))

_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,120}$")
MAX_SOURCE = 2_000_000  # characters; a protocol is code, not data


class LibraryError(LabwrightError, ValueError):
    """Bad input for the library (a name taken, a file that does not exist...), said plainly."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProtocolLibrary:
    def __init__(self, database: Database | str | Path) -> None:
        self.database = Database.of(database)
        migrate(self.database.connection, [COMPONENT])

    # ---- reading ----------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        rows = self.database.connection.execute(
            "SELECT f.id, f.name, f.origin, f.created_at, f.updated_at, f.revision, length(f.source),"
            " (SELECT count(*) FROM protocol_versions v WHERE v.file_id = f.id)"
            " FROM protocol_files f ORDER BY f.updated_at DESC, f.name").fetchall()
        keys = ("id", "name", "origin", "created_at", "updated_at", "revision", "size", "versions")
        return [dict(zip(keys, row)) for row in rows]

    def get(self, file_id: int) -> dict[str, Any]:
        row = self.database.connection.execute(
            "SELECT id, name, source, origin, created_at, updated_at, revision FROM protocol_files WHERE id = ?",
            (self._id(file_id),)).fetchone()
        if row is None:
            raise LibraryError(f"no protocol file {file_id}")
        keys = ("id", "name", "source", "origin", "created_at", "updated_at", "revision")
        return dict(zip(keys, row)) | {"versions": self.versions(file_id)}

    def versions(self, file_id: int) -> list[dict[str, Any]]:
        rows = self.database.connection.execute(
            "SELECT number, label, saved_at, length(source) FROM protocol_versions WHERE file_id = ?"
            " ORDER BY number DESC", (self._id(file_id),)).fetchall()
        return [{"number": r[0], "label": r[1], "saved_at": r[2], "size": r[3]} for r in rows]

    def version(self, file_id: int, number: int) -> str:
        row = self.database.connection.execute(
            "SELECT source FROM protocol_versions WHERE file_id = ? AND number = ?",
            (self._id(file_id), number)).fetchone()
        if row is None:
            raise LibraryError(f"protocol file {file_id} has no version {number}")
        return str(row[0])

    def diff(self, file_id: int, older: int | None = None, newer: int | None = None) -> str:
        """The unified diff from version ``older`` (the last one when None) to version ``newer``
        (the draft when None)."""
        file = self.get(file_id)
        if older is None:
            if not file["versions"]:
                older_text, older_name = "", "(nothing saved)"
            else:
                older = file["versions"][0]["number"]
        if older is not None:
            older_text, older_name = self.version(file_id, older), f"{file['name']} (version {older})"
        newer_text = file["source"] if newer is None else self.version(file_id, newer)
        newer_name = f"{file['name']} (draft)" if newer is None else f"{file['name']} (version {newer})"
        return "".join(difflib.unified_diff(older_text.splitlines(keepends=True), newer_text.splitlines(keepends=True),
                                            fromfile=older_name, tofile=newer_name))

    # ---- writing ----------------------------------------------------------------------------

    def create(self, name: str, source: str = "", origin: str = "new") -> dict[str, Any]:
        name = self._name(name)
        self._source(source)
        now = _now()
        with self.database.transaction() as db:
            if db.execute("SELECT 1 FROM protocol_files WHERE name = ?", (name,)).fetchone():
                raise LibraryError(f"a protocol file named {name!r} exists already: choose another name")
            cursor = db.execute("INSERT INTO protocol_files (name, source, origin, created_at, updated_at)"
                                " VALUES (?, ?, ?, ?, ?)", (name, source, origin, now, now))
        return self.get(int(cursor.lastrowid))

    def free_name(self, name: str) -> str:
        """``name``, or ``name (2).py``... the first one no file has."""
        name = self._name(name)
        stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
        taken = {row[0] for row in self.database.connection.execute("SELECT name FROM protocol_files")}
        candidate, number = name, 2
        while candidate in taken:
            candidate = f"{stem} ({number}){dot}{suffix}"
            number += 1
        return candidate

    def save_draft(self, file_id: int, source: str, revision: int | None = None) -> dict[str, Any]:
        """The editor's text as it is now; ``revision`` (what the editor last saw) guards against
        writing over a newer draft from elsewhere."""
        self._source(source)
        with self.database.transaction() as db:
            row = db.execute("SELECT revision, source FROM protocol_files WHERE id = ?", (self._id(file_id),)).fetchone()
            if row is None:
                raise LibraryError(f"no protocol file {file_id}")
            if revision is not None and revision != row[0]:
                raise LibraryError(f"protocol file {file_id} changed elsewhere (revision {row[0]}, "
                                   f"the editor had {revision}): reopen it")
            if row[1] == source:
                return {"id": file_id, "revision": row[0], "changed": False}
            now = _now()
            db.execute("UPDATE protocol_files SET source = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                       (source, now, file_id))
        return {"id": file_id, "revision": row[0] + 1, "changed": True, "updated_at": now}

    def save_version(self, file_id: int, label: str | None = None) -> dict[str, Any]:
        """The draft kept as the next numbered version (nothing new if it equals the last one)."""
        with self.database.transaction() as db:
            file = db.execute("SELECT source FROM protocol_files WHERE id = ?", (self._id(file_id),)).fetchone()
            if file is None:
                raise LibraryError(f"no protocol file {file_id}")
            last = db.execute("SELECT number, source FROM protocol_versions WHERE file_id = ? ORDER BY number DESC"
                              " LIMIT 1", (file_id,)).fetchone()
            if last is not None and last[1] == file[0] and not label:
                return {"number": last[0], "new": False}
            number = (last[0] if last else 0) + 1
            db.execute("INSERT INTO protocol_versions (file_id, number, source, label, saved_at) VALUES (?, ?, ?, ?, ?)",
                       (file_id, number, file[0], (label or "").strip()[:200] or None, _now()))
        return {"number": number, "new": True}

    def restore(self, file_id: int, number: int) -> dict[str, Any]:
        """Version ``number`` becomes the draft; the draft it replaces is kept as a version first."""
        source = self.version(file_id, number)
        with self.database.transaction():
            kept = self.save_version(file_id)
            self.save_draft(file_id, source)
        return {"restored": number, "kept_draft_as": kept["number"]}

    def rename(self, file_id: int, name: str) -> dict[str, Any]:
        name = self._name(name)
        with self.database.transaction() as db:
            if db.execute("SELECT 1 FROM protocol_files WHERE name = ? AND id != ?", (name, file_id)).fetchone():
                raise LibraryError(f"a protocol file named {name!r} exists already: choose another name")
            if db.execute("UPDATE protocol_files SET name = ?, updated_at = ? WHERE id = ?",
                          (name, _now(), self._id(file_id))).rowcount == 0:
                raise LibraryError(f"no protocol file {file_id}")
        return self.get(file_id)

    def duplicate(self, file_id: int, name: str | None = None) -> dict[str, Any]:
        file = self.get(file_id)
        return self.create(self.free_name(name or file["name"]), file["source"], origin=f"copy:{file['name']}")

    def delete(self, file_id: int) -> dict[str, Any]:
        with self.database.transaction() as db:
            row = db.execute("SELECT name FROM protocol_files WHERE id = ?", (self._id(file_id),)).fetchone()
            if row is None:
                raise LibraryError(f"no protocol file {file_id}")
            db.execute("DELETE FROM protocol_files WHERE id = ?", (file_id,))
        return {"deleted": row[0]}

    # ---- checks -----------------------------------------------------------------------------

    @staticmethod
    def _id(file_id: Any) -> int:
        if isinstance(file_id, bool) or not isinstance(file_id, int):
            raise LibraryError(f"a protocol file id is a number, not {file_id!r}")
        return file_id

    @staticmethod
    def _name(name: Any) -> str:
        if not isinstance(name, str) or not _NAME.match(name.strip()):
            raise LibraryError(f"a protocol file needs a name of 1-120 characters without slashes, not {name!r}")
        return name.strip()

    @staticmethod
    def _source(source: Any) -> None:
        if not isinstance(source, str):
            raise LibraryError("a protocol's source is text")
        if len(source) > MAX_SOURCE:
            raise LibraryError(f"a protocol of {len(source):,} characters is over the limit of {MAX_SOURCE:,}")
