"""``install()``: put the web bridge's IO classes where PLR's backends look them up."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from browser_runtime.webbridge import operator, threads
from browser_runtime.webbridge.transport import Transport, set_transport

__all__ = ["InstallReport", "install", "uninstall", "installed"]


@dataclass
class InstallReport:
    """What ``install()`` rebound: ``module.name`` for every replaced IO class and patched method."""

    rebound: list[str] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)


_state: dict[str, Any] = {"report": None, "rebound": []}


def _replacements() -> dict[Any, Any]:
    import pylabrobot.io.ftdi
    import pylabrobot.io.hid
    import pylabrobot.io.serial
    import pylabrobot.io.usb

    from browser_runtime.webbridge.ftdi import FTDI
    from browser_runtime.webbridge.hid import HID
    from browser_runtime.webbridge.serial import Serial
    from browser_runtime.webbridge.usb import USB

    pairs = {}
    for module, ours in (
        (pylabrobot.io.serial, Serial),
        (pylabrobot.io.usb, USB),
        (pylabrobot.io.ftdi, FTDI),
        (pylabrobot.io.hid, HID),
    ):
        original = getattr(module, ours.__name__)
        original = getattr(original, "__webbridge_original__", original)
        ours.__webbridge_original__ = original
        pairs[original] = ours
    return pairs


def install(transport: Optional[Transport] = None) -> InstallReport:
    """Make every PLR backend move bytes through the web bridge. Idempotent.

    PLR backends bind their IO class at import (``from pylabrobot.io.serial import Serial``), and
    the page's heap snapshot already holds many backend modules. So the replacement is made
    twice over: in the defining modules (``pylabrobot.io.serial.Serial`` ..., for backends imported
    later) and in every ``pylabrobot`` module already imported that holds the original class
    under any name (for those imported before). ``pylabrobot.io.validation`` is among them, so
    PLR's replay maps the bridge's classes to its own validators. The few places PLR starts
    threads are patched with asyncio equivalents (``threads.PATCHES``), and ``input`` asks the
    operator at the page (``operator.py``).

    ``transport`` defaults to the page's port manager (inside the page's worker).
    """
    if transport is not None:
        set_transport(transport)
    if _state["report"] is not None:
        return _state["report"]
    pairs = _replacements()
    report = InstallReport()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "pylabrobot" or name.startswith("pylabrobot.")):
            continue
        for attribute, value in list(vars(module).items()):
            ours = pairs.get(value) if isinstance(value, type) else None
            if ours is not None:
                setattr(module, attribute, ours)
                _state["rebound"].append((module, attribute, value))
                report.rebound.append(f"{name}.{attribute}")
    report.threads = threads.install()
    operator.install()
    _state["report"] = report
    return report


def installed() -> bool:
    return _state["report"] is not None


def uninstall() -> None:
    """Put PLR's own classes back (tests in CPython share one interpreter with other tests)."""
    for module, attribute, original in reversed(_state["rebound"]):
        setattr(module, attribute, original)
    _state["rebound"].clear()
    threads.uninstall()
    operator.uninstall()
    _state["report"] = None
    set_transport(None)
