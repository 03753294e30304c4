"""The scheduling problem and its answer: runs, workcells, stock and calendars in; placements out.

A run is a chain of segments (its timeline; one segment when the request has none) with
manual steps around it: an operator loads the deck before it, unloads after, and refills a
consumable that would run short. A placement holds each machine only from its first to its
last use (the whole run without a timeline), its labware for the whole run, an operator for
each manual step, inside the lab's open hours. A schedule carries its makespan and, once
known, a lower bound and the gap. ``problem_to_dict`` is the problem as JSON (to solve it
elsewhere: the page's worker, the bridge server). Placing is ``decoder.py``'s.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from browser_runtime.scheduler.requests import RunRequest
from browser_runtime.scheduler.workcells import Labware, Machine, Workcell

#: How long an operator takes to refill a consumable (swap in a tip refill, top up a trough).
DEFAULT_REFILL_S = 120.0
#: Why a run could not be placed (``Infeasible.kind``).
KINDS = ("machine", "capability", "consumable", "stock", "calendar", "deadline", "workcell", "timelink")

@dataclass(frozen=True)
class Busy:
    """Time an asset is already held by something outside this schedule (a reservation)."""

    asset_id: int
    starts_at: datetime
    ends_at: datetime
    holder: str


@dataclass(frozen=True)
class Operator:
    """A person who does manual steps, on shift during ``shifts`` (start, end) only."""

    name: str
    shifts: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class OperatorBusy:
    """An operator's time already taken by a manual step outside this schedule."""

    operator: str
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
    #: None: manual steps are not staffed by name (anyone is there); [] means nobody is.
    operators: list[Operator] | None = None
    operator_busy: list[OperatorBusy] = field(default_factory=list)
    #: Open windows of the lab; a run lies inside one. None: always open.
    lab_hours: list[tuple[datetime, datetime]] | None = None
    refill_s: float = DEFAULT_REFILL_S

    def __post_init__(self) -> None:
        if self.origin.tzinfo is None:
            raise ValueError("the schedule's origin must carry a time zone")
        names = [w.name for w in self.workcells]
        if len(set(names)) != len(names):
            raise ValueError("workcell names must be unique: " + ", ".join(
                sorted({n for n in names if names.count(n) > 1})))
        seen: dict[int, Machine] = {}
        for workcell in self.workcells:
            for machine in workcell.machines:
                # A machine shared by workcells (a reader two liquid handlers reach) is one machine.
                if seen.setdefault(machine.id, machine) != machine:
                    raise ValueError(f"machine {machine.id} is described differently in two workcells")
        ids = [r.id for r in self.requests]
        if len(set(ids)) != len(ids):
            raise ValueError("run request ids must be unique: " + ", ".join(
                sorted({i for i in ids if ids.count(i) > 1})))
        for name, windows in [("lab_hours", self.lab_hours or [])] + [
                (f"operator {o.name!r}", o.shifts) for o in self.operators or []]:
            for start, end in windows:
                if start.tzinfo is None or end.tzinfo is None or end <= start:
                    raise ValueError(f"{name}: {start} -> {end} is not a window with a time zone")


@dataclass
class Hold:
    """One asset held by a placed run, seconds from the origin."""

    asset_id: int
    start_s: float
    end_s: float


@dataclass
class PlacedSegment:
    kind: str  # run | load | unload | refill
    label: str  # the step a paused run resumes at ("reader.read_absorbance#1"), or what is refilled
    start_s: float
    end_s: float
    operator: str | None = None


@dataclass
class Placement:
    request: str
    workcell: str
    start_s: float
    end_s: float
    machines: dict[str, int]  # machine parameter -> asset id
    consumables: dict[str, int]  # consumable parameter -> asset id
    holds: list[Hold] = field(default_factory=list)
    segments: list[PlacedSegment] = field(default_factory=list)
    drawn: dict[int, dict[str, float]] = field(default_factory=dict)  # asset -> tips / volume_ul
    refills: dict[str, int] = field(default_factory=dict)  # parameter -> refill item loaded for it
    costs: dict[str, dict[str, Any]] = field(default_factory=dict)  # parameter -> {cost, reason}

    def asset_ids(self) -> list[int]:
        return [*self.machines.values(), *self.consumables.values()]

    def hold_windows(self) -> list[Hold]:
        """The run's holds (the whole window for every asset when built without holds)."""
        return self.holds or [Hold(asset, self.start_s, self.end_s) for asset in self.asset_ids()]

    def to_dict(self, schedule: Schedule) -> dict[str, Any]:
        return {
            "request": self.request, "workcell": self.workcell,
            "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
            "starts_at": schedule.at(self.start_s).isoformat(), "ends_at": schedule.at(self.end_s).isoformat(),
            "machines": self.machines, "consumables": self.consumables,
            "holds": [{"asset_id": h.asset_id, "starts_at": schedule.at(h.start_s).isoformat(),
                       "ends_at": schedule.at(h.end_s).isoformat()} for h in self.hold_windows()],
            "segments": [{"kind": s.kind, "label": s.label, "operator": s.operator,
                          "starts_at": schedule.at(s.start_s).isoformat(),
                          "ends_at": schedule.at(s.end_s).isoformat()} for s in self.segments],
            "drawn": {str(asset): amounts for asset, amounts in self.drawn.items()},
            "refills": self.refills, "costs": self.costs,
        }


@dataclass
class Infeasible:
    request: str
    kind: str  # one of KINDS
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
    #: No schedule placing these runs ends sooner (seconds from the origin); None: not computed.
    lower_bound_s: float | None = None
    proven_optimal: bool = False

    @property
    def makespan_s(self) -> float:
        return max((p.end_s for p in self.placements), default=0.0)

    @property
    def gap(self) -> float | None:
        """How far above the lower bound the makespan may be: 0.0 is proven optimal."""
        if self.lower_bound_s is None:
            return None
        if self.makespan_s <= 0:
            return 0.0
        return max(0.0, (self.makespan_s - self.lower_bound_s) / self.makespan_s)

    def at(self, seconds: float) -> datetime:
        return self.origin + timedelta(seconds=seconds)

    def quality(self) -> dict[str, Any]:
        return {"method": self.method, "makespan_s": round(self.makespan_s, 3),
                "lower_bound_s": None if self.lower_bound_s is None else round(self.lower_bound_s, 3),
                "gap": None if self.gap is None else round(self.gap, 4),
                "proven_optimal": self.proven_optimal}

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin.isoformat(), "method": self.method,
            "makespan_s": round(self.makespan_s, 3), "compute_s": round(self.compute_s, 4),
            "lower_bound_s": None if self.lower_bound_s is None else round(self.lower_bound_s, 3),
            "gap": None if self.gap is None else round(self.gap, 4),
            "proven_optimal": self.proven_optimal,
            "placements": [p.to_dict(self) for p in self.placements],
            "infeasible": [item.to_dict() for item in self.infeasible],
        }


class Calendar:
    """One resource's busy intervals, sorted and never overlapping."""

    __slots__ = ("ends", "holders", "starts")

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

    def next_free(self, start: float, length: float) -> float:
        """The earliest moment from ``start`` on when [moment, moment + length) is free."""
        starts, ends = self.starts, self.ends
        index = bisect.bisect_right(ends, start)
        count = len(starts)
        while index < count and starts[index] < start + length:
            start = max(start, ends[index])
            index += 1
        return start

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


def closed_outside(windows: list[tuple[float, float]], holder: str) -> Calendar:
    """A calendar busy everywhere except in ``windows`` (seconds; open to -inf..+inf around)."""
    calendar = Calendar()
    edge = -math.inf
    for start, end in sorted(windows):
        if start > edge:
            calendar.add(edge, start, holder)
        edge = max(edge, end)
    calendar.add(edge, math.inf, holder)
    return calendar


# ---- the problem as JSON ------------------------------------------------------------------


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The whole problem as plain JSON (``problem_from_dict`` reads it back)."""

    def iso(moment: datetime) -> str:
        return moment.isoformat()

    return {
        "origin": iso(problem.origin),
        "workcells": [w.to_dict() for w in problem.workcells],
        "requests": [r.to_dict() for r in problem.requests],
        "labware": [{"id": i.id, "name": i.name, "fqn": i.fqn, "category": i.category, "available": i.available,
                     "tips": i.tips, "volume_ul": i.volume_ul, "cost": i.cost, "cost_unit": i.cost_unit,
                     "refill": i.refill} for i in problem.labware],
        "busy": [{"asset_id": b.asset_id, "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at),
                  "holder": b.holder} for b in problem.busy],
        "operators": None if problem.operators is None else [
            {"name": o.name, "shifts": [[iso(a), iso(b)] for a, b in o.shifts]} for o in problem.operators],
        "operator_busy": [{"operator": b.operator, "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at),
                           "holder": b.holder} for b in problem.operator_busy],
        "lab_hours": None if problem.lab_hours is None else [[iso(a), iso(b)] for a, b in problem.lab_hours],
        "refill_s": problem.refill_s,
    }


def problem_from_dict(document: dict[str, Any]) -> Problem:
    """A problem from ``problem_to_dict``'s JSON (requests checked as ``RunRequest.from_dict``)."""
    when = datetime.fromisoformat
    workcells = [Workcell(w["name"], tuple(Machine(m["id"], m["name"], m["kind"], frozenset(m["capabilities"]),
                                                   m["available"]) for m in w["machines"]), w.get("deck"))
                 for w in document["workcells"]]
    return Problem(
        when(document["origin"]), workcells,
        [RunRequest.from_dict(r, f"requests[{i}]") for i, r in enumerate(document["requests"])],
        [Labware(i["id"], i["name"], i.get("fqn"), i.get("category"), i.get("available", True),
                 tips=i.get("tips"), volume_ul=i.get("volume_ul"), cost=i.get("cost", 0.0),
                 cost_unit=i.get("cost_unit", "item"), refill=i.get("refill", False)) for i in document["labware"]],
        [Busy(b["asset_id"], when(b["starts_at"]), when(b["ends_at"]), b["holder"]) for b in document["busy"]],
        None if document.get("operators") is None else [
            Operator(o["name"], tuple((when(a), when(b)) for a, b in o["shifts"])) for o in document["operators"]],
        [OperatorBusy(b["operator"], when(b["starts_at"]), when(b["ends_at"]), b["holder"])
         for b in document.get("operator_busy", [])],
        None if document.get("lab_hours") is None else [(when(a), when(b)) for a, b in document["lab_hours"]],
        document.get("refill_s", DEFAULT_REFILL_S))


def schedule_from_dict(document: dict[str, Any]) -> Schedule:
    """A schedule from its ``to_dict`` JSON (solved elsewhere and brought back)."""
    origin = datetime.fromisoformat(document["origin"])

    def seconds(text: str) -> float:
        return (datetime.fromisoformat(text) - origin).total_seconds()

    placements = []
    for entry in document["placements"]:
        placements.append(Placement(
            entry["request"], entry["workcell"], seconds(entry["starts_at"]), seconds(entry["ends_at"]),
            dict(entry["machines"]), dict(entry["consumables"]),
            [Hold(h["asset_id"], seconds(h["starts_at"]), seconds(h["ends_at"])) for h in entry.get("holds", [])],
            [PlacedSegment(s["kind"], s["label"], seconds(s["starts_at"]), seconds(s["ends_at"]), s.get("operator"))
             for s in entry.get("segments", [])],
            {int(asset): amounts for asset, amounts in entry.get("drawn", {}).items()},
            dict(entry.get("refills", {})), dict(entry.get("costs", {}))))
    return Schedule(origin, placements, [Infeasible(**item) for item in document["infeasible"]],
                    document.get("method", "heuristic"), document.get("compute_s", 0.0),
                    [p.request for p in placements], document.get("lower_bound_s"),
                    bool(document.get("proven_optimal", False)))
