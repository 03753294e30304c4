"""The server's state, built per app: store, catalog, mDNS browser, REPL sessions, estimates, and
their lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette

from bridge_server.definitions import CatalogService
from bridge_server.discovery import NetworkBrowser, serial_devices, simulator_devices
from bridge_server.estimates import Estimates
from bridge_server.repl_host import ReplLimits, SessionManager
from bridge_server.settings import DEFAULT_MDNS_TYPES, Settings
from bridge_server.store import Store

log = logging.getLogger("labwright")


class Bridge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.database)
        self.catalog = CatalogService(settings.prebuilt_catalog, settings.catalog_cache_dir or settings.data_dir / "catalog-cache",
                                      settings.catalog_sources)
        self.network = NetworkBrowser(DEFAULT_MDNS_TYPES + settings.mdns_extra_types,
                                      settings.mdns_interfaces)
        self.sessions = SessionManager(ReplLimits(
            time=settings.repl_time_limit, memory=settings.repl_memory_limit,
            output=settings.repl_output_limit, sessions=settings.repl_max_sessions))
        self.estimates = Estimates(settings.estimate_time_limit, settings.estimate_memory_limit,
                                   settings.estimate_workers)
        self.schedule_book: Any = None  # opened by the schedule API on first use
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        if self.settings.load_catalog:
            self.catalog.start()
            self._tasks.append(asyncio.create_task(self._give_catalog_to_browser()))
        if self.settings.mdns:
            await asyncio.to_thread(self.network.start)
        self._tasks.append(asyncio.create_task(self._housekeeping()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sessions.close_all()
        await self.estimates.close()
        if self.settings.mdns:
            await asyncio.to_thread(self.network.stop)
        self.store.close()

    async def _give_catalog_to_browser(self) -> None:
        self.network.catalog = (await self.catalog.get()).catalog

    async def _housekeeping(self) -> None:
        """Forget long-expired leases, end sessions whose client is gone, and release the
        reservations of scheduled runs whose page stopped sending heartbeats."""
        period = max(min(self.settings.connection_ttl / 4, 30.0), 0.5)
        while True:
            await asyncio.sleep(period)
            try:
                self.store.purge_expired(older_than=max(self.settings.connection_ttl, 60.0))
                await self.sessions.close_idle({lease.client_id for lease in self.store.leases()})
                if self.schedule_book is not None:
                    for run_id in self.schedule_book.release_stale():
                        log.info("scheduled run %s went stale; its reservations are released", run_id)
            except Exception:
                log.exception("housekeeping failed")

    # Devices ----------------------------------------------------------------------------------

    async def catalog_or_none(self) -> Any:
        return (await self.catalog.get()).catalog if self.settings.load_catalog or self.catalog.ready else None

    async def serial(self) -> list[dict[str, Any]]:
        catalog = await self.catalog_or_none()
        return await asyncio.to_thread(serial_devices, catalog, self.settings.serial_globs)

    async def simulators(self) -> list[dict[str, Any]]:
        catalog = await self.catalog_or_none()
        return simulator_devices(catalog) if catalog is not None else []

    async def network_devices(self, timeout: float) -> list[dict[str, Any]]:
        if self.network.catalog is None and self.catalog.ready:
            self.network.catalog = (await self.catalog.get()).catalog
        return await self.network.devices(timeout)

    async def find_device(self, device_id: str) -> dict[str, Any] | None:
        if device_id.startswith("simulator:"):
            found = await self.simulators()
        elif device_id.startswith("serial:"):
            found = await self.serial()
        elif device_id.startswith("network:"):
            found = await self.network_devices(0)
        else:
            found = []
        return next((device for device in found if device["id"] == device_id), None)

    def with_lease_status(self, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
        leases = {lease.device_id: lease for lease in self.store.leases()}
        for device in devices:
            lease = leases.get(device["id"])
            if lease is not None:
                device["status"] = "connected"
                device["properties"] = {**device["properties"], "lease_client": lease.client_id}
        return devices


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    bridge: Bridge = app.state.bridge
    await bridge.start()
    try:
        yield
    finally:
        await bridge.stop()
