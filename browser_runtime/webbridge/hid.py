"""PLR's ``HID`` with reports moved by the page's port manager (WebHID) instead of hidapi."""

from __future__ import annotations

import logging
from typing import Any, Optional

import pylabrobot.io.hid as _plr_hid
from pylabrobot.io.capture import capturer
from pylabrobot.io.validation_utils import LOG_LEVEL_IO

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

    async def setup(self) -> None:
        reply = await get_transport().request(
            OPS.hid_open, {"vid": self.vid, "pid": self.pid, "serialNumber": self.serial_number}, timeout=10
        )
        self._handle = int(reply["handle"])
        self.device = reply["name"]
        logger.log(LOG_LEVEL_IO, "Opened HID device %s", self._unique_id)
        capturer.record(HIDCommand(device_id=self._unique_id, action="open", data=""))

    async def stop(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            await get_transport().request(OPS.hid_close, {"handle": handle}, timeout=5)
        self.device = None
        logger.log(LOG_LEVEL_IO, "Closing HID device %s", self._unique_id)
        capturer.record(HIDCommand(device_id=self._unique_id, action="close", data=""))

    def _require_setup(self) -> int:
        if self._handle is None:
            raise RuntimeError("Call setup() first.")
        return self._handle

    async def write(self, data: bytes, report_id: bytes = b"\x00") -> int:
        handle = self._require_setup()
        write_data = report_id + data
        written = await get_transport().request(
            OPS.hid_send_report,
            {"handle": handle, "reportId": report_id[0] if report_id else 0, "data": bytes(data)},
            timeout=10,
        )
        logger.log(LOG_LEVEL_IO, "[%s] write %s (report_id: %s)", self._unique_id, data, report_id.hex())
        capturer.record(HIDCommand(device_id=self._unique_id, action="write", data=write_data.hex()))
        return int(written)

    async def read(self, size: int, timeout: int) -> bytes:
        handle = self._require_setup()
        data: bytes = await get_transport().request(
            OPS.hid_read, {"handle": handle, "size": size}, timeout=int(timeout) / 1000
        )
        if len(data) > 0:
            logger.log(LOG_LEVEL_IO, "[%s] read %s", self._unique_id, data)
            capturer.record(HIDCommand(device_id=self._unique_id, action="read", data=data.hex()))
        return data
