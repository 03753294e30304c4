"""The Python half of the device IO protocol (web/io/io-protocol.js): requests to the page's port manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from browser_runtime.errors import LabwrightError

__all__ = [
    "OPS",
    "DeviceAmbiguousError",
    "DeviceDisconnectedError",
    "DeviceDriverError",
    "DeviceNotFoundError",
    "DeviceTimeoutError",
    "IOProtocolError",
    "PageTransport",
    "Transport",
    "WebBridgeError",
    "get_transport",
    "set_transport",
]


@dataclass(frozen=True)
class _Ops:
    """Operation names; they mirror IO_OPS in web/io/io-protocol.js (a test checks both agree)."""

    list: str = "list"
    serial_open: str = "serial.open"
    serial_close: str = "serial.close"
    serial_write: str = "serial.write"
    serial_read: str = "serial.read"
    serial_read_until: str = "serial.readUntil"
    serial_signals: str = "serial.setSignals"
    serial_modem: str = "serial.getSignals"
    serial_discard_input: str = "serial.discardInput"
    serial_reconfigure: str = "serial.reconfigure"
    usb_open: str = "usb.open"
    usb_close: str = "usb.close"
    usb_select_configuration: str = "usb.selectConfiguration"
    usb_claim_interface: str = "usb.claimInterface"
    usb_transfer_out: str = "usb.transferOut"
    usb_transfer_in: str = "usb.transferIn"
    usb_control_in: str = "usb.controlTransferIn"
    usb_control_out: str = "usb.controlTransferOut"
    hid_open: str = "hid.open"
    hid_close: str = "hid.close"
    hid_send_report: str = "hid.sendReport"
    hid_read: str = "hid.read"
    operator_ask: str = "operator.ask"


OPS = _Ops()


class WebBridgeError(LabwrightError, OSError):
    """A device operation through the page's port manager failed."""


class DeviceNotFoundError(WebBridgeError):
    """No device the page was granted matches (connect it first)."""


class DeviceAmbiguousError(WebBridgeError):
    """Several granted devices match and nothing says which one."""


class DeviceDisconnectedError(WebBridgeError, ConnectionError):
    """The device was unplugged (or closed) before or while the operation ran."""


class DeviceDriverError(WebBridgeError, PermissionError):
    """The OS keeps the browser from the device (a driver bound to it, a permission, another
    program holding it); the message says the likely cause and the fix for this OS."""


class DeviceTimeoutError(WebBridgeError, TimeoutError):
    """The operation did not finish within its timeout."""


class IOProtocolError(WebBridgeError):
    """The request was malformed or the device is not in a state to serve it."""


_ERRORS: dict[str, type[WebBridgeError] | None] = {
    "NotFound": DeviceNotFoundError,
    "Ambiguous": DeviceAmbiguousError,
    "Disconnected": DeviceDisconnectedError,
    "Timeout": DeviceTimeoutError,
    "InvalidState": IOProtocolError,
    "AccessDenied": None,  # DeviceAccessDenied (grants.py), resolved in error_for
    "BadRequest": IOProtocolError,
    "DeviceError": WebBridgeError,
    "DriverBlocked": DeviceDriverError,
}


def error_for(error_type: str, message: str) -> WebBridgeError:
    if error_type == "AccessDenied":
        from browser_runtime.webbridge.grants import DeviceAccessDenied

        return DeviceAccessDenied(message)
    return (_ERRORS.get(error_type) or WebBridgeError)(message)


class Transport(Protocol):
    """Carries one IO request to a port manager; timeouts are in seconds (None: no limit)."""

    async def request(self, op: str, args: dict[str, Any], timeout: float | None) -> Any: ...

    def request_sync(self, op: str, args: dict[str, Any], timeout: float | None) -> Any: ...


def _ms(timeout: float | None) -> int | None:
    return None if timeout is None else max(0, int(round(timeout * 1000)))


class PageTransport:
    """Requests through the worker's ``labwrightIO`` (web/worker/worker.js) to the page's port manager."""

    def __init__(self, io: Any = None) -> None:
        if io is None:
            import js  # the worker's global scope

            io = js.labwrightIO
        self._io = io

    def _send(self, op: str, args: dict[str, Any], timeout: float | None) -> Any:
        import js
        from pyodide.ffi import to_js

        converted = to_js(
            {key: _js_bytes(value) for key, value in args.items()},
            dict_converter=js.Object.fromEntries,
        )
        return self._io.request(op, converted, _ms(timeout))

    async def request(self, op: str, args: dict[str, Any], timeout: float | None) -> Any:
        return _unwrap(op, await self._send(op, args, timeout))

    def request_sync(self, op: str, args: dict[str, Any], timeout: float | None) -> Any:
        from pyodide.ffi import run_sync

        return _unwrap(op, run_sync(self._send(op, args, timeout)))


def _js_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        from pyodide.ffi import to_js

        return to_js(bytes(value))
    return value


def _unwrap(op: str, reply: Any) -> Any:
    if not reply.ok:
        raise error_for(str(reply.error.type), str(reply.error.message))
    from pyodide.ffi import JsBuffer, JsProxy

    value = reply.value
    if isinstance(value, JsBuffer):  # Uint8Array
        return value.to_bytes()
    if isinstance(value, JsProxy):
        return value.to_py()
    return value


# The one transport device IO uses in this interpreter: the page's port manager in the worker,
# or whatever set_transport installed (tests, a remote port manager).
_transport: Transport | None = None


def set_transport(transport: Transport | None) -> None:
    global _transport
    _transport = transport


def get_transport() -> Transport:
    """The transport, behind the grant check: every request carries the caller's grant token."""
    global _transport
    if _transport is None:
        from browser_runtime import IN_PYODIDE

        if not IN_PYODIDE:
            raise WebBridgeError(
                "no web bridge transport: device IO goes through the page's port manager "
                "(Pyodide in the page); elsewhere call set_transport() first"
            )
        _transport = PageTransport()
    return _Granted(_transport)


# Operations that touch no device (listing what the page was granted) need no grant.
_UNGUARDED = frozenset({OPS.list})


class _Granted:
    """A transport that adds the caller's grant to each request, and refuses one without it."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner

    def _args(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op in _UNGUARDED:
            return args
        from browser_runtime.webbridge.grants import require

        return {**args, "grant": require(op, args)}

    async def request(self, op: str, args: dict[str, Any], timeout: float | None) -> Any:
        return await self._inner.request(op, self._args(op, args), timeout)

    def request_sync(self, op: str, args: dict[str, Any], timeout: float | None) -> Any:
        return self._inner.request_sync(op, self._args(op, args), timeout)

