"""Finding devices: serial ports (pyserial), simulator backends (the catalog) and mDNS services.

Every device is one flat dict ``{id, name, connection_type, machine_kind, status, port,
ip_address, manufacturer, model, serial_number, plr_backends, properties}``; ids are stable
across calls and restarts.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from browser_runtime.catalog import Catalog

log = logging.getLogger("labwright")


def _device(id: str, name: str, connection_type: str, **fields: Any) -> dict[str, Any]:
    device = {
        "id": id, "name": name, "connection_type": connection_type, "machine_kind": None,
        "status": "available", "port": None, "ip_address": None, "manufacturer": None,
        "model": None, "serial_number": None, "plr_backends": [], "properties": {},
    }
    device.update(fields)
    return device


# Simulators ---------------------------------------------------------------------------------

def simulator_id(fqn: str) -> str:
    return f"simulator:{fqn}"


def simulator_devices(catalog: Catalog) -> list[dict[str, Any]]:
    devices = []
    for backend in catalog.entries("backends"):
        if not backend.get("simulator") or backend.get("deprecated"):
            continue
        devices.append(_device(
            simulator_id(backend["fqn"]), backend["name"], "simulator",
            machine_kind=backend.get("frontend_kind"), manufacturer="PyLabRobot",
            model=backend["name"], plr_backends=[backend["fqn"]],
            properties={"frontend": (catalog.frontend_for(backend.get("frontend_kind")) or {}).get("fqn"),
                        "module": backend["module"]}))
    return devices


# Serial -------------------------------------------------------------------------------------

def _backends_for_usb(catalog: Catalog | None, vid: int | None, pid: int | None) -> list[dict[str, Any]]:
    if catalog is None or vid is None or pid is None:
        return []
    return [b for b in catalog.entries("backends")
            if any(u["vid"] == vid and u["pid"] == pid for u in b.get("usb_ids") or [])]


def serial_id(port: Any) -> str:
    """By USB serial number where the adapter has one, else by USB location, else by path."""
    if port.serial_number and port.vid is not None:
        return f"serial:{port.vid:04x}:{port.pid:04x}:{port.serial_number}"
    if port.location:
        return f"serial:location:{port.location}"
    return f"serial:{port.device}"


def _is_char_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def serial_devices(catalog: Catalog | None, globs: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    from serial.tools import list_ports
    from serial.tools.list_ports_common import ListPortInfo

    ports = list(list_ports.comports())
    listed = {p.device for p in ports}
    # pyserial lists only ports the kernel reports as such; ptys, symlinks and adapters under
    # unusual names are added by path from the configured globs.
    for pattern in globs:
        for path in sorted(glob.glob(pattern)):
            if path not in listed and _is_char_device(path):
                listed.add(path)
                ports.append(ListPortInfo(path, skip_link_detection=True))
    devices = []
    for port in ports:
        backends = _backends_for_usb(catalog, port.vid, port.pid)
        devices.append(_device(
            serial_id(port), port.product or port.description or port.device, "serial",
            machine_kind=backends[0]["frontend_kind"] if backends else None,
            port=port.device, manufacturer=port.manufacturer, model=port.product,
            serial_number=port.serial_number, plr_backends=[b["fqn"] for b in backends],
            properties={"vid": port.vid, "pid": port.pid, "location": port.location,
                        "description": port.description, "hwid": port.hwid}))
    return devices


# Network (mDNS) -----------------------------------------------------------------------------

#: Vendors recognised in service names and TXT records, with the catalog words of their backends.
_VENDORS = {
    "opentrons": "Opentrons", "sila": "SiLA", "tecan": "Tecan", "hamilton": "Hamilton",
    "beckman": "Beckman Coulter", "agilent": "Agilent",
}


def _text(properties: dict[bytes, bytes | None]) -> dict[str, str]:
    return {k.decode("utf-8", "replace"): (v or b"").decode("utf-8", "replace")
            for k, v in properties.items()}


def match_service(catalog: Catalog | None, service_type: str, name: str, port: int | None,
                  txt: dict[str, str]) -> dict[str, Any]:
    """Vendor, model, machine kind and PLR backends of an announced service, or 'unknown'."""
    haystack = " ".join([service_type, name, *txt.keys(), *txt.values()]).lower()
    vendor = None
    if service_type.startswith("_opentrons._tcp") or "robotmodel" in {k.lower() for k in txt} or (
            service_type.startswith("_http._tcp") and port == 31950):
        vendor = "opentrons"
    elif service_type.startswith("_sila._tcp"):
        vendor = next((v for v in _VENDORS if v != "sila" and v in haystack), "sila")
    else:
        vendor = next((v for v in _VENDORS if v in haystack), None)
    if vendor is None:
        return {"manufacturer": "unknown", "model": None, "machine_kind": None, "plr_backends": [],
                "matched": False}
    model = txt.get("robotModel") or txt.get("model") or txt.get("server_type") or None
    backends = []
    if catalog is not None and vendor != "sila":
        backends = [b for b in catalog.entries("backends") if vendor in b["fqn"].lower()
                    and not b.get("simulator") and b.get("io") in ("http", "socket")]
    kind = "liquid_handler" if vendor == "opentrons" else (
        backends[0].get("frontend_kind") if backends else None)
    if vendor == "opentrons":
        backends = [b for b in backends if b.get("frontend_kind") == "liquid_handler"]
    return {"manufacturer": _VENDORS[vendor], "model": model, "machine_kind": kind,
            "plr_backends": [b["fqn"] for b in backends], "matched": True}


class NetworkBrowser:
    """A continuous zeroconf browser in its own threads, keeping a live list of services."""

    def __init__(self, service_types: tuple[str, ...], interfaces: tuple[str, ...] = ()) -> None:
        self.service_types = tuple(t if t.endswith(".") else t + "." for t in service_types)
        self.interfaces = interfaces
        self.catalog: Catalog | None = None
        self.started_at: float | None = None
        self.error: str | None = None
        self._services: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._zeroconf: Any = None
        self._browser: Any = None
        self._resolver = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mdns-resolve")
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """``callback`` (called from a zeroconf thread) runs whenever the list changes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, Zeroconf

        try:
            interfaces: Any = list(self.interfaces) if self.interfaces else InterfaceChoice.All
            self._zeroconf = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
            self._browser = ServiceBrowser(self._zeroconf, list(self.service_types), handlers=[self._on_change])
        except OSError as exc:  # no multicast-capable interface: say so in every answer
            self.error = f"mDNS unavailable: {exc}"
            log.warning(self.error)
        self.started_at = time.monotonic()

    def stop(self) -> None:
        if self._browser is not None:
            self._browser.cancel()
        if self._zeroconf is not None:
            self._zeroconf.close()
        self._resolver.shutdown(wait=False, cancel_futures=True)

    def _on_change(self, zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            with self._lock:
                self._services.pop(name, None)
            self._notify()
            return
        # Resolving blocks; a zeroconf handler must not.
        self._resolver.submit(self._resolve, zeroconf, service_type, name)

    def _resolve(self, zeroconf: Any, service_type: str, name: str) -> None:
        try:
            info = zeroconf.get_service_info(service_type, name, timeout=3000)
        except Exception as exc:  # noqa: BLE001 - one bad announcement must not stop the browser
            log.debug("mDNS: cannot resolve %s: %s", name, exc)
            return
        if info is None:
            return
        addresses = [socket.inet_ntoa(a) for a in info.addresses if len(a) == 4]
        with self._lock:
            self._services[name] = {
                "type": service_type, "name": name, "port": info.port, "addresses": addresses,
                "server": info.server, "txt": _text(info.properties or {}),
            }
        self._notify()

    def _notify(self) -> None:
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("mDNS listener failed")

    async def devices(self, timeout: float) -> list[dict[str, Any]]:
        """The live list; right after start-up waits until the browser has had ``timeout`` s."""
        if self.started_at is not None:
            remaining = self.started_at + timeout - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)
        with self._lock:
            services = list(self._services.values())
        devices = []
        for service in sorted(services, key=lambda s: s["name"]):
            match = match_service(self.catalog, service["type"], service["name"], service["port"],
                                  service["txt"])
            instance = service["name"].removesuffix("." + service["type"]).removesuffix(service["type"])
            devices.append(_device(
                f"network:{service['name']}", instance or service["name"], "network",
                machine_kind=match["machine_kind"], port=str(service["port"]),
                ip_address=service["addresses"][0] if service["addresses"] else None,
                manufacturer=match["manufacturer"], model=match["model"],
                serial_number=service["txt"].get("serialNumber") or service["txt"].get("serial"),
                plr_backends=match["plr_backends"],
                properties={"service_type": service["type"], "service_name": service["name"],
                            "server": service["server"], "addresses": service["addresses"],
                            "txt": service["txt"], "matched": match["matched"]}))
        return devices
