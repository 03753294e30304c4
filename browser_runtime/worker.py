"""The Python side of the page's worker (web/worker/worker.js): the page session, its door and its saving.

Only strings and bytes cross the JS boundary here, so nothing the worker keeps in Python holds
a JS object (that keeps Pyodide memory snapshots possible, and the protocol explicit). This
module and ``webbridge/transport.py`` are the only ones that touch ``js``.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from browser_runtime import IN_PYODIDE
from browser_runtime.errors import LabwrightError

_session: Any = None  # the PageSession, once the page's database is open


class DataNotOpen(LabwrightError, RuntimeError):
    """The page's data is not open in this tab (Labwright is open in another one)."""


def _require_session() -> Any:
    if _session is None:
        raise DataNotOpen("Labwright's data is open in another tab of this browser: use that tab, "
                          "or choose 'Use here' to move it to this one")
    return _session


def emit(channel: str, payload: Any) -> None:
    """Post an event to the page."""
    if IN_PYODIDE:
        import js  # the worker's global scope

        js.labwrightEmit(channel, json.dumps(payload))


def _save_soon() -> None:
    if IN_PYODIDE:
        import js

        js.labwrightSaveSoon()


class _PageBackups:
    """The database before an import, kept in IndexedDB by the worker (web/worker/worker.js)."""

    async def put(self, image: bytes, label: str) -> None:
        import js
        from pyodide.ffi import to_js

        await js.labwrightBackups.put(to_js(image), label)

    async def get(self) -> tuple[bytes, str] | None:
        import js

        kept = await js.labwrightBackups.get()
        if not kept:
            return None
        return kept.image.to_bytes(), str(kept.label)

    async def clear(self) -> None:
        import js

        await js.labwrightBackups.clear()


def open_session(image: Any = None, saved: bool = True) -> str:
    """Open the page's database (from its saved image, or empty) and the session over it.

    ``saved`` False: the image is not in the page's store yet (it came from an older
    Labwright's file), so the first save writes all of it."""
    global _session
    from browser_runtime import interrupts
    from browser_runtime.page import door
    from browser_runtime.page.session import PageSession
    from browser_runtime.storage import Database

    interrupts.install()  # the page's interrupt stops a busy run or cell, never the worker's own code
    data = image.to_bytes() if hasattr(image, "to_bytes") else image
    database = Database.in_memory(bytes(data) if data else None)
    if not saved:
        database.forget_saved()
    database.on_commit = _save_soon
    _session = PageSession.open(database, emit=emit, backups=_PageBackups() if IN_PYODIDE else None,
                                gate=door.after_reply, console=_console)
    return json.dumps({"recovered": _session.recovered})


def start_catalog(prebuilt_json: str | None = None) -> None:
    """Begin loading the catalog in the background (the page is usable before it is loaded;
    requests that need it wait for it: ``page.door``). ``prebuilt_json``: set-up's catalog
    ``{url, sha256}``, for a page with no bridge server and nothing cached."""
    _require_session().catalog_loader.start(json.loads(prebuilt_json) if prebuilt_json else None)


def close_session() -> None:
    """This tab gives the data up (another tab takes it over): no request reaches it any more."""
    global _session
    _session = None


def _error(error: BaseException) -> dict[str, Any]:
    return {"type": type(error).__name__, "message": str(error),
            "traceback": "".join(traceback.format_exception(error)),
            **({"problems": error.problems} if getattr(error, "problems", None) else {})}


def _grant(grant_json: str | None) -> Any:
    if not grant_json:
        return None
    from browser_runtime.webbridge.grants import Grant

    document = json.loads(grant_json)
    return Grant(token=str(document["token"]), holder=str(document.get("holder", "console")))


async def call(request_id: int, name: str, args_json: str, grant_json: str | None = None) -> str:
    """Run one page API function: ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": ...}``."""
    from browser_runtime.page import door

    try:
        value = await door.call(_require_session(), name, json.loads(args_json), request_id=request_id,
                                grant=_grant(grant_json))
        return json.dumps({"ok": True, "value": value})
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - every failure goes back as data
        return json.dumps({"ok": False, "error": _error(error)})


def reply_sent(request_id: int) -> None:
    from browser_runtime.page import door

    door.reply_sent(request_id)


async def run_python(code: str, grant_json: str | None = None) -> str:
    """Run ``code`` in the console's namespace (the REPL's): the ``repr`` of its last expression."""
    from browser_runtime.evaluate import CellError, run_cell
    from browser_runtime.webbridge.grants import holding

    try:
        with holding(_grant(grant_json)):
            value = await run_cell(code, _console.session.namespace)
    except CellError as error:
        return json.dumps({"ok": False, "error": {"type": error.type, "message": error.message,
                                                  "traceback": error.traceback}})
    return json.dumps({"ok": True, "value": value})


def _new_console() -> Any:
    from browser_runtime.page.session import Console

    return Console()


# The console (REPL and runPython namespace) outlives the data: runPython works before the data
# is open, and what it defined stays when the data moves to another tab and back.
_console = _new_console()


def database_changes() -> Any:
    """``(meta_json, pages)`` the worker must write now (changed pages back to back), or None."""
    if _session is None:
        return None
    changes = _session.database.changes()
    if changes is None:
        return None
    meta = {"generation": changes.generation, "page_size": changes.page_size,
            "page_count": changes.page_count, "pages": sorted(changes.pages)}
    _pending[changes.generation] = changes
    return json.dumps(meta), changes.blob()


_pending: dict[int, Any] = {}


def database_saved(generation: int, ok: bool = True) -> None:
    """The worker wrote (or failed to write) the pages of ``generation``."""
    changes = _pending.pop(generation, None)
    if _session is None or changes is None:
        return
    if ok:
        _session.database.saved(changes)
    else:
        # What the store holds now is unknown (it may have been cleared): the next save writes all.
        _session.database.forget_saved()


def database_forget_saved() -> None:
    """The page's store lost what it had: the next save writes the whole database."""
    if _session is not None:
        _session.database.forget_saved()


def versions_json() -> str:
    """What ``ready`` reports; everything ``ready`` promises (and the worker needs) is imported first."""
    from browser_runtime.boot import prepare_worker, versions_dict

    versions = versions_dict()
    prepare_worker()
    return json.dumps(versions)
