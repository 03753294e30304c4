"""Instruments emulated behind a pty pair: the server opens the device end with real pyserial.

Written from PLR 0.2.2's ``MettlerToledoWXS205SDUBackend`` (MT-SICS: commands and replies end
with CR LF), answering the same way as the page's emulator in tests/e2e/emulators/instruments.js.
"""

from __future__ import annotations

import os
import select
import threading
import tty
from types import TracebackType


class PtyScale:
    """A Mettler Toledo WXS205SDU on the controller end of a pty; ``path`` is the device end."""

    def __init__(self, serial_number: str = "B123456789") -> None:
        self.serial_number = serial_number
        self.gross = 0.0  # what lies on the pan, in grams
        self.zero_offset = 0.0
        self.tare = 0.0
        self.mode = "normal"  # "silent": never answers
        self.received: list[str] = []
        self.raw = bytearray()
        self.controller, self.device = os.openpty()
        tty.setraw(self.device)
        tty.setraw(self.controller)
        self.path = os.ttyname(self.device)
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=f"pty scale {self.path}", daemon=True)

    def __enter__(self) -> PtyScale:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def place(self, grams: float) -> None:
        self.gross = grams

    def unplug(self) -> None:
        """The instrument goes away: the controller end closes, reads on the device end fail."""
        self.close()

    def close(self) -> None:
        if self._stop_write < 0:
            return
        os.write(self._stop_write, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self.controller, self._stop_read, self._stop_write):
            os.close(fd)
        self._stop_write = -1
        # the device end stays open until here: closing it first would hang up the line
        os.close(self.device)

    def _net(self) -> str:
        return f"{self.gross - self.zero_offset - self.tare:.5f}"

    def answer(self, line: str) -> str | None:
        command, *args = line.strip().split() or [""]
        if command == "M21":
            return "M21 A" if len(args) == 2 else "M21 L"
        if command == "I4":
            return f'I4 A "{self.serial_number}"'
        if command in ("Z", "ZI", "ZC"):
            self.zero_offset, self.tare = self.gross, 0.0
            return f"{command} A"
        if command in ("T", "TI", "TC"):
            self.tare = self.gross - self.zero_offset
            return f"{'TI D' if command == 'TI' else command + ' S'} {self.tare:.5f} g"
        if command == "TA":
            return f"TA A {self.tare:.5f} g"
        if command == "TAC":
            self.tare = 0.0
            return "TAC A"
        if command in ("S", "SC"):
            return f"S S {self._net()} g"
        if command == "SI":
            return f"S D {self._net()} g"
        return "ES"

    def _serve(self) -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([self.controller, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            try:
                chunk = os.read(self.controller, 4096)
            except OSError:
                return
            self.raw += chunk
            pending += chunk
            while b"\r\n" in pending:
                line, pending = pending.split(b"\r\n", 1)
                text = line.decode("latin-1")
                self.received.append(text)
                reply = None if self.mode == "silent" else self.answer(text)
                if reply is not None:
                    os.write(self.controller, reply.encode("latin-1") + b"\r\n")
