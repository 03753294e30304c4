"""PLR IO replacements that move bytes through the page's port manager (WebSerial/WebUSB/WebHID)."""

from __future__ import annotations

from browser_runtime.webbridge.grants import DeviceAccessDenied, Grant
from browser_runtime.webbridge.install import InstallReport, install, installed, uninstall
from browser_runtime.webbridge.transport import (
    OPS,
    DeviceAmbiguousError,
    DeviceDisconnectedError,
    DeviceDriverError,
    DeviceNotFoundError,
    DeviceTimeoutError,
    IOProtocolError,
    PageTransport,
    Transport,
    WebBridgeError,
    get_transport,
    set_transport,
)

__all__ = [
    "OPS",
    "DeviceAccessDenied",
    "Grant",
    "DeviceAmbiguousError",
    "DeviceDisconnectedError",
    "DeviceDriverError",
    "DeviceNotFoundError",
    "DeviceTimeoutError",
    "IOProtocolError",
    "InstallReport",
    "PageTransport",
    "Transport",
    "WebBridgeError",
    "get_transport",
    "install",
    "installed",
    "set_transport",
    "uninstall",
]
