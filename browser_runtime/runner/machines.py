"""PLR machines with no-hardware backends, for simulated runs and the bridge's simulators.

The frontend for a machine kind is PLR's generic one (``LiquidHandler`` for
``liquid_handler``), its backend PLR's own chatterbox or simulator for that kind, both
found in the catalog. Frontends that are also resources need a footprint; a simulated
machine gets an SBS-sized one (it stands in for whichever instrument the lab has).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from browser_runtime.catalog.lookup import Catalog


class SimulationError(Exception):
    """A machine kind that cannot be simulated, with the reason."""


# SBS footprint (ANSI/SLAS 1-2004) and a generic height for simulated resource machines.
_SIMULATED_FOOTPRINT = {"size_x": 127.76, "size_y": 85.48, "size_z": 50.0}


def _import(fqn: str) -> Any:
    module, _, name = fqn.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _camel(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def frontend_for(catalog: Catalog, kind: str) -> dict[str, Any]:
    machines = [entry for entry in catalog.entries("machines") if entry.get("kind") == kind]
    if not machines:
        raise SimulationError(f"the catalog has no machine of kind {kind!r}")
    generic = [entry for entry in machines if entry["name"] == _camel(kind)]
    return (generic or machines)[0]


def simulator_backend_for(catalog: Catalog, kind: str) -> dict[str, Any]:
    """PLR's no-hardware backend for ``kind``: the generic chatterbox first."""
    simulators = [entry for entry in catalog.backends_for(kind) if entry.get("simulator")]
    if not simulators:
        raise SimulationError(f"PLR has no simulator or chatterbox backend for {kind!r} machines")

    def preference(entry: dict[str, Any]) -> tuple[int, str]:
        generic = entry["module"].endswith(".chatterbox") and entry["name"].startswith(_camel(kind))
        return (0 if generic else 1 if "Chatterbox" in entry["name"] else 2, entry["fqn"])

    return sorted(simulators, key=preference)[0]


def build_simulated_machine(
    catalog: Catalog,
    kind: str,
    name: str,
    *,
    deck: Any = None,
    backend_fqn: str | None = None,
) -> Any:
    """A PLR frontend of ``kind`` on its no-hardware backend (not yet set up)."""
    backend_cls = _import(backend_fqn or simulator_backend_for(catalog, kind)["fqn"])
    return build_machine(catalog, kind, name, backend=backend_cls(), deck=deck)


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
    backend_cls = _import(fqn)
    try:
        inspect.signature(backend_cls).bind(**kwargs)
    except TypeError as error:
        raise SimulationError(f"{where}.kwargs: {error}") from None
    return backend_cls(**kwargs)


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


def _init_hints(cls: type) -> dict[str, Any]:
    import typing

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
