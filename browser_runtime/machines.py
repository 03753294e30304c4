"""The one machine builder: PLR's generic frontend for a machine kind on a simulated or a
hardware backend, every class found in the catalog.

The frontend for a kind is PLR's generic one (``LiquidHandler`` for ``liquid_handler``,
``Catalog.frontend_for``); a simulated backend is PLR's own chatterbox or simulator for that
kind; a hardware backend is one the catalog knows for the kind, its keywords checked against
the constructor parameters the catalog stored at build time before anything is imported.
Frontends that are also resources need a footprint; a machine built here gets an SBS-sized one
(it stands in for whichever instrument the lab has).

Used by the runner (simulated and hardware runs, hence the scheduler's estimates) and by the
bridge server's REPL workers (the devices a client holds). Pure Python: runs in the page too.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import typing
from collections.abc import Iterable
from typing import Any

from browser_runtime.catalog.lookup import Catalog
from browser_runtime.errors import LabwrightError


class SimulationError(LabwrightError):
    """A machine that cannot be built as asked (no such kind, no simulator, wrong backend ...)."""


# SBS footprint (ANSI/SLAS 1-2004) and a generic height for machines that are resources.
_SIMULATED_FOOTPRINT = {"size_x": 127.76, "size_y": 85.48, "size_z": 50.0}
#: What a simulated backend's required port-like parameter gets: nobody has to choose it.
_SIMULATED_PORT = "simulated"
#: Constructor annotations a keyword's JSON value can be checked against.
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float),
                                             "bool": (bool,)}


def _import(fqn: str) -> Any:
    module, _, name = fqn.rpartition(".")
    return getattr(importlib.import_module(module), name)


def frontend_for(catalog: Catalog, kind: str) -> dict[str, Any]:
    """The catalog entry of PLR's generic frontend for ``kind``."""
    entry = catalog.frontend_for(kind)
    if entry is None:
        raise SimulationError(f"the catalog has no machine of kind {kind!r}")
    return entry


def simulator_backend_for(catalog: Catalog, kind: str) -> dict[str, Any]:
    """PLR's no-hardware backend for ``kind``: the generic chatterbox first."""
    simulators = [entry for entry in catalog.backends_for(kind) if entry.get("simulator")]
    if not simulators:
        raise SimulationError(f"PLR has no simulator or chatterbox backend for {kind!r} machines")
    generic = frontend_for(catalog, kind)["name"]

    def preference(entry: dict[str, Any]) -> tuple[int, str]:
        is_generic = entry["module"].endswith(".chatterbox") and entry["name"].startswith(generic)
        return (0 if is_generic else 1 if "Chatterbox" in entry["name"] else 2, entry["fqn"])

    return sorted(simulators, key=preference)[0]


# Backend keywords ---------------------------------------------------------------------------------

def _accepts(annotation: str | None, value: Any) -> bool:
    if annotation is None or (value is None and "Optional" in annotation):
        return True
    simple = annotation.removeprefix("Optional[").removesuffix("]").strip()
    kinds = _SIMPLE_TYPES.get(simple)
    if kinds is None:
        return True  # a richer type: the backend itself will say
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def backend_problems(entry: dict[str, Any], kwargs: dict[str, Any], *, implied: Iterable[str] = (),
                     where: str = "kwargs") -> list[dict[str, str]]:
    """Every unknown, missing or mistyped keyword for the backend ``entry`` describes, as
    ``{loc, message}``; ``implied`` names keywords the caller fills itself (a device's port)."""
    parameters = entry.get("parameters") or []
    by_name = {p["name"]: p for p in parameters}
    implied = set(implied)
    problems: list[dict[str, str]] = []
    if not entry.get("open_keywords"):
        problems += [{"loc": f"{where}.{key}", "message": f"unknown field: {entry['name']} takes no {key!r}"}
                     for key in sorted(kwargs) if key not in by_name]
    for parameter in parameters:
        name = parameter["name"]
        if parameter["required"] and name not in kwargs and name not in implied:
            problems.append({"loc": f"{where}.{name}", "message": "is required by the backend"})
        elif name in kwargs and not _accepts(parameter.get("annotation"), kwargs[name]):
            problems.append({"loc": f"{where}.{name}", "message": f"must be {parameter['annotation']}"})
    return problems


def hardware_backend(catalog: Catalog, kind: str, spec: Any, where: str) -> Any:
    """A real PLR backend for a ``kind`` machine from ``{"backend": fqn, "kwargs": {...}}``.

    The backend must be one the catalog knows for that kind and not a simulator: a hardware
    run never quietly falls back to a simulation. Its IO goes wherever PLR's IO classes go
    (the web bridge in the page).
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("backend"), str):
        raise SimulationError(f"{where}: give {{backend: 'pylabrobot...Backend', kwargs: {{...}}}}")
    unknown = sorted(set(spec) - {"backend", "kwargs"})
    if unknown:
        raise SimulationError(f"{where}: unknown field(s) {', '.join(unknown)}")
    fqn, kwargs = spec["backend"], spec.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise SimulationError(f"{where}.kwargs: must be an object of the backend's parameters")
    entry = next((e for e in catalog.backends_for(kind) if e["fqn"] == fqn), None)
    if entry is None:
        served = catalog.get(fqn)
        raise SimulationError(
            f"{where}: {fqn} is not a PLR backend for {kind} machines"
            + (f" (it serves {served.get('kind')})" if served and served.get("kind") else ""))
    if entry.get("simulator"):
        raise SimulationError(f"{where}: {fqn} is a simulator; a hardware run needs a real backend")
    problems = backend_problems(entry, kwargs, where="kwargs")
    if problems:
        raise SimulationError(f"{where}.kwargs: " + "; ".join(
            f"{p['loc'].removeprefix('kwargs.')}: {p['message']}" for p in problems))
    # A backend that talks through another's connection (a heater-shaker on a box or a STAR)
    # gets that one object: see browser_runtime.webbridge.interfaces.
    from browser_runtime.webbridge import interfaces

    cls = _import(fqn)
    routes = interfaces.current()
    try:
        def build() -> Any:
            return cls(**interfaces.resolve(cls, kwargs, f"{where}.kwargs"))
        return routes.machine_backend(fqn, kwargs, build) if routes is not None else build()
    except (interfaces.RoutingError, ImportError, AttributeError) as error:
        raise SimulationError(str(error)) from None


def _neutral_value(annotation: Any, name: str) -> Any:
    """A value for a simulated backend's required parameter that nobody has to choose."""
    options = typing.get_args(annotation) or (annotation,)
    for option in options:
        if isinstance(option, type) and issubclass(option, enum.Enum):
            return next(iter(option))
    if name in ("port", "com_port", "device_id") or str in options:
        return _SIMULATED_PORT
    if float in options or int in options:
        return 0
    raise SimulationError(f"no value for the simulated backend's required parameter {name!r} ({annotation!r})")


def build_backend(catalog: Catalog, fqn: str, kwargs: dict[str, Any], *, simulated: bool) -> Any:
    """The backend ``fqn`` with ``kwargs`` (checked against the catalog); a simulated one gets
    neutral values for required parameters the caller left out (a chatterbox's port name)."""
    entry = catalog.get(fqn)
    if entry is None or catalog.section_of(fqn) != "backends":
        raise SimulationError(f"{fqn} is not a PLR backend in the catalog")
    implied = {p["name"] for p in entry.get("parameters") or []} if simulated else set()
    problems = backend_problems(entry, kwargs, implied=implied)
    if problems:
        raise SimulationError("; ".join(f"{p['loc']}: {p['message']}" for p in problems))
    cls = _import(entry["fqn"])
    arguments = dict(kwargs)
    if simulated:
        hints = _init_hints(cls)
        for parameter in entry.get("parameters") or []:
            if parameter["required"] and parameter["name"] not in arguments:
                arguments[parameter["name"]] = _neutral_value(hints.get(parameter["name"]), parameter["name"])
    return cls(**arguments)


# Machines -----------------------------------------------------------------------------------------

def default_deck(backend: Any) -> Any:
    """The deck a liquid handler on ``backend`` stands on when nobody gave one."""
    from pylabrobot.resources import STARLetDeck
    from pylabrobot.resources.opentrons import OTDeck

    return OTDeck() if "opentrons" in type(backend).__module__.lower() else STARLetDeck()


def build_simulated_machine(catalog: Catalog, kind: str, name: str, *, deck: Any = None,
                            backend_fqn: str | None = None) -> Any:
    """A PLR frontend of ``kind`` on its no-hardware backend (not yet set up)."""
    backend_cls = _import(backend_fqn or simulator_backend_for(catalog, kind)["fqn"])
    return build_machine(catalog, kind, name, backend=backend_cls(), deck=deck)


def build_machine(catalog: Catalog, kind: str, name: str, *, backend: Any, deck: Any = None,
                  hardware: bool = False) -> Any:
    """PLR's generic frontend for ``kind`` on ``backend`` (not yet set up)."""
    from pylabrobot.resources import Coordinate

    frontend_cls = _import(frontend_for(catalog, kind)["fqn"])
    values: dict[str, Any] = {
        "backend": backend,
        "name": name,
        "deck": deck,
        "child_location": Coordinate(0, 0, _SIMULATED_FOOTPRINT["size_z"]),
        "hinge_coordinate": Coordinate(0, 0, 0),
        "loading_tray_location": Coordinate(0, 0, 0),
        "racks": [],
        **_SIMULATED_FOOTPRINT,
    }
    arguments: dict[str, Any] = {}
    hints = _init_hints(frontend_cls)
    for parameter in list(inspect.signature(frontend_cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name in values and values[parameter.name] is not None:
            arguments[parameter.name] = values[parameter.name]
        elif (required_kind := _machine_kind_of(catalog, hints.get(parameter.name))) is not None:
            if hardware:
                raise SimulationError(f"a {frontend_cls.__name__} needs a {required_kind} as well; "
                                      "hardware runs cannot pair it with a simulated one")
            # A machine that needs another one (a centrifuge's loader): simulate that too.
            arguments[parameter.name] = build_simulated_machine(
                catalog, required_kind, f"{name}_{parameter.name}", deck=deck
            )
        elif parameter.default is inspect.Parameter.empty:
            raise SimulationError(
                f"cannot build a {frontend_cls.__name__}: no value for its "
                f"required parameter {parameter.name!r}"
            )
    if "deck" in arguments and deck is None:
        raise SimulationError(f"a {frontend_cls.__name__} needs a deck")
    return frontend_cls(**arguments)


def build_device_machine(catalog: Catalog, backend_fqn: str, kwargs: dict[str, Any], name: str, *,
                         simulated: bool) -> Any:
    """The machine for a device a client holds: its backend with the device's settings, inside
    PLR's generic frontend for the backend's kind (the backend alone when it serves none)."""
    backend = build_backend(catalog, backend_fqn, kwargs, simulated=simulated)
    kind = (catalog.get(backend_fqn) or {}).get("frontend_kind")
    if kind is None:
        return backend
    deck = default_deck(backend) if kind == "liquid_handler" else None
    return build_machine(catalog, kind, name, backend=backend, deck=deck, hardware=not simulated)


def _init_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - unresolvable annotations just give no hints
        return {}


def _machine_kind_of(catalog: Catalog, annotation: Any) -> str | None:
    if not isinstance(annotation, type):
        return None
    entry = catalog.get(f"{annotation.__module__}.{annotation.__qualname__}")
    if entry is None or catalog.section_of(entry["fqn"]) != "machines":
        return None
    return entry.get("kind")
