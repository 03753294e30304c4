"""The scheduler's estimates of submitted protocols, each in a process of its own with limits.

Estimating a protocol runs its code (on a virtual clock), so it never runs on the server's
event loop: a ``time.sleep`` would freeze every lease and heartbeat, ``while True`` would hang
the server, ``os._exit`` would end it. Each estimate gets a fresh
:mod:`bridge_server.estimate_worker` process (never reused: one protocol cannot leave anything
behind for the next), in its own process group, with an address-space limit and a wall-clock
limit; the whole group is killed when it answers or runs out of time. One spare worker is kept
started, with the runtime imported, so an estimate does not pay for Python's start-up
(``tests/bench/bench_estimate_process.py`` measures both). At most ``concurrency`` estimates
run at once; more wait their turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from typing import Any

from bridge_server.sandbox import child_env, describe_exit, kill_group
from browser_runtime.errors import LabwrightError

log = logging.getLogger("labwright")

_START_TIMEOUT = 60.0
#: A filled request carries the protocol's source (up to 60,000 characters, escaped in JSON).
_LINE_LIMIT = 8 * 1024 * 1024


class EstimateAborted(LabwrightError):
    """The estimate did not finish: ``limit`` names the limit it hit ("time", "memory"), or is
    None when the protocol ended its process itself (``os._exit``, a crash)."""

    def __init__(self, message: str, limit: str | None, value: float | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class EstimateRejected(LabwrightError):
    """The protocol was estimated and the answer is no (it fails, it cannot be planned ...)."""


class _Worker:
    """One started estimate worker, ready for its one job."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, catalog: str | None) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge_server.estimate_worker", *([catalog] if catalog else []),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=child_env(), limit=_LINE_LIMIT,
            start_new_session=True)
        worker = cls(process)
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT)
            if not line or json.loads(line).get("event") != "ready":
                raise RuntimeError(f"the estimate worker did not start ({describe_exit(process.returncode)})")
        except BaseException:
            await worker.end()
            raise
        return worker

    async def end(self) -> None:
        kill_group(self.process.pid)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()


class Estimates:
    """Runs :func:`browser_runtime.scheduler.submission.complete_from_source` out of process."""

    def __init__(self, time_limit: float, memory_limit: int, concurrency: int = 2) -> None:
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.concurrency = max(1, concurrency)
        self._slots: asyncio.Semaphore | None = None
        self._spare: asyncio.Task[_Worker] | None = None

    def _take_spare(self, catalog: str | None) -> asyncio.Task[_Worker]:
        spare, self._spare = self._spare, None
        if spare is None:
            spare = asyncio.ensure_future(_Worker.start(None))  # cold: no warm-up on the request's time
        return spare

    def _start_spare(self, catalog: str | None) -> None:
        if self._spare is None:
            self._spare = asyncio.ensure_future(_Worker.start(catalog))

    async def complete(self, document: dict[str, Any], catalog: str | None, where: str) -> dict[str, Any]:
        """``document`` filled from its source (needs from the analysis, duration from an estimate).

        Raises :class:`EstimateRejected` with the protocol's own error, or
        :class:`EstimateAborted` naming the limit it hit.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            worker = await self._take_spare(catalog)
            self._start_spare(catalog)
            try:
                return await self._run(worker, {
                    "document": document, "where": where, "catalog": catalog,
                    "memory_limit": self.memory_limit, "cpu_limit": self.time_limit})
            finally:
                await worker.end()

    async def _run(self, worker: _Worker, job: dict[str, Any]) -> dict[str, Any]:
        process = worker.process
        assert process.stdin is not None and process.stdout is not None
        where = job["where"]
        try:
            process.stdin.write((json.dumps(job) + "\n").encode())
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), self.time_limit)
        except TimeoutError:
            raise EstimateAborted(
                f"{where}: estimating the protocol took longer than the time limit of "
                f"{self.time_limit:g} s (LABWRIGHT_ESTIMATE_TIME_LIMIT); it was stopped", "time",
                self.time_limit) from None
        except ValueError:  # a line beyond the limit: no request fills that much
            raise EstimateRejected(f"{where}: the estimate's answer is too large") from None
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        if not line:
            returncode = await process.wait()
            if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
                raise EstimateAborted(
                    f"{where}: estimating the protocol used more CPU time than the time limit of "
                    f"{self.time_limit:g} s (LABWRIGHT_ESTIMATE_TIME_LIMIT); it was stopped", "time",
                    self.time_limit)
            raise EstimateAborted(f"{where}: the protocol ended the estimate's process before it "
                                  f"answered ({describe_exit(returncode)})", None)
        answer = json.loads(line)
        if answer.get("event") == "done":
            return answer["document"]  # type: ignore[no-any-return]
        error = answer.get("error") or {}
        if error.get("limit") == "memory":
            raise EstimateAborted(
                f"{where}: estimating the protocol needed more memory than the limit of "
                f"{self.memory_limit / 2**20:g} MiB (LABWRIGHT_ESTIMATE_MEMORY_MB); it was stopped",
                "memory", self.memory_limit)
        raise EstimateRejected(error.get("message") or f"{where}: the estimate failed")

    async def close(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.cancel()
            with contextlib.suppress(BaseException):
                worker = await spare
                await worker.end()
