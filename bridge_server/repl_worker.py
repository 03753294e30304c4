"""One client's REPL session in its own process: JSON lines in on stdin, events out on a pipe.

Run as ``python -m bridge_server.repl_worker``. The server sends SIGINT to interrupt a
statement and kills the process when a statement ignores that past its time limit. User code
writing to the real fd 1/2 cannot corrupt the protocol: the protocol has its own copy of fd 1.
The process limits its own address space (``LABWRIGHT_REPL_MEMORY`` bytes) before any user
code runs, and passes on at most ``LABWRIGHT_REPL_OUTPUT_LIMIT`` characters of one statement's
output (and of its result's repr), then says it dropped the rest.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
from typing import Any

from bridge_server.sandbox import limit_memory, private_channel
from browser_runtime.repl import ReplSession

_executing = False


class OutputBudget:
    """At most ``limit`` characters of one statement's output pass; the rest is dropped, once
    with a note saying so (a runaway print must not flood the server or the page)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit
        self.truncated = False

    @property
    def note(self) -> str:
        return (f"\n[output truncated: the statement wrote more than {self.limit:,} characters; "
                "the rest was dropped]\n")

    def take(self, text: str) -> str | None:
        """The part of ``text`` to pass on (with the note when the budget just ran out), or None."""
        if self.truncated:
            return None
        if len(text) <= self.left:
            self.left -= len(text)
            return text
        kept, self.left, self.truncated = text[:self.left], 0, True
        return kept + self.note

    def clip(self, text: str | None) -> str | None:
        if text is None or len(text) <= self.limit:
            return text
        return text[:self.limit] + self.note


def _on_sigint(signum: int, frame: Any) -> None:
    # Idle interrupts (a race with a statement that just finished) are ignored.
    if _executing:
        raise KeyboardInterrupt


class _Worker:
    def __init__(self, channel: Any, output_limit: int) -> None:
        self.channel = channel
        self.output_limit = output_limit
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.machines: dict[str, Any] = {}
        self.session = ReplSession()
        self.session.namespace["machines"] = self.machines

    def send(self, message: dict[str, Any]) -> None:
        self.channel.write(json.dumps(message, default=repr) + "\n")
        self.channel.flush()

    def run(self, coroutine: Any) -> Any:
        global _executing
        task = self.loop.create_task(coroutine)
        _executing = True
        try:
            return self.loop.run_until_complete(task)
        except KeyboardInterrupt:
            task.cancel()
            try:
                self.loop.run_until_complete(task)
            except BaseException:  # noqa: BLE001 - the interrupted statement's own end
                pass
            raise
        finally:
            _executing = False

    def handle(self, request: dict[str, Any]) -> None:
        op, ident = request.get("op"), request.get("id")
        if op == "execute":
            streamed = OutputBudget(self.output_limit)

            def stream(name: str, text: str) -> None:
                passed = streamed.take(text)
                if passed is not None:
                    self.send({"event": "stream", "id": ident, "name": name, "text": passed})

            try:
                result = self.run(self.session.execute(request["code"], on_output=stream)).to_json()
            except KeyboardInterrupt:
                result = {"output": "", "result": None,
                          "error": {"type": "KeyboardInterrupt", "message": "interrupted",
                                    "traceback": "KeyboardInterrupt: interrupted\n"}}
            clipped = OutputBudget(self.output_limit)
            result["output"] = clipped.clip(result["output"])
            result["result"] = clipped.clip(result["result"])
            if result.get("error"):
                result["error"] = {k: clipped.clip(v) if isinstance(v, str) else v
                                   for k, v in result["error"].items()}
            self.send({"event": "result", "id": ident, **result})
        elif op == "complete":
            found = self.session.complete(request["code"], request.get("line"), request.get("column"))
            self.send({"event": "completions", "id": ident,
                       "completions": [c.__dict__ for c in found]})
        elif op == "signatures":
            found = self.session.signatures(request["code"], request.get("line"), request.get("column"))
            self.send({"event": "signatures", "id": ident, "signatures": [s.__dict__ for s in found]})
        elif op == "attach":
            self._attach(request)
        elif op == "detach":
            machine = self.machines.pop(request["device_id"], None)
            if machine is not None and hasattr(machine, "stop"):
                try:
                    self.run(machine.stop())
                except Exception:  # noqa: BLE001 - a machine that fails to stop is still gone
                    pass
            if self.session.namespace.get("machine") is machine:
                self.session.namespace["machine"] = next(iter(self.machines.values()), None)
            self.send({"event": "detached", "id": ident, "device_id": request["device_id"]})
        else:
            self.send({"event": "error", "id": ident, "message": f"unknown op {op!r}"})

    def _attach(self, request: dict[str, Any]) -> None:
        from browser_runtime.machines import build_device_machine

        device_id = request["device_id"]
        try:
            machine = build_device_machine(_catalog(request.get("catalog")), request["backend"],
                                           request.get("config") or {}, request.get("name") or "machine",
                                           simulated=bool(request.get("simulator")))
            if hasattr(machine, "setup"):
                self.run(machine.setup())
        except BaseException as exc:  # noqa: BLE001 - reported, the session goes on
            self.send({"event": "attached", "id": request.get("id"), "device_id": device_id,
                       "error": "".join(traceback.format_exception_only(type(exc), exc)).strip()})
            return
        self.machines[device_id] = machine
        self.session.namespace["machine"] = machine
        self.send({"event": "attached", "id": request.get("id"), "device_id": device_id,
                   "machine": type(machine).__name__})


_catalogs: dict[str, Any] = {}


def _catalog(path: str | None) -> Any:
    """The server's catalog (a file it wrote or its prebuilt one), read once per path."""
    from browser_runtime.catalog import Catalog

    if not path:
        raise ValueError("the server gave no catalog to build the machine from")
    if path not in _catalogs:
        with open(path, encoding="utf-8") as file:
            _catalogs[path] = Catalog(json.load(file))
    return _catalogs[path]


def main() -> int:
    channel = private_channel()  # stray C-level writes go nowhere; Python's are captured per statement
    limit_memory(int(os.environ.get("LABWRIGHT_REPL_MEMORY", "0")))
    signal.signal(signal.SIGINT, _on_sigint)
    worker = _Worker(channel, int(os.environ.get("LABWRIGHT_REPL_OUTPUT_LIMIT", "1000000")))
    worker.send({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            worker.handle(request)
        except KeyboardInterrupt:
            continue
        except Exception as exc:  # noqa: BLE001 - a bad request must not end the session
            worker.send({"event": "error", "id": None, "message": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
