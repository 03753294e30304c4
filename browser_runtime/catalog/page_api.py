"""The catalog as the page's worker offers it: load (server, cache or prebuilt) and queries.

Called through ``browser_runtime.worker.call("catalog.<name>", args)``; every function takes
and returns JSON-able values. Loading prefers the bridge server's catalog (revalidated with
``If-None-Match`` against the copy cached in SQLite), then the cached copy, then the catalog
prebuilt by set-up that ships with the page, so demo mode works with no server.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from browser_runtime import IN_PYODIDE
from browser_runtime.catalog.lookup import Catalog
from browser_runtime.catalog.store import CachedCatalog, CatalogStore
from browser_runtime.errors import LabwrightError

__all__ = [
    "load",
    "status",
    "get",
    "search",
    "by_category",
    "dimensions",
    "add_custom_definition",
]

DATABASE = "/data/labwright.sqlite" if IN_PYODIDE else ".labwright-cache/page.sqlite"
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


@dataclass
class _State:
    catalog: Catalog | None = None
    cached: CachedCatalog | None = None
    server: str = "unknown"  # 'reachable' | 'unreachable' | 'unknown'
    revalidated: bool = False
    custom: list[dict[str, Any]] = field(default_factory=list)


_state = _State()


@dataclass(frozen=True)
class _Response:
    status: int
    etag: str | None
    body: bytes


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


def _store() -> CatalogStore:
    return CatalogStore(DATABASE)


async def _from_server(store: CatalogStore, cached: CachedCatalog | None) -> CachedCatalog | None:
    headers = {}
    if cached is not None and cached.source == "server" and cached.etag:
        headers["If-None-Match"] = cached.etag
    try:
        response = await _http_get(SERVER_DEFINITIONS, headers)
    except Exception:  # noqa: BLE001 - no server (static hosting, offline): not an error
        _state.server = "unreachable"
        return None
    if response.status == 304 and cached is not None:
        _state.server, _state.revalidated = "reachable", True
        return cached
    if response.status != 200:
        _state.server = "unreachable"
        return None
    _state.server, _state.revalidated = "reachable", True
    return store.save(json.loads(response.body), source="server", etag=response.etag)


async def _from_prebuilt(store: CatalogStore, prebuilt: dict[str, str]) -> CachedCatalog:
    response = await _http_get(prebuilt["url"], {})
    if response.status != 200:
        raise RuntimeError(f"prebuilt catalog {prebuilt['url']}: HTTP {response.status}")
    digest = hashlib.sha256(response.body).hexdigest()
    if digest != prebuilt["sha256"]:
        raise RuntimeError(f"prebuilt catalog {prebuilt['url']}: sha256 {digest} does not match the manifest")
    return store.save(json.loads(response.body), source="prebuilt", etag=None)


def _activate(cached: CachedCatalog, store: CatalogStore) -> None:
    custom = store.custom_definitions()
    document = dict(cached.document)
    if custom:
        document["resources"] = list(document.get("resources", [])) + custom
    _state.cached, _state.custom, _state.catalog = cached, custom, Catalog(document)


async def load(prebuilt: dict[str, str] | None = None) -> dict[str, Any]:
    """Load the catalog; the bridge server's when reachable, else cached, else prebuilt."""
    store = _store()
    cached = store.load()
    _state.revalidated = False
    chosen = await _from_server(store, cached)
    if chosen is None:
        if cached is not None:
            chosen = cached
        elif prebuilt:
            chosen = await _from_prebuilt(store, prebuilt)
        else:
            raise CatalogNotLoaded("no bridge server, no cached catalog and no prebuilt catalog")
    _activate(chosen, store)
    return status()


def _catalog() -> Catalog:
    if _state.catalog is None:
        raise CatalogNotLoaded("the catalog is not loaded yet: call catalog.load first")
    return _state.catalog


def status() -> dict[str, Any]:
    if _state.catalog is None or _state.cached is None:
        return {"loaded": False, "server": _state.server}
    document = _state.catalog.document
    return {
        "loaded": True,
        "source": _state.cached.source,
        "etag": _state.cached.etag,
        "stored_at": _state.cached.stored_at,
        "server": _state.server,
        "revalidated": _state.revalidated,
        "schema_version": document.get("schema_version"),
        "plr_version": document.get("plr_version"),
        "counts": {
            section: len(document.get(section, []))
            for section in ("machines", "backends", "resources", "decks", "errors")
        },
        "custom": len(_state.custom),
    }


def get(fqn: str) -> dict[str, Any] | None:
    return _catalog().get(fqn)


def search(text: str = "", limit: int = 50, section: str | None = None) -> list[dict[str, Any]]:
    catalog = _catalog()
    if not text.strip():
        entries = list(catalog.entries(section))[:limit]
    else:
        entries = catalog.search(text, limit=None)
        if section:
            entries = [entry for entry in entries if catalog.section_of(entry["fqn"]) == section]
        entries = entries[:limit]
    return [_summary(catalog, entry) for entry in entries]


def by_category(category: str) -> list[dict[str, Any]]:
    catalog = _catalog()
    return [_summary(catalog, entry) for entry in catalog.by_category(category)]


def dimensions(fqn: str) -> dict[str, float] | None:
    return _catalog().dimensions(fqn)


def _summary(catalog: Catalog, entry: dict[str, Any]) -> dict[str, Any]:
    section = catalog.section_of(entry["fqn"]) or "resources"
    kind = entry.get("category") or entry.get("kind") or entry.get("frontend_kind")
    return {"fqn": entry["fqn"], "name": entry["name"], "section": section, "kind": kind}


def add_custom_definition(serialized: dict[str, Any]) -> dict[str, Any]:
    """Add a lab's own labware from a PLR ``serialize()`` document, checked by PLR itself."""
    _catalog()  # hand-added definitions wait until a catalog is loaded
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
    fqn = f"custom.{resource.name}"
    entry = {
        "fqn": fqn,
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
    store = _store()
    store.add_custom_definition(entry, serialized)
    assert _state.cached is not None
    _activate(_state.cached, store)
    return _summary(_catalog(), entry)
