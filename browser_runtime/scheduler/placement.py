"""Placing runs in time: the problem, resource calendars, and the serial schedule decoder.

A run holds every machine and consumable it uses for its whole window (start to start plus
its estimated duration); machines come from one workcell, consumables from the whole
inventory. Given an order of runs, :func:`decode` places each in turn at the earliest time
(on whichever workcell finishes it first) when a machine for every machine need and an item
for every consumable need are free together, never before its earliest start and never past
its deadline. Both the list-scheduling heuristic and the optimiser are orders fed to it, so
whatever either returns is free of double-booking by construction. Runs that cannot be
placed say why: the machine kind, capability, consumable or deadline, by name.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from browser_runtime.scheduler.requests import ConsumableNeed, MachineNeed, RunRequest
from browser_runtime.scheduler.workcells import Labware, Machine, Workcell


@dataclass(frozen=True)
class Busy:
    """Time an asset is already held by something outside this schedule (a reservation)."""

    asset_id: int
    starts_at: datetime
    ends_at: datetime
    holder: str


@dataclass
class Problem:
    origin: datetime  # time zero of the schedule (now, usually)
    workcells: list[Workcell]
    requests: list[RunRequest]
    labware: list[Labware] = field(default_factory=list)
    busy: list[Busy] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.origin.tzinfo is None:
            raise ValueError("the schedule's origin must carry a time zone")
        names = [w.name for w in self.workcells]
        if len(set(names)) != len(names):
            raise ValueError("workcell names must be unique: " + ", ".join(
                sorted({n for n in names if names.count(n) > 1})))
        owners: dict[int, str] = {}
        for workcell in self.workcells:
            for machine in workcell.machines:
                if owners.setdefault(machine.id, workcell.name) != workcell.name:
                    raise ValueError(f"machine {machine.id} ({machine.name}) is in workcells "
                                     f"{owners[machine.id]!r} and {workcell.name!r}")
        ids = [r.id for r in self.requests]
        if len(set(ids)) != len(ids):
            raise ValueError("run request ids must be unique: " + ", ".join(
                sorted({i for i in ids if ids.count(i) > 1})))


@dataclass
class Placement:
    request: str
    workcell: str
    start_s: float
    end_s: float
    machines: dict[str, int]  # machine parameter -> asset id
    consumables: dict[str, int]  # consumable parameter -> asset id

    def asset_ids(self) -> list[int]:
        return [*self.machines.values(), *self.consumables.values()]


@dataclass
class Infeasible:
    request: str
    kind: str  # machine | capability | consumable | deadline | workcell
    subject: str  # the parameter, machine or deadline concerned
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "kind": self.kind, "subject": self.subject,
                "message": self.message}


@dataclass
class Schedule:
    origin: datetime
    placements: list[Placement]
    infeasible: list[Infeasible]
    method: str = "heuristic"
    compute_s: float = 0.0
    order: list[str] = field(default_factory=list)

    @property
    def makespan_s(self) -> float:
        return max((p.end_s for p in self.placements), default=0.0)

    def at(self, seconds: float) -> datetime:
        return self.origin + timedelta(seconds=seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin.isoformat(), "method": self.method,
            "makespan_s": round(self.makespan_s, 3), "compute_s": round(self.compute_s, 4),
            "placements": [{
                "request": p.request, "workcell": p.workcell,
                "start_s": round(p.start_s, 3), "end_s": round(p.end_s, 3),
                "starts_at": self.at(p.start_s).isoformat(), "ends_at": self.at(p.end_s).isoformat(),
                "machines": p.machines, "consumables": p.consumables} for p in self.placements],
            "infeasible": [item.to_dict() for item in self.infeasible],
        }


class Calendar:
    """One asset's busy intervals, sorted and never overlapping."""

    __slots__ = ("starts", "ends", "holders")

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.holders: list[str] = []

    def copy(self) -> Calendar:
        other = Calendar.__new__(Calendar)
        other.starts, other.ends, other.holders = self.starts[:], self.ends[:], self.holders[:]
        return other

    def blocking(self, start: float, end: float) -> int | None:
        """The index of an interval overlapping [start, end), if any (the earliest one)."""
        index = bisect.bisect_right(self.ends, start)
        if index < len(self.starts) and self.starts[index] < end:
            return index
        return None

    def add(self, start: float, end: float, holder: str) -> None:
        index = bisect.bisect_left(self.starts, start)
        if (index > 0 and self.ends[index - 1] > start) or \
                (index < len(self.starts) and self.starts[index] < end):
            raise AssertionError(f"double booking of {holder} at {start}-{end}")
        self.starts.insert(index, start)
        self.ends.insert(index, end)
        self.holders.insert(index, holder)

    def merge(self, start: float, end: float, holder: str) -> None:
        """Add an outside hold, merging with any it overlaps (two holds of one asset)."""
        index = self.blocking(start, end)
        while index is not None:
            start, end = min(start, self.starts[index]), max(end, self.ends[index])
            holder = f"{self.holders[index]}, {holder}"
            del self.starts[index], self.ends[index], self.holders[index]
            index = self.blocking(start, end)
        self.add(start, end, holder)


@dataclass
class _Option:
    """How a job could run on one workcell: candidate assets per need, in preference order."""

    workcell: str
    needs: list[tuple[str, list[int]]]  # (parameter, candidates): machines then consumables
    machine_count: int


@dataclass
class _Job:
    request: RunRequest
    release: float
    deadline: float
    duration: float
    options: list[_Option]
    weight: float


@dataclass
class Compiled:
    """A problem made ready for decoding many orders: candidates found once."""

    problem: Problem
    jobs: list[_Job]  # placeable ones; order indexes this list
    static_infeasible: list[Infeasible]
    calendars: dict[int, Calendar]
    names: dict[int, str]

    def heuristic_order(self) -> list[int]:
        """Priority first, then earliest deadline, earliest start, longest run, id."""
        return sorted(range(len(self.jobs)), key=lambda i: (
            -self.jobs[i].request.priority, self.jobs[i].deadline, self.jobs[i].release,
            -self.jobs[i].duration, self.jobs[i].request.id))


def _seconds(problem: Problem, moment: datetime | None, default: float) -> float:
    if moment is None:
        return default
    return (moment - problem.origin).total_seconds()


def compile_problem(problem: Problem) -> Compiled:
    machines_by_id = {m.id: m for w in problem.workcells for m in w.machines}
    names = {m.id: m.name for m in machines_by_id.values()}
    names.update({item.id: item.name for item in problem.labware})
    labware_by_id = {item.id: item for item in problem.labware}
    calendars: dict[int, Calendar] = {}
    for hold in problem.busy:
        start, end = _seconds(problem, hold.starts_at, 0), _seconds(problem, hold.ends_at, 0)
        if end > start:
            calendars.setdefault(hold.asset_id, Calendar()).merge(start, end, hold.holder)
    jobs, infeasible = [], []
    for request in problem.requests:
        release = max(0.0, _seconds(problem, request.earliest_start, 0.0))
        deadline = _seconds(problem, request.deadline, math.inf)
        consumable_candidates = []
        reason = None
        for need in request.consumables:
            candidates, why = _consumable_candidates(need, problem.labware, labware_by_id)
            if not candidates:
                reason = Infeasible(request.id, "consumable", need.parameter,
                                    f"needs {need.describe()} for {need.parameter!r}: {why}")
                break
            consumable_candidates.append((need.parameter, candidates))
        if reason is None and release + request.duration_s > deadline:
            reason = Infeasible(request.id, "deadline", "deadline", (
                f"takes {_span(request.duration_s)} from its earliest start "
                f"{(problem.origin + timedelta(seconds=release)).isoformat()}, past its deadline "
                f"{request.deadline.isoformat() if request.deadline else ''}"))
        options: list[_Option] = []
        if reason is None:
            workcells = [w for w in problem.workcells if request.workcell in (None, w.name)]
            if not workcells:
                reason = Infeasible(request.id, "workcell", request.workcell or "",
                                    f"is pinned to workcell {request.workcell!r}, which does not exist "
                                    f"(workcells: {', '.join(w.name for w in problem.workcells) or 'none'})")
            else:
                for workcell in workcells:
                    machine_candidates = [(need.parameter, _machine_candidates(need, workcell))
                                          for need in request.machines]
                    needs = machine_candidates + consumable_candidates
                    if all(c for _, c in needs) and _match([c for _, c in needs], lambda _: True):
                        options.append(_Option(workcell.name, needs, len(machine_candidates)))
                if not options:
                    reason = _machine_reason(request, workcells)
        if reason is not None:
            infeasible.append(reason)
            continue
        jobs.append(_Job(request, release, deadline, float(request.duration_s), options,
                         1.0 + max(request.priority, 0)))
    return Compiled(problem, jobs, infeasible, calendars, names)


def _consumable_candidates(need: ConsumableNeed, labware: list[Labware],
                           by_id: dict[int, Labware]) -> tuple[list[int], str]:
    if need.asset_id is not None:
        item = by_id.get(need.asset_id)
        if item is None:
            return [], f"inventory item {need.asset_id} does not exist or is not labware"
        if not item.available:
            return [], f"{item.name!r} (item {item.id}) is not available"
        return [item.id], ""
    matching = [item for item in labware
                if (need.type is None or item.fqn == need.type)
                and (need.category is None or item.category == need.category)]
    usable = [item.id for item in matching if item.available]
    if not matching:
        return [], "the inventory holds none"
    return usable, f"all {len(matching)} in the inventory are unavailable"


def _machine_candidates(need: MachineNeed, workcell: Workcell) -> list[int]:
    fitting = [m for m in workcell.machines
               if m.available and m.kind == need.kind and need.capabilities <= m.capabilities]
    # The closest fit first, so machines that can do more stay free for runs that need it.
    fitting.sort(key=lambda m: (len(m.capabilities - need.capabilities), m.id))
    return [m.id for m in fitting]


def _machine_reason(request: RunRequest, workcells: list[Workcell]) -> Infeasible:
    where = f"workcell {workcells[0].name!r} has none" if len(workcells) == 1 else "no workcell has one"
    for need in request.machines:
        of_kind: list[Machine] = [m for w in workcells for m in w.machines if m.kind == need.kind]
        if not of_kind:
            return Infeasible(request.id, "machine", need.parameter,
                              f"needs a {need.kind} for {need.parameter!r}: {where}")
        usable = [m for m in of_kind if m.available]
        if not usable:
            names = ", ".join(repr(m.name) for m in of_kind)
            return Infeasible(request.id, "machine", need.parameter,
                              f"needs a {need.kind} for {need.parameter!r}: {names} not available")
        if not any(need.capabilities <= m.capabilities for m in usable):
            lacking = "; ".join(f"{m.name!r} lacks {', '.join(sorted(need.capabilities - m.capabilities))}"
                                for m in usable)
            return Infeasible(request.id, "capability", need.parameter,
                              f"needs a {need.kind} with {', '.join(sorted(need.capabilities))} for "
                              f"{need.parameter!r}: {lacking}")
    kinds = ", ".join(f"{n.kind} ({n.parameter})" for n in request.machines)
    return Infeasible(request.id, "machine", "workcell",
                      f"needs {kinds} in one workcell: no workcell has all of them free of each other")


def _match(candidates: list[list[int]], usable: Any) -> list[int] | None:
    """One distinct asset per need (bipartite matching, augmenting paths), or None."""
    owner: dict[int, int] = {}

    def assign(need: int, seen: set[int]) -> bool:
        for asset in candidates[need]:
            if asset in seen or not usable(asset):
                continue
            seen.add(asset)
            if asset not in owner or assign(owner[asset], seen):
                owner[asset] = need
                return True
        return False

    for need in range(len(candidates)):
        if not assign(need, set()):
            return None
    chosen = [0] * len(candidates)
    for asset, need in owner.items():
        chosen[need] = asset
    return chosen


def _span(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def _earliest(job: _Job, option: _Option, calendars: dict[int, Calendar], bound: float = math.inf
              ) -> tuple[float, list[int] | None, list[tuple[int, int]]]:
    """Earliest start of ``job`` on ``option`` (with the assets), or (start, None, blockers) when
    the deadline comes first, or (start, None, []) once past ``bound`` (another workcell's start).
    The earliest feasible start is the release or the end of some busy interval of a candidate,
    so time jumps from one such end to the next."""
    empty = Calendar()
    start = job.release
    candidates = [c for _, c in option.needs]
    relevant = {asset for c in candidates for asset in c}
    while True:
        if start >= bound:
            return start, None, []
        end = start + job.duration
        if end > job.deadline:
            blockers = []
            for asset in relevant:
                calendar = calendars.get(asset, empty)
                index = calendar.blocking(start - job.duration, start)
                if index is not None:
                    blockers.append((asset, index))
            return start, None, blockers
        blocked: dict[int, int] = {}
        for asset in relevant:
            calendar = calendars.get(asset)
            if calendar is not None:
                index = calendar.blocking(start, end)
                if index is not None:
                    blocked[asset] = index
        chosen = _match(candidates, lambda asset: asset not in blocked)
        if chosen is not None:
            return start, chosen, []
        # A need with every candidate busy waits at least until its first candidate frees up;
        # otherwise (needs competing for the same free assets) until any blocked asset frees up.
        waits = [min(calendars[asset].ends[blocked[asset]] for asset in c)
                 for c in candidates if all(asset in blocked for asset in c)]
        start = max(waits) if waits else min(calendars[asset].ends[index] for asset, index in blocked.items())


@dataclass
class DecodeState:
    """Where decoding stood before the run at ``position`` of an order (to resume from)."""

    position: int
    calendars: dict[int, Calendar]
    placements: list[Placement]
    infeasible: list[Infeasible]


def decode(compiled: Compiled, order: list[int], method: str = "heuristic", *,
           resume: DecodeState | None = None, record: list[DecodeState] | None = None,
           every: int = 25) -> Schedule:
    """Place the jobs in ``order`` one by one, each at its earliest finish over its workcells.

    ``resume`` continues from a state recorded for an order sharing this one's prefix;
    ``record`` collects a state every ``every`` positions (the optimiser's checkpoints)."""
    if resume is None:
        resume = DecodeState(0, compiled.calendars, [], list(compiled.static_infeasible))
    calendars = {asset: calendar.copy() for asset, calendar in resume.calendars.items()}
    placements = resume.placements[:]
    infeasible = resume.infeasible[:]
    for position in range(resume.position, len(order)):
        if record is not None and position % every == 0 and not (record and record[-1].position == position):
            record.append(DecodeState(position, {a: c.copy() for a, c in calendars.items()},
                                      placements[:], infeasible[:]))
        job = compiled.jobs[order[position]]
        best: tuple[float, _Option, list[int]] | None = None
        late: list[tuple[int, int]] = []
        for option in job.options:
            start, chosen, blockers = _earliest(job, option, calendars,
                                                best[0] if best is not None else math.inf)
            if chosen is None:
                late.extend(blockers)
                continue
            if best is None or start < best[0]:
                best = (start, option, chosen)
        if best is None:
            infeasible.append(_deadline_reason(compiled, job, late, calendars))
            continue
        start, option, chosen = best
        end = start + job.duration
        for asset in chosen:
            calendars.setdefault(asset, Calendar()).add(start, end, job.request.id)
        parameters = [name for name, _ in option.needs]
        split = option.machine_count
        placements.append(Placement(job.request.id, option.workcell, start, end,
                                    dict(zip(parameters[:split], chosen[:split])),
                                    dict(zip(parameters[split:], chosen[split:]))))
    return Schedule(compiled.problem.origin, placements, infeasible, method,
                    order=[compiled.jobs[i].request.id for i in order])


def _deadline_reason(compiled: Compiled, job: _Job, blockers: list[tuple[int, int]],
                     calendars: dict[int, Calendar]) -> Infeasible:
    deadline = job.request.deadline.isoformat() if job.request.deadline else "?"
    held = []
    for asset, index in sorted(set(blockers)):
        calendar = calendars[asset]
        until = compiled.problem.origin + timedelta(seconds=calendar.ends[index])
        held.append(f"{compiled.names.get(asset, f'asset {asset}')!r} is held by "
                    f"{calendar.holders[index]} until {until.isoformat(timespec='seconds')}")
    return Infeasible(job.request.id, "deadline", "deadline",
                      f"cannot finish by its deadline {deadline}: " + ("; ".join(held[:4]) or
                                                                      "no workcell is free in time"))


def cost(schedule: Schedule, compiled: Compiled) -> float:
    """What the optimiser minimises: unplaced runs (weighted by priority) far above makespan,
    then a little weighted completion time so high-priority runs come early."""
    weights = {job.request.id: job.weight for job in compiled.jobs}
    unplaced = sum(weights.get(item.request, 0.0) for item in schedule.infeasible)
    completion = sum(weights[p.request] * p.end_s for p in schedule.placements)
    horizon = sum(job.duration for job in compiled.jobs) + 1.0
    return unplaced * horizon * 10 + schedule.makespan_s + 1e-3 * completion / max(len(compiled.jobs), 1)
