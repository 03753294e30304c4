"""The PLR definitions catalog as the server holds it: loaded once, served with ETag and gzip."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browser_runtime.catalog import SCHEMA_VERSION, Catalog, build_catalog

log = logging.getLogger("labwright")


@dataclass(frozen=True)
class CatalogSnapshot:
    """One catalog document with its wire forms (compact JSON, gzip) and strong ETag."""

    document: dict[str, Any]
    catalog: Catalog
    body: bytes
    gzipped: bytes
    etag: str
    origin: str  # "prebuilt" | "built"

    @property
    def has_geometry(self) -> bool:
        """Whether PLR's factories were called for this document (sizes and geometry filled)."""
        return any(entry.get("size") for entry in self.document.get("resources", []))

    @classmethod
    def of(cls, document: dict[str, Any], origin: str) -> CatalogSnapshot:
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(document, Catalog(document), body, gzip.compress(body, 6, mtime=0),
                   f'"{digest}"', origin)


def _entries(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for section in ("machines", "backends", "resources", "decks"):
        for entry in document.get(section, []):
            found[entry["fqn"]] = entry
    return found


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, list[str]]:
    before, after = _entries(old or {}), _entries(new)
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(f for f in before.keys() & after.keys() if before[f] != after[f]),
    }


class CatalogService:
    """Builds (or loads the prebuilt) catalog once, in a thread, shared by every waiting request.

    ``prebuilt`` (set-up's ``build/catalog/catalog.json``, with geometry) is used as is when it
    exists and no extra sources are configured; otherwise the sources are parsed without
    geometry, with LibCST's per-file cache in the data dir, so only the first start is cold.
    """

    def __init__(self, prebuilt: Path, cache_dir: Path, sources: tuple[Path, ...] = ()) -> None:
        self.prebuilt = prebuilt
        self.cache_dir = cache_dir
        self.sources = sources
        self._snapshot: CatalogSnapshot | None = None
        self._future: asyncio.Future[CatalogSnapshot] | None = None
        self._build_lock = threading.Lock()
        self._sync_lock: asyncio.Lock | None = None
        self._files: dict[str, Path] = {}

    def _load(self) -> CatalogSnapshot:
        with self._build_lock:
            if self._snapshot is not None:
                return self._snapshot
            if self.prebuilt.is_file() and not self.sources:
                try:
                    document = json.loads(self.prebuilt.read_text(encoding="utf-8"))
                    if document.get("schema_version") != SCHEMA_VERSION:
                        raise ValueError(f"schema {document.get('schema_version')!r}, not {SCHEMA_VERSION!r}")
                    self._snapshot = CatalogSnapshot.of(document, "prebuilt")
                    return self._snapshot
                except (OSError, ValueError) as exc:
                    log.warning("prebuilt catalog %s unusable (%s); building", self.prebuilt, exc)
            self._snapshot = self._build(geometry=False)
            return self._snapshot

    def _build(self, geometry: bool) -> CatalogSnapshot:
        document = build_catalog(list(self.sources), cache_dir=self.cache_dir, geometry=geometry)
        return CatalogSnapshot.of(document, "built")

    def start(self) -> None:
        """Begin loading in the background (from the lifespan); idempotent."""
        if self._future is None:
            self._future = asyncio.ensure_future(asyncio.to_thread(self._load))

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    async def get(self) -> CatalogSnapshot:
        if self._snapshot is not None:
            return self._snapshot
        self.start()
        assert self._future is not None
        return await asyncio.shield(self._future)

    async def file(self) -> Path:
        """The current catalog as a file, for worker processes (REPL, estimates) to load."""
        snapshot = await self.get()
        path = self._files.get(snapshot.etag)
        if path is None:
            path = await asyncio.to_thread(self._write, snapshot)
            self._files[snapshot.etag] = path
        return path

    def _write(self, snapshot: CatalogSnapshot) -> Path:
        if snapshot.origin == "prebuilt" and self.prebuilt.is_file():
            return self.prebuilt
        path = self.cache_dir / f"served-{snapshot.etag.strip(chr(34))}.json"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(snapshot.body)
            partial.replace(path)  # a reader never sees half a file
            for older in self.cache_dir.glob("served-*.json"):  # workers ask for the current one
                if older != path:
                    older.unlink(missing_ok=True)
        return path

    async def sync(self) -> dict[str, Any]:
        """Rebuild from the sources now (keeping geometry if the current catalog has it, so a
        second sync keeps it too)."""
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        async with self._sync_lock:
            current = await self.get()
            geometry = current.has_geometry
            fresh = await asyncio.to_thread(self._build, geometry)
            changes = diff(current.document, fresh.document)
            self._snapshot = fresh
            return {**changes, "etag": fresh.etag, "source_hash": fresh.document.get("source_hash"),
                    "geometry": geometry}
