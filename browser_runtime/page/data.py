"""Area ``data``: the page's database as a file (export; import, checked and undoable) and saved plans."""

from __future__ import annotations

import base64
from typing import Any

from browser_runtime.page.session import COMPONENTS, PageSession
from browser_runtime.storage import DatabaseError
from browser_runtime.storage.imports import check_image

__all__ = ["export_database", "import_database", "undo_import", "can_undo_import", "saved_plans", "save_plan",
           "delete_plan"]


def export_database(session: PageSession) -> dict[str, Any]:
    """A consistent copy of the whole database as base64, for the page to download."""
    data = session.database.image()
    return {"filename": "labwright.sqlite", "size": len(data), "base64": base64.b64encode(data).decode()}


def _idle(session: PageSession, action: str) -> None:
    if session.runs.active():
        raise DatabaseError(f"cannot {action} while a run is going on: wait for it or cancel it first")


async def import_database(session: PageSession, base64_data: str) -> dict[str, Any]:
    """Replace the database with an exported one, checked whole and migrated first. The database it
    replaces is kept (``undo_import`` brings it back); nothing changes unless the file checks out."""
    try:
        data = base64.b64decode(base64_data, validate=True)
    except Exception as error:  # noqa: BLE001
        raise DatabaseError(f"not a database export: {error}") from None
    checked = check_image(data, COMPONENTS)
    _idle(session, "import a database")
    await session.backups.put(session.database.image(), "before the import")
    session.database.replace(checked.image)
    session.replaced()
    return {"imported": True, "size": len(data), "tables": checked.tables, "migrated": checked.migrated,
            "versions": checked.found_versions, "undo": True}


async def undo_import(session: PageSession) -> dict[str, Any]:
    """Bring back the database the last import replaced."""
    kept = await session.backups.get()
    if kept is None:
        raise DatabaseError("there is no import to undo")
    _idle(session, "undo the import")
    image, label = kept
    session.database.replace(image)
    await session.backups.clear()
    session.replaced()
    return {"restored": label, "size": len(image)}


async def can_undo_import(session: PageSession) -> bool:
    """Whether a database an import replaced is kept (``undo_import`` would bring it back)."""
    return await session.backups.get() is not None


def saved_plans(session: PageSession) -> list[dict[str, Any]]:
    return session.saved_plans.list()


def save_plan(session: PageSession, name: str, source: str, options: dict[str, Any],
              filename: str = "protocol.py") -> dict[str, Any]:
    return session.saved_plans.save(name, source, options, filename)


def delete_plan(session: PageSession, name: str) -> dict[str, Any]:
    return {"deleted": session.saved_plans.delete(name)}
