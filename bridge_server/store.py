"""The lab's leases, device profiles, PCs and IO tickets, on the lab database (SQLite or PostgreSQL).

Every lease change is one conditional statement (``INSERT ... ON CONFLICT ... WHERE``,
``UPDATE ... WHERE``), so racing clients never read-modify-write: the database decides (SQLite's
write lock, PostgreSQL's row lock on the conflicting key), and exactly one of many simultaneous
connects for a device wins, from one server or several. A lease is keyed by the PC the device is
attached to (``node``) and the device's id there. Expiry is wall-clock based, so leases survive a
restart until their TTL runs out, and every read filters expired rows.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bridge_server.database import LabDatabase

_LEASE_COLUMNS = ("node, device_id, client_id, backend, config, ttl, connected_at, heartbeat_at, "
                  "expires_at, heartbeats")
_PROFILE_COLUMNS = ("device_id, name, backend, connection_type, port, ip_address, configuration, "
                    "created_at, updated_at")


@dataclass(frozen=True)
class Lease:
    node: str
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
            "device_id": self.device_id, "node": self.node, "client_id": self.client_id,
            "backend": self.backend, "config": self.config, "status": status,
            "connected_at": self.connected_at, "last_heartbeat": self.heartbeat_at,
            "expires_at": self.expires_at, "expires_in": round(max(self.expires_at - now, 0.0), 3),
            "heartbeats": self.heartbeats,
        }


def _lease(row: tuple[Any, ...]) -> Lease:
    return Lease(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:])


@dataclass(frozen=True)
class LeaseOutcome:
    """What a conditional write did: ``lease`` on success, else the blocking ``holder``."""

    lease: Lease | None
    holder: Lease | None = None
    expired: bool = False


@dataclass(frozen=True)
class Ticket:
    """Leave for a page served by another PC to open one serial port of this PC, once, soon."""

    node: str
    device_id: str
    port: str
    client_id: str
    origin: str
    expires_at: float


def ticket_digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class Store:
    """Reads and writes of the server's own tables, each one call of ``LabDatabase.run``."""

    def __init__(self, database: LabDatabase, node: str) -> None:
        self.database = database
        self.node = node

    # Leases ------------------------------------------------------------------------------

    async def acquire(self, device_id: str, client_id: str, backend: str | None, config: dict[str, Any],
                      ttl: float, force: bool = False, node: str | None = None,
                      now: float | None = None) -> LeaseOutcome:
        now = time.time() if now is None else now
        node = self.node if node is None else node
        values = {"node": node, "device": device_id, "client": client_id, "backend": backend,
                  "config": json.dumps(config), "ttl": ttl, "now": now, "expires": now + ttl,
                  "force": 1 if force else 0}

        def work(db: Any) -> LeaseOutcome:
            rows = db.execute(
                f"""INSERT INTO leases ({_LEASE_COLUMNS})
                    VALUES (:node, :device, :client, :backend, :config, :ttl, :now, :now, :expires, 0)
                    ON CONFLICT(node, device_id) DO UPDATE SET
                        connected_at = CASE WHEN leases.client_id = excluded.client_id
                                            AND leases.expires_at > :now
                                            THEN leases.connected_at ELSE excluded.connected_at END,
                        client_id = excluded.client_id, backend = excluded.backend,
                        config = excluded.config, ttl = excluded.ttl,
                        heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
                        heartbeats = 0
                    WHERE leases.expires_at <= :now OR leases.client_id = excluded.client_id
                          OR :force = 1
                    RETURNING {_LEASE_COLUMNS}""", values).fetchall()
            if rows:
                self.database.changed(db, "leases")
                return LeaseOutcome(_lease(rows[0]))
            return LeaseOutcome(None, holder=_live(db, node, device_id, now))

        return await self.database.run(work)

    async def heartbeat(self, device_id: str, client_id: str, node: str | None = None,
                        now: float | None = None) -> LeaseOutcome:
        now = time.time() if now is None else now
        node = self.node if node is None else node

        def work(db: Any) -> LeaseOutcome:
            rows = db.execute(
                f"""UPDATE leases SET heartbeat_at = :now, expires_at = :now + ttl,
                        heartbeats = heartbeats + 1
                    WHERE node = :node AND device_id = :device AND client_id = :client
                          AND expires_at > :now
                    RETURNING {_LEASE_COLUMNS}""",
                {"node": node, "device": device_id, "client": client_id, "now": now}).fetchall()
            if rows:
                return LeaseOutcome(_lease(rows[0]))
            return _why_not(db, node, device_id, client_id, now)

        return await self.database.run(work)

    async def release(self, device_id: str, client_id: str, node: str | None = None,
                      now: float | None = None) -> LeaseOutcome:
        now = time.time() if now is None else now
        node = self.node if node is None else node

        def work(db: Any) -> LeaseOutcome:
            rows = db.execute(
                f"""DELETE FROM leases WHERE node = :node AND device_id = :device
                    AND client_id = :client AND expires_at > :now RETURNING {_LEASE_COLUMNS}""",
                {"node": node, "device": device_id, "client": client_id, "now": now}).fetchall()
            if rows:
                self.database.changed(db, "leases")
                return LeaseOutcome(_lease(rows[0]))
            return _why_not(db, node, device_id, client_id, now)

        return await self.database.run(work)

    async def lease(self, device_id: str, node: str | None = None, now: float | None = None) -> Lease | None:
        now = time.time() if now is None else now
        node = self.node if node is None else node
        return await self.database.run(lambda db: _live(db, node, device_id, now))

    async def leases(self, client_id: str | None = None, now: float | None = None) -> list[Lease]:
        """Every live lease of the lab (every PC's), or only ``client_id``'s."""
        now = time.time() if now is None else now
        if client_id is None:
            sql, params = (f"SELECT {_LEASE_COLUMNS} FROM leases WHERE expires_at > ? "
                           "ORDER BY node, device_id", (now,))
        else:
            sql, params = (f"SELECT {_LEASE_COLUMNS} FROM leases WHERE expires_at > ? AND client_id = ? "
                           "ORDER BY node, device_id", (now, client_id))
        return await self.database.run(lambda db: [_lease(row) for row in db.execute(sql, params).fetchall()])

    async def purge_expired(self, older_than: float, now: float | None = None) -> int:
        """Drop rows expired more than ``older_than`` seconds ago (kept briefly to say 'expired')."""
        now = time.time() if now is None else now
        return await self.database.run(lambda db: db.execute(
            "DELETE FROM leases WHERE expires_at <= ?", (now - older_than,)).rowcount)

    async def adopt_leases(self) -> int:
        """Leases written before leases named their PC (node ``''``) are this server's: it was the only one."""
        def work(db: Any) -> int:
            return db.execute("UPDATE leases SET node = ? WHERE node = '' AND NOT EXISTS "
                              "(SELECT 1 FROM leases mine WHERE mine.node = ? AND mine.device_id = leases.device_id)",
                              (self.node, self.node)).rowcount

        return await self.database.run(work)

    # Device profiles ---------------------------------------------------------------------

    async def save_profile(self, profile: dict[str, Any], *, create: bool) -> dict[str, Any] | None:
        """Insert (``create``: only if new) or replace an existing profile; None if that failed."""
        now = time.time()
        values = {
            "device": profile["device_id"], "name": profile["name"], "backend": profile["backend"],
            "type": profile["connection_type"], "port": profile.get("port"),
            "ip": profile.get("ip_address"),
            "configuration": json.dumps(profile.get("configuration") or {}), "now": now,
        }
        if create:
            sql = f"""INSERT INTO devices ({_PROFILE_COLUMNS}) VALUES (:device, :name, :backend, :type,
                     :port, :ip, :configuration, :now, :now) ON CONFLICT(device_id) DO NOTHING
                     RETURNING {_PROFILE_COLUMNS}"""
        else:
            sql = f"""UPDATE devices SET name = :name, backend = :backend, connection_type = :type,
                     port = :port, ip_address = :ip, configuration = :configuration,
                     updated_at = :now WHERE device_id = :device RETURNING {_PROFILE_COLUMNS}"""

        def work(db: Any) -> dict[str, Any] | None:
            rows = db.execute(sql, values).fetchall()
            if rows:
                self.database.changed(db, "devices")
            return _profile(rows[0]) if rows else None

        return await self.database.run(work)

    async def profile(self, device_id: str) -> dict[str, Any] | None:
        def work(db: Any) -> dict[str, Any] | None:
            rows = db.execute(f"SELECT {_PROFILE_COLUMNS} FROM devices WHERE device_id = ?", (device_id,)).fetchall()
            return _profile(rows[0]) if rows else None

        return await self.database.run(work)

    async def profiles(self) -> list[dict[str, Any]]:
        return await self.database.run(lambda db: [_profile(row) for row in db.execute(
            f"SELECT {_PROFILE_COLUMNS} FROM devices ORDER BY device_id").fetchall()])

    async def delete_profile(self, device_id: str) -> dict[str, Any] | None:
        def work(db: Any) -> dict[str, Any] | None:
            rows = db.execute(f"DELETE FROM devices WHERE device_id = ? RETURNING {_PROFILE_COLUMNS}",
                              (device_id,)).fetchall()
            if rows:
                self.database.changed(db, "devices")
            return _profile(rows[0]) if rows else None

        return await self.database.run(work)

    # The lab's PCs and their devices -------------------------------------------------------

    async def announce(self, url: str, devices: list[dict[str, Any]] | None, *, starting: bool = False,
                       now: float | None = None) -> None:
        """This PC is alive at ``url``; with ``devices``, these (and only these) are attached to it."""
        now = time.time() if now is None else now

        def work(db: Any) -> None:
            db.execute("""INSERT INTO lab_nodes (name, url, started_at, seen_at) VALUES (?, ?, ?, ?)
                          ON CONFLICT(name) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at,
                          started_at = CASE WHEN ? = 1 THEN excluded.started_at ELSE lab_nodes.started_at END""",
                       (self.node, url, now, now, 1 if starting else 0))
            if devices is None:
                return
            documents = {device["id"]: json.dumps(device, sort_keys=True) for device in devices}
            known = dict(db.execute("SELECT device_id, document FROM node_devices WHERE node = ?",
                                    (self.node,)).fetchall())
            db.execute("BEGIN")
            try:
                for device_id in set(known) - set(documents):
                    db.execute("DELETE FROM node_devices WHERE node = ? AND device_id = ?", (self.node, device_id))
                for device_id, document in documents.items():
                    db.execute("""INSERT INTO node_devices (node, device_id, document, seen_at) VALUES (?, ?, ?, ?)
                                  ON CONFLICT(node, device_id) DO UPDATE SET document = excluded.document,
                                  seen_at = excluded.seen_at""", (self.node, device_id, document, now))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if known != documents:
                self.database.changed(db, "nodes")

        await self.database.run(work)

    async def nodes(self, alive_within: float, now: float | None = None) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        rows = await self.database.run(lambda db: db.execute(
            "SELECT name, url, started_at, seen_at FROM lab_nodes ORDER BY name").fetchall())
        return [{"name": name, "url": url, "started_at": started, "seen_at": seen,
                 "alive": now - seen <= alive_within, "self": name == self.node}
                for name, url, started, seen in rows]

    async def node_devices(self, alive_within: float, now: float | None = None,
                           node: str | None = None) -> list[dict[str, Any]]:
        """Devices attached to the other live PCs of the lab (or to ``node``), as they described them."""
        now = time.time() if now is None else now
        sql = ("SELECT d.node, n.url, d.document FROM node_devices d JOIN lab_nodes n ON n.name = d.node "
               "WHERE n.seen_at > ? AND d.node <> ?")
        params: tuple[Any, ...] = (now - alive_within, self.node)
        if node is not None:
            sql, params = sql + " AND d.node = ?", (*params, node)
        rows = await self.database.run(lambda db: db.execute(sql + " ORDER BY d.node, d.device_id", params).fetchall())
        return [{**json.loads(document), "node": name, "node_url": url} for name, url, document in rows]

    # IO tickets ----------------------------------------------------------------------------

    async def issue_ticket(self, node: str, device_id: str, port: str, client_id: str, origin: str,
                           lifetime: float, now: float | None = None) -> tuple[str, float]:
        """A fresh ticket (returned once, stored only as its digest) and when it expires."""
        now = time.time() if now is None else now
        ticket = secrets.token_urlsafe(24)
        expires = now + lifetime

        def work(db: Any) -> None:
            db.execute("DELETE FROM io_tickets WHERE expires_at <= ?", (now,))
            db.execute("INSERT INTO io_tickets (digest, node, device_id, port, client_id, origin, expires_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (ticket_digest(ticket), node, device_id, port, client_id, origin, expires))

        await self.database.run(work)
        return ticket, expires

    async def redeem_ticket(self, ticket: str, now: float | None = None) -> Ticket | None:
        """The ticket's leave, used up (a ticket opens one socket), if it is this PC's and not expired."""
        now = time.time() if now is None else now
        rows = await self.database.run(lambda db: db.execute(
            "DELETE FROM io_tickets WHERE digest = ? AND node = ? RETURNING node, device_id, port, "
            "client_id, origin, expires_at", (ticket_digest(ticket), self.node)).fetchall())
        if not rows or rows[0][5] <= now:
            return None
        return Ticket(*rows[0])


def _live(db: Any, node: str, device_id: str, now: float) -> Lease | None:
    rows = db.execute(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE node = ? AND device_id = ? AND expires_at > ?",
                      (node, device_id, now)).fetchall()
    return _lease(rows[0]) if rows else None


def _why_not(db: Any, node: str, device_id: str, client_id: str, now: float) -> LeaseOutcome:
    rows = db.execute(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE node = ? AND device_id = ?",
                      (node, device_id)).fetchall()
    if not rows:
        return LeaseOutcome(None)
    lease = _lease(rows[0])
    if lease.expires_at <= now:
        return LeaseOutcome(None, expired=lease.client_id == client_id)
    return LeaseOutcome(None, holder=lease)


def _profile(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("device_id", "name", "backend", "connection_type", "port", "ip_address",
            "configuration", "created_at", "updated_at")
    profile = dict(zip(keys, row))
    profile["configuration"] = json.loads(profile["configuration"])
    return profile
