"""Recording device IO in PLR's own capture format (``pylabrobot.io.capture``), per holder.

The bridge's IO classes record every command the way PLR's do (``SerialCommand``,
``USBCommand``, ``FTDICommand``, ``HIDCommand``: module, device id, action, data) through
``record``: to PLR's global ``capturer`` (so ``start_capture`` works as on CPython) and to the
``Recording`` of the holder whose grant the code runs under: a hardware run records all its
devices' traffic, and the console records while the user asks it to. A recording's document is
the JSON PLR's ``start_capture``/``stop_capture`` write: ``{"version", "commands": [...]}``.

Data is written as PLR writes it, with one difference that only matters where PLR's own would
lose bytes: serial and USB data are decoded latin-1 (PLR's ``unicode_escape`` reads the same
for every byte but a backslash, where it reads escape sequences instead and cannot be undone);
FTDI and HID data are hex, as PLR's. ``data_bytes`` turns a command's data back into the bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pylabrobot.io.capture import capturer

__all__ = ["Recording", "command_text", "data_bytes", "data_text", "record", "recording_for",
           "start_recording", "stop_recording"]


def data_text(module: str, data: bytes) -> str:
    """How a command's bytes are written in a capture (see the module docstring)."""
    if module in ("ftdi", "hid"):
        return bytes(data).hex()
    return bytes(data).decode("latin-1")


def data_bytes(module: str, text: str) -> bytes:
    """The bytes a command's data stands for (the inverse of ``data_text``; also reads PLR's own
    captures, whose serial/USB data without a backslash is the same text)."""
    if module in ("ftdi", "hid"):
        return bytes.fromhex(text)
    return text.encode("latin-1", errors="replace")


def command_text(command: dict[str, Any]) -> str:
    """One command for people: ``serial webserial-0 write 'S\\r\\n'``."""
    return f"{command.get('module')} {command.get('device_id')} {command.get('action')} {command.get('data')!r}"


@dataclass
class Recording:
    """The commands one holder's devices saw, in order."""

    label: str
    commands: list[dict[str, Any]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        from pylabrobot import __version__

        return {"version": __version__, "commands": list(self.commands)}

    def text(self) -> str:
        """The capture as PLR's ``stop_capture`` writes it (the same JSON, indented alike)."""
        return json.dumps(self.document(), indent=2)


#: grant token -> the recording of that holder's IO (a run's while it runs; the console's on request)
_recordings: dict[str, Recording] = {}


def start_recording(token: str, label: str) -> Recording:
    """Record every command made under the grant ``token`` (background tasks it started included)."""
    recording = _recordings.get(token)
    if recording is None:
        recording = _recordings[token] = Recording(label)
    return recording


def stop_recording(token: str) -> Recording | None:
    return _recordings.pop(token, None)


def recording_for(token: str) -> Recording | None:
    return _recordings.get(token)


def record(command: Any) -> None:
    """Record one IO command (a PLR ``Command``) for PLR's capturer and the holder's recording."""
    capturer.record(command)
    if not _recordings:
        return
    from browser_runtime.webbridge.grants import current

    grant = current()
    recording = _recordings.get(grant.token) if grant is not None else None
    if recording is not None:
        recording.commands.append(dict(command.__dict__))
