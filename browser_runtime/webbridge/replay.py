"""Replaying a capture: real PLR backends run against recorded IO instead of devices.

Inside ``replaying(Replay(document))`` the bridge's IO classes open nothing and move no bytes:
each write (or control transfer, signal change...) is checked against the next command the
capture holds for that device, and each read returns what the device sent at that point of
the recording. The first command that differs is the divergence: it is raised where it
happened (``ReplayDivergence``, naming the command's place in the capture, what was captured
and what the protocol did) and kept, so a backend that swallows the error still fails the
replay (``Replay.finish``). Commands the protocol never reached are a divergence too.

Devices are matched to the capture's by what they are called there (a port name, a USB id) or,
when the replay names them otherwise (``port=None`` found by its USB id, a port that had another
counter name in that page load), in the order each kind of device was first used. Devices of
one capture are replayed each in their own order, so machines driven at once may interleave
differently than when recorded.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from typing import Any

from browser_runtime.errors import LabwrightError
from browser_runtime.webbridge.capture import command_text, data_bytes, data_text

__all__ = ["Replay", "ReplayDivergence", "current", "replaying"]


class ReplayDivergence(LabwrightError, AssertionError):
    """The protocol's IO differs from the capture's; ``index`` is the captured command's place (0-based)."""

    def __init__(self, message: str, *, index: int | None = None, expected: dict[str, Any] | None = None,
                 actual: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.expected = expected
        self.actual = actual

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "expected": self.expected, "actual": self.actual, "message": str(self)}


#: What a device may be asked for that returns data: reads are served, everything else is checked.
_READS = {"read", "readline", "ctrl_transfer_response", "poll_modem_status"}


class Replay:
    """One capture being replayed: per device, the commands not replayed yet."""

    def __init__(self, document: dict[str, Any] | str) -> None:
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except json.JSONDecodeError as error:
                raise ValueError(f"a capture is PLR's JSON ({{version, commands}}): {error}") from None
        commands = document.get("commands") if isinstance(document, dict) else None
        if not isinstance(commands, list) or not all(
                isinstance(c, dict) and {"module", "device_id", "action", "data"} <= set(c) for c in commands):
            raise ValueError("a capture is PLR's JSON: {version, commands: [{module, device_id, action, data}]}")
        self.commands = commands
        self.version = document.get("version")
        self.done = [False] * len(commands)
        self.divergence: ReplayDivergence | None = None
        self._bound: dict[int, tuple[str, str]] = {}  # id(io) -> (module, captured device id)
        self._owner: dict[tuple[str, str], int] = {}  # (module, captured device id) -> id(io)
        self._cursor: dict[tuple[str, str], int] = {}

    # ---- devices ------------------------------------------------------------------------

    def _captured_devices(self, module: str) -> list[str]:
        seen: list[str] = []
        for command in self.commands:
            if command["module"] == module and command["device_id"] not in seen:
                seen.append(command["device_id"])
        return seen

    def bind(self, io: Any, module: str, own_id: str | None) -> str | None:
        """The capture's name of the device ``io`` stands for (bound on first use, see the module doc)."""
        if id(io) in self._bound:
            return self._bound[id(io)][1]
        captured = self._captured_devices(module)
        free = [device for device in captured if (module, device) not in self._owner]
        chosen = own_id if own_id in free else (free[0] if free else None)
        if chosen is None:
            return own_id
        self._bound[id(io)] = (module, chosen)
        self._owner[(module, chosen)] = id(io)
        return chosen

    def _next(self, io: Any, module: str, own_id: str | None) -> tuple[int, dict[str, Any]] | None:
        device = self.bind(io, module, own_id)
        key = (module, str(device))
        index = self._cursor.get(key, 0)
        while index < len(self.commands):
            command = self.commands[index]
            if not self.done[index] and command["module"] == module and command["device_id"] == device:
                self._cursor[key] = index
                return index, command
            index += 1
        self._cursor[key] = index
        return None

    # ---- what the IO classes ask --------------------------------------------------------

    def diverge(self, message: str, index: int | None, expected: dict[str, Any] | None,
                actual: dict[str, Any]) -> ReplayDivergence:
        error = ReplayDivergence(message, index=index, expected=expected, actual=actual)
        if self.divergence is None:
            self.divergence = error
        return error

    def expect(self, io: Any, module: str, own_id: str | None, action: str, data: str) -> None:
        """The protocol did ``action`` with ``data`` (as the capture writes it): it must be the
        device's next captured command."""
        if self.divergence is not None:  # once diverged, every device fails fast with the first cause
            raise self.divergence
        actual = {"module": module, "device_id": own_id, "action": action, "data": data}
        found = self._next(io, module, own_id)
        if found is None:
            raise self.diverge(f"replay diverged: the protocol did {command_text(actual)}, but the capture "
                               f"has nothing more for that device", None, None, actual)
        index, expected = found
        if expected["action"] != action or expected["data"] != data:
            raise self.diverge(f"replay diverged at command {index + 1} of {len(self.commands)}: the capture "
                               f"has {command_text(expected)}, the protocol did {command_text(actual)}",
                               index, expected, actual)
        self.done[index] = True

    def take(self, io: Any, module: str, own_id: str | None, action: str) -> str | None:
        """What the device sent for a read (``action``) at this point of the capture, or None
        when its next captured command is not that read (nothing had arrived: a timeout)."""
        if self.divergence is not None:
            raise self.divergence
        found = self._next(io, module, own_id)
        if found is None:
            return None
        index, command = found
        if command["action"] != action:
            if command["action"] in _READS and action in _READS:
                actual = {"module": module, "device_id": own_id, "action": action, "data": None}
                raise self.diverge(f"replay diverged at command {index + 1} of {len(self.commands)}: the "
                                   f"capture has {command_text(command)}, the protocol did {module} "
                                   f"{own_id} {action}", index, command, actual)
            return None
        self.done[index] = True
        return command["data"]

    def take_bytes(self, io: Any, module: str, own_id: str | None, action: str) -> bytes | None:
        data = self.take(io, module, own_id, action)
        return None if data is None else data_bytes(module, data)

    def expect_bytes(self, io: Any, module: str, own_id: str | None, action: str, data: bytes) -> None:
        self.expect(io, module, own_id, action, data_text(module, data))

    # ---- the end ------------------------------------------------------------------------

    def remaining(self) -> list[int]:
        return [index for index, done in enumerate(self.done) if not done]

    def finish(self) -> None:
        """Raise the first divergence, or one for captured commands the protocol never made."""
        if self.divergence is not None:
            raise self.divergence
        left = self.remaining()
        if left:
            first = self.commands[left[0]]
            raise self.diverge(f"replay diverged at command {left[0] + 1} of {len(self.commands)}: the protocol "
                               f"ended with {len(left)} captured commands not made; the first: {command_text(first)}",
                               left[0], first, {})

    def summary(self) -> dict[str, Any]:
        return {"commands": len(self.commands), "replayed": sum(self.done),
                "divergence": self.divergence.as_dict() if self.divergence else None}


_replay: contextvars.ContextVar[Replay | None] = contextvars.ContextVar("labwright_replay", default=None)


def current() -> Replay | None:
    """The replay the running code is in (its IO is served from the capture), if any."""
    return _replay.get()


def enter(replay: Replay | None) -> None:
    """Set this context's replay for good: for a context made for one task (a replay run)."""
    _replay.set(replay)


@contextlib.contextmanager
def replaying(replay: Replay) -> Iterator[Replay]:
    """Run the block (and the tasks it starts) against ``replay``'s capture instead of devices."""
    token = _replay.set(replay)
    try:
        yield replay
    finally:
        _replay.reset(token)
