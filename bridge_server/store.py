"""SQLite state of the lab PC: connection leases and device profiles (one file in the data dir).

Every lease change is one conditional statement (``INSERT ... ON CONFLICT ... WHERE``,
``UPDATE ... WHERE``), so racing clients never read-modify-write: SQLite's write lock decides,
and exactly one of many simultaneous connects for a device wins. Expiry is wall-clock based, so
leases survive a restart until their TTL runs out, and every read filters expired rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    device_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    backend TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    ttl REAL NOT NULL,
    connected_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    heartbeats INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    connection_type TEXT NOT NULL,
    port TEXT,
    ip_address TEXT,
    configuration TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""
_LEASE_COLUMNS = ("device_id, client_id, backend, config, ttl, connected_at, heartbeat_at, "
                  "expires_at, heartbeats")


@dataclass(frozen=True)
class Lease:
    device_id: str
    client_id: str
    backend: str | None
    config: dict[str, Any]
    ttl: float
    connected_at: float
    heartbeat_at: float
    expires_at: float
    heartbeats: int

    def to_json(self, now: float | None = None, status: str = "connected") -> dict[str, Any]:
        now = time.time() if now is None else now
        return {
            "device_id": self.device_id, "client_id": self.client_id, "backend": self.backend,
            "config": self.config, "status": status, "connected_at": self.connected_at,
            "last_heartbeat": self.heartbeat_at, "expires_at": self.expires_at,
            "expires_in": round(max(self.expires_at - now, 0.0), 3), "heartbeats": self.heartbeats,
        }


def _lease(row: tuple[Any, ...]) -> Lease:
    return Lease(row[0], row[1], row[2], json.loads(row[3]), *row[4:])


@dataclass(frozen=True)
class LeaseOutcome:
    """What a conditional write did: ``lease`` on success, else the blocking ``holder``."""

    lease: Lease | None
    holder: Lease | None = None
    expired: bool = False


class Store:
    """One SQLite connection (WAL) shared by the server's event loop; writes are serialised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _run(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    # Leases ------------------------------------------------------------------------------

    def acquire(self, device_id: str, client_id: str, backend: str | None, config: dict[str, Any],
                ttl: float, force: bool = False, now: float | None = None) -> LeaseOutcome:
        now = time.time() if now is None else now
        rows = self._run(
            f"""INSERT INTO leases ({_LEASE_COLUMNS})
                VALUES (:device, :client, :backend, :config, :ttl, :now, :now, :expires, 0)
                ON CONFLICT(device_id) DO UPDATE SET
                    connected_at = CASE WHEN leases.client_id = excluded.client_id
                                        AND leases.expires_at > :now
                                        THEN leases.connected_at ELSE excluded.connected_at END,
                    client_id = excluded.client_id, backend = excluded.backend,
                    config = excluded.config, ttl = excluded.ttl,
                    heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
                    heartbeats = 0
                WHERE leases.expires_at <= :now OR leases.client_id = excluded.client_id OR :force
                RETURNING {_LEASE_COLUMNS}""",
            {"device": device_id, "client": client_id, "backend": backend,
             "config": json.dumps(config), "ttl": ttl, "now": now, "expires": now + ttl,
             "force": 1 if force else 0},
        )
        if rows:
            return LeaseOutcome(_lease(rows[0]))
        return LeaseOutcome(None, holder=self.lease(device_id, now=now))

    def heartbeat(self, device_id: str, client_id: str, now: float | None = None) -> LeaseOutcome:
        now = time.time() if now is None else now
        rows = self._run(
            f"""UPDATE leases SET heartbeat_at = :now, expires_at = :now + ttl,
                    heartbeats = heartbeats + 1
                WHERE device_id = :device AND client_id = :client AND expires_at > :now
                RETURNING {_LEASE_COLUMNS}""",
            {"device": device_id, "client": client_id, "now": now},
        )
        if rows:
            return LeaseOutcome(_lease(rows[0]))
        return self._why_not(device_id, client_id, now)

    def release(self, device_id: str, client_id: str, now: float | None = None) -> LeaseOutcome:
        now = time.time() if now is None else now
        rows = self._run(
            f"""DELETE FROM leases WHERE device_id = :device AND client_id = :client
                AND expires_at > :now RETURNING {_LEASE_COLUMNS}""",
            {"device": device_id, "client": client_id, "now": now},
        )
        if rows:
            return LeaseOutcome(_lease(rows[0]))
        return self._why_not(device_id, client_id, now)

    def _why_not(self, device_id: str, client_id: str, now: float) -> LeaseOutcome:
        rows = self._run(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE device_id = ?", (device_id,))
        if not rows:
            return LeaseOutcome(None)
        lease = _lease(rows[0])
        if lease.expires_at <= now:
            return LeaseOutcome(None, expired=lease.client_id == client_id)
        return LeaseOutcome(None, holder=lease)

    def lease(self, device_id: str, now: float | None = None) -> Lease | None:
        now = time.time() if now is None else now
        rows = self._run(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE device_id = ? AND expires_at > ?",
                         (device_id, now))
        return _lease(rows[0]) if rows else None

    def leases(self, client_id: str | None = None, now: float | None = None) -> list[Lease]:
        now = time.time() if now is None else now
        if client_id is None:
            rows = self._run(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE expires_at > ? "
                             "ORDER BY device_id", (now,))
        else:
            rows = self._run(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE expires_at > ? "
                             "AND client_id = ? ORDER BY device_id", (now, client_id))
        return [_lease(row) for row in rows]

    def purge_expired(self, older_than: float, now: float | None = None) -> int:
        """Drop rows expired more than ``older_than`` seconds ago (kept briefly to say 'expired')."""
        now = time.time() if now is None else now
        with self._lock:
            return self.db.execute("DELETE FROM leases WHERE expires_at <= ?", (now - older_than,)).rowcount

    # Device profiles ---------------------------------------------------------------------

    def save_profile(self, profile: dict[str, Any], *, create: bool) -> dict[str, Any] | None:
        """Insert (``create``: only if new) or replace an existing profile; None if that failed."""
        now = time.time()
        values = {
            "device": profile["device_id"], "name": profile["name"], "backend": profile["backend"],
            "type": profile["connection_type"], "port": profile.get("port"),
            "ip": profile.get("ip_address"),
            "configuration": json.dumps(profile.get("configuration") or {}), "now": now,
        }
        if create:
            sql = """INSERT INTO devices VALUES (:device, :name, :backend, :type, :port, :ip,
                     :configuration, :now, :now) ON CONFLICT(device_id) DO NOTHING RETURNING *"""
        else:
            sql = """UPDATE devices SET name = :name, backend = :backend, connection_type = :type,
                     port = :port, ip_address = :ip, configuration = :configuration,
                     updated_at = :now WHERE device_id = :device RETURNING *"""
        rows = self._run(sql, values)
        return _profile(rows[0]) if rows else None

    def profile(self, device_id: str) -> dict[str, Any] | None:
        rows = self._run("SELECT * FROM devices WHERE device_id = ?", (device_id,))
        return _profile(rows[0]) if rows else None

    def profiles(self) -> list[dict[str, Any]]:
        return [_profile(row) for row in self._run("SELECT * FROM devices ORDER BY device_id")]

    def delete_profile(self, device_id: str) -> dict[str, Any] | None:
        rows = self._run("DELETE FROM devices WHERE device_id = ? RETURNING *", (device_id,))
        return _profile(rows[0]) if rows else None


def _profile(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("device_id", "name", "backend", "connection_type", "port", "ip_address",
            "configuration", "created_at", "updated_at")
    profile = dict(zip(keys, row))
    profile["configuration"] = json.loads(profile["configuration"])
    return profile
