"""Area ``devices``: PLR backends on the devices the user connected, held by the page's console.

The device picker asks here for a backend's settings (its constructor's parameters) and to
connect: the settings arrive as the Python source the user typed (``'webserial-0'``, ``9600``,
``None``) and are read as literals here, never evaluated. A connected backend is set up inside
the console's hardware grant and put in the console's scope (REPL and ``runPython``) under a
variable named for its machine kind.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from browser_runtime.page.session import PageSession

__all__ = ["backend_parameters", "connect", "disconnect", "connections", "run_spec"]


@dataclass
class Connection:
    device: str
    backend_fqn: str
    variable: str
    settings: dict[str, str]
    backend: Any


def _backend_class(session: PageSession, fqn: str) -> Any:
    entry = session.catalog.get(fqn)
    if entry is None or session.catalog.section_of(fqn) != "backends":
        raise LookupError(f"{fqn} is not a PLR backend in the catalog")
    return getattr(importlib.import_module(entry["module"]), entry["name"]), entry


def backend_parameters(session: PageSession, fqn: str) -> list[dict[str, Any]]:
    """The backend's constructor parameters: name, required, default (as source), annotation."""
    cls, _ = _backend_class(session, fqn)
    found = []
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = parameter.annotation
        found.append({
            "name": parameter.name,
            "required": parameter.default is parameter.empty,
            "default": None if parameter.default is parameter.empty else repr(parameter.default),
            "annotation": None if annotation is parameter.empty else (
                annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))),
        })
    return found


def settings_as_kwargs(settings: dict[str, str], where: str) -> dict[str, Any]:
    """The picker's settings (Python literals as typed) as keyword arguments; anything else is refused."""
    if not isinstance(settings, dict):
        raise ValueError(f"{where}: settings must be an object of parameter name -> literal text")
    kwargs = {}
    for name, text in settings.items():
        if not isinstance(text, str):
            raise ValueError(f"{where}.{name}: a setting is the literal text typed for it")
        if not text.strip():
            continue
        try:
            kwargs[name] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"{where}.{name}: {text.strip()!r} is not a Python literal (a number, "
                             "a quoted string, True/False/None, or a list/dict of those)") from None
    return kwargs


def _connections(session: PageSession) -> dict[str, Connection]:
    return session.console.devices


async def connect(session: PageSession, device: str, backend: str, settings: dict[str, str]) -> dict[str, Any]:
    """Build ``backend`` with ``settings`` and set it up on ``device`` (the console must hold it)."""
    cls, entry = _backend_class(session, backend)
    kwargs = settings_as_kwargs(settings, device)
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as error:
        raise ValueError(f"{device}: {entry['name']}: {error}") from None
    await disconnect(session, device)
    instance = cls(**kwargs)
    connections = _connections(session)
    taken = {c.variable for c in connections.values()}
    base = f"{entry.get('frontend_kind') or 'device'}_backend"
    variable = base
    for number in range(2, 1000):
        if variable not in taken:
            break
        variable = f"{base}_{number}"
    try:
        await instance.setup()
    except BaseException:
        try:  # a backend that failed half-way releases the port it opened
            await instance.stop()
        except Exception:  # noqa: BLE001
            pass
        raise
    connections[device] = Connection(device, backend, variable, dict(settings), instance)
    session.console.add_to_scope({variable: instance})
    return {"device": device, "backend": backend, "variable": variable}


async def disconnect(session: PageSession, device: str) -> dict[str, Any]:
    """Stop the backend connected on ``device`` (nothing to do if none is)."""
    connection = _connections(session).pop(device, None)
    if connection is None:
        return {"device": device, "stopped": False}
    session.console.session.namespace.pop(connection.variable, None)
    await connection.backend.stop()
    return {"device": device, "stopped": True, "variable": connection.variable}


def connections(session: PageSession) -> list[dict[str, Any]]:
    return [{"device": c.device, "backend": c.backend_fqn, "variable": c.variable}
            for c in _connections(session).values()]


def run_spec(session: PageSession, backend: str, settings: dict[str, str], device: str) -> dict[str, Any]:
    """``{backend, kwargs}`` for a hardware run from the picker's settings of ``device``."""
    _backend_class(session, backend)
    return {"backend": backend, "kwargs": settings_as_kwargs(settings, device)}
