"""Interrupting busy Python only where it is the user's code that is busy.

The page interrupts the worker (Pyodide's interrupt buffer, SIGINT) when a Cancel gets no answer
because Python is busy without awaiting. SIGINT lands between any two bytecodes of whatever runs
at that moment, which may be the worker saving the database or a run stopping its machines. This
handler raises ``KeyboardInterrupt`` only when the code running is the user's: walking out from
the interrupted frame, a frame of a protocol file or console cell being run comes before any of
the runner's own frames (``ProtocolRun.execute``, ``run_cell``). Anywhere else the interrupt is
dropped, and the Cancel request itself does its work as soon as Python is free.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import Any

__all__ = ["install", "runner_frame", "user_code"]

_runner_codes: set[CodeType] = set()
_user_files: Counter[str] = Counter()


def runner_frame(function: Any) -> Any:
    """Mark ``function`` as the runner's own: an interrupt reaching it first is not the user's."""
    _runner_codes.add(function.__code__)
    return function


@contextlib.contextmanager
def user_code(filename: str | None) -> Iterator[None]:
    """While the block runs, code from ``filename`` (a protocol file, a console cell) is the user's."""
    if filename is None:
        yield
        return
    _user_files[filename] += 1
    try:
        yield
    finally:
        _user_files[filename] -= 1
        if _user_files[filename] <= 0:
            del _user_files[filename]


def users_code_is_running(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code in _runner_codes:
            return False
        if frame.f_code.co_filename in _user_files:
            return True
        frame = frame.f_back
    return False


def _handler(signum: int, frame: FrameType | None) -> None:
    if users_code_is_running(frame):
        raise KeyboardInterrupt
    # The worker's or the runner's own code is busy (saving, stopping machines): not the user's.


def install() -> bool:
    """Use the handler for SIGINT (the page's interrupt); True when installed."""
    if sys.platform != "emscripten":
        return False  # CPython keeps Ctrl-C as it is
    signal.signal(signal.SIGINT, _handler)
    return True
