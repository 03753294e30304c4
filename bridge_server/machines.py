"""Build a PLR machine (frontend + backend) from fqns, filling what a simulator's frontend needs.

Runs inside a REPL worker process, never in the server: building imports the backend's module.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import typing
from typing import Any

# What a simulator needs that nobody has to choose: a port name for chatterboxes that ask for one.
_SIMULATED_PORT = "simulated"
_DEFAULT_SIZE = 100.0


def load(fqn: str) -> Any:
    module, _, name = fqn.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _default_for(annotation: Any, name: str) -> Any:
    options = typing.get_args(annotation) or (annotation,)
    for option in options:
        if isinstance(option, type) and issubclass(option, enum.Enum):
            return next(iter(option))
    if name in ("port", "com_port", "device_id"):
        return _SIMULATED_PORT
    if str in options:
        return _SIMULATED_PORT
    if float in options or int in options:
        return 0
    raise TypeError(f"no default for required parameter {name!r} ({annotation!r})")


def build_backend(fqn: str, config: dict[str, Any], simulator: bool) -> Any:
    cls = load(fqn)
    arguments = dict(config)
    if simulator:
        try:
            hints = typing.get_type_hints(cls.__init__)
        except Exception:  # noqa: BLE001 - unresolvable forward references: use raw annotations
            hints = {}
        for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if param.default is inspect.Parameter.empty and param.kind in (
                    param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) and param.name not in arguments:
                arguments[param.name] = _default_for(hints.get(param.name, param.annotation), param.name)
    return cls(**arguments)


def _default_deck(backend: Any) -> Any:
    from pylabrobot.resources import STARLetDeck
    from pylabrobot.resources.opentrons import OTDeck

    if "opentrons" in type(backend).__module__.lower():
        return OTDeck()
    return STARLetDeck()


def build_frontend(frontend_fqn: str, backend: Any, name: str) -> Any:
    """The frontend with ``backend``; required arguments get neutral defaults (sizes, origin)."""
    from pylabrobot.resources import Coordinate

    cls = load(frontend_fqn)
    arguments: dict[str, Any] = {}
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            continue
        key = param.name
        if key == "backend":
            arguments[key] = backend
        elif key == "name":
            arguments[key] = name
        elif param.default is not inspect.Parameter.empty:
            continue
        elif key == "deck":
            arguments[key] = _default_deck(backend)
        elif key.startswith("size_"):
            arguments[key] = _DEFAULT_SIZE
        elif key in ("child_location", "hinge_coordinate", "loading_tray_location"):
            arguments[key] = Coordinate.zero()
        elif key == "racks":
            arguments[key] = []
        elif key == "centrifuge":
            from pylabrobot.centrifuge.centrifuge import Centrifuge
            from pylabrobot.centrifuge.chatterbox import CentrifugeChatterboxBackend

            arguments[key] = Centrifuge(backend=CentrifugeChatterboxBackend(), name=f"{name}_centrifuge",
                                        size_x=_DEFAULT_SIZE, size_y=_DEFAULT_SIZE, size_z=_DEFAULT_SIZE)
        else:
            raise TypeError(f"{frontend_fqn} needs {key!r}; pass it in the device's config")
    return cls(**arguments)


def build_machine(backend_fqn: str, frontend_fqn: str | None, config: dict[str, Any], name: str,
                  simulator: bool) -> Any:
    backend = build_backend(backend_fqn, config, simulator)
    if frontend_fqn is None:
        return backend
    return build_frontend(frontend_fqn, backend, name)
