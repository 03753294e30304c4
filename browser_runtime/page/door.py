"""The worker's one door: ``call("area.function", args)`` runs one page API function, JSON in and out.

Only what an area module lists in ``__all__`` can be called; arguments are bound to the
function's signature before it runs (the session is its first parameter, never the page's);
a request carrying a hardware grant runs holding it, one without runs holding none.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import inspect
from collections.abc import Awaitable
from typing import Any

from browser_runtime.errors import LabwrightError
from browser_runtime.page.session import PageSession

__all__ = ["AREAS", "WITHOUT_CATALOG", "PageApiError", "call", "functions", "needs_catalog", "reply_sent", "after_reply"]

#: The page's API areas: ``call("catalog.search", ...)`` runs ``search`` of the module named here.
AREAS: dict[str, str] = {
    "catalog": "browser_runtime.page.catalog",
    "runs": "browser_runtime.page.runs",
    "protocols": "browser_runtime.page.protocols",
    "repl": "browser_runtime.page.repl",
    "data": "browser_runtime.page.data",
    "schedule": "browser_runtime.page.schedule",
    "devices": "browser_runtime.page.devices",
    "library": "browser_runtime.page.library",
    "deck": "browser_runtime.page.deck",
    "inventory": "browser_runtime.page.inventory",
}


#: What runs without waiting for the catalog's first load (the worker starts it in the background
#: once the data is open): the page's own files, saved plans, run history and inventory list, the
#: console, and the catalog's own status. Everything else waits for that load, so nothing answers as if the
#: catalog were empty or missing. An area listed whole ("library") or one function ("runs.get").
WITHOUT_CATALOG: frozenset[str] = frozenset({
    "catalog.load", "catalog.status", "library", "repl",
    "data.saved_plans", "data.can_undo_import", "data.export_database",
    "runs.history", "runs.get", "runs.active", "runs.wait", "runs.cancel", "inventory.items",
})


def needs_catalog(name: str) -> bool:
    return name not in WITHOUT_CATALOG and name.partition(".")[0] not in WITHOUT_CATALOG


class PageApiError(LabwrightError):
    """A request the page made that the API does not offer, or with bad arguments."""


def functions() -> dict[str, Any]:
    """Every callable ``area.function`` with its function (for the door and the contract test)."""
    found = {}
    for area, module_name in AREAS.items():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            found[f"{area}.{name}"] = getattr(module, name)
    return found


def _resolve(name: str) -> Any:
    area, _, function = name.partition(".")
    module_name = AREAS.get(area)
    if module_name is None or not function:
        raise PageApiError(f"unknown API {name!r}; areas: {sorted(AREAS)}")
    module = importlib.import_module(module_name)
    if function not in getattr(module, "__all__", ()):
        raise PageApiError(f"unknown API {name!r}: {module_name} offers {sorted(module.__all__)}")
    return getattr(module, function)


# The reply of the request being served: runs started by it wait for it before their code runs.
_reply: contextvars.ContextVar[asyncio.Future[None] | None] = contextvars.ContextVar("labwright_reply", default=None)
_replies: dict[int, asyncio.Future[None]] = {}


async def call(session: PageSession, name: str, args: dict[str, Any], *, request_id: int | None = None,
               grant: Any = None) -> Any:
    """Run one page API function for ``session``; errors are raised as they are."""
    from browser_runtime.webbridge.grants import holding

    function = _resolve(name)
    if not isinstance(args, dict):
        raise PageApiError(f"{name}: arguments must be a JSON object, not {type(args).__name__}")
    try:
        inspect.signature(function).bind(session, **args)
    except TypeError as error:
        raise PageApiError(f"{name}: {error}") from None
    if request_id is not None:
        _replies[request_id] = asyncio.get_running_loop().create_future()
        _reply.set(_replies[request_id])
    if needs_catalog(name):
        await session.catalog_loader.wait()
    with holding(grant):
        value = function(session, **args)
        if inspect.isawaitable(value):
            value = await value
    return value


def reply_sent(request_id: int) -> None:
    """The page has the reply of ``request_id``: what the request started may go on."""
    future = _replies.pop(request_id, None)
    if future is not None and not future.done():
        future.set_result(None)


def after_reply() -> Awaitable[None]:
    """An awaitable done once the current request's reply is sent (at once outside a request)."""
    future = _reply.get()
    if future is None:
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
    return future
