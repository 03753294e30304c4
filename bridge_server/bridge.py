"""The server's state, built per app: database, store, catalog, mDNS browser, REPL sessions,
estimates, the schedule book, and their lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.applications import Starlette

from bridge_server.database import DatabaseUnavailable, LabDatabase
from bridge_server.definitions import CatalogService
from bridge_server.discovery import NetworkBrowser, serial_devices, simulator_devices
from bridge_server.estimates import Estimates
from bridge_server.repl_host import ReplLimits, SessionManager
from bridge_server.settings import DEFAULT_MDNS_TYPES, Settings
from bridge_server.store import Store

log = logging.getLogger("labwright")
T = TypeVar("T")

#: Seconds between this PC's announcements (alive, and the devices attached to it).
ANNOUNCE_PERIOD = 2.0
#: A PC not heard from for this long is gone: its devices leave the lab's discovery.
NODE_ALIVE = 10.0


class Bridge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = LabDatabase(settings.database)
        self.store = Store(self.database, settings.node)
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
        #: On PostgreSQL the book's connection lives in this one thread (its calls are serialised).
        self._book_thread: ThreadPoolExecutor | None = None
        self._book_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self.opened = False

    def open_database(self) -> None:
        """Migrate and open the database (the CLI calls it first, to report a refusal clearly)."""
        if not self.opened:
            self.database.open()
            self.opened = True

    async def start(self) -> None:
        if not self.opened:
            await asyncio.to_thread(self.open_database)
        await self.database.start()
        adopted = await self.store.adopt_leases()
        if adopted:
            log.info("%d lease(s) from before leases named their PC are now %s's", adopted, self.settings.node)
        await self.store.announce(self.settings.lab_url, None, starting=True)
        if self.settings.load_catalog:
            self.catalog.start()
            self._tasks.append(asyncio.create_task(self._give_catalog_to_browser()))
        if self.settings.mdns:
            await asyncio.to_thread(self.network.start)
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        self._tasks.append(asyncio.create_task(self._announcing()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sessions.close_all()
        await self.estimates.close()
        if self.settings.mdns:
            await asyncio.to_thread(self.network.stop)
        if self.schedule_book is not None:
            await self.with_book(lambda book: book.inventory.close())
            self.schedule_book = None
        if self._book_thread is not None:
            self._book_thread.shutdown(wait=True)
        await self.database.close()

    # The schedule book ------------------------------------------------------------------------

    async def with_book(self, work: Callable[[Any], T]) -> T:
        """``work(book)`` on the lab's one schedule book, opened on first use.

        SQLite: inline, as every statement is a local file's. PostgreSQL: in the book's own thread,
        one call at a time (the book's connection is one), so a round trip never stalls the loop.
        A lost connection is reopened on the next call.
        """
        if not self.database.is_postgresql:
            if self.schedule_book is None:
                async with self._book_lock:  # one book, however many requests come first at once
                    if self.schedule_book is None:
                        self.schedule_book = self._book(await self.catalog_or_none())
            return work(self.schedule_book)
        async with self._book_lock:
            if self._book_thread is None:
                self._book_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schedule-book")
            loop = asyncio.get_running_loop()
            if self.schedule_book is None:
                catalog = await self.catalog_or_none()
                self.schedule_book = await loop.run_in_executor(self._book_thread, self._book, catalog)
            try:
                return await loop.run_in_executor(self._book_thread, work, self.schedule_book)
            except Exception as error:
                import psycopg

                if isinstance(error, psycopg.OperationalError) or isinstance(error.__cause__, psycopg.OperationalError):
                    book, self.schedule_book = self.schedule_book, None
                    with contextlib.suppress(Exception):
                        book.inventory.close()
                    raise DatabaseUnavailable(f"the lab database went away: {error}") from None
                raise

    def _book(self, catalog: Any) -> Any:
        from browser_runtime.inventory import InventoryStore
        from browser_runtime.scheduler import ScheduleBook

        # Alembic owns this database's schema (both engines): the store must not migrate it.
        inventory = InventoryStore(self.database.inventory_database(), migrate_schema=False)
        return ScheduleBook(inventory, catalog=catalog, heartbeat_ttl=self.settings.connection_ttl)

    async def _give_catalog_to_browser(self) -> None:
        self.network.catalog = (await self.catalog.get()).catalog

    async def _housekeeping(self) -> None:
        """Forget long-expired leases, end sessions whose client is gone, and release the
        reservations of scheduled runs whose page stopped sending heartbeats."""
        period = max(min(self.settings.connection_ttl / 4, 30.0), 0.5)
        while True:
            await asyncio.sleep(period)
            try:
                await self.store.purge_expired(older_than=max(self.settings.connection_ttl, 60.0))
                await self.sessions.close_idle({lease.client_id for lease in await self.store.leases()})
                if self.schedule_book is not None:
                    for run_id in await self.with_book(_release_stale):
                        log.info("scheduled run %s went stale; its reservations are released", run_id)
            except DatabaseUnavailable as error:
                log.warning("housekeeping: %s", error)
            except Exception:
                log.exception("housekeeping failed")

    async def _announcing(self) -> None:
        """Tell the lab this PC is alive and which devices are attached to it, every few seconds."""
        while True:
            try:
                await self.store.announce(self.settings.lab_url, await self.serial())
            except DatabaseUnavailable as error:
                log.warning("announcing this PC: %s", error)
            except Exception:
                log.exception("announcing this PC failed")
            await asyncio.sleep(ANNOUNCE_PERIOD)

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

    async def lab_devices(self) -> list[dict[str, Any]]:
        """The devices attached to the lab's other live PCs, each naming its PC (``node``, ``node_url``)."""
        return await self.store.node_devices(NODE_ALIVE)

    async def node_alive(self, node: str) -> bool:
        return any(n["name"] == node and n["alive"] for n in await self.store.nodes(NODE_ALIVE))

    async def find_device(self, device_id: str, node: str | None = None) -> dict[str, Any] | None:
        if node is not None and node != self.settings.node:
            found = await self.store.node_devices(NODE_ALIVE, node=node)
            return next((device for device in found if device["id"] == device_id), None)
        if device_id.startswith("simulator:"):
            found = await self.simulators()
        elif device_id.startswith("serial:"):
            found = await self.serial()
        elif device_id.startswith("network:"):
            found = await self.network_devices(0)
        else:
            found = []
        return next((device for device in found if device["id"] == device_id), None)

    async def with_lease_status(self, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each device with its PC (``node``) and, when someone holds it, ``status: connected``."""
        leases = {(lease.node, lease.device_id): lease for lease in await self.store.leases()}
        for device in devices:
            device.setdefault("node", self.settings.node)
            device.setdefault("node_url", self.settings.lab_url)
            lease = leases.get((device["node"], device["id"]))
            if lease is not None:
                device["status"] = "connected"
                device["properties"] = {**device["properties"], "lease_client": lease.client_id}
        return devices


def _release_stale(book: Any) -> list[str]:
    """Stale runs released. Every server of the lab does this; when another one ended a run
    between our look and our write, the book refuses that run and we look again."""
    from browser_runtime.scheduler import ScheduleError

    for _ in range(5):
        try:
            return list(book.release_stale())
        except ScheduleError:
            continue
    return []


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    bridge: Bridge = app.state.bridge
    await bridge.start()
    try:
        yield
    finally:
        await bridge.stop()
