"""Hardware grants: device IO only for code that holds one, so a simulation never touches hardware.

A grant is an opaque token the page's device broker (web/io/device-broker.js) issued for named devices
to one holder: a hardware run, or the console (the REPL, ``runPython`` and the device picker)
for the devices the user connected there. The token travels with every IO request and the
broker checks it against the device; without one, the request is refused here before it
leaves Python, with the reason.

Which code holds a grant is asyncio-context state (``contextvars``): the worker's door enters
the grant a request carries, a hardware run's task keeps its own, and a simulated run, a plan
or an estimate runs ``sandboxed`` with none, whatever its code does. Tasks a holder starts
(PLR's reading loops) inherit it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from browser_runtime.webbridge.transport import WebBridgeError

__all__ = ["DeviceAccessDenied", "Grant", "current", "describe", "enter", "holding", "require", "sandboxed"]


class DeviceAccessDenied(WebBridgeError, PermissionError):
    """Device IO without a hardware grant for the device (a simulation, a plan, an estimate...)."""


@dataclass(frozen=True)
class Grant:
    token: str
    holder: str  # "console", "run 3fa2c1", ...


_grant: contextvars.ContextVar[Grant | None] = contextvars.ContextVar("labwright_grant", default=None)
# What the code without a grant is doing, for the refusal's reason ("simulated run 3fa2c1").
_purpose: contextvars.ContextVar[str | None] = contextvars.ContextVar("labwright_purpose", default=None)


def current() -> Grant | None:
    return _grant.get()


@contextlib.contextmanager
def holding(grant: Grant | None) -> Iterator[None]:
    """Run the block (and the tasks it starts) with ``grant``."""
    grant_token = _grant.set(grant)
    purpose_token = _purpose.set(None)
    try:
        yield
    finally:
        _purpose.reset(purpose_token)
        _grant.reset(grant_token)


@contextlib.contextmanager
def sandboxed(purpose: str) -> Iterator[None]:
    """Run the block (and the tasks it starts) with no grant at all: its device IO is refused."""
    grant_token = _grant.set(None)
    purpose_token = _purpose.set(purpose)
    try:
        yield
    finally:
        _purpose.reset(purpose_token)
        _grant.reset(grant_token)


def enter(grant: Grant | None, purpose: str | None = None) -> None:
    """Set this context's grant for good: for a context made for one task (``copy_context().run``)."""
    _grant.set(grant)
    _purpose.set(purpose)


def describe(op: str, args: dict[str, Any]) -> str:
    """The device an IO request is about, in words: ``serial port webserial-0``, ``USB device 0403:6001``."""
    family = {"serial": "serial port", "usb": "USB device", "hid": "HID device"}.get(op.split(".")[0], "device")
    if args.get("port"):
        return f"{family} {args['port']}"
    if args.get("vid") is not None and args.get("pid") is not None:
        return f"{family} {int(args['vid']):04x}:{int(args['pid']):04x}"
    if args.get("handle") is not None:
        return f"{family} (handle {args['handle']})"
    return family


def require(op: str, args: dict[str, Any]) -> str:
    """The token of the grant this code holds for device IO, or ``DeviceAccessDenied`` with why."""
    grant = _grant.get()
    if grant is not None:
        return grant.token
    purpose = _purpose.get()
    device = describe(op, args)
    if purpose:
        reason = (f"{purpose} never touches hardware; run it on devices (simulate: false, "
                  "with the device named in backends) or use the device from the REPL after "
                  "connecting it in 'Connect a device'")
    else:
        reason = ("this code holds no hardware grant: connect the device in 'Connect a device' "
                  "(or labwright.devices.hold) to use it from the REPL, or name it in a hardware run")
    raise DeviceAccessDenied(f"{device}: access denied: {reason}")
