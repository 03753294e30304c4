"""The lab's database: SQLite (one PC, the default) or PostgreSQL (several PCs), migrated at start.

``LabDatabase(url)`` opens either engine behind one surface:

- ``migrate()`` brings the schema to head with Alembic (``migrations/``), on both engines. An
  SQLite file written before migrations were versioned is adopted first (its inventory brought
  to the baseline's version by the page's own migrations, then stamped at the baseline), so
  nothing in it is lost. A database at a revision this Labwright does not know (a newer one
  wrote it) is refused with :class:`DatabaseTooNew`; servers starting together on one
  PostgreSQL migrate one at a time (an advisory lock).
- ``await run(work)`` runs ``work(connection)`` with a connection that has the sqlite3 surface:
  on SQLite the server's one connection, inline (each statement takes microseconds); on
  PostgreSQL a pooled connection in a worker thread (a round trip must not stall the event loop).
- ``inventory_database()`` is the ``browser_runtime.storage.Database`` the inventory and
  schedule run on; its commits publish ``schedule`` and ``inventory`` changes (``changes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from browser_runtime.errors import LabwrightError
from bridge_server.database.changes import ChangeHub, listen, payload

T = TypeVar("T")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest revision in ``migrations/versions`` (a test keeps it equal to Alembic's head): a
#: database already there opens without importing SQLAlchemy or Alembic on SQLite.
HEAD = "0003"
#: The page's inventory schema version the baseline revision (0001) holds.
BASELINE_INVENTORY_VERSION = 3
#: Advisory lock held while migrating, so servers starting together migrate one at a time.
MIGRATION_LOCK = 0x4C41424D
#: Pooled PostgreSQL connections per server (and worker threads using them).
POOL_SIZE = 12

#: The server's tables as they were before migrations were versioned (bridge_server/store.py).
_LEGACY_STORE = """
CREATE TABLE IF NOT EXISTS leases (
    device_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, backend TEXT,
    config TEXT NOT NULL DEFAULT '{}', ttl REAL NOT NULL, connected_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL, expires_at REAL NOT NULL, heartbeats INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, name TEXT NOT NULL, backend TEXT NOT NULL,
    connection_type TEXT NOT NULL, port TEXT, ip_address TEXT,
    configuration TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL
)
"""


class DatabaseError(LabwrightError):
    """The database cannot be used as asked; the message says why and what to do."""


class DatabaseTooNew(DatabaseError):
    """The database was migrated by a newer Labwright than this one."""


class DatabaseUnavailable(DatabaseError):
    """The database server cannot be reached (or went away)."""


def database_url(value: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL for ``--database-url``: SQLite's file in the data dir by default."""
    if not value:
        return f"sqlite:///{data_dir / 'labwright.sqlite3'}"
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise DatabaseError(f"--database-url {value!r} is not a URL: use sqlite:///PATH or "
                            "postgresql://USER@HOST[:PORT]/DATABASE")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or rest in ("/", "/:memory:"):
            raise DatabaseError(f"--database-url {value!r}: SQLite needs a file, sqlite:///PATH "
                                "(three slashes, then the path)")
        return value
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    raise DatabaseError(f"--database-url {value!r}: unknown database {scheme!r}; use sqlite:///PATH "
                        "or postgresql://USER@HOST[:PORT]/DATABASE")


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        return f"{scheme}{sep}{credentials.partition(':')[0]}:***@{host}"
    return url


class LabDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = url.partition(":")[0].partition("+")[0]
        self.hub = ChangeHub()
        self._engine: Any = None
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._listener: asyncio.Task[None] | None = None

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def path(self) -> Path | None:
        """SQLite's file (``sqlite:///relative`` or ``sqlite:////absolute``, as SQLAlchemy reads it)."""
        return Path(self.url.removeprefix("sqlite:///")) if self.dialect == "sqlite" else None

    @property
    def conninfo(self) -> str:
        """The URL as libpq takes it (PostgreSQL)."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            if self.is_postgresql:
                # No ping per checkout (a round trip per statement): a connection found dead is
                # invalidated where it fails (``_pooled``), and that request answers 503.
                self._engine = create_engine(self.url, pool_size=POOL_SIZE, max_overflow=4, pool_timeout=30)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
                self._engine = create_engine(self.url)
        return self._engine

    # ---- schema ---------------------------------------------------------------------------

    def _alembic(self, connection: Any) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    def migrate(self) -> tuple[str | None, str]:
        """Bring the schema to head; returns (the revision found, head). Refuses a newer database."""
        if self.dialect == "sqlite":
            self._adopt_legacy_sqlite()
            if self._sqlite_revision() == HEAD:
                return HEAD, HEAD
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from sqlalchemy import exc, text

        try:
            with self.engine.connect() as connection:
                if self.is_postgresql:
                    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                    connection.commit()
                try:
                    config = self._alembic(connection)
                    script = ScriptDirectory.from_config(config)
                    head = script.get_current_head()
                    found = MigrationContext.configure(connection).get_current_revision()
                    connection.commit()
                    known = {revision.revision for revision in script.walk_revisions()}
                    if found is not None and found not in known:
                        raise DatabaseTooNew(
                            f"the database at {redacted(self.url)} is at schema revision {found!r}, which "
                            f"this Labwright does not know (it knows up to {head!r}): a newer Labwright "
                            "migrated it. Upgrade Labwright on this PC, or point it at another database")
                    if found != head:
                        with connection.begin():
                            command.upgrade(config, "head")
                finally:
                    if self.is_postgresql:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                        connection.commit()
        except exc.OperationalError as error:
            raise DatabaseUnavailable(f"cannot open the database at {redacted(self.url)}: "
                                      f"{str(error.orig).strip() or error}") from None
        return found, head  # type: ignore[return-value]

    def _sqlite_revision(self) -> str | None:
        path = self.path
        if path is None or not path.exists():
            return None
        connection = sqlite3.connect(path)
        try:
            return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]  # type: ignore[no-any-return]
        except (sqlite3.Error, TypeError):
            return None
        finally:
            connection.close()

    def _adopt_legacy_sqlite(self) -> None:
        """Stamp an SQLite file written before versioned migrations at the baseline, losing nothing."""
        from browser_runtime.inventory.schema import MIGRATIONS as INVENTORY_MIGRATIONS

        path = self.path
        assert path is not None
        if not path.exists():
            return
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alembic_version" in tables or not tables & {"leases", "devices", "assets"}:
                return
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(INVENTORY_MIGRATIONS):
                raise DatabaseTooNew(f"the database {path} holds an inventory at schema version {version}, "
                                     f"newer than this Labwright knows ({len(INVENTORY_MIGRATIONS)})")
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _LEGACY_STORE.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                # The inventory's own migrations bring it to the baseline's version, rows kept.
                for step in range(version, BASELINE_INVENTORY_VERSION):
                    for statement in INVENTORY_MIGRATIONS[step].split(";"):
                        if statement.strip():
                            connection.execute(statement)
                # A newer inventory than the baseline's stays as it is: the revisions that follow
                # the baseline skip, on SQLite, the inventory steps its user_version says are done.
                connection.execute(f"PRAGMA user_version = {max(version, BASELINE_INVENTORY_VERSION)}")
                connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                   "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
                connection.execute("INSERT INTO alembic_version VALUES ('0001')")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.close()

    # ---- running statements -----------------------------------------------------------------

    def open(self) -> None:
        """Migrate, then open what the server runs on (call once, before serving)."""
        self.migrate()
        if self.is_postgresql:
            self._executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="database")
        else:
            self._sqlite = _sqlite_connection(self.path)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Start hearing changes (PostgreSQL's LISTEN); returns once listening."""
        self.hub.bind(asyncio.get_running_loop())
        if self.is_postgresql:
            listening = asyncio.Event()
            self._listener = asyncio.create_task(listen(self.conninfo, self.hub, listening.set))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listening.wait(), 10)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def run(self, work: Callable[[Any], T]) -> T:
        """``work(connection)``: autocommit statements (or a transaction ``work`` opens itself)."""
        if self._sqlite is not None:
            with self._sqlite_lock:
                return work(self._sqlite)
        if self._executor is None:
            raise DatabaseUnavailable("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._pooled, work)

    def _pooled(self, work: Callable[[Any], T]) -> T:
        import psycopg

        from bridge_server.database.portable import PortableConnection
        from bridge_server.database.tables import GENERATED_IDS

        try:
            pooled = self.engine.raw_connection()
        except Exception as error:  # noqa: BLE001 - sqlalchemy wraps psycopg's OperationalError
            raise DatabaseUnavailable(f"the database at {redacted(self.url)} cannot be reached: "
                                      f"{getattr(error, 'orig', error)}") from None
        try:
            connection = PortableConnection(pooled.driver_connection, GENERATED_IDS)
            try:
                return work(connection)
            finally:
                if connection.in_transaction:
                    connection.raw.rollback()
        except psycopg.OperationalError as error:
            pooled.invalidate()
            raise DatabaseUnavailable(f"the database at {redacted(self.url)} went away: {error}") from None
        finally:
            pooled.close()

    def changed(self, connection: Any, topic: str, **detail: Any) -> None:
        """Tell every server's pages that ``topic`` changed (after ``connection``'s write)."""
        if self.is_postgresql:
            connection.execute("SELECT pg_notify(?, ?)", ("labwright", payload(topic, **detail)))
        else:
            self.hub.publish(topic, **detail)

    # ---- the inventory and schedule ---------------------------------------------------------

    def inventory_database(self) -> Any:
        """The ``browser_runtime.storage.Database`` for ``InventoryStore``/``ScheduleBook``."""
        from browser_runtime.storage import Database

        def revision(connection: Any) -> int:
            row = connection.execute("SELECT revision FROM schedule_state WHERE id = 1").fetchone()
            return int(row[0]) if row else 0

        if not self.is_postgresql:
            database = Database(_sqlite_connection(self.path), path=self.path)  # type: ignore[arg-type]

            def published() -> None:
                self.hub.publish("schedule", revision=revision(database.connection))
                self.hub.publish("inventory")

            database.on_commit = published
            return database
        import psycopg

        from bridge_server.database.portable import PortableConnection
        from bridge_server.database.tables import GENERATED_IDS

        def notify(connection: PortableConnection) -> None:  # inside the commit: sent with it
            connection.execute("SELECT pg_notify(?, ?), pg_notify(?, ?)", (
                "labwright", payload("schedule", revision=revision(connection)),
                "labwright", payload("inventory")))

        try:
            raw = psycopg.connect(self.conninfo)
        except psycopg.OperationalError as error:
            raise DatabaseUnavailable(f"the database at {redacted(self.url)} cannot be reached: {error}") from None
        return Database(PortableConnection(raw, GENERATED_IDS, before_commit=notify))  # type: ignore[arg-type]


def _sqlite_connection(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=10000")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection
