"""Server side of the REPL: one worker process per client, with time, memory and output limits,
interrupts, a cap on how many run at once, and the whole process group ended with the session."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bridge_server.sandbox import child_env, kill_group
from browser_runtime.errors import LabwrightError

log = logging.getLogger("labwright")

#: ``on_event(message)`` receives stream events of a running statement.
EventCallback = Callable[[dict[str, Any]], Awaitable[None] | None]
_INTERRUPT_GRACE = 2.0
_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class ReplLimits:
    """What one REPL process may use: seconds per statement, bytes of address space, characters
    of output per statement, and how many processes may be alive at once."""

    time: float = 30.0
    memory: int = 2 * 2**30
    output: int = 1_000_000
    sessions: int = 8


class SessionsFull(LabwrightError):
    """Every REPL process the server allows is in use."""


class ReplProcess:
    """A ``bridge_server.repl_worker`` child: requests are serialised, events matched by id."""

    def __init__(self, client_id: str, limits: ReplLimits) -> None:
        self.client_id = client_id
        self.limits = limits
        self.time_limit = limits.time
        self.attached: dict[str, dict[str, Any]] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._streams: dict[int, EventCallback] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._ready: asyncio.Future[dict[str, Any]] | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge_server.repl_worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=child_env(LABWRIGHT_REPL_MEMORY=str(self.limits.memory),
                          LABWRIGHT_REPL_OUTPUT_LIMIT=str(self.limits.output)),
            limit=16 * 1024 * 1024,
            # Its own process group: a terminal's Ctrl-C reaches the server, not every session,
            # and ending the session ends every process the user's code started.
            start_new_session=True)
        self._reader = asyncio.create_task(self._read(self._process))
        await asyncio.wait_for(asyncio.shield(self._ready), _START_TIMEOUT)
        self.attached = {}

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            try:
                line = await process.stdout.readline()
            except ValueError:  # a line beyond the limit (the worker clips output): skip it
                log.warning("REPL worker of %s sent an over-long line; dropped", self.client_id)
                continue
            if not line:
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            event, ident = message.get("event"), message.get("id")
            if event == "ready" and self._ready is not None and not self._ready.done():
                self._ready.set_result(message)
            elif event == "stream":
                if ident in self._streams:
                    try:
                        outcome = self._streams[ident](message)
                        if asyncio.iscoroutine(outcome):
                            await outcome
                    except Exception:  # noqa: BLE001 - a closed socket must not stop the reader
                        self._streams.pop(ident, None)
            elif ident in self._pending and not self._pending[ident].done():
                self._pending[ident].set_result(message)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the REPL worker ended"))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ConnectionError("the REPL worker did not start"))

    async def _request(self, message: dict[str, Any], timeout: float | None,
                       on_event: EventCallback | None = None) -> dict[str, Any]:
        if not self.alive:
            await self.start()
        assert self._process is not None and self._process.stdin is not None
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        if on_event is not None:
            self._streams[ident] = on_event
        try:
            self._process.stdin.write((json.dumps({**message, "id": ident}) + "\n").encode())
            await self._process.stdin.drain()
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            # Past the limit: interrupt; a statement that ignores KeyboardInterrupt loses its process.
            self.interrupt()
            try:
                reply = await asyncio.wait_for(asyncio.shield(future), _INTERRUPT_GRACE)
                reply["error"] = {"type": "TimeoutError",
                                  "message": f"statement interrupted after the time limit of {timeout:g} s",
                                  "traceback": f"TimeoutError: time limit of {timeout:g} s exceeded\n"}
                return reply
            except (TimeoutError, ConnectionError):
                await self.close()
                return {"event": "result", "output": "", "result": None,
                        "error": {"type": "TimeoutError",
                                  "message": f"statement exceeded the time limit of {timeout:g} s and "
                                             "did not stop; the session was restarted",
                                  "traceback": "TimeoutError: session restarted\n"}}
        finally:
            self._pending.pop(ident, None)
            self._streams.pop(ident, None)

    def interrupt(self) -> bool:
        if self.alive and self._process is not None:
            self._process.send_signal(signal.SIGINT)
            return True
        return False

    async def execute(self, code: str, on_event: EventCallback | None = None) -> dict[str, Any]:
        async with self._lock:
            try:
                reply = await self._request({"op": "execute", "code": code}, self.time_limit, on_event)
            except ConnectionError as exc:
                await self.close()
                return {"output": "", "result": None,
                        "error": {"type": "SessionEnded", "message": str(exc), "traceback": ""}}
        return {"output": reply.get("output", ""), "result": reply.get("result"),
                "error": reply.get("error")}

    async def complete(self, code: str, line: int | None, column: int | None, op: str) -> dict[str, Any]:
        async with self._lock:
            return await self._request({"op": op, "code": code, "line": line, "column": column}, 30.0)

    async def sync_machines(self, wanted: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Attach machines for newly held leases and detach those no longer held; errors by id."""
        errors: dict[str, str] = {}
        async with self._lock:
            for device_id in [d for d in self.attached if d not in wanted]:
                await self._request({"op": "detach", "device_id": device_id}, 30.0)
                self.attached.pop(device_id, None)
            for device_id, spec in wanted.items():
                if self.attached.get(device_id) == spec:
                    continue
                reply = await self._request({"op": "attach", "device_id": device_id, **spec}, 60.0)
                if reply.get("error"):
                    errors[device_id] = reply["error"]
                self.attached[device_id] = spec
        return errors

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 2.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        if process is not None:
            kill_group(process.pid)  # what the user's code started ends with the session
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        self.attached = {}


class SessionManager:
    """REPL sessions by client id; a session ends with its client (WebSocket closed, leases gone)."""

    def __init__(self, limits: ReplLimits) -> None:
        self.limits = limits
        self.sessions: dict[str, ReplProcess] = {}
        self.sockets: dict[str, int] = {}
        self._creating: dict[str, asyncio.Lock] = {}
        self._starting: set[str] = set()

    async def get(self, client_id: str) -> ReplProcess:
        lock = self._creating.setdefault(client_id, asyncio.Lock())
        async with lock:
            session = self.sessions.get(client_id)
            if session is None:
                if len(self.sessions) + len(self._starting) >= self.limits.sessions:
                    raise SessionsFull(
                        f"all {self.limits.sessions} REPL sessions this server allows are in use "
                        "(LABWRIGHT_REPL_MAX_SESSIONS); try again when one ends")
                self._starting.add(client_id)
                try:
                    session = ReplProcess(client_id, self.limits)
                    await session.start()
                finally:
                    self._starting.discard(client_id)
                self.sessions[client_id] = session
            return session

    async def close(self, client_id: str) -> None:
        session = self.sessions.pop(client_id, None)
        if session is not None:
            await session.close()

    async def close_idle(self, clients_with_leases: set[str]) -> None:
        for client_id in list(self.sessions):
            if client_id not in clients_with_leases and not self.sockets.get(client_id):
                await self.close(client_id)

    async def close_all(self) -> None:
        for client_id in list(self.sessions):
            await self.close(client_id)
