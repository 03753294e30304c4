"""A backend's constructor keywords, checked against the parameters the catalog stored for it.

Device profiles and connect requests are checked before anything is built or stored: the rule
is ``browser_runtime.machines.backend_problems`` (the runner checks hardware runs with it too);
here its problems become one 422 problem-details answer naming every field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bridge_server.errors import ApiError
from browser_runtime.catalog import Catalog
from browser_runtime.machines import backend_problems


def backend_entry(catalog: Catalog, backend: str, where: str = "body.backend") -> dict[str, Any]:
    """The catalog entry of the PLR backend ``backend``, or 422 naming ``where``."""
    entry = catalog.get(backend)
    if entry is None or catalog.section_of(backend) != "backends":
        raise ApiError(422, f"backend: {backend!r} is not a PLR backend in the catalog",
                       kind="validation", errors=[{"loc": where, "message": "unknown backend"}])
    return entry


def parameter_names(entry: dict[str, Any]) -> set[str]:
    return {p["name"] for p in entry.get("parameters") or []}


def check_config(entry: dict[str, Any], config: dict[str, Any], implied: Iterable[str] = (),
                 where: str = "config") -> None:
    """422 naming every unknown, missing or mistyped constructor argument of the backend."""
    errors = backend_problems(entry, config, implied=implied, where=where)
    if not errors:
        return
    unknown = [e["loc"] for e in errors if e["message"].startswith("unknown field")]
    detail = "; ".join(f"{e['loc']} {e['message']}" for e in errors)
    if unknown:
        detail = f"unknown field(s): {', '.join(unknown)}. " + detail
    raise ApiError(422, detail, kind="validation", errors=errors, unknown_fields=unknown,
                   parameters=[{"name": p["name"], "required": p["required"], "annotation": p.get("annotation")}
                               for p in entry.get("parameters") or []])
