"""Chained devices: PLR machines that talk through another machine's connection share that one connection.

A Hamilton heater-shaker speaks through a ``HamiltonHeaterShakerInterface`` (a
``HamiltonHeaterShakerBox`` on a USB connection of its own, or a STAR), Inheco's TEC devices
through an ``InhecoTECControlBox``: their backends take that object (``interface=``,
``control_box=``) and the object owns the device. Several shakers on one box are several backends
on one interface. A backend's settings (JSON, as a hardware run or the device picker gives them)
name the interface rather than hold it:

    {"index": 1, "interface": {"backend": "pylabrobot.heating_shaking.hamilton_backend.HamiltonHeaterShakerBox", "kwargs": {}}}

Every backend naming the same interface within one ``Routes`` (one hardware run) gets the same
object: the device is opened once and the commands are routed through it. An
interface spec equal to a machine's own backend spec *is* that machine's backend (a heater-shaker
on a STAR's TCC port, in a run with that STAR as its liquid handler). Interfaces that are not
machine backends themselves (the box) are set up before the machines and stopped after them.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Routes", "SharedInterface", "interface_classes", "interface_parameters", "is_reference",
           "reference_usb_ids", "routing", "usb_id_of"]

_SIMPLE = (int, float, str, bool, bytes, type(None))


def _import(fqn: str) -> Any:
    module, _, name = fqn.rpartition(".")
    return getattr(importlib.import_module(module), name)


def fqn_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def interface_parameters(cls: type) -> dict[str, type]:
    """The constructor parameters of ``cls`` that take another PLR object's connection, with the
    class they take (``{"interface": HamiltonHeaterShakerInterface}``)."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no interface known
        return {}
    found = {}
    for name in list(inspect.signature(cls.__init__).parameters)[1:]:
        hint = hints.get(name)
        if isinstance(hint, type) and not issubclass(hint, _SIMPLE) and hint.__module__.startswith("pylabrobot."):
            found[name] = hint
    return found


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def interface_classes(annotation: type) -> list[type]:
    """The concrete classes a parameter annotated ``annotation`` can be given: the class itself
    and every subclass PLR has imported (a STAR is a heater-shaker interface too)."""
    seen: dict[str, type] = {}
    for cls in [annotation, *_subclasses(annotation)]:
        if not inspect.isabstract(cls) and not cls.__name__.startswith("_"):
            seen.setdefault(fqn_of(cls), cls)
    return sorted(seen.values(), key=lambda cls: (cls.__name__.casefold(), fqn_of(cls)))


def usb_id_of(cls: type, kwargs: dict[str, Any] | None = None) -> tuple[int, int] | None:
    """The USB id an interface class opens, from its constructor's defaults and ``kwargs``
    (``id_vendor``/``id_product`` as PLR's USB, ``vid``/``pid`` as its HID and Serial)."""
    kwargs = kwargs or {}
    parameters = inspect.signature(cls.__init__).parameters
    for vendor, product in (("id_vendor", "id_product"), ("vid", "pid")):
        if vendor in parameters and product in parameters:
            vid = kwargs.get(vendor, parameters[vendor].default)
            pid = kwargs.get(product, parameters[product].default)
            if isinstance(vid, int) and isinstance(pid, int):
                return vid, pid
    return None


def is_reference(value: Any) -> bool:
    """``value`` names an interface: ``{"backend": fqn, "kwargs": {...}}``."""
    return isinstance(value, dict) and set(value) in ({"backend"}, {"backend", "kwargs"}) \
        and isinstance(value["backend"], str)


def reference_usb_ids(value: Any) -> list[dict[str, Any]]:
    """What the broker must grant for an interface reference: ``[{port}]`` or ``[{vid, pid}]``."""
    if not is_reference(value):
        return []
    kwargs = value.get("kwargs") or {}
    for name in ("port", "serial_port", "com_port"):
        if isinstance(kwargs.get(name), str):
            return [{"port": kwargs[name]}]
    found = usb_id_of(_import(value["backend"]), kwargs)
    return [{"vid": found[0], "pid": found[1]}] if found else []


def _key(fqn: str, kwargs: dict[str, Any]) -> str:
    return json.dumps([fqn, kwargs], sort_keys=True, default=str)


class RoutingError(ValueError):
    """An interface reference that names nothing usable."""


@dataclass
class Routes:
    """The interfaces one holder (a hardware run, the console) has built: one object per interface."""

    #: backend spec key -> the object (an interface, or a machine's backend an interface names)
    shared: dict[str, Any] = field(default_factory=dict)
    #: interfaces built here that are not machine backends: set up first, stopped last
    owned: list[Any] = field(default_factory=list)

    def interface(self, value: dict[str, Any], accepts: type, where: str) -> Any:
        """The one object ``value`` names, built on first use; it must be an ``accepts``."""
        fqn, kwargs = value["backend"], dict(value.get("kwargs") or {})
        key = _key(fqn, kwargs)
        found = self.shared.get(key)
        if found is None:
            cls = _import(fqn)
            found = cls(**resolve(cls, kwargs, f"{where}.kwargs", self))
            self.shared[key] = found
            self.owned.append(found)
        if not isinstance(found, accepts):
            raise RoutingError(f"{where}: {type(found).__name__} is not a {accepts.__name__}")
        return found

    def machine_backend(self, fqn: str, kwargs: dict[str, Any], build: Any) -> Any:
        """A machine's backend: the object an interface reference already built for this very spec
        (it is the machine's from now on, set up as a machine, not as an interface), else
        ``build()``; the first machine with a spec is what later references to that spec reach."""
        key = _key(fqn, kwargs)
        backend = self.shared.get(key)
        if backend is not None and backend in self.owned:
            self.owned.remove(backend)
            return backend
        backend = build()
        self.shared.setdefault(key, backend)
        return backend

    def machines_first(self, machines: dict[str, Any]) -> dict[str, Any]:
        """``machines`` in set-up order: those whose backend others talk through come first."""
        routed_through = {id(value) for value in self.shared.values()}
        ahead = {name: m for name, m in machines.items() if id(getattr(m, "backend", None)) in routed_through}
        return {**ahead, **{name: m for name, m in machines.items() if name not in ahead}}

    async def stop(self) -> None:
        """Stop the interfaces built here (after the machines that talk through them)."""
        for interface in reversed(self.owned):
            with contextlib.suppress(Exception):
                await interface.stop()


def resolve(cls: type, kwargs: dict[str, Any], where: str, routes: Routes | None = None) -> dict[str, Any]:
    """``kwargs`` for ``cls`` with every interface reference replaced by its object from ``routes``
    (the current ``routing()``, else a throwaway one: a plan only checks that it can be built)."""
    parameters = interface_parameters(cls)
    if not any(is_reference(kwargs.get(name)) for name in parameters):
        return kwargs
    routes = routes or _routes.get() or Routes()
    resolved = dict(kwargs)
    for name, accepts in parameters.items():
        if is_reference(kwargs.get(name)):
            resolved[name] = routes.interface(kwargs[name], accepts, f"{where}.{name}")
    return resolved


_routes: contextvars.ContextVar[Routes | None] = contextvars.ContextVar("labwright_routes", default=None)


def current() -> Routes | None:
    return _routes.get()


@contextlib.contextmanager
def routing(routes: Routes | None = None) -> Iterator[Routes]:
    """Backends built in the block (``machines.hardware_backend``) share the interfaces they name."""
    routes = routes or Routes()
    token = _routes.set(routes)
    try:
        yield routes
    finally:
        _routes.reset(token)


class SharedInterface:
    """An interface a run talks through, as the run's first 'machine': set up before the machines
    (so a failing box fails the run like any machine), stopped by ``Routes.stop`` after them."""

    def __init__(self, interface: Any) -> None:
        self.interface = interface
        self.setup_finished = False

    async def setup(self) -> None:
        await self.interface.setup()
        self.setup_finished = True

    async def stop(self) -> None:
        # The machines routed through it may still talk while they stop: Routes.stop closes it.
        self.setup_finished = False
