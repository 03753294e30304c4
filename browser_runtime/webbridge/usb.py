"""PLR's ``USB`` with transfers made by the page's port manager (WebUSB) instead of PyUSB."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, List, Optional

import pylabrobot.io.usb as _plr_usb
from pylabrobot.io.validation_utils import LOG_LEVEL_IO

from browser_runtime.webbridge import replay as _replay
from browser_runtime.webbridge.capture import data_text, record
from browser_runtime.webbridge.transport import (
    OPS,
    DeviceTimeoutError,
    get_transport,
)

logger = logging.getLogger("pylabrobot.io.usb")

__all__ = ["USB", "WebUSBDevice", "Endpoint"]

USBCommand = _plr_usb.USBCommand
_PLRUSB: Any = getattr(_plr_usb.USB, "__webbridge_original__", _plr_usb.USB)

_REQUEST_TYPES = {0: "standard", 1: "class", 2: "vendor"}
_RECIPIENTS = {0: "device", 1: "interface", 2: "endpoint", 3: "other"}


@dataclass(frozen=True)
class Endpoint:
    """The parts of a PyUSB endpoint descriptor PLR's USB code reads."""

    bEndpointAddress: int
    wMaxPacketSize: int
    bmAttributes: int = 2  # bulk


@dataclass
class WebUSBDevice:
    """The opened device (what PLR keeps in ``USB.dev``); ``configuration_callback`` gets it."""

    handle: int
    name: str
    descriptor: dict[str, Any]
    idVendor: int = 0
    idProduct: int = 0
    serial_number: Optional[str] = None
    configured: bool = field(default=False)
    replaying: bool = field(default=False)

    def set_configuration(self, configuration: Optional[int] = None) -> None:
        """As PyUSB's: select a configuration (the first without an argument); blocks via JSPI."""
        value = configuration if configuration is not None else _first_configuration(self.descriptor)
        if self.replaying:  # a replay opens nothing: the capture has no configuration to select
            self.configured = True
            return
        self.descriptor = get_transport().request_sync(
            OPS.usb_select_configuration, {"handle": self.handle, "value": value}, timeout=10
        ) or self.descriptor
        self.descriptor["configuration"] = value
        self.configured = True


def _first_configuration(descriptor: dict[str, Any]) -> int:
    configurations = descriptor.get("configurations") or []
    return int(configurations[0]["value"]) if configurations else 1


def _endpoints(descriptor: dict[str, Any], interface: int = 0) -> list[Endpoint]:
    value = descriptor.get("configuration") or _first_configuration(descriptor)
    for configuration in descriptor.get("configurations") or []:
        if configuration["value"] != value:
            continue
        for iface in configuration["interfaces"]:
            if iface["number"] == interface:
                return [
                    Endpoint(
                        bEndpointAddress=ep["number"] | (0x80 if ep["direction"] == "in" else 0),
                        wMaxPacketSize=int(ep["packetSize"]),
                        bmAttributes={"control": 0, "isochronous": 1, "bulk": 2, "interrupt": 3}.get(
                            ep["type"], 2
                        ),
                    )
                    for ep in iface["alternates"][0]["endpoints"]
                ]
    return []


class USB(_PLRUSB):
    """Drop-in for ``pylabrobot.io.usb.USB``: same constructor, methods and semantics.

    ``read`` concatenates packets until a short one, ``write`` ends a transfer whose length is
    a multiple of the packet size with a zero-length packet, ``ctrl_transfer`` blocks (JSPI).
    WebUSB has no bus addresses, so ``device_address`` is not used to pick a device. An
    unplugged device raises ``DeviceDisconnectedError`` (PyUSB's errors would be swallowed as
    "no data yet" and surface only as a timeout).
    """

    __webbridge__ = True
    _replaying: Any = None  # the Replay serving this device (set up inside one), else None

    def _record(self, action: str, data: str) -> None:
        logger.log(LOG_LEVEL_IO, "%s %s: %s", self._unique_id, action, data)
        record(USBCommand(device_id=self._unique_id, action=action, data=data))

    async def setup(self, empty_buffer: bool = True) -> None:
        if self.dev is not None:
            logger.warning("USB device already connected. Closing previous connection.")
            await self.stop()
        replay = _replay.current()
        if replay is not None:
            # Nothing is opened: the endpoints are the ones asked for (or the usual first pair).
            self._replaying = replay
            self._unique_id = replay.bind(self, "usb", self._unique_id)
            self.dev = WebUSBDevice(handle=-1, name=str(self._unique_id), descriptor={}, idVendor=self._id_vendor,
                                    idProduct=self._id_product, serial_number=self._serial_number, replaying=True)
            if self.configuration_callback is not None:
                self.configuration_callback(self.dev)
            self.write_endpoint = Endpoint(self.write_endpoint_address or 0x02, 64)
            self.read_endpoint = Endpoint(self.read_endpoint_address or 0x81, 64)
            return
        transport = get_transport()
        reply = await transport.request(
            OPS.usb_open,
            {"vid": self._id_vendor, "pid": self._id_product, "serialNumber": self._serial_number},
            timeout=self.write_timeout,
        )
        dev = WebUSBDevice(
            handle=int(reply["handle"]),
            name=str(reply["name"]),
            descriptor=reply["device"],
            idVendor=self._id_vendor,
            idProduct=self._id_product,
            serial_number=reply["device"].get("serialNumber"),
        )
        self.dev = dev
        if self.configuration_callback is not None:
            self.configuration_callback(dev)
        else:
            value = _first_configuration(dev.descriptor)
            described = await transport.request(
                OPS.usb_select_configuration, {"handle": dev.handle, "value": value}, timeout=10
            )
            dev.descriptor = described or dev.descriptor
            dev.descriptor["configuration"] = value
        # PyUSB claims interface 0 on the first transfer; WebUSB needs it said.
        await transport.request(
            OPS.usb_claim_interface, {"handle": dev.handle, "number": 0, "alternate": 0}, timeout=10
        )
        endpoints = _endpoints(dev.descriptor)

        def pick(address: Optional[int], direction_in: bool) -> Optional[Endpoint]:
            for ep in endpoints:
                if address is not None and ep.bEndpointAddress == address:
                    return ep
                if address is None and bool(ep.bEndpointAddress & 0x80) == direction_in:
                    return ep
            return None

        self.write_endpoint = pick(self.write_endpoint_address, False)
        self.read_endpoint = pick(self.read_endpoint_address, True)
        if self.write_endpoint is None or self.read_endpoint is None:
            raise RuntimeError(
                f"USB device '{self._human_readable_device_name}' has no "
                f"{'OUT' if self.write_endpoint is None else 'IN'} endpoint on interface 0"
            )
        logger.info("Found endpoints. Write: %s Read: %s", self.write_endpoint, self.read_endpoint)
        if empty_buffer:
            while await self._read_packet_async() is not None:
                pass

    async def stop(self) -> None:
        if self.dev is None:
            raise ValueError("USB device was not connected.")
        logger.warning("Closing connection to USB device.")
        dev, self.dev = self.dev, None
        if not dev.replaying:
            await get_transport().request(OPS.usb_close, {"handle": dev.handle}, timeout=5)

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if self.dev is None or self.write_endpoint is None:
            raise RuntimeError(f"USB device for '{self._human_readable_device_name}' is not connected.")
        if timeout is None:
            timeout = self.write_timeout
        if self.dev.replaying:
            self._replaying.expect_bytes(self, "usb", self._unique_id, "write", bytes(data))
        else:
            transport = get_transport()
            endpoint = self.write_endpoint.bEndpointAddress & 0x7F
            args = {"handle": self.dev.handle, "endpoint": endpoint}
            await transport.request(OPS.usb_transfer_out, {**args, "data": bytes(data)}, timeout=timeout)
            if len(data) % self.write_endpoint.wMaxPacketSize == 0:
                # a zero-length packet marks the end of the transfer
                await transport.request(OPS.usb_transfer_out, {**args, "data": b""}, timeout=timeout)
        self._record("write", data_text("usb", data))

    def _packet_args(
        self, size: Optional[int], timeout: Optional[float], endpoint: Optional[int]
    ) -> tuple[dict[str, Any], float]:
        if self.dev is None or self.read_endpoint is None:
            raise RuntimeError(f"USB device for '{self._human_readable_device_name}' is not connected.")
        address = endpoint if endpoint is not None else self.read_endpoint.bEndpointAddress
        if isinstance(address, Endpoint):
            address = address.bEndpointAddress
        if size is None:
            match = [ep for ep in _endpoints(self.dev.descriptor) if ep.bEndpointAddress == address]
            if not match:
                raise ValueError(f"Endpoint 0x{address:02x} not found.")
            size = match[0].wMaxPacketSize
        if timeout is None:
            timeout = self.packet_read_timeout
        return {"handle": self.dev.handle, "endpoint": address & 0x7F, "length": size}, timeout

    async def _read_packet_async(
        self, size: Optional[int] = None, timeout: Optional[float] = None, endpoint: Optional[int] = None
    ) -> Optional[bytearray]:
        args, timeout = self._packet_args(size, timeout, endpoint)
        if self.dev is not None and self.dev.replaying:
            return None  # a replay serves whole reads (read), never packets
        try:
            data = await get_transport().request(OPS.usb_transfer_in, args, timeout=timeout)
        except DeviceTimeoutError:
            return None  # no data (yet), as PLR reads a PyUSB timeout
        return bytearray(data)

    def _read_packet(
        self, size: Optional[int] = None, timeout: Optional[float] = None, endpoint: Optional[int] = None
    ) -> Optional[bytearray]:
        """PLR's synchronous packet read; blocks through JSPI (``run_sync``)."""
        args, timeout = self._packet_args(size, timeout, endpoint)
        if self.dev is not None and self.dev.replaying:
            return None
        try:
            data = get_transport().request_sync(OPS.usb_transfer_in, args, timeout=timeout)
        except DeviceTimeoutError:
            return None
        return bytearray(data)

    async def read(self, timeout: Optional[int] = None, size: Optional[int] = None) -> bytes:
        if self.dev is None or self.read_endpoint is None:
            raise RuntimeError(f"USB device for '{self._human_readable_device_name}' is not connected.")
        if timeout is None:
            timeout = self.read_timeout
        if self.dev.replaying:
            replayed = self._replaying.take_bytes(self, "usb", self._unique_id, "read")
            if replayed is None:  # nothing had arrived here when it was captured: a (short) timeout
                await asyncio.sleep(0.001)
                raise TimeoutError(f"Timeout while reading from USB device '{self._human_readable_device_name}'.")
            self._record("read", data_text("usb", replayed))
            return bytearray(replayed)  # type: ignore[return-value]
        timeout_time = time.time() + timeout
        while time.time() < timeout_time:
            # keep reading while packets come full-sized: a full packet means there may be more
            resp = bytearray()
            while True:
                remaining = size - len(resp) if size is not None else None
                last_packet = await self._read_packet_async(size=remaining)
                if last_packet is not None:
                    resp += last_packet
                if self.read_endpoint is None:
                    raise RuntimeError("Read endpoint is None. Call setup() first.")
                if last_packet is None or len(last_packet) != self.read_endpoint.wMaxPacketSize:
                    break
                if size is not None and len(resp) >= size:
                    break
            if len(resp) == 0:
                continue
            self._record("read", data_text("usb", resp))
            return resp  # type: ignore[return-value]  # a bytearray, as PLR's
        raise TimeoutError(
            f"Timeout while reading from USB device '{self._human_readable_device_name}'."
        )

    def ctrl_transfer(
        self,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data_or_wLength: Any,
        timeout: Optional[int] = None,
    ) -> bytearray:
        if self.dev is None:
            raise RuntimeError(f"USB device for '{self._human_readable_device_name}' is not connected.")
        if timeout is None:
            timeout = self.read_timeout
        args: dict[str, Any] = {
            "handle": self.dev.handle,
            "requestType": _REQUEST_TYPES.get((bmRequestType >> 5) & 0x3, "vendor"),
            "recipient": _RECIPIENTS.get(bmRequestType & 0x1F, "device"),
            "request": bRequest,
            "value": wValue,
            "index": wIndex,
        }
        request = self._serialize_ctrl_transfer_request(
            bmRequestType, bRequest, wValue, wIndex, data_or_wLength
        )
        if self.dev.replaying:
            self._replaying.expect(self, "usb", self._unique_id, "ctrl_transfer_request", request)
            answer = self._replaying.take(self, "usb", self._unique_id, "ctrl_transfer_response") or ""
            response = bytes(int(b) for b in answer.split())
        else:
            transport = get_transport()
            if bmRequestType & 0x80:  # device to host
                res: Any = transport.request_sync(
                    OPS.usb_control_in, {**args, "length": int(data_or_wLength)}, timeout=timeout
                )
            else:  # host to device: PyUSB returns the number of bytes written
                payload = b"" if data_or_wLength is None else bytes(data_or_wLength)
                res = transport.request_sync(OPS.usb_control_out, {**args, "data": payload}, timeout=timeout)
            response = res if isinstance(res, (bytes, bytearray)) else bytes(int(res))
        self._record("ctrl_transfer_request", request)
        self._record("ctrl_transfer_response", " ".join(map(str, response)))
        return bytearray(response)

    def get_available_devices(self) -> List[dict]:  # type: ignore[override]
        """Granted WebUSB devices with this vendor/product id (and serial number, if set)."""
        devices = get_transport().request_sync(OPS.list, {}, timeout=5)
        return [
            d
            for d in devices
            if d["kind"] == "usb"
            and d["vendorId"] == self._id_vendor
            and d["productId"] == self._id_product
            and (self._serial_number is None or d["serialNumber"] == self._serial_number)
        ]
