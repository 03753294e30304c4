"""PLR's ``Serial`` with bytes moved by the page's port manager (Web Serial) instead of pyserial."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import pylabrobot.io.serial as _plr_serial
from pylabrobot.io.capture import capturer
from pylabrobot.io.validation_utils import LOG_LEVEL_IO

from browser_runtime.webbridge.transport import OPS, IOProtocolError, get_transport

logger = logging.getLogger("pylabrobot.io.serial")

__all__ = ["Serial", "web_serial_options"]

SerialCommand = _plr_serial.SerialCommand
_PLRSerial: Any = getattr(_plr_serial.Serial, "__webbridge_original__", _plr_serial.Serial)

_PARITY = {"N": "none", "E": "even", "O": "odd"}


def web_serial_options(
    baudrate: int, bytesize: int, parity: str, stopbits: float, rtscts: bool
) -> dict[str, Any]:
    """pyserial's line settings in Web Serial's terms; settings Web Serial lacks are refused."""
    if parity not in _PARITY:
        raise ValueError(f"parity {parity!r} is not available through Web Serial (N, E or O)")
    if bytesize not in (7, 8):
        raise ValueError(f"bytesize {bytesize} is not available through Web Serial (7 or 8)")
    if stopbits not in (1, 2):
        raise ValueError(f"stopbits {stopbits} is not available through Web Serial (1 or 2)")
    return {
        "baudRate": int(baudrate),
        "dataBits": int(bytesize),
        "parity": _PARITY[parity],
        "stopBits": int(stopbits),
        "flowControl": "hardware" if rtscts else "none",
    }


class Serial(_PLRSerial):
    """Drop-in for ``pylabrobot.io.serial.Serial``: same constructor, methods and semantics.

    ``port`` names a port the page was granted (``webserial-0``, see ``labwrightPorts.list()``)
    or a USB id ``"0403:6001"``; without it, ``vid``/``pid`` pick the one granted port with that
    id. ``read(n)`` returns up to n bytes, ``b""`` after ``timeout`` seconds, as pyserial does;
    an unplugged port raises ``DeviceDisconnectedError`` instead.
    """

    __webbridge__ = True
    _handle: Optional[int] = None
    _signals: Optional[dict[str, bool]] = None
    _pending_signals: Optional[asyncio.Future] = None

    async def setup(self) -> None:
        if self._handle is not None:
            await self.stop()
        options = web_serial_options(
            self.baudrate, self.bytesize, self.parity, self.stopbits, self.rtscts
        )
        reply = await get_transport().request(
            OPS.serial_open,
            {"port": self._port, "vid": self._vid, "pid": self._pid, **options},
            timeout=self.write_timeout if self.write_timeout is not None else 10,
        )
        self._handle = int(reply["handle"])
        # pyserial raises DTR and RTS on open; Web Serial leaves them to us.
        self._signals = {"dtr": True, "rts": True}
        if self._port is None:
            self._port = str(reply["name"])

    async def stop(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            await get_transport().request(OPS.serial_close, {"handle": handle}, timeout=5)

    def _require_setup(self) -> int:
        if self._handle is None:
            raise RuntimeError(f"Call setup() first for device '{self._human_readable_device_name}'.")
        return self._handle

    async def _flush_signals(self) -> None:
        # dtr/rts setters are synchronous in PLR; when they could not block, finish them here.
        pending, self._pending_signals = self._pending_signals, None
        if pending is not None:
            await pending

    async def write(self, data: bytes) -> None:
        handle = self._require_setup()
        await self._flush_signals()
        await get_transport().request(
            OPS.serial_write, {"handle": handle, "data": bytes(data)}, timeout=self.write_timeout
        )
        logger.log(LOG_LEVEL_IO, "[%s] write %s", self._port, data)
        capturer.record(
            SerialCommand(device_id=self.port, action="write", data=data.decode("unicode_escape"))
        )

    async def read(self, num_bytes: int = 1) -> bytes:
        handle = self._require_setup()
        await self._flush_signals()
        data: bytes = await get_transport().request(
            OPS.serial_read, {"handle": handle, "size": num_bytes}, timeout=self.timeout
        )
        if len(data) != 0:
            logger.log(LOG_LEVEL_IO, "[%s] read %s", self._port, data)
            capturer.record(
                SerialCommand(device_id=self.port, action="read", data=data.decode("unicode_escape"))
            )
        return data

    async def readline(self) -> bytes:  # type: ignore[override]
        handle = self._require_setup()
        await self._flush_signals()
        data: bytes = await get_transport().request(
            OPS.serial_read_until,
            {"handle": handle, "terminator": b"\n", "size": None},
            timeout=self.timeout,
        )
        if len(data) != 0:
            logger.log(LOG_LEVEL_IO, "[%s] readline %s", self._port, data)
            capturer.record(
                SerialCommand(
                    device_id=self.port, action="readline", data=data.decode("unicode_escape")
                )
            )
        return data

    async def send_break(self, duration: float) -> None:
        handle = self._require_setup()
        transport = get_transport()
        await transport.request(OPS.serial_signals, {"handle": handle, "break": True}, timeout=5)
        await asyncio.sleep(duration)
        await transport.request(OPS.serial_signals, {"handle": handle, "break": False}, timeout=5)
        logger.log(LOG_LEVEL_IO, "[%s] send_break %s", self._port, duration)
        capturer.record(SerialCommand(device_id=self.port, action="send_break", data=str(duration)))

    async def reset_input_buffer(self) -> None:
        handle = self._require_setup()
        await get_transport().request(OPS.serial_discard_input, {"handle": handle}, timeout=5)
        logger.log(LOG_LEVEL_IO, "[%s] reset_input_buffer", self._port)
        capturer.record(SerialCommand(device_id=self.port, action="reset_input_buffer", data=""))

    async def reset_output_buffer(self) -> None:
        # Web Serial writes resolve once the bytes are handed to the OS: nothing is left queued.
        self._require_setup()
        logger.log(LOG_LEVEL_IO, "[%s] reset_output_buffer", self._port)
        capturer.record(SerialCommand(device_id=self.port, action="reset_output_buffer", data=""))

    def _set_signal(self, name: str, value: bool) -> None:
        handle = self._require_setup()
        assert self._signals is not None
        self._signals[name] = bool(value)
        key = "dataTerminalReady" if name == "dtr" else "requestToSend"
        args = {"handle": handle, key: bool(value)}
        transport = get_transport()
        try:
            transport.request_sync(OPS.serial_signals, args, timeout=5)
        except IOProtocolError:
            raise
        except RuntimeError:
            # No JSPI here (run_sync unavailable): apply it before the next read or write.
            previous = self._pending_signals

            async def apply() -> None:
                if previous is not None:
                    await previous
                await transport.request(OPS.serial_signals, args, timeout=5)

            self._pending_signals = asyncio.ensure_future(apply())

    @property
    def dtr(self) -> bool:
        assert self._signals is not None and self._port is not None, "forgot to call setup?"
        value = self._signals["dtr"]
        capturer.record(SerialCommand(device_id=self._port, action="get_dtr", data=str(value)))
        return value

    @dtr.setter
    def dtr(self, value: bool) -> None:
        assert self._port is not None, "forgot to call setup?"
        logger.log(LOG_LEVEL_IO, "[%s] set DTR %s", self._port, value)
        capturer.record(SerialCommand(device_id=self._port, action="set_dtr", data=str(value)))
        self._set_signal("dtr", value)

    @property
    def rts(self) -> bool:
        assert self._signals is not None and self._port is not None, "forgot to call setup?"
        value = self._signals["rts"]
        capturer.record(SerialCommand(device_id=self._port, action="get_rts", data=str(value)))
        return value

    @rts.setter
    def rts(self, value: bool) -> None:
        assert self._port is not None, "forgot to call setup?"
        logger.log(LOG_LEVEL_IO, "[%s] set RTS %s", self._port, value)
        capturer.record(SerialCommand(device_id=self._port, action="set_rts", data=str(value)))
        self._set_signal("rts", value)
