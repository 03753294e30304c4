"""PLR's ``HID`` with reports moved by the page's port manager (WebHID) instead of hidapi."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import pylabrobot.io.hid as _plr_hid
from pylabrobot.io.validation_utils import LOG_LEVEL_IO

from browser_runtime.webbridge import replay as _replay
from browser_runtime.webbridge.capture import record
from browser_runtime.webbridge.transport import OPS, get_transport

logger = logging.getLogger("pylabrobot.io.hid")

__all__ = ["HID"]

HIDCommand = _plr_hid.HIDCommand
_PLRHID: Any = getattr(_plr_hid.HID, "__webbridge_original__", _plr_hid.HID)


class HID(_PLRHID):
    """Drop-in for ``pylabrobot.io.hid.HID``: same constructor, methods and semantics.

    ``write(data, report_id)`` sends ``data`` as report ``report_id`` and returns the byte count
    hidapi would (report id included); ``read(size, timeout)`` takes the next input report (report
    id first for numbered reports, as hidapi), ``b""`` after ``timeout`` milliseconds. WebHID does
    not expose serial numbers, so ``serial_number`` cannot pick between identical devices.
    """

    __webbridge__ = True
    _handle: Optional[int] = None
    _replaying: Any = None  # the Replay serving this device (set up inside one), else None

    def _record(self, action: str, data: str) -> None:
        if self._replaying is not None and action != "read":
            self._replaying.expect(self, "hid", self._unique_id, action, data)
        logger.log(LOG_LEVEL_IO, "[%s] %s %s", self._unique_id, action, data)
        command = HIDCommand(device_id=self._unique_id, action=action, data=data)
        command.data = data  # PLR 0.2.2's HIDCommand.__init__ drops its data: a capture without it replays nothing
        record(command)

    async def setup(self) -> None:
        replay = _replay.current()
        if replay is not None:
            self._replaying = replay
            self._unique_id = replay.bind(self, "hid", self._unique_id)
            self._handle = -1
            self.device = self._unique_id
        else:
            reply = await get_transport().request(
                OPS.hid_open, {"vid": self.vid, "pid": self.pid, "serialNumber": self.serial_number}, timeout=10
            )
            self._handle = int(reply["handle"])
            self.device = reply["name"]
        self._record("open", "")

    async def stop(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            if self._replaying is None:
                await get_transport().request(OPS.hid_close, {"handle": handle}, timeout=5)
        self.device = None
        self._record("close", "")

    def _require_setup(self) -> int:
        if self._handle is None:
            raise RuntimeError("Call setup() first.")
        return self._handle

    async def write(self, data: bytes, report_id: bytes = b"\x00") -> int:
        handle = self._require_setup()
        write_data = report_id + data
        self._record("write", write_data.hex())
        if self._replaying is not None:
            return len(write_data)
        written = await get_transport().request(
            OPS.hid_send_report,
            {"handle": handle, "reportId": report_id[0] if report_id else 0, "data": bytes(data)},
            timeout=10,
        )
        return int(written)

    async def read(self, size: int, timeout: int) -> bytes:
        handle = self._require_setup()
        if self._replaying is not None:
            replayed = self._replaying.take(self, "hid", self._unique_id, "read")
            if replayed is None:
                await asyncio.sleep(0.001)
            data = bytes.fromhex(replayed or "")[:size]
        else:
            data = await get_transport().request(
                OPS.hid_read, {"handle": handle, "size": size}, timeout=int(timeout) / 1000
            )
        if len(data) > 0:
            self._record("read", data.hex())
        return data
