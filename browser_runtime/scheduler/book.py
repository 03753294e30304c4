"""The schedule book: the one stored schedule, its runs' lifecycle and the reservations it holds.

Kept in the inventory database (the same SQLite file as assets and reservations), so a
placement and its reservations are written in one transaction. Every write bumps the
schedule's revision; a writer that says which revision it saw (``expected_revision``) is
refused with :class:`ScheduleConflict` when another wrote first, so no update is lost.
Run lifecycle: ``scheduled`` (reservations held for its window) -> ``running`` (active) ->
``completed`` / ``failed``; ``cancelled`` from any open state; ``stale`` when a running run's
heartbeat is older than the TTL (its page closed). Every ending releases the reservations
with the reason recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from browser_runtime.errors import LabwrightError, NotFound
from browser_runtime.inventory.models import TimeWindow
from browser_runtime.inventory.store import InventoryError, InventoryStore, utcnow
from browser_runtime.scheduler.heuristic import list_schedule
from browser_runtime.scheduler.optimiser import DEFAULT_ITERATIONS, optimise
from browser_runtime.scheduler.placement import Busy, Problem, Schedule
from browser_runtime.scheduler.requests import RunRequest
from browser_runtime.scheduler.workcells import Labware, Machine, Workcell

#: Seconds without a heartbeat after which a running run counts as abandoned.
DEFAULT_HEARTBEAT_TTL = 120.0
OPEN_STATUSES = ("scheduled", "infeasible", "running")
ENDINGS = ("completed", "failed", "cancelled", "stale")
METHODS = ("heuristic", "optimiser")


class ScheduleError(LabwrightError, ValueError):
    """A schedule operation that cannot be done as asked; says which run or workcell and why."""


class ScheduleNotFound(ScheduleError, NotFound):
    """A run or workcell the schedule does not have."""


class ScheduleConflict(ScheduleError):
    """Someone changed the schedule since the revision the writer saw."""

    def __init__(self, expected: int, revision: int) -> None:
        super().__init__(f"the schedule is at revision {revision}, not {expected}: reload it and retry")
        self.expected = expected
        self.revision = revision


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class ScheduleBook:
    def __init__(self, inventory: InventoryStore, *, catalog: Any = None,
                 heartbeat_ttl: float = DEFAULT_HEARTBEAT_TTL,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.inventory = inventory
        self.catalog = catalog
        self.heartbeat_ttl = heartbeat_ttl
        self.clock = clock

    @property
    def db(self) -> Any:
        return self.inventory.connection

    # ---- revision -------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return int(self.db.execute("SELECT revision FROM schedule_state WHERE id = 1").fetchone()[0])

    @contextmanager
    def _write(self, expected_revision: int | None, method: str | None = None) -> Iterator[Any]:
        """One transaction that checks the revision first and bumps it last."""
        if expected_revision is not None and (isinstance(expected_revision, bool)
                                              or not isinstance(expected_revision, int)):
            raise ScheduleError(f"expected_revision must be an integer, not {expected_revision!r}")
        with self.inventory.transaction() as db:
            revision = self.revision
            if expected_revision is not None and expected_revision != revision:
                raise ScheduleConflict(expected_revision, revision)
            yield db
            db.execute("UPDATE schedule_state SET revision = revision + 1, method = COALESCE(?, method),"
                       " planned_at = CASE WHEN ? IS NULL THEN planned_at ELSE ? END WHERE id = 1",
                       (method, method, _iso(self.clock())))

    # ---- workcells ------------------------------------------------------------------------

    def add_workcell(self, name: str, machine_ids: Iterable[int], deck: str | None = None, *,
                     expected_revision: int | None = None) -> Workcell:
        """A named workcell of registered machines (each machine in one workcell only)."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ScheduleError("a workcell needs a name of 1-200 characters")
        ids = list(machine_ids)
        if not ids:
            raise ScheduleError(f"workcell {name!r} needs at least one machine")
        with self._write(expected_revision) as db:
            if db.execute("SELECT 1 FROM workcells WHERE name = ?", (name,)).fetchone():
                raise ScheduleError(f"a workcell named {name!r} exists")
            for asset_id in ids:
                if isinstance(asset_id, bool) or not isinstance(asset_id, int):
                    raise ScheduleError(f"workcell {name!r}: machine ids must be integers, not {asset_id!r}")
                row = db.execute("SELECT kind, name FROM assets WHERE id = ?", (asset_id,)).fetchone()
                if row is None or row[0] != "machine":
                    raise ScheduleError(f"workcell {name!r}: asset {asset_id} is not a registered machine")
                other = db.execute("SELECT w.name FROM workcell_machines m JOIN workcells w ON "
                                   "w.id = m.workcell_id WHERE m.asset_id = ?", (asset_id,)).fetchone()
                if other:
                    raise ScheduleError(f"workcell {name!r}: machine {asset_id} ({row[1]}) is already in "
                                        f"workcell {other[0]!r}")
            cursor = db.execute("INSERT INTO workcells (name, deck, created_at) VALUES (?, ?, ?)",
                                (name, deck, _iso(self.clock())))
            for asset_id in dict.fromkeys(ids):
                db.execute("INSERT INTO workcell_machines VALUES (?, ?)", (cursor.lastrowid, asset_id))
        return next(w for w in self.workcells() if w.name == name)

    def remove_workcell(self, name: str, *, expected_revision: int | None = None) -> None:
        with self._write(expected_revision) as db:
            open_runs = db.execute("SELECT run_id FROM scheduled_runs WHERE workcell = ? AND status IN "
                                   "('scheduled', 'running')", (name,)).fetchall()
            if open_runs:
                raise ScheduleError(f"workcell {name!r} has open runs: "
                                    + ", ".join(r[0] for r in open_runs[:10]))
            if db.execute("DELETE FROM workcells WHERE name = ?", (name,)).rowcount != 1:
                raise ScheduleNotFound(f"no workcell named {name!r}")

    def workcells(self) -> list[Workcell]:
        rows = self.db.execute(
            "SELECT w.name, w.deck, a.id, a.name, a.machine_kind, a.capabilities, a.status FROM workcells w"
            " LEFT JOIN workcell_machines m ON m.workcell_id = w.id LEFT JOIN assets a ON a.id = m.asset_id"
            " ORDER BY w.name, a.id").fetchall()
        grouped: dict[str, tuple[str | None, list[Machine]]] = {}
        for name, deck, asset_id, machine, kind, capabilities, status in rows:
            entry = grouped.setdefault(name, (deck, []))
            if asset_id is not None:
                entry[1].append(Machine(asset_id, machine, kind or "", frozenset(json.loads(capabilities)),
                                        status == "available"))
        return [Workcell(name, tuple(machines), deck) for name, (deck, machines) in grouped.items()]

    def _labware(self) -> list[Labware]:
        items = []
        for asset in self.inventory.assets(kind="labware"):
            entry = self.catalog.get(asset.catalog_fqn) if self.catalog is not None else None
            items.append(Labware(asset.id, asset.name, (entry or {}).get("fqn", asset.catalog_fqn),
                                 (entry or {}).get("category"), asset.status == "available"))
        return items

    # ---- planning -------------------------------------------------------------------------

    def _problem(self, requests: list[RunRequest], now: datetime, exclude: set[str]) -> Problem:
        busy = []
        for reservation in self.inventory.reservations():
            if reservation.status == "released" or reservation.run_id in exclude:
                continue
            if reservation.expires_at is not None and reservation.expires_at <= now:
                continue
            busy.append(Busy(reservation.asset_id, reservation.window.starts_at, reservation.window.ends_at,
                             f"run {reservation.run_id}"))
        return Problem(now, self.workcells(), requests, self._labware(), busy)

    def _solve(self, problem: Problem, method: str, seed: int, iterations: int) -> Schedule:
        if method not in METHODS:
            raise ScheduleError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        if method == "optimiser":
            return optimise(problem, seed=seed, iterations=iterations)
        return list_schedule(problem)

    def _store(self, db: Any, schedule: Schedule, now: datetime) -> None:
        for placement in schedule.placements:
            window = TimeWindow(schedule.at(placement.start_s), schedule.at(placement.end_s))
            self.inventory.reserve(placement.request, placement.asset_ids(), window, now=now)
            db.execute("UPDATE scheduled_runs SET status = 'scheduled', workcell = ?, starts_at = ?,"
                       " ends_at = ?, assignment = ?, reason = NULL WHERE run_id = ?",
                       (placement.workcell, _iso(window.starts_at), _iso(window.ends_at),
                        json.dumps({"machines": placement.machines, "consumables": placement.consumables}),
                        placement.request))
        for item in schedule.infeasible:
            db.execute("UPDATE scheduled_runs SET status = 'infeasible', workcell = NULL, starts_at = NULL,"
                       " ends_at = NULL, assignment = '{}', reason = ? WHERE run_id = ?",
                       (json.dumps(item.to_dict()), item.request))

    def submit(self, requests: Iterable[RunRequest], *, expected_revision: int | None = None,
               now: datetime | None = None) -> Schedule:
        """Queue new runs and place them around what is already scheduled (list scheduling)."""
        requests = list(requests)
        now = now or self.clock()
        if not requests:
            raise ScheduleError("submit needs at least one run request")
        for request in requests:
            if not isinstance(request, RunRequest):
                raise ScheduleError(f"submit takes RunRequest objects, not {type(request).__name__}")
        with self._write(expected_revision, "heuristic") as db:
            ids = [r.id for r in requests]
            taken = db.execute(f"SELECT run_id FROM scheduled_runs WHERE run_id IN ({','.join('?' * len(ids))})",
                               ids).fetchall()
            if taken:
                raise ScheduleError("run id(s) already in the schedule: " + ", ".join(r[0] for r in taken))
            for request in requests:
                db.execute("INSERT INTO scheduled_runs (run_id, request, priority, status, created_at)"
                           " VALUES (?, ?, ?, 'infeasible', ?)",
                           (request.id, json.dumps(request.to_dict()), request.priority, _iso(now)))
            try:
                schedule = self._solve(self._problem(requests, now, set()), "heuristic", 0, 0)
            except ValueError as error:
                raise ScheduleError(str(error)) from None
            self._store(db, schedule, now)
        return schedule

    def replan(self, *, method: str = "heuristic", seed: int = 0, iterations: int = DEFAULT_ITERATIONS,
               expected_revision: int | None = None, now: datetime | None = None) -> Schedule:
        """Place every run not yet started afresh (running runs keep their machines)."""
        now = now or self.clock()
        with self._write(expected_revision, method) as db:
            rows = db.execute("SELECT run_id, request FROM scheduled_runs WHERE status IN "
                              "('scheduled', 'infeasible') ORDER BY created_at, run_id").fetchall()
            requests = [RunRequest.from_dict(json.loads(body)) for _, body in rows]
            for run_id, _ in rows:
                self.inventory.release(run_id, "replanned", now=now)
            schedule = self._solve(self._problem(requests, now, {r.id for r in requests}), method, seed,
                                   iterations)
            self._store(db, schedule, now)
        return schedule

    # ---- lifecycle ------------------------------------------------------------------------

    def _status(self, db: Any, run_id: str) -> str:
        row = db.execute("SELECT status FROM scheduled_runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise ScheduleNotFound(f"no run {run_id!r} in the schedule")
        return str(row[0])

    def start(self, run_id: str, *, expected_revision: int | None = None,
              now: datetime | None = None) -> dict[str, Any]:
        """The run begins: its reservations turn active, its heartbeat clock starts."""
        now = now or self.clock()
        with self._write(expected_revision) as db:
            status = self._status(db, run_id)
            if status != "scheduled":
                reason = db.execute("SELECT reason FROM scheduled_runs WHERE run_id = ?", (run_id,)).fetchone()[0]
                detail = f": {json.loads(reason)['message']}" if status == "infeasible" and reason else ""
                raise ScheduleError(f"run {run_id!r} is {status}{detail}; only a scheduled run can start")
            self.inventory.activate(run_id)
            db.execute("UPDATE scheduled_runs SET status = 'running', started_at = ?, heartbeat_at = ?"
                       " WHERE run_id = ?", (_iso(now), _iso(now), run_id))
        return self.run(run_id)

    def heartbeat(self, run_id: str, *, now: datetime | None = None) -> dict[str, Any]:
        """The running run's page is alive (no revision bump: nothing planned changed)."""
        now = now or self.clock()
        with self.inventory.transaction() as db:
            status = self._status(db, run_id)
            if status != "running":
                raise ScheduleError(f"run {run_id!r} is {status}, not running")
            db.execute("UPDATE scheduled_runs SET heartbeat_at = ? WHERE run_id = ?", (_iso(now), run_id))
        return self.run(run_id)

    def _end(self, run_id: str, status: str, reason: str, allowed: tuple[str, ...],
             expected_revision: int | None, now: datetime | None) -> dict[str, Any]:
        now = now or self.clock()
        with self._write(expected_revision) as db:
            current = self._status(db, run_id)
            if current not in allowed:
                raise ScheduleError(f"run {run_id!r} is {current}; it cannot become {status}")
            self.inventory.release(run_id, reason[:500], now=now)
            db.execute("UPDATE scheduled_runs SET status = ?, ended_at = ?, reason = COALESCE(?, reason)"
                       " WHERE run_id = ?",
                       (status, _iso(now),
                        json.dumps({"request": run_id, "kind": status, "subject": run_id, "message": reason})
                        if status != "completed" else None, run_id))
        return self.run(run_id)

    def finish(self, run_id: str, status: str = "completed", reason: str | None = None, *,
               expected_revision: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """A running run ended (``completed`` or ``failed``); its reservations are released."""
        if status not in ("completed", "failed"):
            raise ScheduleError(f"a run finishes as completed or failed, not {status!r}")
        return self._end(run_id, status, reason or f"run {status}", ("running",), expected_revision, now)

    def cancel(self, run_id: str, reason: str = "cancelled", *, expected_revision: int | None = None,
               now: datetime | None = None) -> dict[str, Any]:
        return self._end(run_id, "cancelled", f"cancelled: {reason}", OPEN_STATUSES, expected_revision, now)

    def release_stale(self, *, now: datetime | None = None, ttl: float | None = None) -> list[str]:
        """Running runs whose last heartbeat is older than the TTL: marked stale, holds released."""
        now = now or self.clock()
        limit = now - timedelta(seconds=self.heartbeat_ttl if ttl is None else ttl)
        stale = [(run_id, beat) for run_id, beat in self.db.execute(
            "SELECT run_id, heartbeat_at FROM scheduled_runs WHERE status = 'running'")
            if _time(beat) is None or _time(beat) < limit]
        for run_id, beat in stale:
            self._end(run_id, "stale", f"stale: no heartbeat since {beat}", ("running",), None, now)
        return [run_id for run_id, _ in stale]

    # ---- reservations ---------------------------------------------------------------------

    def reservations(self, *, asset_id: int | None = None, run_id: str | None = None,
                     starts_at: datetime | None = None, ends_at: datetime | None = None,
                     status: str | None = None) -> list[dict[str, Any]]:
        """Reservations by asset, run and/or overlapping a window (both ends, or neither)."""
        if (starts_at is None) != (ends_at is None):
            raise ScheduleError("a window needs both starts_at and ends_at")
        if status is not None and status not in ("held", "active", "released"):
            raise ScheduleError(f"status must be held, active or released, not {status!r}")
        try:
            window = TimeWindow(starts_at, ends_at) if starts_at and ends_at else None
        except ValueError as error:
            raise ScheduleError(str(error)) from None
        names = {asset.id: asset.name for asset in self.inventory.assets()}
        return [{"id": r.id, "asset_id": r.asset_id, "asset": names.get(r.asset_id), "run_id": r.run_id,
                 "starts_at": _iso(r.window.starts_at), "ends_at": _iso(r.window.ends_at),
                 "status": r.status, "released_at": _iso(r.released_at), "release_reason": r.release_reason}
                for r in self.inventory.reservations(run_id, status, asset_id=asset_id, window=window)]

    def clear_reservation(self, reservation_id: int, reason: str, *,
                          expected_revision: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Release one reservation by hand, with the reason recorded."""
        with self._write(expected_revision):
            try:
                self.inventory.clear(reservation_id, reason, now=now or self.clock())
            except InventoryError as error:
                raise (ScheduleNotFound if isinstance(error, NotFound) else ScheduleError)(str(error)) from None
        return next(r for r in self.reservations() if r["id"] == reservation_id)

    # ---- reading --------------------------------------------------------------------------

    _RUN_COLUMNS = ("run_id, request, priority, status, workcell, starts_at, ends_at, assignment, reason,"
                    " created_at, started_at, ended_at, heartbeat_at")

    @staticmethod
    def _run(row: tuple[Any, ...]) -> dict[str, Any]:
        request = json.loads(row[1])
        assignment = json.loads(row[7] or "{}")
        return {
            "id": row[0], "protocol": request["protocol"], "priority": row[2], "status": row[3],
            "workcell": row[4], "starts_at": row[5], "ends_at": row[6],
            "machines": assignment.get("machines", {}), "consumables": assignment.get("consumables", {}),
            "reason": json.loads(row[8]) if row[8] else None, "created_at": row[9], "started_at": row[10],
            "ended_at": row[11], "heartbeat_at": row[12], "request": request,
        }

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM scheduled_runs WHERE run_id = ?",
                              (run_id,)).fetchone()
        if row is None:
            raise ScheduleNotFound(f"no run {run_id!r} in the schedule")
        return self._run(row)

    def runs(self, status: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {self._RUN_COLUMNS} FROM scheduled_runs"
        rows = (self.db.execute(sql + " WHERE status = ? ORDER BY starts_at, run_id", (status,)) if status
                else self.db.execute(sql + " ORDER BY starts_at IS NULL, starts_at, run_id"))
        return [self._run(row) for row in rows]

    def snapshot(self) -> dict[str, Any]:
        """The whole schedule as JSON: what the Gantt view draws and the bridge server serves."""
        state = self.db.execute("SELECT revision, method, planned_at FROM schedule_state WHERE id = 1").fetchone()
        runs = self.runs()
        scheduled = [r for r in runs if r["status"] in ("scheduled", "running")]
        starts = [_time(r["starts_at"]) for r in scheduled]
        ends = [_time(r["ends_at"]) for r in scheduled]
        return {
            "revision": state[0], "method": state[1], "planned_at": state[2],
            "workcells": [w.to_dict() for w in self.workcells()],
            "runs": runs,
            "queue": [r["id"] for r in runs if r["status"] == "scheduled"],
            "infeasible": [r["reason"] for r in runs if r["status"] == "infeasible"],
            "window": {"starts_at": _iso(min(starts)) if starts else None,
                       "ends_at": _iso(max(ends)) if ends else None},
            "reservations": [r for r in self.reservations() if r["status"] != "released"],
        }
