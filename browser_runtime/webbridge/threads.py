"""Asyncio stand-ins for the places PLR starts threads, which Pyodide cannot run."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)

__all__ = ["install", "uninstall", "PATCHES"]

# (module, class, attribute) -> the original, so uninstall() can put PLR back as it was.
_originals: dict[tuple[str, str, str], Any] = {}


def _background(owner: Any, attribute: str, coroutine: Any) -> asyncio.Task:
    task = asyncio.ensure_future(coroutine)
    setattr(owner, attribute, task)

    def report(done: asyncio.Task) -> None:
        if not done.cancelled() and done.exception() is not None:
            logger.error("background task of %r failed: %r", owner, done.exception())

    task.add_done_callback(report)
    return task


async def _finish(task: Any, timeout: float) -> None:
    if isinstance(task, asyncio.Task) and not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.TimeoutError:
            task.cancel()
        except Exception:  # noqa: BLE001 - already reported by the task's callback
            pass


# -- Hamilton (STAR, Vantage): one reader thread matching firmware replies to waiting commands --


def _hamilton_patches(base: Any) -> dict[str, Callable]:
    cls = base.HamiltonLiquidHandler

    def reading(self: Any) -> bool:
        task = self._reading_thread
        return isinstance(task, asyncio.Task) and not task.done()

    def start(self: Any) -> None:
        self._reading_thread_stop.clear()
        _background(self, "_reading_thread", self._continuously_read())

    async def setup(self: Any) -> None:
        await super(cls, self).setup()
        await self.io.setup()
        start(self)

    async def stop(self: Any) -> None:
        self._reading_thread_stop.set()
        # The reader may sit in a packet read for seconds; nothing is waiting for it any more.
        await _finish(self._reading_thread, 0.05)
        self._reading_thread = None
        for task in self._waiting_tasks:
            if not task.fut.done():
                task.fut.set_exception(RuntimeError("Stopping HamiltonLiquidHandler."))
        self._waiting_tasks.clear()
        self._tth2tti.clear()
        await self.io.stop()

    def _start_reading(self: Any, id_: Any, loop: Any, fut: Any, cmd: str, timeout: int) -> None:
        import time

        self._waiting_tasks.append(
            base.HamiltonTask(id_=id_, loop=loop, fut=fut, cmd=cmd, timeout_time=time.time() + timeout)
        )
        if not reading(self):
            start(self)

    return {"setup": setup, "stop": stop, "_start_reading": _start_reading}


# -- Byonoy: a keep-alive thread sending heartbeats every second -------------------------------


def _byonoy_patches(module: Any) -> dict[str, Callable]:
    async def ping_loop(self: Any) -> None:
        while not self._stop_background.is_set():
            if self._sending_pings:
                payload = module.Writer().u8(1).finish()
                cmd = self._assemble_command(report_id=0x0040, payload=payload, routing_info=b"\x00\x00")
                await self.io.write(cmd)
            await asyncio.sleep(self._ping_interval)

    async def setup(self: Any) -> None:
        await self.io.setup()
        self._stop_background.clear()
        _background(self, "_background_thread", ping_loop(self))

    async def stop(self: Any) -> None:
        self._stop_background.set()
        await _finish(self._background_thread, 2.0)
        await self.io.stop()

    return {"setup": setup, "stop": stop, "_ping_loop": ping_loop}


# -- Agrow dose pumps: a keep-alive thread polling a Modbus register every 25 s ---------------


def _agrow_patches(module: Any) -> dict[str, Callable]:
    def start_keep_alive_thread(self: Any) -> None:
        async def keep_alive() -> None:
            while self._keep_alive_thread_active:
                await asyncio.sleep(25)
                if self._keep_alive_thread_active:
                    await self.modbus.read_holding_registers(0, 1, unit=self.address)

        self._keep_alive_thread_active = True
        _background(self, "_keep_alive_thread", keep_alive())

    return {"start_keep_alive_thread": start_keep_alive_thread}


#: module -> (class name, factory of {attribute: replacement})
PATCHES: dict[str, tuple[str, Callable[[Any], dict[str, Callable]]]] = {
    "pylabrobot.liquid_handling.backends.hamilton.base": ("HamiltonLiquidHandler", _hamilton_patches),
    "pylabrobot.plate_reading.byonoy.byonoy_backend": ("_ByonoyBase", _byonoy_patches),
    "pylabrobot.pumps.agrowpumps.agrowdosepump_backend": ("AgrowPumpArrayBackend", _agrow_patches),
}


def install() -> list[str]:
    """Patch every class in PATCHES (importing its module); returns what was patched."""
    import importlib

    patched = []
    for module_name, (class_name, factory) in PATCHES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:  # an optional dependency of that backend is missing
            logger.debug("not patching %s: %s", module_name, error)
            continue
        cls = getattr(module, class_name)
        for attribute, replacement in factory(module).items():
            key = (module_name, class_name, attribute)
            if key not in _originals:
                _originals[key] = cls.__dict__.get(attribute)
            replacement.__qualname__ = f"{class_name}.{attribute}"
            replacement.__webbridge__ = True  # type: ignore[attr-defined]
            setattr(cls, attribute, replacement)
            patched.append(f"{module_name}.{class_name}.{attribute}")
    return patched


def uninstall() -> None:
    import sys

    for (module_name, class_name, attribute), original in _originals.items():
        cls = getattr(sys.modules[module_name], class_name)
        if original is None:
            delattr(cls, attribute)
        else:
            setattr(cls, attribute, original)
    _originals.clear()
