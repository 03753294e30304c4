"""PageSession: everything the page's worker keeps, built once and handed to every API area.

One database (the page's SQLite, in memory and saved by the worker), the catalog, the
inventory, run history, saved plans, the ``Runs`` service, the schedule book, the console
(REPL and ``runPython``) and the event sink. Area modules (``page/catalog.py``, ``runs.py``...)
take the session as their first argument; none of them keeps state of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from browser_runtime.catalog.loader import CatalogLoader
from browser_runtime.catalog.store import COMPONENT as CATALOG
from browser_runtime.catalog.store import CatalogStore
from browser_runtime.inventory import InventoryStore
from browser_runtime.inventory.schema import component as inventory_component
from browser_runtime.page.live_deck import LiveDeck
from browser_runtime.protocols.library import COMPONENT as LIBRARY
from browser_runtime.protocols.library import ProtocolLibrary
from browser_runtime.repl.session import ReplSession
from browser_runtime.runner.history import COMPONENT as RUNS
from browser_runtime.runner.history import RunHistory
from browser_runtime.runner.saved import COMPONENT as SAVED_PLANS
from browser_runtime.runner.saved import SavedPlans
from browser_runtime.runner.service import Runs
from browser_runtime.storage import Component, Database, migrate
from browser_runtime.webbridge.capture_store import COMPONENT as CAPTURES
from browser_runtime.webbridge.capture_store import CaptureStore

__all__ = ["COMPONENTS", "Backups", "PageSession"]

#: ``emit(channel, payload)``: events for the page (run progress, REPL output...).
EventSink = Callable[[str, Any], None]


def components() -> tuple[Component, ...]:
    """Every part of the page's database, in the order they are migrated."""
    return (inventory_component(), RUNS, SAVED_PLANS, CATALOG, LIBRARY, CAPTURES)


COMPONENTS = components()


class Backups(Protocol):
    """Where the database before an import is kept, so the import can be undone (IndexedDB)."""

    async def put(self, image: bytes, label: str) -> None: ...

    async def get(self) -> tuple[bytes, str] | None: ...

    async def clear(self) -> None: ...


class MemoryBackups:
    """Backups for a session without a page (tests, CPython): kept in memory."""

    def __init__(self) -> None:
        self._kept: tuple[bytes, str] | None = None

    async def put(self, image: bytes, label: str) -> None:
        self._kept = (image, label)

    async def get(self) -> tuple[bytes, str] | None:
        return self._kept

    async def clear(self) -> None:
        self._kept = None


@dataclass
class Console:
    """The REPL and ``runPython``: one namespace, the statement running in it."""

    session: ReplSession = field(default_factory=ReplSession)
    running: asyncio.Task[Any] | None = None
    devices: dict[str, Any] = field(default_factory=dict)  # device name -> its connected backend
    #: The deck in scope, followed so the page draws what console commands change.
    live: LiveDeck | None = None

    def add_to_scope(self, names: dict[str, Any]) -> None:
        """A finished run's machines and deck; its deck is followed (the page draws it already)."""
        self.session.namespace.update(names)
        if self.live is not None:
            self.live.follow_scope(self.session.namespace, announce=False)


@dataclass
class PageSession:
    database: Database
    emit: EventSink
    backups: Backups
    catalog_loader: CatalogLoader
    inventory: InventoryStore
    history: RunHistory
    saved_plans: SavedPlans
    library: ProtocolLibrary
    runs: Runs
    console: Console
    #: Completion for files being edited: Jedi over the file alone (an empty namespace).
    editor: ReplSession = field(default_factory=lambda: ReplSession({}))
    recovered: list[str] = field(default_factory=list)  # runs a reload cut short, found at start
    #: Done once the reply to the request being served is sent (runs started by it wait for it).
    reply_sent: Callable[[], Awaitable[None]] | None = None
    _book: Any = None

    @classmethod
    def open(cls, database: Database, *, emit: EventSink = lambda channel, payload: None,
             backups: Backups | None = None, gate: Callable[[], Awaitable[None]] | None = None,
             seed_demo: bool = True, console: Console | None = None) -> PageSession:
        """The session over ``database`` (migrated first); runs a reload cut short are settled."""
        from browser_runtime.inventory.demo import seed_demo_inventory

        migrate(database.connection, COMPONENTS)
        inventory = InventoryStore(database)
        if seed_demo:
            seed_demo_inventory(inventory)
        history = RunHistory(database)
        loader = CatalogLoader(CatalogStore(database))
        console = console or Console()
        if console.live is None:
            console.live = LiveDeck(emit)
        runs = Runs(catalog=loader.require, inventory=inventory, history=history, emit=emit,
                    captures=CaptureStore(database))
        runs.on_finished.append(console.add_to_scope)
        session = cls(database=database, emit=emit, backups=backups or MemoryBackups(),
                      catalog_loader=loader, inventory=inventory, history=history,
                      saved_plans=SavedPlans(database), library=ProtocolLibrary(database), runs=runs, console=console, reply_sent=gate)
        session.recovered = runs.recover()
        return session

    @property
    def catalog(self) -> Any:
        return self.catalog_loader.require()

    @property
    def book(self) -> Any:
        """The schedule (made on first use: it needs the catalog)."""
        if self._book is None:
            from browser_runtime.scheduler.book import ScheduleBook

            self._book = ScheduleBook(self.inventory, catalog=self.catalog, heartbeat_ttl=HEARTBEAT_TTL)
        return self._book

    def replaced(self) -> None:
        """The database was replaced (an import, or its undo): drop what was read from the old one."""
        self.catalog_loader.reload_cached()
        self.runs.forget_plans()
        self._book = None
        self.recovered = self.runs.recover()


#: Seconds a running scheduled run may go without a heartbeat before it counts as abandoned.
HEARTBEAT_TTL = 120.0
