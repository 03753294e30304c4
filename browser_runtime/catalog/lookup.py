"""Catalog: read-only queries over a catalog document (by fqn or any re-export path, category, text)."""

from __future__ import annotations

from typing import Any, Iterator

from .names import snake_case

_SECTIONS = ("machines", "backends", "resources", "decks")


class Catalog:
    """Lookups over one catalog document; pure Python, so the page's worker uses it as is."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._by_fqn: dict[str, tuple[str, dict]] = {}
        for section in _SECTIONS:
            for entry in document.get(section, []):
                self._by_fqn[entry["fqn"]] = (section, entry)
        self._aliases: dict[str, str] = dict(document.get("aliases", {}))

    def __len__(self) -> int:
        return len(self._by_fqn)

    def entries(self, section: str | None = None) -> Iterator[dict]:
        for name in (section,) if section else _SECTIONS:
            yield from self.document.get(name, [])

    def canonical(self, fqn: str) -> str | None:
        """The defining fqn for any path PLR exports a definition under, or None."""
        if fqn in self._by_fqn:
            return fqn
        target = self._aliases.get(fqn)
        return target if target in self._by_fqn else None

    def get(self, fqn: str) -> dict | None:
        canonical = self.canonical(fqn)
        return self._by_fqn[canonical][1] if canonical else None

    def section_of(self, fqn: str) -> str | None:
        canonical = self.canonical(fqn)
        return self._by_fqn[canonical][0] if canonical else None

    def by_category(self, category: str) -> list[dict]:
        """Resources of one category (``plate``, ``tip_rack``, ...), or machines of one kind."""
        found = [e for e in self.entries("resources") if e.get("category") == category]
        found += [e for e in self.entries("machines") if e.get("kind") == category]
        if category == "deck":
            found += list(self.entries("decks"))
        return found

    def search(self, text: str, limit: int | None = 50) -> list[dict]:
        """Entries whose name, fqn, manufacturer, category or summary contain every word of ``text``."""
        words = [w for w in text.lower().split() if w]
        scored = []
        for entry in self.entries():
            haystack = " ".join(
                str(entry.get(k) or "")
                for k in (
                    "name",
                    "fqn",
                    "manufacturer",
                    "category",
                    "kind",
                    "frontend_kind",
                    "docstring",
                )
            ).lower()
            if all(w in haystack for w in words):
                name = entry["name"].lower()
                # Exact and prefix name matches first, then shorter names.
                rank = (
                    0
                    if name == text.lower()
                    else 1
                    if name.startswith(words[0] if words else "")
                    else 2,
                    len(name),
                )
                scored.append((rank, entry["fqn"], entry))
        scored.sort(key=lambda item: (item[0], item[1]))
        result = [entry for _, _, entry in scored]
        return result[:limit] if limit is not None else result

    def dimensions(self, fqn: str) -> dict[str, float] | None:
        """Outer size ``{x, y, z}`` in mm of a resource or deck, as PLR computes it."""
        entry = self.get(fqn)
        return entry.get("size") if entry else None

    def backends_for(self, frontend_kind: str) -> list[dict]:
        return [e for e in self.entries("backends") if e.get("frontend_kind") == frontend_kind]

    def frontend_for(self, kind: str | None) -> dict | None:
        """PLR's generic frontend class of a machine kind (``scale`` -> ``...scale.Scale``), or None.

        The machine whose class name is the kind (``snake_case(name) == kind``: the kind was named
        after it); failing that any machine of the kind; ties go to the shortest fqn.
        """
        if kind is None:
            return None
        machines = [m for m in self.entries("machines") if m.get("kind") == kind]
        named = [m for m in machines if snake_case(m["name"]) == kind]
        chosen = sorted(named or machines, key=lambda m: (len(m["fqn"]), m["fqn"]))
        return chosen[0] if chosen else None
