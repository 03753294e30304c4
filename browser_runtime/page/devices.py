"""Area ``devices``: PLR backends on the devices the user connected, held by the page's console.

The device picker asks here which USB ids to filter the browser's choosers by, which backends
can drive a granted device (best first, with why), a backend's settings (its constructor's
parameters, filled in for the device) and to connect: the settings arrive as the Python source
the user typed (``'webserial-0'``, ``9600``, ``None``) and are read as literals here, never evaluated. A connected backend is set up inside
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

__all__ = ["usb_ids", "backends_for", "backend_parameters", "connect", "disconnect", "connections", "run_spec"]

#: Which backend IO kinds can drive a device granted through each browser API. FTDI chips reach
#: PLR through Web Serial (the OS's serial driver) or WebUSB (FTDI's vendor protocol).
IO_KINDS: dict[str, tuple[str, ...]] = {"serial": ("serial", "ftdi"), "usb": ("usb", "ftdi"), "hid": ("hid",)}

#: pyserial's line settings as PLR's serial backends pass them (the catalog's ``serial`` entry).
LINE_SETTINGS = ("baudrate", "bytesize", "parity", "stopbits", "rtscts", "dsrdtr")


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


def _hardware_backends(session: PageSession) -> list[dict[str, Any]]:
    """Backends that drive a device through an IO kind of the browser's (not simulators)."""
    return [entry for entry in session.catalog.entries("backends")
            if entry.get("io") and entry.get("io") != "none" and not entry.get("simulator")]


def _io_kinds(kind: str) -> tuple[str, ...]:
    if kind not in IO_KINDS:
        raise ValueError(f"device kind {kind!r}: one of {', '.join(IO_KINDS)}")
    return IO_KINDS[kind]


def _usb_id(vid: int, pid: int) -> str:
    return f"{vid:04X}:{pid:04X}"


def usb_ids(session: PageSession) -> dict[str, Any]:
    """What the browser's choosers are filtered by: ``{choosers: {serial | usb | hid: [{vid, pid}]}``
    (every USB id a hardware backend of a fitting IO kind declares, in catalog order), ``ftdi``:
    the ids of FTDI chips that carry an instrument maker's ids (driven over WebUSB with FTDI's
    vendor requests), ``backends``: how many hardware backends there are."""
    backends = _hardware_backends(session)
    choosers: dict[str, list[dict[str, int]]] = {}
    for kind, io_kinds in IO_KINDS.items():
        seen: set[tuple[int, int]] = set()
        choosers[kind] = []
        for entry in backends:
            if entry["io"] not in io_kinds:
                continue
            for usb in entry.get("usb_ids") or []:
                key = (usb["vid"], usb["pid"])
                if key not in seen:
                    seen.add(key)
                    choosers[kind].append({"vid": usb["vid"], "pid": usb["pid"]})
    ftdi = [{"vid": usb["vid"], "pid": usb["pid"]} for entry in backends if entry["io"] == "ftdi"
            for usb in entry.get("usb_ids") or []]
    return {"choosers": choosers, "ftdi": ftdi, "backends": len(backends)}


def backends_for(session: PageSession, kind: str, vendor_id: int | None = None,
                 product_id: int | None = None) -> dict[str, Any]:
    """The backends that can drive a granted ``kind`` device (``serial``, ``usb``, ``hid``), best first.

    ``matched`` when some declare the device's USB id: then only those; else every backend that
    speaks over this kind of device, for the user to choose from. Deprecated ones come last, then
    subclasses of another candidate (PLR's renamed aliases such as ``STAR(STARBackend)`` warn),
    then by name. Each is ``{fqn, name, io, frontend_kind, deprecated, serial, why: [reasons]}``.
    """
    io_kinds = _io_kinds(kind)
    fitting = [entry for entry in _hardware_backends(session) if entry["io"] in io_kinds]
    matched = [] if vendor_id is None else [
        entry for entry in fitting
        if any(u["vid"] == vendor_id and u["pid"] == product_id for u in entry.get("usb_ids") or [])]
    candidates = matched or fitting
    fqns = {entry["fqn"] for entry in candidates}

    def alias_of(entry: dict[str, Any]) -> str | None:
        return next((base for base in entry.get("bases") or [] if base in fqns), None)

    def rank(entry: dict[str, Any]) -> tuple[int, str, str]:
        return ((2 if entry.get("deprecated") else 0) + (1 if alias_of(entry) else 0),
                entry["name"].casefold(), entry["name"])

    ranked = []
    for entry in sorted(candidates, key=rank):
        why = [f"declares USB id {_usb_id(vendor_id, product_id)}" if matched
               else f"a {entry['io']} backend; none declares "
                    + (f"USB id {_usb_id(vendor_id, product_id)}" if vendor_id is not None else "this port")]
        base = alias_of(entry)
        if base:
            why.append(f"a subclass of {base.rpartition('.')[2]}, listed after it")
        if entry.get("deprecated"):
            why.append(f"deprecated: {entry['deprecated']}" if isinstance(entry["deprecated"], str) else "deprecated")
        ranked.append({"fqn": entry["fqn"], "name": entry["name"], "io": entry["io"],
                       "frontend_kind": entry.get("frontend_kind"), "deprecated": bool(entry.get("deprecated")),
                       "serial": entry.get("serial"), "why": why})
    return {"matched": bool(matched), "io_kinds": list(io_kinds), "backends": ranked}


def _suggested(parameter: str, default: str | None, kind: str, device: dict[str, Any],
               serial: dict[str, Any] | None) -> str:
    """The literal text the picker fills in: the device's own name for a serial backend's port,
    its serial number, the catalog's line settings where the constructor has no default."""
    if kind == "serial" and (parameter == "port" or parameter.endswith("_port")) and device.get("name"):
        return repr(str(device["name"]))
    if parameter == "serial_number" and device.get("serial_number"):
        return repr(str(device["serial_number"]))
    known = (serial or {}).get(parameter) if parameter in LINE_SETTINGS else None
    if known is not None and default in (None, "None"):
        return repr(known)
    return default if default is not None else ""


def backend_parameters(session: PageSession, fqn: str, device: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The backend's constructor parameters: name, required, default (as source), annotation, and
    ``value``: the text to fill in for ``device`` (``{name, kind, serial_number}`` of a granted device)."""
    cls, entry = _backend_class(session, fqn)
    if device is not None and not isinstance(device, dict):
        raise ValueError("device: must be {name, kind, serial_number} of a granted device")
    device = device or {}
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
        found[-1]["value"] = _suggested(parameter.name, found[-1]["default"], device.get("kind", ""), device,
                                        entry.get("serial"))
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
