"""Area ``catalog``: load the PLR catalog (server, cache or prebuilt) and query it."""

from __future__ import annotations

from typing import Any

from browser_runtime.catalog.lookup import Catalog
from browser_runtime.page.session import PageSession

__all__ = ["load", "status", "get", "search", "by_category", "dimensions", "add_custom_definition"]


async def load(session: PageSession, prebuilt: dict[str, str] | None = None, refresh: bool = False) -> dict[str, Any]:
    """The bridge server's catalog when reachable, else the cached one, else the prebuilt one.

    The worker starts this load itself once the data is open: a call joins it (or, once it is
    done, answers with what it loaded); ``refresh`` loads again."""
    loader = session.catalog_loader
    if refresh or loader.loading or loader.catalog is None:
        return await loader.load(prebuilt)
    return loader.status()


def status(session: PageSession) -> dict[str, Any]:
    return session.catalog_loader.status()


def get(session: PageSession, fqn: str) -> dict[str, Any] | None:
    return session.catalog.get(fqn)


def search(session: PageSession, text: str = "", limit: int = 50, section: str | None = None) -> list[dict[str, Any]]:
    catalog = session.catalog
    if not text.strip():
        entries = list(catalog.entries(section))[:limit]
    else:
        entries = catalog.search(text, limit=None)
        if section:
            entries = [entry for entry in entries if catalog.section_of(entry["fqn"]) == section]
        entries = entries[:limit]
    return [_summary(catalog, entry) for entry in entries]


def by_category(session: PageSession, category: str) -> list[dict[str, Any]]:
    catalog = session.catalog
    return [_summary(catalog, entry) for entry in catalog.by_category(category)]


def dimensions(session: PageSession, fqn: str) -> dict[str, float] | None:
    return session.catalog.dimensions(fqn)


def add_custom_definition(session: PageSession, serialized: dict[str, Any]) -> dict[str, Any]:
    """Add a lab's own labware from a PLR ``serialize()`` document, checked by PLR itself."""
    entry = session.catalog_loader.add_custom_definition(serialized)
    return _summary(session.catalog, entry)


def _summary(catalog: Catalog, entry: dict[str, Any]) -> dict[str, Any]:
    section = catalog.section_of(entry["fqn"]) or "resources"
    kind = entry.get("category") or entry.get("kind") or entry.get("frontend_kind")
    return {"fqn": entry["fqn"], "name": entry["name"], "section": section, "kind": kind}
