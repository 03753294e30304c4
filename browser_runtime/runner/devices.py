"""Which devices a hardware run's backends will open: what the page's device broker grants it."""

from __future__ import annotations

from typing import Any

from browser_runtime.runner.plans import PlanError

__all__ = ["device_selectors"]

# Backend constructor parameters that name the device to open.
_PORT_PARAMETERS = ("port", "serial_port", "com_port")


def device_selectors(catalog: Any, backends: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per machine parameter: ``[{"port": ...}]`` or the backend's USB ids ``[{"vid", "pid"}]``."""
    if not isinstance(backends, dict):
        raise PlanError("backends: must be an object {parameter: {backend, kwargs}}")
    selectors: dict[str, list[dict[str, Any]]] = {}
    for parameter, spec in backends.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("backend"), str):
            raise PlanError(f"backends.{parameter}: give {{backend: 'pylabrobot...Backend', kwargs: {{...}}}}")
        kwargs = spec.get("kwargs") or {}
        port = next((kwargs[name] for name in _PORT_PARAMETERS if isinstance(kwargs.get(name), str)), None)
        if port:
            selectors[parameter] = [{"port": port}]
            continue
        entry = catalog.get(spec["backend"]) or {}
        ids = [{"vid": usb["vid"], "pid": usb["pid"]} for usb in entry.get("usb_ids") or []]
        if not ids:  # a backend that talks through another's connection: that one's device
            from browser_runtime.webbridge.interfaces import reference_usb_ids

            ids = [selector for value in kwargs.values() for selector in reference_usb_ids(value)]
        if not ids:
            raise PlanError(f"backends.{parameter}: {spec['backend']} names no USB ids and its settings name "
                            "no port: say which device it runs on (kwargs.port)")
        selectors[parameter] = ids
    return selectors
