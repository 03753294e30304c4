"""PLR's ``Serial`` with bytes moved by the page's port manager (Web Serial) instead of pyserial."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import pylabrobot.io.serial as _plr_serial
from pylabrobot.io.validation_utils import LOG_LEVEL_IO

from browser_runtime.webbridge import replay as _replay
from browser_runtime.webbridge.capture import data_text, record
from browser_runtime.webbridge.transport import OPS, IOProtocolError, get_transport

logger = logging.getLogger("pylabrobot.io.serial")

__all__ = ["Serial", "web_serial_options"]

SerialCommand = _plr_serial.SerialCommand
_PLRSerial: Any = getattr(_plr_serial.Serial, "__webbridge_original__", _plr_serial.Serial)

_PARITY = {"N": "none", "E": "even", "O": "odd"}
#: A replayed read with nothing captured at that point waits this long (seconds), as a short timeout.
_REPLAY_IDLE = 0.001
#: The handle of a port being replayed (nothing is open).
_REPLAYING = -1


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

    ``port`` names a port the page was granted (``webserial-0``, see ``labwrightPorts.list()``),
    the name the user gave it in 'Connect a device', or a USB id ``"0403:6001"``; without it,
    ``vid``/``pid`` pick the one granted port with that id. ``read(n)`` returns up to n bytes,
    ``b""`` after ``timeout`` seconds, as pyserial does; an unplugged port raises
    ``DeviceDisconnectedError`` instead. Every command is recorded (``capture.record``); inside
    a replay nothing is opened and the capture answers (``replay.py``).
    """

    __webbridge__ = True
    _handle: Optional[int] = None
    _signals: Optional[dict[str, bool]] = None
    _pending_signals: Optional[asyncio.Future] = None
    _replaying: Any = None  # the Replay serving this port (set up inside one), else None

    async def setup(self) -> None:
        if self._handle is not None:
            await self.stop()
        options = web_serial_options(
            self.baudrate, self.bytesize, self.parity, self.stopbits, self.rtscts
        )
        replay = _replay.current()
        if replay is not None:
            self._port = replay.bind(self, "serial", self._port)
            self._replaying = replay
            self._handle = _REPLAYING
        else:
            reply = await get_transport().request(
                OPS.serial_open,
                {"port": self._port, "vid": self._vid, "pid": self._pid, **options},
                timeout=self.write_timeout if self.write_timeout is not None else 10,
            )
            self._handle = int(reply["handle"])
            if self._port is None:
                self._port = str(reply["name"])
        # pyserial raises DTR and RTS on open; Web Serial leaves them to us.
        self._signals = {"dtr": True, "rts": True}

    async def stop(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            if handle != _REPLAYING:
                await get_transport().request(OPS.serial_close, {"handle": handle}, timeout=5)

    def _require_setup(self) -> int:
        if self._handle is None:
            raise RuntimeError(f"Call setup() first for device '{self._human_readable_device_name}'.")
        return self._handle

    def _record(self, action: str, data: str) -> None:
        logger.log(LOG_LEVEL_IO, "[%s] %s %s", self._port, action, data)
        record(SerialCommand(device_id=self._port, action=action, data=data))  # type: ignore[arg-type]

    async def _flush_signals(self) -> None:
        # dtr/rts setters are synchronous in PLR; when they could not block, finish them here.
        pending, self._pending_signals = self._pending_signals, None
        if pending is not None:
            await pending

    async def write(self, data: bytes) -> None:
        handle = self._require_setup()
        if handle == _REPLAYING:
            self._replaying.expect_bytes(self, "serial", self._port, "write", bytes(data))
        else:
            if self._pending_signals is not None:
                await self._flush_signals()
            await get_transport().request(
                OPS.serial_write, {"handle": handle, "data": bytes(data)}, timeout=self.write_timeout
            )
        self._record("write", data_text("serial", data))

    async def _replayed(self, action: str, size: Optional[int]) -> bytes:
        data = self._replaying.take_bytes(self, "serial", self._port, action)
        if data is None:
            await asyncio.sleep(_REPLAY_IDLE)
            return b""
        return data if size is None else data[:size]

    async def read(self, num_bytes: int = 1) -> bytes:
        handle = self._require_setup()
        if handle == _REPLAYING:
            data = await self._replayed("read", num_bytes)
        else:
            if self._pending_signals is not None:
                await self._flush_signals()
            data = await get_transport().request(
                OPS.serial_read, {"handle": handle, "size": num_bytes}, timeout=self.timeout
            )
        if len(data) != 0:
            self._record("read", data_text("serial", data))
        return data

    async def readline(self) -> bytes:  # type: ignore[override]
        handle = self._require_setup()
        if handle == _REPLAYING:
            data = await self._replayed("readline", None)
        else:
            if self._pending_signals is not None:
                await self._flush_signals()
            data = await get_transport().request(
                OPS.serial_read_until,
                {"handle": handle, "terminator": b"\n", "size": None},
                timeout=self.timeout,
            )
        if len(data) != 0:
            self._record("readline", data_text("serial", data))
        return data

    async def send_break(self, duration: float) -> None:
        handle = self._require_setup()
        if handle == _REPLAYING:
            self._replaying.expect(self, "serial", self._port, "send_break", str(duration))
        else:
            transport = get_transport()
            await transport.request(OPS.serial_signals, {"handle": handle, "break": True}, timeout=5)
            await asyncio.sleep(duration)
            await transport.request(OPS.serial_signals, {"handle": handle, "break": False}, timeout=5)
        self._record("send_break", str(duration))

    async def reset_input_buffer(self) -> None:
        handle = self._require_setup()
        if handle == _REPLAYING:
            self._replaying.expect(self, "serial", self._port, "reset_input_buffer", "")
        else:
            await get_transport().request(OPS.serial_discard_input, {"handle": handle}, timeout=5)
        self._record("reset_input_buffer", "")

    async def reset_output_buffer(self) -> None:
        # Web Serial writes resolve once the bytes are handed to the OS: nothing is left queued.
        if self._require_setup() == _REPLAYING:
            self._replaying.expect(self, "serial", self._port, "reset_output_buffer", "")
        self._record("reset_output_buffer", "")

    def _set_signal(self, name: str, value: bool) -> None:
        handle = self._require_setup()
        assert self._signals is not None
        self._signals[name] = bool(value)
        if handle == _REPLAYING:
            self._replaying.expect(self, "serial", self._port, f"set_{name}", str(value))
            return
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

    def _get_signal(self, name: str) -> bool:
        assert self._signals is not None and self._port is not None, "forgot to call setup?"
        value = self._signals[name]
        if self._handle == _REPLAYING:
            self._replaying.expect(self, "serial", self._port, f"get_{name}", str(value))
        self._record(f"get_{name}", str(value))
        return value

    @property
    def dtr(self) -> bool:
        return self._get_signal("dtr")

    @dtr.setter
    def dtr(self, value: bool) -> None:
        assert self._port is not None, "forgot to call setup?"
        self._set_signal("dtr", value)
        self._record("set_dtr", str(value))

    @property
    def rts(self) -> bool:
        return self._get_signal("rts")

    @rts.setter
    def rts(self, value: bool) -> None:
        assert self._port is not None, "forgot to call setup?"
        self._set_signal("rts", value)
        self._record("set_rts", str(value))
