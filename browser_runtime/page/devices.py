"""Area ``devices``: PLR backends on the devices the user connected, held by the page's console.

The device picker asks here which USB ids to filter the browser's choosers by, which backends
can drive a granted device (best first, with why, and whether one may be preselected), a
backend's settings (its constructor's parameters, filled in for the device) and to connect:
the settings arrive as the Python source the user typed (``'webserial-0'``, ``9600``, ``None``)
and are read as literals here, never evaluated. A connected backend is set up inside the
console's hardware grant and put in the console's scope (REPL and ``runPython``) under a
variable named for its machine kind.

Chained devices (webbridge/interfaces.py): a device whose object others talk through (a Hamilton
heater-shaker box, an Inheco TEC control box, a STAR's TCC ports) is connected once; ``route``
sets up the machines on it (a heater-shaker at index 1, one at index 2) over that one connection.

The device broker (web/io/device-broker.js) hands the console's devices to hardware runs: the
console's backend on a device is stopped cleanly (``suspend``) and set up again when the run
gives the device back (``resume``). The console's device IO can be recorded (``capture_start``,
``capture_stop``) in PLR's capture format, as every hardware run's is (``run_capture``), and a
capture replayed against a protocol (``replay``) reports the first command that differs.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from browser_runtime.page.session import PageSession

__all__ = ["usb_ids", "backends_for", "backend_parameters", "connect", "route", "disconnect", "suspend",
           "resume", "connections", "run_spec", "capture_start", "capture_stop", "run_capture", "replay"]

#: Which backend IO kinds can drive a device granted through each browser API. FTDI chips reach
#: PLR through Web Serial (the OS's serial driver) or WebUSB (FTDI's vendor protocol).
IO_KINDS: dict[str, tuple[str, ...]] = {"serial": ("serial", "ftdi"), "usb": ("usb", "ftdi"), "hid": ("hid",)}

#: pyserial's line settings as PLR's serial backends pass them (the catalog's ``serial`` entry).
LINE_SETTINGS = ("baudrate", "bytesize", "parity", "stopbits", "rtscts", "dsrdtr")

#: Constructor parameters that name the device itself: filled in for the device at hand, on every
#: page load (a port's name is a per-load counter), never remembered from an earlier one.
DEVICE_PARAMETERS = ("port", "serial_port", "com_port", "device_id", "serial_number")

#: USB ids of general-purpose USB-serial chips: an instrument with one of these says nothing about
#: what it is (a balance and an incubator stack both use FTDI's 0403:6001), so no backend is
#: preselected for it; the user chooses, and the choice is remembered for that device.
GENERIC_CHIPS: dict[tuple[int, int], str] = {
    (0x0403, 0x6001): "FTDI FT232R", (0x0403, 0x6010): "FTDI FT2232", (0x0403, 0x6011): "FTDI FT4232",
    (0x0403, 0x6014): "FTDI FT232H", (0x0403, 0x6015): "FTDI FT-X", (0x067B, 0x2303): "Prolific PL2303",
    (0x10C4, 0xEA60): "Silicon Labs CP210x", (0x1A86, 0x7523): "WCH CH340",
}


@dataclass
class Connection:
    device: str  # the device's name; for a machine routed through another: "<device>/<n>"
    backend_fqn: str
    variable: str
    settings: dict[str, str]
    backend: Any
    via: str | None = None  # the device whose connection a routed machine talks through
    suspended: bool = False  # lent to a hardware run: stopped, set up again when it comes back
    routed: list[str] = field(default_factory=list)  # names of machines routed through this one


def _import(fqn: str) -> Any:
    module, _, name = fqn.rpartition(".")
    return getattr(importlib.import_module(module), name)


# ---- what can drive a device ---------------------------------------------------------------------


def _hardware_backends(session: PageSession) -> list[dict[str, Any]]:
    """Backends that drive a device through an IO kind of the browser's (not simulators)."""
    return [entry for entry in session.catalog.entries("backends")
            if entry.get("io") and entry.get("io") not in ("none", "via_interface") and not entry.get("simulator")]


def _routed_backends(session: PageSession) -> list[tuple[dict[str, Any], str, type]]:
    """Backends that talk through another object's connection: (entry, parameter, the class it takes)."""
    from browser_runtime.webbridge.interfaces import interface_parameters

    found = []
    for entry in session.catalog.entries("backends"):
        if entry.get("io") != "via_interface":
            continue
        try:
            cls = _import(entry["fqn"])
        except Exception:  # noqa: BLE001 - a backend whose optional dependency is missing
            continue
        for parameter, accepts in interface_parameters(cls).items():
            found.append((entry, parameter, accepts))
    return found


def _io_kind_of(instance: Any) -> str | None:
    io = getattr(instance, "io", None)
    return {"USB": "usb", "HID": "hid", "Serial": "serial", "FTDI": "ftdi"}.get(type(io).__name__) if io else None


def _interfaces(session: PageSession) -> list[dict[str, Any]]:
    """Devices that are not machines but carry others' commands (a heater-shaker box, a TEC control
    box), as backend-like entries: the classes routed backends take, other than machine backends."""
    from browser_runtime.webbridge.interfaces import fqn_of, interface_classes, usb_id_of

    found: dict[str, dict[str, Any]] = {}
    for _entry, _parameter, accepts in _routed_backends(session):
        for cls in interface_classes(accepts):
            fqn = fqn_of(cls)
            if fqn in found or session.catalog.get(fqn) is not None:
                continue  # a machine backend (a STAR) is offered as itself
            try:
                io = _io_kind_of(cls())
            except Exception:  # noqa: BLE001 - one that cannot be built with its defaults
                continue
            usb = usb_id_of(cls)
            found[fqn] = {"fqn": fqn, "name": cls.__name__, "module": cls.__module__, "io": io,
                          "frontend_kind": None, "interface": True, "deprecated": False, "serial": None,
                          "bases": [], "usb_ids": [{"vid": usb[0], "pid": usb[1]}] if usb else []}
    return [entry for entry in found.values() if entry["io"]]


def _routes_for(session: PageSession, fqn: str) -> list[dict[str, Any]]:
    """The machines that can be routed through a connection of ``fqn`` (a box, a STAR)."""
    try:
        cls = _import(fqn)
    except Exception:  # noqa: BLE001
        return []
    return [{"fqn": entry["fqn"], "name": entry["name"], "frontend_kind": entry.get("frontend_kind"),
             "parameter": parameter}
            for entry, parameter, accepts in _routed_backends(session) if issubclass(cls, accepts)]


def _io_kinds(kind: str) -> tuple[str, ...]:
    if kind not in IO_KINDS:
        raise ValueError(f"device kind {kind!r}: one of {', '.join(IO_KINDS)}")
    return IO_KINDS[kind]


def _usb_id(vid: int, pid: int) -> str:
    return f"{vid:04X}:{pid:04X}"


def usb_ids(session: PageSession) -> dict[str, Any]:
    """What the browser's choosers are filtered by: ``{choosers: {serial | usb | hid: [{vid, pid}]}``
    (every USB id a hardware backend or a chained devices' interface of a fitting IO kind declares,
    in catalog order), ``ftdi``: the ids of FTDI chips that carry an instrument maker's ids (driven
    over WebUSB with FTDI's vendor requests), ``backends``: how many hardware backends there are."""
    backends = _hardware_backends(session)
    offered = backends + _interfaces(session)
    choosers: dict[str, list[dict[str, int]]] = {}
    for kind, io_kinds in IO_KINDS.items():
        seen: set[tuple[int, int]] = set()
        choosers[kind] = []
        for entry in offered:
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
    then by name. Each is ``{fqn, name, io, frontend_kind, deprecated, serial, interface, routes,
    why: [reasons]}``; ``routes`` are the machines that can talk through a connection of it.
    ``preselect`` is the backend the picker may choose by itself (``null``: the user must), and
    ``ambiguous`` says why none is (a general-purpose USB-serial chip, or backends of several
    kinds of machine declaring the same id).
    """
    io_kinds = _io_kinds(kind)
    fitting = [entry for entry in _hardware_backends(session) + _interfaces(session) if entry["io"] in io_kinds]
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
        why = [f"declares USB id {_usb_id(vendor_id, product_id)}" if matched  # type: ignore[arg-type]
               else f"a {entry['io']} backend; none declares "
                    + (f"USB id {_usb_id(vendor_id, product_id)}" if vendor_id is not None else "this port")]
        if entry.get("interface"):
            why.append("carries other machines' commands on one connection (connect it, then add them)")
        base = alias_of(entry)
        if base:
            why.append(f"a subclass of {base.rpartition('.')[2]}, listed after it")
        if entry.get("deprecated"):
            why.append(f"deprecated: {entry['deprecated']}" if isinstance(entry["deprecated"], str) else "deprecated")
        ranked.append({"fqn": entry["fqn"], "name": entry["name"], "io": entry["io"],
                       "frontend_kind": entry.get("frontend_kind"), "deprecated": bool(entry.get("deprecated")),
                       "serial": entry.get("serial"), "interface": bool(entry.get("interface")),
                       "routes": _routes_for(session, entry["fqn"]), "why": why})
    ambiguous = None
    if matched:
        chip = GENERIC_CHIPS.get((vendor_id, product_id))  # type: ignore[arg-type]
        kinds = {entry.get("frontend_kind") or "interface" for entry in matched}
        if chip:
            ambiguous = (f"{_usb_id(vendor_id, product_id)} is a general-purpose USB-serial chip ({chip}): "  # type: ignore[arg-type]
                         "it says nothing about the instrument behind it; choose its backend")
        elif len(kinds) > 1:
            ambiguous = (f"{_usb_id(vendor_id, product_id)} is declared by backends of different machines "  # type: ignore[arg-type]
                         f"({', '.join(sorted(kinds))}); choose its backend")
    preselect = ranked[0]["fqn"] if matched and ambiguous is None else None
    return {"matched": bool(matched), "io_kinds": list(io_kinds), "backends": ranked,
            "preselect": preselect, "ambiguous": ambiguous}


def _backend_class(session: PageSession, fqn: str) -> tuple[Any, dict[str, Any]]:
    entry = session.catalog.get(fqn)
    if entry is not None and session.catalog.section_of(fqn) == "backends":
        return _import(fqn), entry
    interface = next((entry for entry in _interfaces(session) if entry["fqn"] == fqn), None)
    if interface is None:
        raise LookupError(f"{fqn} is not a PLR backend in the catalog")
    return _import(fqn), interface


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
    """The backend's constructor parameters: name, required, default (as source), annotation,
    ``value``: the text to fill in for ``device`` (``{name, kind, serial_number}`` of a granted
    device), ``device``: true for the ones that name the device (filled in anew on every load,
    never remembered), ``interface``: true for the one a routed machine's connection fills."""
    from browser_runtime.webbridge.interfaces import interface_parameters

    cls, entry = _backend_class(session, fqn)
    if device is not None and not isinstance(device, dict):
        raise ValueError("device: must be {name, kind, serial_number} of a granted device")
    device = device or {}
    routed = interface_parameters(cls) if entry.get("io") == "via_interface" else {}
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
            "device": parameter.name in DEVICE_PARAMETERS,
            "interface": parameter.name in routed,
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


# ---- the console's connections -------------------------------------------------------------------


def _connections(session: PageSession) -> dict[str, Connection]:
    return session.console.devices


def _variable(session: PageSession, entry: dict[str, Any]) -> str:
    taken = {c.variable for c in _connections(session).values()}
    base = f"{entry.get('frontend_kind') or ('interface' if entry.get('interface') else 'device')}_backend"
    variable = base
    for number in range(2, 1000):
        if variable not in taken:
            break
        variable = f"{base}_{number}"
    return variable


async def _set_up(instance: Any) -> None:
    try:
        await instance.setup()
    except BaseException:
        with contextlib.suppress(Exception):  # a backend that failed half-way releases the port it opened
            await instance.stop()
        raise


def _give_a_deck(instance: Any) -> None:
    """A liquid handler's backend is set up on a deck (PLR's ``set_deck``, as LiquidHandler.setup
    does): connected alone, it stands on the default one; a run gives it the plan's."""
    from pylabrobot.liquid_handling.backends.backend import LiquidHandlerBackend

    from browser_runtime.machines import default_deck

    if isinstance(instance, LiquidHandlerBackend) and getattr(instance, "_deck", None) is None:
        instance.set_deck(default_deck(instance))


def _build(cls: Any, entry: dict[str, Any], kwargs: dict[str, Any], where: str) -> Any:
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as error:
        raise ValueError(f"{where}: {entry['name']}: {error}") from None
    return cls(**kwargs)


async def connect(session: PageSession, device: str, backend: str, settings: dict[str, str]) -> dict[str, Any]:
    """Build ``backend`` with ``settings`` and set it up on ``device`` (the console must hold it)."""
    cls, entry = _backend_class(session, backend)
    kwargs = settings_as_kwargs(settings, device)
    await disconnect(session, device)
    instance = _build(cls, entry, kwargs, device)
    _give_a_deck(instance)
    await _set_up(instance)
    variable = _variable(session, entry)
    _connections(session)[device] = Connection(device, backend, variable, dict(settings), instance)
    session.console.add_to_scope({variable: instance})
    return {"device": device, "backend": backend, "variable": variable,
            "routes": _routes_for(session, backend)}


async def route(session: PageSession, device: str, backend: str, settings: dict[str, str]) -> dict[str, Any]:
    """Set up ``backend`` (a heater-shaker, say) talking through what is connected on ``device``
    (its box, a STAR): the device's one connection carries its commands. Returns its name
    (``<device>/<n>``) and the variable it is in the console's scope as."""
    from browser_runtime.webbridge.interfaces import interface_parameters

    through = _connections(session).get(device)
    if through is None or through.via is not None:
        raise LookupError(f"{device}: connect the device first (its box, or the STAR it hangs on), then add machines on it")
    if through.suspended:
        raise LookupError(f"{device} is lent to a hardware run; add machines on it when it comes back")
    cls, entry = _backend_class(session, backend)
    parameter = next((name for name, accepts in interface_parameters(cls).items()
                      if isinstance(through.backend, accepts)), None)
    if parameter is None:
        raise ValueError(f"{entry['name']} cannot talk through the {type(through.backend).__name__} on {device}")
    kwargs = settings_as_kwargs({k: v for k, v in settings.items() if k != parameter}, device)
    name = next(f"{device}/{n}" for n in range(1, 1000) if f"{device}/{n}" not in _connections(session))
    instance = _build(cls, entry, {**kwargs, parameter: through.backend}, name)
    await _set_up(instance)
    variable = _variable(session, entry)
    _connections(session)[name] = Connection(name, backend, variable, dict(settings), instance, via=device)
    through.routed.append(name)
    session.console.add_to_scope({variable: instance})
    return {"device": name, "via": device, "backend": backend, "variable": variable}


async def disconnect(session: PageSession, device: str) -> dict[str, Any]:
    """Stop the backend connected on ``device`` (and the machines routed through it) or the routed
    machine ``device`` names; nothing to do if none is."""
    connections = _connections(session)
    connection = connections.pop(device, None)
    if connection is None:
        return {"device": device, "stopped": False}
    for routed in list(connection.routed):
        await disconnect(session, routed)
    if connection.via is not None and connection.via in connections:
        connections[connection.via].routed.remove(device)
    session.console.session.namespace.pop(connection.variable, None)
    if not connection.suspended:
        await connection.backend.stop()
    return {"device": device, "stopped": True, "variable": connection.variable}


async def suspend(session: PageSession, device: str) -> dict[str, Any]:
    """The console lends ``device`` to a hardware run: what it runs there is stopped cleanly (PLR's
    ``stop``; machines routed through it first) and kept, to be set up again by ``resume``."""
    connection = _connections(session).get(device)
    if connection is None or connection.suspended:
        return {"device": device, "suspended": False}
    for routed in connection.routed:
        routed_connection = _connections(session)[routed]
        with contextlib.suppress(Exception):
            await routed_connection.backend.stop()
        routed_connection.suspended = True
    connection.suspended = True
    await connection.backend.stop()
    return {"device": device, "suspended": True, "variable": connection.variable, "routed": list(connection.routed)}


async def resume(session: PageSession, device: str) -> dict[str, Any]:
    """``device`` is back from a run: the console's backend there is set up again (the same object,
    so the REPL's variable still works), then the machines routed through it."""
    connection = _connections(session).get(device)
    if connection is None or not connection.suspended:
        return {"device": device, "resumed": False}
    await _set_up(connection.backend)
    connection.suspended = False
    for routed in connection.routed:
        routed_connection = _connections(session)[routed]
        await _set_up(routed_connection.backend)
        routed_connection.suspended = False
    return {"device": device, "resumed": True, "variable": connection.variable, "routed": list(connection.routed)}


def connections(session: PageSession) -> list[dict[str, Any]]:
    return [{"device": c.device, "backend": c.backend_fqn, "variable": c.variable, "via": c.via,
             "suspended": c.suspended}
            for c in _connections(session).values()]


def run_spec(session: PageSession, backend: str, settings: dict[str, str], device: str,
             interface: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{backend, kwargs}`` for a hardware run from the picker's settings of ``device``. A machine
    that talks through another device's connection names it with ``interface``: ``{backend,
    settings}`` of that device; the run builds it once for every machine naming the same."""
    from browser_runtime.webbridge.interfaces import interface_parameters

    cls, _entry = _backend_class(session, backend)
    kwargs = settings_as_kwargs(settings, device)
    if interface is not None:
        if not isinstance(interface, dict) or not isinstance(interface.get("backend"), str):
            raise ValueError(f"{device}: interface: give {{backend, settings}} of the device it talks through")
        through, _ = _backend_class(session, interface["backend"])
        parameter = next((name for name, accepts in interface_parameters(cls).items() if issubclass(through, accepts)), None)
        if parameter is None:
            raise ValueError(f"{device}: {cls.__name__} cannot talk through a {through.__name__}")
        kwargs.pop(parameter, None)
        kwargs[parameter] = {"backend": interface["backend"],
                             "kwargs": settings_as_kwargs(interface.get("settings") or {}, f"{device}.interface")}
    return {"backend": backend, "kwargs": kwargs}


# ---- captures and replays ------------------------------------------------------------------------


def _console_token() -> str:
    from browser_runtime.webbridge.grants import current

    grant = current()
    if grant is None:
        raise PermissionError("recording the console's device IO needs the console's grant (labwright.devices.capture)")
    return grant.token


def capture_start(session: PageSession) -> dict[str, Any]:
    """Record every command of the console's devices (REPL, runPython, connected backends) from now on."""
    from browser_runtime.webbridge.capture import start_recording

    recording = start_recording(_console_token(), "console session")
    return {"recording": True, "commands": len(recording.commands)}


def capture_stop(session: PageSession) -> dict[str, Any]:
    """Stop recording the console's device IO; the capture, in PLR's format ({version, commands})."""
    from browser_runtime.webbridge.capture import Recording, stop_recording

    recording = stop_recording(_console_token()) or Recording("console session")
    return recording.document()


def run_capture(session: PageSession, run_id: str) -> dict[str, Any]:
    """The capture a hardware run recorded of its devices (PLR's format, with what replays it)."""
    return session.runs.capture_of(run_id)


def replay(session: PageSession, run_id: str | None = None, capture: dict[str, Any] | None = None,
           source: str | None = None) -> dict[str, Any]:
    """Replay a capture (a run's, by ``run_id``, or one given) against its protocol, or against
    ``source`` instead: the same real backends, no device touched; the run fails at the first
    command that differs from the capture (``ReplayDivergence``). Returns as ``runs.start``."""
    from browser_runtime.runner.plans import PlanInputs
    from browser_runtime.webbridge.replay import Replay

    if (run_id is None) == (capture is None):
        raise ValueError("replay: give run_id (a hardware run's capture) or capture (PLR's JSON), one of them")
    document = session.runs.capture_of(run_id) if run_id is not None else capture
    if not isinstance(document, dict):
        raise ValueError("capture: PLR's capture JSON as an object: {version, commands, labwright?}")
    replayer = Replay(document)
    recorded = (document.get("labwright") or {}).get("replay_inputs")
    if not isinstance(recorded, dict) or not recorded.get("backends"):
        raise ValueError("this capture does not say which protocol and backends made it (captures the page "
                         "records of hardware runs do): replay it in Python with replaying(Replay(capture))")
    inputs = PlanInputs(source=source if source is not None else recorded["source"],
                        filename=recorded.get("filename") or "protocol.py", function=recorded.get("function"),
                        parameters=recorded.get("parameters") or {}, deck=recorded.get("deck"),
                        simulate=False, backends=recorded["backends"])
    return session.runs.start(inputs=inputs, reserve=False, gate=session.reply_sent, replay=replayer)
