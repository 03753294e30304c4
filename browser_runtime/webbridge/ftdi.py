"""PLR's ``FTDI`` for FTDI chips the OS exposes as serial ports, driven through Web Serial."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import pylabrobot.io.ftdi as _plr_ftdi
from pylabrobot.io.capture import get_capture_or_validation_active
from pylabrobot.io.validation_utils import LOG_LEVEL_IO

from browser_runtime.webbridge import replay as _replay
from browser_runtime.webbridge.capture import record
from browser_runtime.webbridge.transport import OPS, get_transport

logger = logging.getLogger("pylabrobot.io.ftdi")

__all__ = ["FTDI"]

FTDICommand = _plr_ftdi.FTDICommand
_PLRFTDI: Any = getattr(_plr_ftdi.FTDI, "__webbridge_original__", _plr_ftdi.FTDI)

FTDI_VENDOR_ID = 0x0403
# pylibftdi's constants: parity NONE, ODD, EVEN, MARK, SPACE; stop bits 1, 1.5, 2
_PARITY = {0: "none", 1: "odd", 2: "even"}
_STOPBITS = {0: 1, 2: 2}
_SIO_RTS_CTS_HS = 0x1 << 8
_SIO_DTR_DSR_HS = 0x2 << 8
# FTDI modem status bits (low byte of ftdi_poll_modem_status)
_CTS, _DSR, _RI, _DCD = 0x10, 0x20, 0x40, 0x80


class FTDI(_PLRFTDI):
    """Drop-in for ``pylabrobot.io.ftdi.FTDI``: same constructor, methods and semantics.

    The chip is reached as the serial port the OS makes of it (Web Serial): ``device_id`` names a
    granted port (``webserial-0``) or is left out to pick the one granted port with ``vid``/``pid``
    (FTDI's vendor id by default). Baud rate and line settings reopen the port with the new
    settings, ``read(n)`` returns what has arrived, up to n bytes, without waiting (as pylibftdi).
    A chip the OS does not make a serial port of, granted as a USB device instead, is driven by
    the port manager with FTDI's vendor protocol over WebUSB behind the same operations
    (``FtdiUsbPort`` in web/io/ftdi.js); its ``device_id`` is then ``webusb-N``.
    """

    __webbridge__ = True
    _handle: Optional[int] = None
    _replaying: Any = None  # the Replay serving this chip (set up inside one), else None

    def __init__(
        self,
        human_readable_device_name: str,
        device_id: Optional[str] = None,
        vid: Optional[int] = None,
        pid: Optional[int] = None,
        interface_select: Optional[int] = None,
    ):
        # PLR's constructor insists on pylibftdi and pyusb; neither is used here.
        self._human_readable_device_name = human_readable_device_name
        self._device_id = device_id
        self._vid = vid
        self._pid = pid
        self._interface_select = interface_select
        self._dev = None
        self._executor = None
        self._line = {"baudRate": 9600, "dataBits": 8, "parity": "none", "stopBits": 1, "flowControl": "none"}
        if get_capture_or_validation_active():
            raise RuntimeError(
                f"Cannot create a new FTDI object for '{self._human_readable_device_name}' while capture or validation is active"
            )

    @property
    def dev(self) -> Any:
        if self._handle is None:
            raise RuntimeError("Device not initialized. Call setup() first.")
        return self._handle

    async def setup(self) -> None:
        if self._interface_select not in (None, 0, 1):  # pylibftdi: 0 any, 1 A, 2 B, ...
            raise RuntimeError(
                f"'{self._human_readable_device_name}': interface_select={self._interface_select} asks "
                "for a second interface of a multi-interface FTDI chip; the web bridge drives "
                "interface A only"
            )
        if self._handle is not None:
            await self.stop()
        replay = _replay.current()
        if replay is not None:
            self._replaying = replay
            self._device_id = replay.bind(self, "ftdi", self._device_id)
            self._handle = -1
            return
        try:
            reply = await get_transport().request(
                OPS.serial_open,
                {
                    "port": self._device_id,
                    "vid": self._vid if self._vid is not None else FTDI_VENDOR_ID,
                    "pid": self._pid,
                    **self._line,
                },
                timeout=10,
            )
        except OSError as error:
            raise RuntimeError(
                f"Failed to open FTDI device for '{self._human_readable_device_name}': {error}"
            ) from error
        self._handle = int(reply["handle"])
        self._device_id = str(reply["name"]) if self._device_id is None else self._device_id
        logger.info("Successfully opened FTDI device: %s", self._device_id)

    async def _reconfigure(self, **settings: Any) -> None:
        self._line.update(settings)
        if self._handle is not None and self._replaying is None:
            await get_transport().request(
                OPS.serial_reconfigure, {"handle": self._handle, **self._line}, timeout=10
            )

    async def _signals(self, **signals: bool) -> None:
        if self._replaying is None:
            await get_transport().request(OPS.serial_signals, {"handle": self.dev, **signals}, timeout=5)

    def _record(self, action: str, data: str) -> None:
        if self._replaying is not None and action not in ("read", "readline", "poll_modem_status"):
            self._replaying.expect(self, "ftdi", self._device_id, action, data)
        logger.log(LOG_LEVEL_IO, "[%s] %s %s", self._device_id, action, data)
        command = FTDICommand(device_id=self.device_id, action=action, data=data)
        command.data = data  # PLR 0.2.2's FTDICommand drops it: a capture without it replays nothing
        record(command)

    async def _replayed(self, action: str) -> Optional[str]:
        data = self._replaying.take(self, "ftdi", self._device_id, action)
        if data is None:
            await asyncio.sleep(0.001)
        return data

    async def set_baudrate(self, baudrate: int) -> None:
        await self._reconfigure(baudRate=int(baudrate))
        self._record("set_baudrate", str(baudrate))

    async def set_rts(self, level: bool) -> None:
        await self._signals(requestToSend=bool(level))
        self._record("set_rts", str(level))

    async def set_dtr(self, level: bool) -> None:
        await self._signals(dataTerminalReady=bool(level))
        self._record("set_dtr", str(level))

    async def usb_reset(self) -> None:
        # the OS's serial driver owns the chip; there is nothing to reset from a page
        self.dev
        self._record("usb_reset", "")

    async def set_latency_timer(self, latency: int) -> None:
        # the OS driver's latency timer is not reachable through Web Serial
        self.dev
        self._record("set_latency_timer", str(latency))

    async def set_line_property(self, bits: int, stopbits: int, parity: int) -> None:
        if parity not in _PARITY or stopbits not in _STOPBITS or bits not in (7, 8):
            raise ValueError(
                f"line property bits={bits} stopbits={stopbits} parity={parity} is not available through Web Serial"
            )
        await self._reconfigure(dataBits=int(bits), stopBits=_STOPBITS[stopbits], parity=_PARITY[parity])
        self._record("set_line_property", f"{bits},{stopbits},{parity}")

    async def set_flowctrl(self, flowctrl: int) -> None:
        if flowctrl not in (0, _SIO_RTS_CTS_HS, _SIO_DTR_DSR_HS):
            raise ValueError(f"flow control {flowctrl:#x} is not available through Web Serial (none or RTS/CTS)")
        if flowctrl == _SIO_DTR_DSR_HS:
            # Web Serial has no DTR/DSR handshake; request/response devices (e.g. Hamilton's HEPA
            # fan) do not depend on it, so the line runs without flow control and says so.
            logger.warning("[%s] DTR/DSR flow control is not available through Web Serial; using none", self._device_id)
        await self._reconfigure(flowControl="hardware" if flowctrl == _SIO_RTS_CTS_HS else "none")
        self._record("set_flowctrl", str(flowctrl))

    async def usb_purge_rx_buffer(self) -> None:
        if self._replaying is None:
            await get_transport().request(OPS.serial_discard_input, {"handle": self.dev}, timeout=5)
        self._record("usb_purge_rx_buffer", "")

    async def usb_purge_tx_buffer(self) -> None:
        self.dev  # writes are handed to the OS at once: nothing is queued here
        self._record("usb_purge_tx_buffer", "")

    async def poll_modem_status(self) -> int:
        if self._replaying is not None:
            replayed = await self._replayed("poll_modem_status")
            status = int(replayed or 0)
            self._record("poll_modem_status", str(status))
            return status
        signals = await get_transport().request(OPS.serial_modem, {"handle": self.dev}, timeout=5)
        status = (
            (_CTS if signals["clearToSend"] else 0)
            | (_DSR if signals["dataSetReady"] else 0)
            | (_RI if signals["ringIndicator"] else 0)
            | (_DCD if signals["dataCarrierDetect"] else 0)
        )
        self._record("poll_modem_status", str(status))
        return status

    async def stop(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            if self._replaying is None:
                await get_transport().request(OPS.serial_close, {"handle": handle}, timeout=5)

    async def write(self, data: bytes) -> int:
        self.dev
        self._record("write", bytes(data).hex())
        if self._replaying is not None:
            return len(data)
        return int(
            await get_transport().request(
                OPS.serial_write, {"handle": self.dev, "data": bytes(data)}, timeout=10
            )
        )

    async def read(self, num_bytes: int = 1) -> bytes:
        if self._replaying is not None:
            self.dev
            data = bytes.fromhex(await self._replayed("read") or "")[:num_bytes]
        else:
            data = await get_transport().request(
                OPS.serial_read, {"handle": self.dev, "size": num_bytes}, timeout=0
            )
        if len(data) != 0:
            self._record("read", data.hex())
        return data

    async def readline(self) -> bytes:  # type: ignore[override]
        if self._replaying is not None:
            self.dev
            data = bytes.fromhex(await self._replayed("readline") or "")
        else:
            data = await get_transport().request(
                OPS.serial_read_until, {"handle": self.dev, "terminator": b"\n", "size": None}, timeout=0
            )
        if len(data) != 0:
            self._record("readline", data.hex())
        return data
