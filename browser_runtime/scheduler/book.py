"""The schedule book: the one stored schedule, its runs' lifecycle and the reservations it holds.

Kept in the inventory database (the same SQLite file as assets and reservations), so a
placement and its reservations are written in one transaction. Every write bumps the
schedule's revision; a writer that says which revision it saw (``expected_revision``) is
refused with :class:`ScheduleConflict` when another wrote first, so no update is lost.
Run lifecycle: ``scheduled`` (reservations held for its window) -> ``running`` (active) ->
``completed`` / ``failed``; ``cancelled`` from any open state; ``stale`` when a running run's
heartbeat is older than the TTL (its page closed). Every ending releases the reservations
with the reason recorded; a run that started draws what it planned to use from the stock.

A run holds each machine only while it uses it (one reservation per asset and window). Its
times move only through the book: started now (refused while another run holds one of its
machines then; the runs queued behind shift when it starts late), running past its estimate
(while heartbeats come its holds extend and the queue behind shifts), or a hold of a
scheduled run cleared by hand (the run goes back to be planned, holding nothing). Lab hours
and operator shifts are calendars every plan respects. Every plan records its makespan, a
lower bound and the gap (``snapshot()["quality"]``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from browser_runtime.errors import LabwrightError, NotFound
from browser_runtime.inventory.models import TimeWindow
from browser_runtime.inventory.store import InventoryError, InventoryStore, utcnow
from browser_runtime.scheduler.bounds import lower_bound
from browser_runtime.scheduler.calendars import merged
from browser_runtime.scheduler.decoder import decode
from browser_runtime.scheduler.heuristic import list_schedule
from browser_runtime.scheduler.jobs import compile_problem
from browser_runtime.scheduler.optimiser import DEFAULT_ITERATIONS, optimise
from browser_runtime.scheduler.placement import (
    Busy,
    Infeasible,
    Operator,
    OperatorBusy,
    Problem,
    Schedule,
)
from browser_runtime.scheduler.requests import RequestError, RunRequest
from browser_runtime.scheduler.workcells import Labware, Machine, Workcell

#: Seconds without a heartbeat after which a running run counts as abandoned.
DEFAULT_HEARTBEAT_TTL = 120.0
OPEN_STATUSES = ("scheduled", "infeasible", "running")
ENDINGS = ("completed", "failed", "cancelled", "stale")
METHODS = ("heuristic", "optimiser", "exact")
#: A run past its estimate gets at least this much more (and 10 % of its estimate) per extension.
MIN_EXTENSION_S = 60.0


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


def _windows(windows: Iterable[tuple[datetime, datetime]], what: str) -> list[tuple[datetime, datetime]]:
    checked = []
    for start, end in windows:
        for moment in (start, end):
            if not isinstance(moment, datetime) or moment.tzinfo is None:
                raise ScheduleError(f"{what}: {moment!r} is not a time with a time zone")
        if end <= start:
            raise ScheduleError(f"{what}: {end.isoformat()} is not after {start.isoformat()}")
        checked.append((start, end))
    return checked


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
        """A named workcell of registered machines. A machine may be in several workcells (a
        reader two liquid handlers reach): its calendar is one, so it is never double-booked."""
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

    def _labware(self, exclude: set[str]) -> list[Labware]:
        """Labware with what is left of it once every open run (but ``exclude``) has drawn its share."""
        committed: dict[int, list[float]] = {}
        loaded: set[int] = set()
        for run_id, _, _, assignment in self._open_rows():
            if run_id in exclude:
                continue
            for asset, amounts in (assignment.get("drawn") or {}).items():
                entry = committed.setdefault(int(asset), [0.0, 0.0])
                entry[0] += amounts.get("tips", 0)
                entry[1] += amounts.get("volume_ul", 0.0)
            loaded.update(int(a) for a in (assignment.get("refills") or {}).values())
        costs = self.inventory.costs()
        items = []
        for asset in self.inventory.assets(kind="labware"):
            entry = self.catalog.get(asset.catalog_fqn) if self.catalog is not None else None
            fqn = (entry or {}).get("fqn", asset.catalog_fqn)
            price = costs.get(asset.catalog_fqn) or costs.get(fqn)
            tips_used, volume_used = committed.get(asset.id, (0.0, 0.0))
            # A refill another open run loads is spoken for (one run per refill).
            usable = asset.status == "available" and not (asset.refill and asset.id in loaded)
            items.append(Labware(
                asset.id, asset.name, fqn, (entry or {}).get("category"), usable,
                tips=None if asset.remaining_tips is None else int(max(0, asset.remaining_tips - tips_used)),
                volume_ul=None if asset.remaining_volume_ul is None else max(0.0, asset.remaining_volume_ul
                                                                            - volume_used),
                cost=price.cost if price else 0.0, cost_unit=price.unit if price else "item",
                refill=asset.refill))
        return items

    # ---- calendars ------------------------------------------------------------------------

    def lab_hours(self) -> list[dict[str, str]] | None:
        """The lab's open windows, or None when none are set (always open)."""
        rows = self.db.execute("SELECT starts_at, ends_at FROM lab_hours ORDER BY starts_at").fetchall()
        return [{"starts_at": a, "ends_at": b} for a, b in rows] if rows else None

    def set_lab_hours(self, windows: Iterable[tuple[datetime, datetime]] | None, *,
                      expected_revision: int | None = None) -> list[dict[str, str]] | None:
        """Replace the lab's open hours (None or []: always open). Runs already scheduled keep
        their places until the next plan."""
        checked = _windows(windows or [], "lab hours")
        with self._write(expected_revision) as db:
            db.execute("DELETE FROM lab_hours")
            for start, end in merged(checked):
                db.execute("INSERT INTO lab_hours (starts_at, ends_at) VALUES (?, ?)", (_iso(start), _iso(end)))
        return self.lab_hours()

    def shifts(self) -> list[dict[str, Any]]:
        return [{"id": row[0], "operator": row[1], "starts_at": row[2], "ends_at": row[3]}
                for row in self.db.execute("SELECT id, operator, starts_at, ends_at FROM operator_shifts"
                                           " ORDER BY starts_at, operator")]

    def add_shift(self, operator: str, starts_at: datetime, ends_at: datetime, *,
                  expected_revision: int | None = None) -> dict[str, Any]:
        """An operator on shift ``starts_at``..``ends_at``. Once any shift is registered, every
        manual step (load, unload, refill) needs an operator on shift."""
        if not isinstance(operator, str) or not operator.strip() or len(operator) > 200:
            raise ScheduleError("an operator needs a name of 1-200 characters")
        ((start, end),) = _windows([(starts_at, ends_at)], f"shift of {operator!r}")
        with self._write(expected_revision) as db:
            cursor = db.execute("INSERT INTO operator_shifts (operator, starts_at, ends_at) VALUES (?, ?, ?)",
                                (operator.strip(), _iso(start), _iso(end)))
        return next(s for s in self.shifts() if s["id"] == cursor.lastrowid)

    def remove_shift(self, shift_id: int, *, expected_revision: int | None = None) -> None:
        with self._write(expected_revision) as db:
            if db.execute("DELETE FROM operator_shifts WHERE id = ?", (shift_id,)).rowcount != 1:
                raise ScheduleNotFound(f"no shift {shift_id}")

    def _operators(self) -> list[Operator] | None:
        shifts: dict[str, list[tuple[datetime, datetime]]] = {}
        for shift in self.shifts():
            shifts.setdefault(shift["operator"], []).append((_time(shift["starts_at"]), _time(shift["ends_at"])))
        if not shifts:
            return None
        return [Operator(name, tuple(windows)) for name, windows in shifts.items()]  # type: ignore[arg-type]

    # ---- planning -------------------------------------------------------------------------

    def _open_rows(self) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        """(run id, status, request, assignment) of every scheduled or running run."""
        return [(row[0], row[1], json.loads(row[2]), json.loads(row[3] or "{}")) for row in self.db.execute(
            "SELECT run_id, status, request, assignment FROM scheduled_runs WHERE status IN"
            " ('scheduled', 'running') ORDER BY starts_at, run_id")]

    def _problem(self, requests: list[RunRequest], now: datetime, exclude: set[str]) -> Problem:
        busy = []
        for reservation in self.inventory.reservations():
            if reservation.status == "released" or reservation.run_id in exclude:
                continue
            if reservation.expires_at is not None and reservation.expires_at <= now:
                continue
            busy.append(Busy(reservation.asset_id, reservation.window.starts_at, reservation.window.ends_at,
                             f"run {reservation.run_id}"))
        operators = self._operators()
        taken = []
        if operators is not None:
            for run_id, _, _, assignment in self._open_rows():
                if run_id in exclude:
                    continue
                for segment in assignment.get("segments") or []:
                    if segment.get("operator"):
                        taken.append(OperatorBusy(segment["operator"], _time(segment["starts_at"]),
                                                  _time(segment["ends_at"]), f"run {run_id} ({segment['kind']})"))
        hours = self.lab_hours()
        return Problem(now, self.workcells(), requests, self._labware(exclude), busy, operators, taken,
                       None if hours is None else [(_time(h["starts_at"]), _time(h["ends_at"])) for h in hours])

    def _solve(self, problem: Problem, method: str, seed: int, iterations: int,
               time_limit_s: float) -> Schedule:
        if method not in METHODS:
            raise ScheduleError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        if method == "exact":
            from browser_runtime.scheduler.exact import ExactSolverMissing, solve

            try:
                return solve(problem, time_limit_s=time_limit_s, seed=seed)
            except ExactSolverMissing as error:
                raise ScheduleError(str(error)) from None
        if method == "optimiser":
            return optimise(problem, seed=seed, iterations=iterations)
        return list_schedule(problem)

    def _store(self, db: Any, schedule: Schedule, now: datetime) -> None:
        for placement in schedule.placements:
            holds = [(hold.asset_id, TimeWindow(schedule.at(hold.start_s), schedule.at(hold.end_s)))
                     for hold in placement.hold_windows() if hold.end_s - hold.start_s > 1e-6]
            self.inventory.reserve_windows(placement.request, holds, now=now)
            document = placement.to_dict(schedule)
            db.execute("UPDATE scheduled_runs SET status = 'scheduled', workcell = ?, starts_at = ?,"
                       " ends_at = ?, assignment = ?, reason = NULL WHERE run_id = ?",
                       (placement.workcell, document["starts_at"], document["ends_at"],
                        json.dumps({key: document[key] for key in (
                            "machines", "consumables", "segments", "drawn", "refills", "costs")}),
                        placement.request))
        for item in schedule.infeasible:
            db.execute("UPDATE scheduled_runs SET status = 'infeasible', workcell = NULL, starts_at = NULL,"
                       " ends_at = NULL, assignment = '{}', reason = ? WHERE run_id = ?",
                       (json.dumps(item.to_dict()), item.request))

    def _quality(self, db: Any, now: datetime, method: str, solved: Schedule | None = None) -> None:
        """Makespan, lower bound and gap of the whole open schedule, kept with it."""
        rows = self._open_rows()
        ends = [_time(row[0]) for row in db.execute(
            "SELECT ends_at FROM scheduled_runs WHERE status IN ('scheduled', 'running') AND ends_at IS NOT NULL")]
        makespan = max(((end - now).total_seconds() for end in ends), default=0.0)
        scheduled = [RunRequest.from_dict(request) for run_id, status, request, _ in rows if status == "scheduled"]
        running_end = max(((_time(r[0]) - now).total_seconds() for r in db.execute(
            "SELECT ends_at FROM scheduled_runs WHERE status = 'running'")), default=0.0)
        bound = max(0.0, running_end)
        if scheduled:
            try:
                problem = self._problem(scheduled, now, {r.id for r in scheduled})
                bound = max(bound, lower_bound(compile_problem(problem)))
            except ValueError:
                pass
        proven = False
        if solved is not None and solved.lower_bound_s is not None and not solved.infeasible:
            bound = max(bound, solved.lower_bound_s)
            proven = solved.proven_optimal
        bound = min(bound, makespan)
        quality = {"method": method, "origin": _iso(now), "makespan_s": round(makespan, 3),
                   "lower_bound_s": round(bound, 3),
                   "gap": round((makespan - bound) / makespan, 4) if makespan > 0 else 0.0,
                   "proven_optimal": proven or (makespan > 0 and makespan - bound < 1e-6)}
        db.execute("UPDATE schedule_state SET quality = ? WHERE id = 1", (json.dumps(quality),))

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
                schedule = self._solve(self._problem(requests, now, set()), "heuristic", 0, 0, 0.0)
            except ValueError as error:
                raise ScheduleError(str(error)) from None
            self._store(db, schedule, now)
            self._quality(db, now, "heuristic")
        return schedule

    def replan(self, *, method: str = "heuristic", seed: int = 0, iterations: int = DEFAULT_ITERATIONS,
               time_limit_s: float = 10.0, expected_revision: int | None = None,
               now: datetime | None = None) -> Schedule:
        """Place every run not yet started afresh (running runs keep their machines). ``exact``
        is OR-Tools CP-SAT (CPython only), stopped after ``time_limit_s``: the bridge server had
        better solve out of its event loop, with ``planning_problem`` and ``adopt``."""
        now = now or self.clock()
        with self._write(expected_revision, method) as db:
            requests = self._unstarted(db)
            for request in requests:
                self.inventory.release(request.id, "replanned", now=now)
            schedule = self._solve(self._problem(requests, now, {r.id for r in requests}), method, seed,
                                   iterations, time_limit_s)
            self._store(db, schedule, now)
            self._quality(db, now, method, schedule)
        return schedule

    def _unstarted(self, db: Any) -> list[RunRequest]:
        return [RunRequest.from_dict(json.loads(body)) for _, body in db.execute(
            "SELECT run_id, request FROM scheduled_runs WHERE status IN ('scheduled', 'infeasible')"
            " ORDER BY created_at, run_id")]

    def planning_problem(self, *, now: datetime | None = None) -> tuple[int, Problem]:
        """(revision, the problem ``replan`` would solve now): every run not yet started, around
        what running runs and hand holds take. To solve elsewhere (CP-SAT in a process of its
        own): ``problem_to_dict`` it there and back, solve, then ``adopt`` the schedule."""
        now = now or self.clock()
        with self.inventory.transaction() as db:
            requests = self._unstarted(db)
            return self.revision, self._problem(requests, now, {r.id for r in requests})

    def adopt(self, schedule: Schedule, *, expected_revision: int, method: str | None = None) -> Schedule:
        """Store a schedule solved elsewhere for ``planning_problem``'s problem, as ``replan``
        would have: refused with ``ScheduleConflict`` when the schedule changed since that
        revision, and with ``ScheduleError`` when it is not a plan of the runs not yet started."""
        now = schedule.origin
        with self._write(expected_revision, method or schedule.method) as db:
            requests = self._unstarted(db)
            planned = sorted([p.request for p in schedule.placements] + [i.request for i in schedule.infeasible])
            if planned != sorted(r.id for r in requests):
                raise ScheduleError("the schedule to adopt does not plan exactly the runs not yet started")
            for request in requests:
                self.inventory.release(request.id, "replanned", now=now)
            try:
                self._store(db, schedule, now)
            except InventoryError as error:  # it overlaps what others hold: a stale or foreign plan
                raise ScheduleError(f"the schedule to adopt clashes with what is held: {error}") from None
            self._quality(db, now, method or schedule.method, schedule)
        return schedule

    def _replace_queue(self, db: Any, run_ids: list[str], now: datetime, why: str) -> list[dict[str, Any]]:
        """Place these scheduled runs again, in their present order and never earlier than now
        planned (the queue behind a run that moved shifts; it does not reshuffle). Returns the
        runs whose start or machines changed (``starts_at`` None: no longer placeable)."""
        rows = {row[0]: (row[1], row[2], json.loads(row[3] or "{}").get("machines")) for row in db.execute(
            "SELECT run_id, request, starts_at, assignment FROM scheduled_runs WHERE run_id IN"
            f" ({','.join('?' * len(run_ids))}) AND status = 'scheduled'", run_ids)}
        ordered = sorted(rows, key=lambda run_id: (rows[run_id][1], run_id))
        if not ordered:
            return []
        requests, late = [], []
        for run_id in ordered:
            request = RunRequest.from_dict(json.loads(rows[run_id][0]))
            planned = _time(rows[run_id][1])
            self.inventory.release(run_id, why[:500], now=now)
            if request.deadline is not None and planned is not None and request.deadline <= planned:
                late.append(Infeasible(run_id, "deadline", "deadline", f"{why}: it can no longer finish by "
                                                                       f"its deadline {request.deadline.isoformat()}"))
                continue
            earliest = max(x for x in (request.earliest_start, planned, now) if x is not None)
            try:
                requests.append(dataclasses.replace(request, earliest_start=earliest))
            except RequestError as error:
                late.append(Infeasible(run_id, "deadline", "deadline", f"{why}: {error}"))
        compiled = compile_problem(self._problem(requests, now, set(ordered)))
        index = {job.request.id: i for i, job in enumerate(compiled.jobs)}
        schedule = decode(compiled, [index[r.id] for r in requests if r.id in index], "shift")
        schedule.infeasible += late
        self._store(db, schedule, now)
        placed = {p.request: p for p in schedule.placements}
        moved = []
        for run_id in ordered:
            placement = placed.get(run_id)
            starts = schedule.at(placement.start_s).isoformat() if placement else None
            machines = placement.machines if placement else None
            if starts != rows[run_id][1] or machines != rows[run_id][2]:
                moved.append({"run": run_id, "was": rows[run_id][1], "starts_at": starts,
                              "workcell": placement.workcell if placement else None, "machines": machines})
        return moved

    def _holds(self, db: Any, run_id: str) -> list[tuple[int, int, datetime, datetime]]:
        return [(row[0], row[1], _time(row[2]), _time(row[3])) for row in db.execute(  # type: ignore[misc]
            "SELECT id, asset_id, starts_at, ends_at FROM reservations WHERE run_id = ? AND status IN"
            " ('held', 'active') ORDER BY id", (run_id,))]

    def _conflicts(self, db: Any, run_id: str, windows: dict[int, tuple[int, datetime, datetime]],
                   old: dict[int, tuple[datetime, datetime]], now: datetime
                   ) -> tuple[list[str], set[str]]:
        """Who holds an asset of ``run_id`` in its new windows: (refusals, runs queued behind it).

        A run that held the asset before this one there (or is running, or is no run of the
        schedule) refuses the move; one that came after this run on that asset shifts."""
        statuses = dict(db.execute("SELECT run_id, status FROM scheduled_runs"))
        names = {asset.id: asset.name for asset in self.inventory.assets()}
        refusals, behind = [], set()
        for reservation_id, (asset_id, start, end) in windows.items():
            before_start, before_end = old[reservation_id]
            for other, other_start, other_end in db.execute(
                    "SELECT run_id, starts_at, ends_at FROM reservations WHERE asset_id = ? AND status IN"
                    " ('held', 'active') AND run_id != ? AND starts_at < ? AND ends_at > ? AND"
                    " (expires_at IS NULL OR expires_at > ?)",
                    (asset_id, run_id, _iso(end), _iso(start), _iso(now))):
                if statuses.get(other) == "scheduled" and _time(other_start) >= before_end:
                    behind.add(other)
                else:
                    refusals.append(f"{names.get(asset_id, f'asset {asset_id}')!r} is held by run {other} "
                                    f"{other_start} -> {other_end}")
        return refusals, behind

    def _shift_run(self, db: Any, run_id: str, delta: timedelta, *, stretch: bool = False) -> None:
        """Move (or, ``stretch``, extend the end of) the run's planned windows by ``delta``."""
        row = db.execute("SELECT starts_at, ends_at, assignment FROM scheduled_runs WHERE run_id = ?",
                         (run_id,)).fetchone()
        assignment = json.loads(row[2] or "{}")
        for segment in assignment.get("segments") or []:
            if not stretch:
                segment["starts_at"] = _iso(_time(segment["starts_at"]) + delta)
            segment["ends_at"] = _iso(_time(segment["ends_at"]) + delta)
        if stretch and assignment.get("segments"):
            segments = assignment["segments"]
            for earlier, later in zip(segments, segments[1:]):  # only the last grows, the rest keep
                earlier["ends_at"] = _iso(_time(earlier["ends_at"]) - delta)
        starts = row[0] if stretch else _iso(_time(row[0]) + delta)
        db.execute("UPDATE scheduled_runs SET starts_at = ?, ends_at = ?, assignment = ? WHERE run_id = ?",
                   (starts, _iso(_time(row[1]) + delta), json.dumps(assignment), run_id))

    # ---- lifecycle ------------------------------------------------------------------------

    def _status(self, db: Any, run_id: str) -> str:
        row = db.execute("SELECT status FROM scheduled_runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise ScheduleNotFound(f"no run {run_id!r} in the schedule")
        return str(row[0])

    def start(self, run_id: str, *, expected_revision: int | None = None,
              now: datetime | None = None) -> dict[str, Any]:
        """The run begins now: its holds move to start now and turn active, its heartbeat clock
        starts. Refused while another run holds one of its machines or its labware then; when it
        starts late, the runs queued behind it on its machines shift (``shifted`` lists them)."""
        now = now or self.clock()
        with self._write(expected_revision) as db:
            status = self._status(db, run_id)
            if status != "scheduled":
                reason = db.execute("SELECT reason FROM scheduled_runs WHERE run_id = ?", (run_id,)).fetchone()[0]
                detail = f": {json.loads(reason)['message']}" if status == "infeasible" and reason else ""
                raise ScheduleError(f"run {run_id!r} is {status}{detail}; only a scheduled run can start")
            planned = _time(db.execute("SELECT starts_at FROM scheduled_runs WHERE run_id = ?",
                                       (run_id,)).fetchone()[0])
            delta = now - planned  # type: ignore[operator]
            holds = self._holds(db, run_id)
            windows = {rid: (asset, start + delta, end + delta) for rid, asset, start, end in holds}
            refusals, behind = self._conflicts(db, run_id, windows, {rid: (a, b) for rid, _, a, b in holds}, now)
            if refusals:
                raise ScheduleError(f"cannot start {run_id!r} now: " + "; ".join(refusals[:4]))
            shifted: list[dict[str, Any]] = []
            if delta:
                queue = self._queue_behind(db, behind, run_id)
                for other in queue:
                    self.inventory.release(other, f"shifted: run {run_id} started late", now=now)
                self.inventory.move(run_id, {rid: TimeWindow(a, b) for rid, (_, a, b) in windows.items()}, now=now)
                self._shift_run(db, run_id, delta)
                if queue:
                    shifted = self._replace_queue(db, queue, now, f"shifted: run {run_id} started late")
            self.inventory.activate(run_id)
            db.execute("UPDATE scheduled_runs SET status = 'running', started_at = ?, heartbeat_at = ?"
                       " WHERE run_id = ?", (_iso(now), _iso(now), run_id))
            self._quality(db, now, "shift" if shifted else self._method(db))
        return {**self.run(run_id), "shifted": shifted}

    def _method(self, db: Any) -> str:
        return str(db.execute("SELECT method FROM schedule_state WHERE id = 1").fetchone()[0] or "heuristic")

    def _queue_behind(self, db: Any, behind: set[str], run_id: str) -> list[str]:
        """The runs that must shift: those in the way and every scheduled run after the first."""
        if not behind:
            return []
        first = min(db.execute(f"SELECT starts_at FROM scheduled_runs WHERE run_id IN "
                               f"({','.join('?' * len(behind))})", sorted(behind)).fetchall())[0]
        return [row[0] for row in db.execute(
            "SELECT run_id FROM scheduled_runs WHERE status = 'scheduled' AND starts_at >= ? AND run_id != ?"
            " ORDER BY starts_at, run_id", (first, run_id))]

    def heartbeat(self, run_id: str, *, now: datetime | None = None) -> dict[str, Any]:
        """The running run's page is alive. A run that is still going near the end of its hold
        (its estimate was short) gets its holds extended, and the runs queued behind it shift
        (``shifted``): while heartbeats come, its holds reach at least a TTL past the last one."""
        now = now or self.clock()
        with self.inventory.transaction() as db:
            status = self._status(db, run_id)
            if status != "running":
                raise ScheduleError(f"run {run_id!r} is {status}, not running")
            db.execute("UPDATE scheduled_runs SET heartbeat_at = ? WHERE run_id = ?", (_iso(now), run_id))
            started, ends = (_time(x) for x in db.execute(
                "SELECT starts_at, ends_at FROM scheduled_runs WHERE run_id = ?", (run_id,)).fetchone())
            horizon = now + timedelta(seconds=self.heartbeat_ttl)
            if ends is None or started is None or horizon <= ends:
                return {**self.run(run_id), "shifted": [], "extended_by_s": 0.0}
        estimate = (ends - started).total_seconds()
        grow = max(MIN_EXTENSION_S, 0.1 * estimate, self.heartbeat_ttl)
        delta = (horizon - ends) + timedelta(seconds=grow - self.heartbeat_ttl)
        with self._write(None, "shift") as db:
            holds = self._holds(db, run_id)
            # Behind its estimate, the run may be on any of its machines still: each hold grows
            # by the overrun (the run is a fact, so the hold extends even over a conflict).
            windows = {rid: (asset, start, end + delta) for rid, asset, start, end in holds}
            refusals, behind = self._conflicts(db, run_id, windows, {rid: (a, b) for rid, _, a, b in holds}, now)
            queue = self._queue_behind(db, behind, run_id)
            for other in queue:
                self.inventory.release(other, f"shifted: run {run_id} runs past its estimate", now=now)
            self.inventory.move(run_id, {rid: TimeWindow(a, b) for rid, (_, a, b) in windows.items()}, now=now,
                                force=True)
            self._shift_run(db, run_id, delta, stretch=True)
            shifted = self._replace_queue(db, queue, now, f"shifted: run {run_id} runs past its estimate") \
                if queue else []
            self._quality(db, now, "shift")
        return {**self.run(run_id), "shifted": shifted, "extended_by_s": delta.total_seconds(),
                "conflicts": refusals}

    def _end(self, run_id: str, status: str, reason: str, allowed: tuple[str, ...],
             expected_revision: int | None, now: datetime | None) -> dict[str, Any]:
        now = now or self.clock()
        with self._write(expected_revision) as db:
            current = self._status(db, run_id)
            if current not in allowed:
                raise ScheduleError(f"run {run_id!r} is {current}; it cannot become {status}")
            self.inventory.release(run_id, reason[:500], now=now)
            if current == "running":
                # What the plan said it draws; the runner's own counts may replace it later.
                assignment = json.loads(db.execute("SELECT assignment FROM scheduled_runs WHERE run_id = ?",
                                                   (run_id,)).fetchone()[0] or "{}")
                for asset, amounts in (assignment.get("drawn") or {}).items():
                    self.inventory.draw(int(asset), int(amounts.get("tips", 0)), amounts.get("volume_ul", 0.0))
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
                 "status": r.status, "released_at": _iso(r.released_at), "release_reason": r.release_reason,
                 "note": r.note}
                for r in self.inventory.reservations(run_id, status, asset_id=asset_id, window=window)]

    def hold(self, asset_ids: Iterable[int], starts_at: datetime, ends_at: datetime, reason: str, *,
             expected_revision: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Hold assets by hand (a service visit, a demo): one reservation per asset, owned by no
        run (``run_id`` ``hand-...``, the reason kept as its note). Refused over a running run or
        another hand hold; scheduled runs in the way are placed again after it, in their order
        (``shifted``). Cleared like any reservation (``clear_reservation``)."""
        import uuid

        now = now or self.clock()
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise ScheduleError("a hold by hand needs a reason of 1-500 characters")
        ids = list(asset_ids)
        if not ids or any(isinstance(a, bool) or not isinstance(a, int) for a in ids):
            raise ScheduleError(f"a hold by hand needs asset ids (integers), not {ids!r}")
        ((start, end),) = _windows([(starts_at, ends_at)], "hold by hand")
        owner = f"hand-{uuid.uuid4().hex[:10]}"
        with self._write(expected_revision) as db:
            statuses = dict(db.execute("SELECT run_id, status FROM scheduled_runs"))
            names = {asset.id: asset.name for asset in self.inventory.assets()}
            refusals, behind = [], set()
            for asset_id in dict.fromkeys(ids):
                if asset_id not in names:
                    raise ScheduleNotFound(f"no asset with id {asset_id}")
                for other, other_start, other_end in db.execute(
                        "SELECT run_id, starts_at, ends_at FROM reservations WHERE asset_id = ? AND status IN"
                        " ('held', 'active') AND starts_at < ? AND ends_at > ? AND (expires_at IS NULL OR"
                        " expires_at > ?)", (asset_id, _iso(end), _iso(start), _iso(now))):
                    if statuses.get(other) == "scheduled":
                        behind.add(other)
                    else:
                        refusals.append(f"{names[asset_id]!r} is held by {'run ' if other in statuses else ''}"
                                        f"{other} {other_start} -> {other_end}")
            if refusals:
                raise ScheduleError("cannot hold by hand: " + "; ".join(refusals[:4]))
            queue = self._queue_behind(db, behind, owner) if behind else []
            for other in queue:
                self.inventory.release(other, f"shifted: held by hand ({reason.strip()})"[:500], now=now)
            created = self.inventory.reserve_windows(owner, [(a, TimeWindow(start, end)) for a in dict.fromkeys(ids)],
                                                     now=now, note=reason.strip())
            shifted = self._replace_queue(db, queue, now, f"shifted: held by hand ({reason.strip()})") if queue else []
            if shifted:
                self._quality(db, now, "shift")
        made = {r.id for r in created}
        return {"run_id": owner, "reservations": [r for r in self.reservations(run_id=owner) if r["id"] in made],
                "shifted": shifted}

    def clear_reservation(self, reservation_id: int, reason: str, *,
                          expected_revision: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Release one reservation by hand, with the reason recorded.

        A run is never left scheduled without a hold it needs (the next plan would put another
        run over it): clearing a hold of a scheduled run releases all its holds and sends it
        back to be planned (``infeasible``, reason kind ``cleared``: replan or cancel it). A
        running run's holds cannot be cleared: its machines are in use; finish, fail or cancel
        it first."""
        now = now or self.clock()
        with self._write(expected_revision) as db:
            row = db.execute("SELECT r.run_id, r.asset_id, s.status FROM reservations r LEFT JOIN scheduled_runs s"
                             " ON s.run_id = r.run_id WHERE r.id = ?", (reservation_id,)).fetchone()
            if row is not None and row[2] == "running":
                raise ScheduleError(f"reservation {reservation_id} belongs to run {row[0]!r}, which is running: "
                                    "finish, fail or cancel the run to release its holds")
            try:
                self.inventory.clear(reservation_id, reason, now=now)
            except InventoryError as error:
                raise (ScheduleNotFound if isinstance(error, NotFound) else ScheduleError)(str(error)) from None
            if row is not None and row[2] == "scheduled":
                asset = self.inventory.asset(row[1]).name
                message = (f"reservation {reservation_id} ({asset}) was cleared by hand: {reason.strip()}; "
                           "replan to place the run again")
                self.inventory.release(row[0], f"a hold was cleared by hand: {reason.strip()}"[:500], now=now)
                db.execute("UPDATE scheduled_runs SET status = 'infeasible', workcell = NULL, starts_at = NULL,"
                           " ends_at = NULL, assignment = '{}', reason = ? WHERE run_id = ?",
                           (json.dumps({"request": row[0], "kind": "cleared", "subject": asset,
                                        "message": message}), row[0]))
                self._quality(db, now, self._method(db))
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
            "segments": assignment.get("segments", []), "drawn": assignment.get("drawn", {}),
            "refills": assignment.get("refills", {}), "costs": assignment.get("costs", {}),
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
        state = self.db.execute("SELECT revision, method, planned_at, quality FROM schedule_state"
                                " WHERE id = 1").fetchone()
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
            "quality": json.loads(state[3]) if state[3] else None,
            "calendars": {"lab_hours": self.lab_hours(), "shifts": self.shifts()},
        }
