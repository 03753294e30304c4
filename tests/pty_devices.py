"""Instruments emulated behind a pty pair: the server opens the device end with real pyserial.

The instrument is the page tests' own emulator (tests/e2e/emulators/instruments.js), run in Node
by ``pty-host.js``; this module relays bytes between the pty's controller end and that process,
and forwards the tests' calls (``place``, ``received``, ``mode``) to the emulator.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import threading
import tty
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = Path(__file__).resolve().parent / "e2e" / "emulators" / "pty-host.js"


class PtyInstrument:
    """One instrument of instruments.js on the controller end of a pty; ``path`` is the device end."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.raw = bytearray()  # every byte that reached the instrument
        self.controller, self.device = os.openpty()
        tty.setraw(self.device)
        tty.setraw(self.controller)
        self.path = os.ttyname(self.device)
        self._process = subprocess.Popen(
            ["node", str(HOST), kind, json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self._send_lock = threading.Lock()
        self._replies: dict[int, dict[str, Any]] = {}
        self._replied = threading.Condition()
        self._next_id = 0
        self._stop_read, self._stop_write = os.pipe()
        self._threads = [
            threading.Thread(target=self._host_to_device, name=f"{kind} {self.path} out", daemon=True),
            threading.Thread(target=self._device_to_host, name=f"{kind} {self.path} in", daemon=True),
        ]

    def __enter__(self) -> PtyInstrument:
        for thread in self._threads:
            thread.start()
        try:
            self.set()  # the emulator is up and answering before the host opens the port
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # The emulator's state, read and changed in the Node process.
    def call(self, method: str, *args: Any) -> Any:
        return self._request({"call": method, "args": list(args)})

    def get(self, name: str) -> Any:
        return self._request({"get": name})

    def set(self, **values: Any) -> None:
        self._request({"set": values})

    @property
    def received(self) -> list[str]:
        return self.get("received")

    @property
    def mode(self) -> str:
        return self.get("mode")

    @mode.setter
    def mode(self, value: str) -> None:
        self.set(mode=value)

    def unplug(self) -> None:
        """The instrument goes away: the controller end closes, reads on the device end fail."""
        self.close()

    def close(self) -> None:
        if self._stop_write < 0:
            return
        os.write(self._stop_write, b"x")
        self._process.kill()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=2)
        self._process.wait(timeout=5)
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            with contextlib.suppress(OSError):  # stdin of a process that already exited
                stream.close()
        for fd in (self.controller, self._stop_read, self._stop_write):
            os.close(fd)
        self._stop_write = -1
        # the device end stays open until here: closing it first would hang up the line
        os.close(self.device)

    def _write(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()

    def _request(self, message: dict[str, Any], timeout: float = 10.0) -> Any:
        with self._replied:
            self._next_id += 1
            request = self._next_id
        self._write({"id": request, **message})
        with self._replied:
            if not self._replied.wait_for(lambda: request in self._replies or self._process.poll() is not None,
                                          timeout):
                raise TimeoutError(f"the {self.kind} emulator did not answer {message}")
            if request not in self._replies:
                raise RuntimeError(f"the {self.kind} emulator exited: {self._process.stderr.read()}")
            reply = self._replies.pop(request)
        if "error" in reply:
            raise RuntimeError(f"the {self.kind} emulator failed on {message}: {reply['error']}")
        return reply["value"]

    def _host_to_device(self) -> None:
        """Bytes the host wrote to the device end go to the emulator."""
        while True:
            ready, _, _ = select.select([self.controller, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            try:
                chunk = os.read(self.controller, 4096)
            except OSError:
                return
            self.raw += chunk
            try:
                self._write({"bytes": list(chunk)})
            except (BrokenPipeError, ValueError):
                return

    def _device_to_host(self) -> None:
        """The emulator's answers: bytes go back to the host, replies to whoever asked."""
        for line in self._process.stdout:
            message = json.loads(line)
            if "id" in message:
                with self._replied:
                    self._replies[message["id"]] = message
                    self._replied.notify_all()
                continue
            try:
                os.write(self.controller, bytes(message["bytes"]))
            except OSError:
                return
        with self._replied:
            self._replied.notify_all()


class PtyScale(PtyInstrument):
    """A Mettler Toledo WXS205SDU (MT-SICS, CR LF lines) from instruments.js behind a pty."""

    def __init__(self, serial_number: str = "B123456789") -> None:
        super().__init__("MettlerToledoScale", serialNumber=serial_number)

    def place(self, grams: float) -> None:
        self.call("place", grams)
