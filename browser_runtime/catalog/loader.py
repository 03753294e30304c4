"""Loading the catalog: the bridge server's (revalidated against the cached copy), else cached, else prebuilt.

The page keeps its last catalog in its database (``CatalogStore``), so it starts offline; the
catalog prebuilt by set-up ships with the page, so demo mode works with no server at all.

The page's worker starts the first load in the background once the data is open (``start``),
so the workbench is usable before it is done; whatever needs the catalog waits for that load
(``wait``, which the page's door calls first) instead of answering without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from browser_runtime import IN_PYODIDE
from browser_runtime.catalog.lookup import Catalog
from browser_runtime.catalog.store import CachedCatalog, CatalogStore
from browser_runtime.errors import LabwrightError

__all__ = ["CatalogLoader", "CatalogNotLoaded", "SERVER_DEFINITIONS"]

SERVER_DEFINITIONS = "/api/v1/definitions"

# Categories a hand-added PLR serialize() document may have, by its PLR type.
_CATEGORY_BY_TYPE = {
    "Plate": "plate",
    "TipRack": "tip_rack",
    "Trough": "trough",
    "TubeRack": "tube_rack",
    "Tube": "tube",
    "Lid": "lid",
    "PlateAdapter": "plate_adapter",
    "Container": "container",
}


class CatalogNotLoaded(LabwrightError, RuntimeError):
    pass


@dataclass(frozen=True)
class _Response:
    status: int
    etag: str | None
    body: bytes


class CatalogLoader:
    """The catalog a page works with, where it came from, and the lab's hand-added labware."""

    def __init__(self, store: CatalogStore) -> None:
        self.store = store
        self.catalog: Catalog | None = None
        self.cached: CachedCatalog | None = None
        self.server = "unknown"  # 'reachable' | 'unreachable' | 'unknown'
        self.revalidated = False
        self.custom: list[dict[str, Any]] = []
        self._loading: asyncio.Future[dict[str, Any]] | None = None  # the load under way or last done
        self._failure: str | None = None  # why the last load failed, for require()

    def start(self, prebuilt: dict[str, str] | None = None) -> None:
        """Begin loading in the background (unless a load is under way or one succeeded)."""
        if self._loading is None or (self._loading.done() and self.catalog is None):
            self._loading = asyncio.ensure_future(self._load(prebuilt))
            # Its failure is reported by require() and load(), not as an unretrieved task error.
            self._loading.add_done_callback(lambda task: task.cancelled() or task.exception())

    @property
    def loading(self) -> bool:
        return self._loading is not None and not self._loading.done()

    async def wait(self) -> None:
        """Return once no load is under way; a failed load is require()'s to report."""
        while self._loading is not None and not self._loading.done():
            await asyncio.wait([self._loading])

    async def load(self, prebuilt: dict[str, str] | None = None) -> dict[str, Any]:
        """Load the catalog; the bridge server's when reachable, else cached, else prebuilt.

        A load already under way (the worker's, started at boot) is joined, not repeated."""
        if not self.loading:
            self._loading = asyncio.ensure_future(self._load(prebuilt))
        return await asyncio.shield(self._loading)

    async def _load(self, prebuilt: dict[str, str] | None) -> dict[str, Any]:
        try:
            status = await self._load_once(prebuilt)
        except BaseException as error:
            self._failure = f"{type(error).__name__}: {error}"
            raise
        self._failure = None
        return status

    async def _load_once(self, prebuilt: dict[str, str] | None) -> dict[str, Any]:
        cached = self.store.load()
        self.revalidated = False
        chosen = await self._from_server(cached)
        if chosen is None:
            if cached is not None:
                chosen = cached
            elif prebuilt:
                chosen = await self._from_prebuilt(prebuilt)
            else:
                raise CatalogNotLoaded("no bridge server, no cached catalog and no prebuilt catalog")
        self._activate(chosen)
        return self.status()

    def use(self, document: dict[str, Any], *, source: str = "prebuilt") -> dict[str, Any]:
        """Take ``document`` as the catalog (stored like a loaded one): tests, the command line."""
        self._activate(self.store.save(document, source=source, etag=None))
        return self.status()

    def reload_cached(self) -> None:
        """Take the catalog the database holds now (after an import replaced the database)."""
        cached = self.store.load()
        if cached is not None:
            self._activate(cached)

    async def _from_server(self, cached: CachedCatalog | None) -> CachedCatalog | None:
        headers = {}
        if cached is not None and cached.source == "server" and cached.etag:
            headers["If-None-Match"] = cached.etag
        try:
            response = await _http_get(SERVER_DEFINITIONS, headers)
        except Exception:  # noqa: BLE001 - no server (static hosting, offline): not an error
            self.server = "unreachable"
            return None
        if response.status == 304 and cached is not None:
            self.server, self.revalidated = "reachable", True
            return cached
        if response.status != 200:
            self.server = "unreachable"
            return None
        self.server, self.revalidated = "reachable", True
        return self.store.save(json.loads(response.body), source="server", etag=response.etag)

    async def _from_prebuilt(self, prebuilt: dict[str, str]) -> CachedCatalog:
        response = await _http_get(prebuilt["url"], {})
        if response.status != 200:
            raise RuntimeError(f"prebuilt catalog {prebuilt['url']}: HTTP {response.status}")
        digest = hashlib.sha256(response.body).hexdigest()
        if digest != prebuilt["sha256"]:
            raise RuntimeError(f"prebuilt catalog {prebuilt['url']}: sha256 {digest} does not match the manifest")
        return self.store.save(json.loads(response.body), source="prebuilt", etag=None)

    def _activate(self, cached: CachedCatalog) -> None:
        custom = self.store.custom_definitions()
        document = dict(cached.document)
        if custom:
            document["resources"] = list(document.get("resources", [])) + custom
        self.cached, self.custom, self.catalog = cached, custom, Catalog(document)

    def require(self) -> Catalog:
        if self.catalog is None:
            if self._failure is not None:
                raise CatalogNotLoaded(f"the catalog could not be loaded ({self._failure})")
            raise CatalogNotLoaded("the catalog is not loaded yet: call catalog.load first")
        return self.catalog

    def status(self) -> dict[str, Any]:
        if self.catalog is None or self.cached is None:
            return {"loaded": False, "server": self.server}
        document = self.catalog.document
        return {
            "loaded": True,
            "source": self.cached.source,
            "etag": self.cached.etag,
            "stored_at": self.cached.stored_at,
            "server": self.server,
            "revalidated": self.revalidated,
            "schema_version": document.get("schema_version"),
            "plr_version": document.get("plr_version"),
            "counts": {
                section: len(document.get(section, []))
                for section in ("machines", "backends", "resources", "decks", "errors")
            },
            "custom": len(self.custom),
        }

    def add_custom_definition(self, serialized: dict[str, Any]) -> dict[str, Any]:
        """Add a lab's own labware from a PLR ``serialize()`` document, checked by PLR itself."""
        self.require()  # hand-added definitions wait until a catalog is loaded
        if not isinstance(serialized, dict):
            raise ValueError("a definition is a PLR serialize() document (a JSON object)")
        missing = [key for key in ("name", "type", "size_x", "size_y", "size_z") if key not in serialized]
        if missing:
            raise ValueError(f"definition is missing {', '.join(missing)}")
        category = _CATEGORY_BY_TYPE.get(serialized["type"])
        if category is None:
            raise ValueError(
                f"definition type {serialized['type']!r} is not labware this catalog takes "
                f"({', '.join(sorted(_CATEGORY_BY_TYPE))})"
            )
        from pylabrobot.resources import Resource

        try:
            resource = Resource.deserialize(serialized)
        except Exception as error:  # noqa: BLE001 - PLR's own reason goes back to the user
            raise ValueError(f"PLR cannot build this definition: {type(error).__name__}: {error}") from None
        entry = {
            "fqn": f"custom.{resource.name}",
            "name": resource.name,
            "module": "custom",
            "kind": "custom",
            "category": category,
            "resource_class": f"{type(resource).__module__}.{type(resource).__name__}",
            "manufacturer": None,
            "deprecated": None,
            "docstring": "added by hand in this browser",
            "size": {
                "x": resource.get_absolute_size_x(),
                "y": resource.get_absolute_size_y(),
                "z": resource.get_absolute_size_z(),
            },
            "geometry": None,
            "serialized": None,
            "skipped": None,
            "error": None,
            "source": "custom",
        }
        self.store.add_custom_definition(entry, serialized)
        assert self.cached is not None
        self._activate(self.cached)
        return entry


async def _http_get(url: str, headers: dict[str, str]) -> _Response:
    if IN_PYODIDE:
        from pyodide.http import pyfetch

        response = await pyfetch(url, headers=headers, cache="no-store")
        body = await response.bytes() if response.status == 200 else b""
        return _Response(response.status, response.headers.get("etag"), body)
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return _Response(response.status, response.headers.get("etag"), response.read())
    except urllib.error.HTTPError as error:
        return _Response(error.code, error.headers.get("etag"), b"")
