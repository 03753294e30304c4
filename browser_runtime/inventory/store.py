"""InventoryStore: the one data-access module for assets, consumables and reservations (SQLite)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from browser_runtime.errors import LabwrightError, NotFound
from browser_runtime.storage import Database

from .models import COST_UNITS, Asset, LabwareCost, Reservation, TimeWindow
from .schema import migrate

ASSET_STATUSES = ("available", "in_use", "quarantined", "consumed", "retired")


class InventoryError(LabwrightError, ValueError):
    """Bad input for the inventory: says what and which asset."""


class InventoryNotFound(InventoryError, NotFound):
    """An asset or reservation the inventory does not have."""


class ReservationConflict(InventoryError):
    """Some assets of a plan could not be reserved; nothing of the plan was written."""

    def __init__(self, conflicts: list[str]) -> None:
        super().__init__("cannot reserve the plan: " + "; ".join(conflicts))
        self.conflicts = conflicts


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InventoryError(f"times must carry a time zone, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat()


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class InventoryStore:
    """Every read and write of the inventory database goes through here; writes are transactional."""

    def __init__(self, database: Database | str | Path = ":memory:", *, migrate_schema: bool = True) -> None:
        # The database's one connection (autocommit): every write below opens a transaction.
        self.database = Database.of(database)
        self.connection = self.database.connection
        if migrate_schema:  # False where another owns the schema (the bridge server's migrations)
            migrate(self.connection)

    def close(self) -> None:
        self.database.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: nothing is half-written.

        Inside an open transaction this joins it (as a savepoint), so several writes (the
        scheduler's release, reserve and placement) commit or roll back as one."""
        with self.database.transaction() as db:
            yield db

    # ---- assets ---------------------------------------------------------------------------

    def add_machine(self, name: str, catalog_fqn: str, machine_kind: str, *, backend_fqn: str | None = None,
                    capabilities: Iterable[str] = (), location: str | None = None,
                    barcode: str | None = None) -> int:
        if not name or not catalog_fqn or not machine_kind:
            raise InventoryError("a machine needs a name, a catalog fqn and a machine kind")
        with self.transaction() as db:
            return self._insert_asset(db, "machine", name, catalog_fqn, machine_kind, backend_fqn,
                                      sorted(set(capabilities)), barcode, location, "available")

    def add_labware(self, name: str, catalog_fqn: str, *, barcode: str | None = None,
                    location: str | None = None, status: str = "available", lot: str | None = None,
                    received_at: datetime | None = None, expires_at: datetime | None = None,
                    remaining_volume_ul: float | None = None, remaining_tips: int | None = None,
                    refill: bool = False) -> int:
        return self.add_labware_many([dict(
            name=name, catalog_fqn=catalog_fqn, barcode=barcode, location=location, status=status,
            lot=lot, received_at=received_at, expires_at=expires_at,
            remaining_volume_ul=remaining_volume_ul, remaining_tips=remaining_tips, refill=refill)])[0]

    def add_labware_many(self, items: Iterable[dict]) -> list[int]:
        """Add labware in one transaction: all rows or, on any bad row, none."""
        ids = []
        with self.transaction() as db:
            for index, item in enumerate(items):
                where = f"labware #{index} ({item.get('name')!r})"
                if not item.get("name") or not item.get("catalog_fqn"):
                    raise InventoryError(f"{where}: needs a name and a catalog fqn")
                status = item.get("status", "available")
                if status not in ASSET_STATUSES:
                    raise InventoryError(f"{where}: status must be one of {', '.join(ASSET_STATUSES)}")
                for key in ("remaining_volume_ul", "remaining_tips"):
                    value = item.get(key)
                    if value is not None and value < 0:
                        raise InventoryError(f"{where}: {key} cannot be negative")
                if not isinstance(item.get("refill", False), bool):
                    raise InventoryError(f"{where}: refill must be true or false")
                try:
                    asset_id = self._insert_asset(db, "labware", item["name"], item["catalog_fqn"], None,
                                                  None, [], item.get("barcode"), item.get("location"),
                                                  status)
                except sqlite3.IntegrityError as exc:
                    raise InventoryError(f"{where}: {exc}") from None
                db.execute("INSERT INTO consumables (asset_id, lot, received_at, expires_at, remaining_volume_ul,"
                           " remaining_tips, refill) VALUES (?, ?, ?, ?, ?, ?, ?)", (
                               asset_id, item.get("lot"), _iso(item.get("received_at")),
                               _iso(item.get("expires_at")), item.get("remaining_volume_ul"),
                               item.get("remaining_tips"), int(bool(item.get("refill", False)))))
                ids.append(asset_id)
        return ids

    def _insert_asset(self, db: sqlite3.Connection, kind: str, name: str, fqn: str,
                      machine_kind: str | None, backend: str | None, capabilities: list[str],
                      barcode: str | None, location: str | None, status: str) -> int:
        cursor = db.execute(
            "INSERT INTO assets (kind, name, catalog_fqn, machine_kind, backend_fqn, capabilities,"
            " barcode, location, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, name, fqn, machine_kind, backend, json.dumps(capabilities), barcode, location,
             status, _iso(utcnow())))
        return int(cursor.lastrowid)

    def set_status(self, asset_id: int, status: str) -> None:
        if status not in ASSET_STATUSES:
            raise InventoryError(f"asset {asset_id}: status must be one of {', '.join(ASSET_STATUSES)}")
        with self.transaction() as db:
            if db.execute("UPDATE assets SET status = ? WHERE id = ?", (status, asset_id)).rowcount != 1:
                raise InventoryNotFound(f"no asset with id {asset_id}")

    #: What editing an item may change: the asset's own columns, then its consumable attributes.
    EDITABLE_ASSET = ("name", "barcode", "location")
    EDITABLE_CONSUMABLE = ("lot", "received_at", "expires_at", "remaining_volume_ul", "remaining_tips")

    def update_labware(self, asset_id: int, **changes: Any) -> Asset:
        """Change an item's name, barcode, location, lot, dates or contents, all or none."""
        unknown = sorted(set(changes) - set(self.EDITABLE_ASSET) - set(self.EDITABLE_CONSUMABLE))
        if unknown:
            raise InventoryError(f"asset {asset_id}: cannot change {', '.join(unknown)} (editable: "
                                 f"{', '.join(self.EDITABLE_ASSET + self.EDITABLE_CONSUMABLE)})")
        if "name" in changes and (not isinstance(changes["name"], str) or not changes["name"].strip()):
            raise InventoryError(f"asset {asset_id}: name must be a non-empty string")
        for key in ("remaining_volume_ul", "remaining_tips"):
            value = changes.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise InventoryError(f"asset {asset_id}: {key} must be a number >= 0, not {value!r}")
        if changes.get("remaining_tips") is not None and int(changes["remaining_tips"]) != changes["remaining_tips"]:
            raise InventoryError(f"asset {asset_id}: remaining_tips must be a whole number")
        values = {key: (_iso(value) if key.endswith("_at") else value) for key, value in changes.items()}
        with self.transaction() as db:
            kind = db.execute("SELECT kind FROM assets WHERE id = ?", (asset_id,)).fetchone()
            if kind is None:
                raise InventoryNotFound(f"no asset with id {asset_id}")
            mine = [key for key in self.EDITABLE_ASSET if key in values]
            theirs = [key for key in self.EDITABLE_CONSUMABLE if key in values]
            if theirs and kind[0] != "labware":
                raise InventoryError(f"asset {asset_id} is a machine: it has no {', '.join(theirs)}")
            try:
                if mine:
                    db.execute(f"UPDATE assets SET {', '.join(f'{key} = ?' for key in mine)} WHERE id = ?",
                               (*(values[key] for key in mine), asset_id))
                if theirs:
                    db.execute(f"UPDATE consumables SET {', '.join(f'{key} = ?' for key in theirs)} WHERE asset_id = ?",
                               (*(values[key] for key in theirs), asset_id))
            except sqlite3.IntegrityError as exc:
                raise InventoryError(f"asset {asset_id}: {exc}") from None
        return self.asset(asset_id)

    _SELECT = ("SELECT a.id, a.kind, a.name, a.catalog_fqn, a.machine_kind, a.backend_fqn,"
               " a.capabilities, a.barcode, a.location, a.status, c.lot, c.received_at, c.expires_at,"
               " c.remaining_volume_ul, c.remaining_tips, c.refill FROM assets a"
               " LEFT JOIN consumables c ON c.asset_id = a.id")

    @staticmethod
    def _asset(row: tuple) -> Asset:
        return Asset(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7], row[8],
                     row[9], row[10], _parse(row[11]), _parse(row[12]), row[13], row[14], bool(row[15]))

    def asset(self, asset_id: int) -> Asset:
        row = self.connection.execute(self._SELECT + " WHERE a.id = ?", (asset_id,)).fetchone()
        if row is None:
            raise InventoryNotFound(f"no asset with id {asset_id}")
        return self._asset(row)

    def assets(self, kind: str | None = None, status: str | None = None) -> list[Asset]:
        clauses, params = [], []
        if kind:
            clauses.append("a.kind = ?")
            params.append(kind)
        if status:
            clauses.append("a.status = ?")
            params.append(status)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return [self._asset(r) for r in self.connection.execute(self._SELECT + where + " ORDER BY a.id",
                                                                params)]

    def draw(self, asset_id: int, tips: int = 0, volume_ul: float = 0.0) -> None:
        """A run used ``tips`` / ``volume_ul`` of an item: its stock goes down (never below 0),
        and a refill item, loaded now, is refill stock no more."""
        with self.transaction() as db:
            row = db.execute("SELECT remaining_tips, remaining_volume_ul FROM consumables WHERE asset_id = ?",
                             (asset_id,)).fetchone()
            if row is None:
                raise InventoryError(f"no labware with id {asset_id}")
            left_tips = None if row[0] is None else max(0, row[0] - int(tips))
            left_volume = None if row[1] is None else max(0.0, row[1] - float(volume_ul))
            # Portable SQL (the lab's PostgreSQL runs this too): no two-argument MAX.
            if db.execute("UPDATE consumables SET remaining_tips = ?, remaining_volume_ul = ?, refill = 0"
                          " WHERE asset_id = ?", (left_tips, left_volume, asset_id)).rowcount != 1:
                raise InventoryError(f"no labware with id {asset_id}")

    # ---- costs ----------------------------------------------------------------------------

    def set_cost(self, catalog_fqn: str, cost: float, unit: str = "item", currency: str = "") -> LabwareCost:
        """What a labware type costs, per item used, per tip or per uL drawn (replaces any before)."""
        if not isinstance(catalog_fqn, str) or not catalog_fqn.strip():
            raise InventoryError("a cost needs the labware type's catalog fqn")
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not cost >= 0 or cost == float("inf"):
            raise InventoryError(f"{catalog_fqn}: cost must be a number >= 0, not {cost!r}")
        if unit not in COST_UNITS:
            raise InventoryError(f"{catalog_fqn}: cost unit must be one of {', '.join(COST_UNITS)}, not {unit!r}")
        if not isinstance(currency, str) or len(currency) > 16:
            raise InventoryError(f"{catalog_fqn}: currency must be a short string")
        with self.transaction() as db:
            db.execute("INSERT INTO labware_costs (catalog_fqn, cost, unit, currency, updated_at) VALUES"
                       " (?, ?, ?, ?, ?) ON CONFLICT (catalog_fqn) DO UPDATE SET cost = excluded.cost,"
                       " unit = excluded.unit, currency = excluded.currency, updated_at = excluded.updated_at",
                       (catalog_fqn, float(cost), unit, currency, _iso(utcnow())))
        return LabwareCost(catalog_fqn, float(cost), unit, currency)

    def costs(self) -> dict[str, LabwareCost]:
        """Catalog fqn -> its cost."""
        return {row[0]: LabwareCost(row[0], row[1], row[2], row[3]) for row in self.connection.execute(
            "SELECT catalog_fqn, cost, unit, currency FROM labware_costs ORDER BY catalog_fqn")}

    # ---- reservations ---------------------------------------------------------------------

    def _blocking(self, db: sqlite3.Connection, window: TimeWindow, now: datetime,
                  asset_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
        """Held or active reservations overlapping ``window`` (holds past their expiry no longer block)."""
        sql = ("SELECT asset_id, run_id, starts_at, ends_at FROM reservations"
               " WHERE status IN ('held', 'active')"
               " AND starts_at < ? AND ends_at > ? AND (expires_at IS NULL OR expires_at > ?)")
        params: list = [_iso(window.ends_at), _iso(window.starts_at), _iso(now)]
        blocking: dict[int, list[str]] = {}
        for asset_id, run_id, starts, ends in db.execute(sql, params):
            blocking.setdefault(asset_id, []).append(f"run {run_id} holds it {starts} -> {ends}")
        if asset_ids is not None:
            wanted = set(asset_ids)
            blocking = {k: v for k, v in blocking.items() if k in wanted}
        return blocking

    def reserved_in(self, window: TimeWindow, now: datetime | None = None) -> dict[int, list[str]]:
        """Asset id -> who holds it during ``window``."""
        return self._blocking(self.connection, window, now or utcnow())

    def reserve(self, run_id: str, asset_ids: Iterable[int], window: TimeWindow, *,
                hold_for: timedelta | None = None, now: datetime | None = None) -> list[Reservation]:
        """Reserve every asset for ``run_id`` in one transaction, or none of them.

        ``hold_for`` makes the holds lapse unless the run is confirmed (see ``confirm``) in time.
        """
        ids = list(asset_ids)
        now = now or utcnow()
        if not run_id:
            raise InventoryError("a reservation needs a run id")
        if len(set(ids)) != len(ids):
            raise ReservationConflict([f"asset {i} appears twice in the plan"
                                       for i in sorted({i for i in ids if ids.count(i) > 1})])
        expires = _iso(now + hold_for) if hold_for is not None else None
        with self.transaction() as db:
            conflicts = []
            known = {row[0]: row[1:] for row in db.execute(
                f"SELECT id, name, status FROM assets WHERE id IN ({','.join('?' * len(ids))})", ids)}
            blocking = self._blocking(db, window, now, ids)
            for asset_id in ids:
                if asset_id not in known:
                    conflicts.append(f"asset {asset_id} does not exist")
                    continue
                name, status = known[asset_id]
                if status != "available":
                    conflicts.append(f"asset {asset_id} ({name}) is {status}")
                for holder in blocking.get(asset_id, []):
                    conflicts.append(f"asset {asset_id} ({name}): {holder}")
            if conflicts:
                raise ReservationConflict(conflicts)
            created = []
            for asset_id in ids:
                cursor = db.execute(
                    "INSERT INTO reservations (asset_id, run_id, starts_at, ends_at, status, expires_at,"
                    " created_at) VALUES (?, ?, ?, ?, 'held', ?, ?)",
                    (asset_id, run_id, _iso(window.starts_at), _iso(window.ends_at), expires, _iso(now)))
                created.append(Reservation(int(cursor.lastrowid), asset_id, run_id, window, "held",
                                           _parse(expires)))
        return created

    def reserve_windows(self, run_id: str, holds: Iterable[tuple[int, TimeWindow]], *,
                        now: datetime | None = None, note: str | None = None) -> list[Reservation]:
        """Reserve each asset for its own window (a run holds a machine only while it uses it),
        all in one transaction or none; an asset may appear in several windows that do not overlap."""
        holds = list(holds)
        now = now or utcnow()
        if not run_id:
            raise InventoryError("a reservation needs a run id")
        with self.transaction() as db:
            conflicts = []
            ids = sorted({asset_id for asset_id, _ in holds})
            known = {row[0]: row[1:] for row in db.execute(
                f"SELECT id, name, status FROM assets WHERE id IN ({','.join('?' * len(ids))})", ids)}
            for index, (asset_id, window) in enumerate(holds):
                if asset_id not in known:
                    conflicts.append(f"asset {asset_id} does not exist")
                    continue
                name, status = known[asset_id]
                if status != "available":
                    conflicts.append(f"asset {asset_id} ({name}) is {status}")
                for holder in self._blocking(db, window, now, [asset_id]).get(asset_id, []):
                    conflicts.append(f"asset {asset_id} ({name}): {holder}")
                for other, other_window in holds[:index]:
                    if other == asset_id and other_window.overlaps(window):
                        conflicts.append(f"asset {asset_id} ({name}) appears twice in one window")
            if conflicts:
                raise ReservationConflict(conflicts)
            created = []
            for asset_id, window in holds:
                cursor = db.execute(
                    "INSERT INTO reservations (asset_id, run_id, starts_at, ends_at, status, created_at, note)"
                    " VALUES (?, ?, ?, ?, 'held', ?, ?)",
                    (asset_id, run_id, _iso(window.starts_at), _iso(window.ends_at), _iso(now), note))
                created.append(Reservation(int(cursor.lastrowid), asset_id, run_id, window, "held", None,
                                           note=note))
        return created

    def move(self, run_id: str, windows: dict[int, TimeWindow], *, now: datetime | None = None,
             force: bool = False) -> None:
        """Give reservations of ``run_id`` (by id) new windows, refused if any would overlap what
        another run holds (unless ``force``: a running run that overran holds on regardless);
        all or nothing."""
        now = now or utcnow()
        with self.transaction() as db:
            conflicts = []
            for reservation_id, window in windows.items():
                row = db.execute("SELECT asset_id, run_id, status FROM reservations WHERE id = ?",
                                 (reservation_id,)).fetchone()
                if row is None or row[1] != run_id or row[2] == "released":
                    raise InventoryError(f"reservation {reservation_id} is not an open hold of run {run_id}")
                for other in db.execute(
                        "SELECT run_id, starts_at, ends_at FROM reservations WHERE asset_id = ? AND"
                        " status IN ('held', 'active') AND run_id != ? AND starts_at < ? AND ends_at > ?"
                        " AND (expires_at IS NULL OR expires_at > ?)",
                        (row[0], run_id, _iso(window.ends_at), _iso(window.starts_at), _iso(now))):
                    conflicts.append(f"asset {row[0]}: run {other[0]} holds it {other[1]} -> {other[2]}")
            if conflicts and not force:
                raise ReservationConflict(conflicts)
            for reservation_id, window in windows.items():
                db.execute("UPDATE reservations SET starts_at = ?, ends_at = ? WHERE id = ?",
                           (_iso(window.starts_at), _iso(window.ends_at), reservation_id))

    def confirm(self, run_id: str) -> int:
        """Make a run's holds permanent (no expiry) until released."""
        with self.transaction() as db:
            return db.execute("UPDATE reservations SET expires_at = NULL WHERE run_id = ? AND "
                              "status = 'held'", (run_id,)).rowcount

    def release(self, run_id: str, reason: str = "run ended", now: datetime | None = None) -> int:
        """Release every hold (held or active) of ``run_id``; safe to call more than once."""
        with self.transaction() as db:
            return db.execute("UPDATE reservations SET status = 'released', released_at = ?, "
                              "release_reason = ? WHERE run_id = ? AND status IN ('held', 'active')",
                              (_iso(now or utcnow()), reason, run_id)).rowcount

    def activate(self, run_id: str) -> int:
        """The run started: its holds become active (and no longer lapse)."""
        with self.transaction() as db:
            return db.execute("UPDATE reservations SET status = 'active', expires_at = NULL "
                              "WHERE run_id = ? AND status = 'held'", (run_id,)).rowcount

    def clear(self, reservation_id: int, reason: str, now: datetime | None = None) -> Reservation:
        """Release one reservation by hand, recording why (an operator's decision)."""
        if not isinstance(reason, str) or not reason.strip():
            raise InventoryError(f"clearing reservation {reservation_id} needs a reason")
        with self.transaction() as db:
            row = db.execute("SELECT status FROM reservations WHERE id = ?", (reservation_id,)).fetchone()
            if row is None:
                raise InventoryNotFound(f"no reservation with id {reservation_id}")
            if row[0] == "released":
                raise InventoryError(f"reservation {reservation_id} is already released")
            db.execute("UPDATE reservations SET status = 'released', released_at = ?, release_reason = ? "
                       "WHERE id = ?", (_iso(now or utcnow()), reason.strip()[:500], reservation_id))
        return self.reservations(reservation_id=reservation_id)[0]

    def reservations(self, run_id: str | None = None, status: str | None = None, *,
                     asset_id: int | None = None, window: TimeWindow | None = None,
                     reservation_id: int | None = None) -> list[Reservation]:
        """Reservations filtered by run, status, asset and/or overlap with ``window``."""
        clauses, params = [], []
        for column, value in (("run_id", run_id), ("status", status), ("asset_id", asset_id),
                              ("id", reservation_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if window is not None:
            clauses.append("starts_at < ? AND ends_at > ?")
            params += [_iso(window.ends_at), _iso(window.starts_at)]
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return [Reservation(r[0], r[1], r[2], TimeWindow(_parse(r[3]), _parse(r[4])), r[5], _parse(r[6]),
                            _parse(r[7]), r[8], r[9])
                for r in self.connection.execute(
                    "SELECT id, asset_id, run_id, starts_at, ends_at, status, expires_at, released_at,"
                    f" release_reason, note FROM reservations{where} ORDER BY id", params)]

    @contextlib.contextmanager
    def reserved(self, run_id: str, asset_ids: Iterable[int], window: TimeWindow) -> Iterator[list[Reservation]]:
        """Hold the assets for the body of the ``with``; released when it ends, however it ends."""
        reservations = self.reserve(run_id, asset_ids, window)
        try:
            yield reservations
        except BaseException as exc:
            self.release(run_id, f"run failed: {type(exc).__name__}: {exc}"[:500])
            raise
        self.release(run_id, "run completed")
