"""The Python side of the page's worker: one session namespace, JSON in and out.

Only strings cross the JS boundary here, so nothing the worker keeps in Python holds a
JS object (that keeps Pyodide memory snapshots possible, and the protocol explicit).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from browser_runtime import IN_PYODIDE
from browser_runtime.evaluate import CellError, new_namespace, run_cell

_namespace: dict[str, Any] = new_namespace()


async def run_python(code: str) -> str:
    """``{"ok": true, "value": repr}`` or ``{"ok": false, "error": {type, message, traceback}}``."""
    try:
        value = await run_cell(code, _namespace)
    except CellError as error:
        return json.dumps(
            {
                "ok": False,
                "error": {"type": error.type, "message": error.message, "traceback": error.traceback},
            }
        )
    return json.dumps({"ok": True, "value": value})


def emit(channel: str, payload: Any) -> None:
    """Post an event to the page (in the worker); elsewhere, to listeners registered here."""
    for listener in list(_listeners.get(channel, ())):
        listener(payload)
    if IN_PYODIDE:
        import js  # the worker's global scope

        js.labwrightEmit(channel, json.dumps(payload))


_listeners: dict[str, list[Any]] = {}


def add_listener(channel: str, listener: Any) -> None:
    _listeners.setdefault(channel, []).append(listener)


def remove_listener(channel: str, listener: Any) -> None:
    _listeners.get(channel, []).remove(listener)


#: The page's API areas: ``call("catalog.search", ...)`` runs ``search`` from the module
#: named here, if that module lists it in ``__all__`` (its public surface).
API_AREAS: dict[str, str] = {
    "catalog": "browser_runtime.catalog.page_api",
    "runs": "browser_runtime.runner.page_api",
    "protocols": "browser_runtime.protocols.page_api",
    "repl": "browser_runtime.repl.page_api",
    "data": "browser_runtime.data_api",
    "schedule": "browser_runtime.scheduler.page_api",
}


class PageApiError(Exception):
    """A request the page made that the API does not offer, or with bad arguments."""


def _resolve(name: str) -> Any:
    area, _, function = name.partition(".")
    module_name = API_AREAS.get(area)
    if module_name is None or not function:
        raise PageApiError(f"unknown API {name!r}; areas: {sorted(API_AREAS)}")
    module = importlib.import_module(module_name)
    if function not in getattr(module, "__all__", ()):
        raise PageApiError(f"unknown API {name!r}: {module_name} offers {sorted(module.__all__)}")
    return getattr(module, function)


async def call(name: str, args_json: str) -> str:
    """Run one page API function; ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": ...}``."""
    import inspect
    import traceback

    try:
        function = _resolve(name)
        args = json.loads(args_json)
        if not isinstance(args, dict):
            raise PageApiError(f"{name}: arguments must be a JSON object, not {type(args).__name__}")
        try:
            inspect.signature(function).bind(**args)
        except TypeError as error:
            raise PageApiError(f"{name}: {error}") from None
        value = function(**args)
        if inspect.isawaitable(value):
            value = await value
        return json.dumps({"ok": True, "value": value})
    except Exception as error:  # noqa: BLE001 - every failure goes back to the page as data
        return json.dumps(
            {
                "ok": False,
                "error": {
                    "type": type(error).__name__,
                    "message": str(error),
                    "traceback": "".join(traceback.format_exception(error)),
                },
            }
        )


def versions_json() -> str:
    from browser_runtime.boot import versions_dict

    return json.dumps(versions_dict())
