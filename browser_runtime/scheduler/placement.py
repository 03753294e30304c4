"""Placing runs in time: the problem, resource calendars, and the serial schedule decoder.

A run is a chain of segments (its timeline; one segment when the request has none) with
manual steps around it: an operator loads the deck before it, unloads after, and refills a
consumable that would run short. It holds each machine only from its first to its last use
(the whole run without a timeline), its labware for the whole run, an operator for each
manual step, and it lies inside the lab's open hours. Machines come from one workcell (a
machine may belong to several); labware from the whole inventory.

Given an order of runs, :func:`decode` places each in turn at the earliest time (on
whichever workcell finishes it first; on a tie, the one whose machines fewer other runs
could use) when a machine for every machine need, an item with enough tips or volume left
for every consumable need, and an operator on shift for every manual step are free together;
between segments it may wait within the protocol's time links; never before the earliest
start, never past the deadline. Every scheduler (the list heuristic, the optimiser and the
exact solver's repair) feeds orders to it, so whatever they return is free of double-booking
by construction. Runs that cannot be placed say why: the machine kind, capability,
consumable, stock, calendar or deadline, by name.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from browser_runtime.scheduler.requests import ConsumableNeed, MachineNeed, RunRequest
from browser_runtime.scheduler.workcells import Labware, Machine, Workcell

#: How long an operator takes to refill a consumable (swap in a tip refill, top up a trough).
DEFAULT_REFILL_S = 120.0
#: Calendar key of the lab's closed hours (blocks a run's whole span, shared by every run).
LAB = "lab"
KINDS = ("machine", "capability", "consumable", "stock", "calendar", "deadline", "workcell", "timelink")
_MAX_STEPS = 20000  # placement attempts for one run on one workcell before giving up


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

    def next_free(self, start: float, length: float) -> float:
        """The earliest moment from ``start`` on when [moment, moment + length) is free."""
        starts, ends = self.starts, self.ends
        index = bisect.bisect_right(ends, start)
        count = len(starts)
        while index < count and starts[index] < start + length:
            if ends[index] > start:
                start = ends[index]
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


# ---- compiling a problem ------------------------------------------------------------------


@dataclass
class _Slot:
    """Something a run holds: a machine need, a labware need, an operator for a manual step, or
    the lab's open hours. Its hold runs from ``start`` into segment ``first`` to ``end`` into
    segment ``last`` (indices into the run's base segments; refill segments come before them)."""

    parameter: str
    kind: str  # machine | labware | operator | lab
    candidates: list[Hashable]
    first: int = 0
    start: float = 0.0
    last: int | None = None  # None: the run's last segment
    end: float = math.inf  # inf: that segment's end
    whole: bool = False  # from the very start (refills included) to the very end
    exclusive: bool = True
    need: ConsumableNeed | None = None
    counted: bool = field(init=False, default=False)  # draws a quantity from stock
    #: The most any run draws from these items (tips, uL), for decoding with ``keep_whole``.
    biggest: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        self.counted = self.need is not None and self.need.counted


@dataclass
class _Option:
    """How a job could run on one workcell: its machine slots in preference order."""

    workcell: str
    machine_slots: list[_Slot]
    demand: dict[int, float]  # machine -> how much other runs want it (the tie-break)
    attempt: Any = None  # the layout, once, when the run draws nothing from stock
    relative: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # refills -> machine holds


@dataclass
class _Job:
    request: RunRequest
    release: float
    deadline: float
    durations: list[float]  # base segments: [load] + the run's segments + [unload]
    kinds: list[str]
    labels: list[str]
    links: list[list[tuple[int, float, float, float]]]  # into segment j: (source, at, min, max)
    pauses: list[int]  # segments the run may wait before (a time link's target)
    options: list[_Option]
    labware_slots: list[_Slot]
    refills: dict[str, list[int]]  # counted consumable parameter -> refill items that could serve
    weight: float
    span: float  # without waits
    counted: bool = False  # draws tips or volume from stock
    shapes: dict[tuple[str, ...], Any] = field(default_factory=dict)  # refilled parameters -> _Shape

    @property
    def duration(self) -> float:
        return self.span


@dataclass
class Compiled:
    """A problem made ready for decoding many orders: candidates found once."""

    problem: Problem
    jobs: list[_Job]  # placeable ones; order indexes this list
    static_infeasible: list[Infeasible]
    calendars: dict[Hashable, Calendar]
    names: dict[Hashable, str]
    stock: dict[int, tuple[float, float]]  # counted labware -> (tips, volume_ul) left
    labware: dict[int, Labware]
    operators: list[Hashable] | None

    def heuristic_order(self) -> list[int]:
        """Priority first, then earliest deadline, earliest start, longest run, id."""
        return sorted(range(len(self.jobs)), key=lambda i: (
            -self.jobs[i].request.priority, self.jobs[i].deadline, self.jobs[i].release,
            -self.jobs[i].span, self.jobs[i].request.id))


def _seconds(problem: Problem, moment: datetime | None, default: float) -> float:
    if moment is None:
        return default
    return (moment - problem.origin).total_seconds()


def _operator_key(name: str) -> tuple[str, str]:
    return ("operator", name)


def compile_problem(problem: Problem) -> Compiled:
    machines_by_id = {m.id: m for w in problem.workcells for m in w.machines}
    names: dict[Hashable, str] = {m.id: m.name for m in machines_by_id.values()}
    names.update({item.id: item.name for item in problem.labware})
    names[LAB] = "the lab's open hours"
    labware_by_id = {item.id: item for item in problem.labware}
    calendars: dict[Hashable, Calendar] = {}
    for hold in problem.busy:
        start, end = _seconds(problem, hold.starts_at, 0), _seconds(problem, hold.ends_at, 0)
        if end > start:
            calendars.setdefault(hold.asset_id, Calendar()).merge(start, end, hold.holder)
    if problem.lab_hours is not None:
        calendars[LAB] = closed_outside([(_seconds(problem, a, 0), _seconds(problem, b, 0))
                                         for a, b in problem.lab_hours], "the lab is closed")
    operators = None
    if problem.operators is not None:
        operators = []
        for operator in problem.operators:
            key = _operator_key(operator.name)
            operators.append(key)
            names[key] = f"operator {operator.name}"
            calendars[key] = closed_outside([(_seconds(problem, a, 0), _seconds(problem, b, 0))
                                             for a, b in operator.shifts], f"{operator.name} is off shift")
        for taken in problem.operator_busy:
            key = _operator_key(taken.operator)
            start, end = _seconds(problem, taken.starts_at, 0), _seconds(problem, taken.ends_at, 0)
            if key in calendars and end > start:
                calendars[key].merge(start, end, taken.holder)
    stock = {item.id: (math.inf if item.tips is None else float(item.tips),
                       math.inf if item.volume_ul is None else float(item.volume_ul))
             for item in problem.labware}

    # How much each machine is wanted (duration spread over each need's candidates): on a tie,
    # a run takes the machines fewer others could use.
    demand: dict[int, float] = {}
    jobs, infeasible = [], []
    pending = []
    for request in problem.requests:
        release = max(0.0, _seconds(problem, request.earliest_start, 0.0))
        deadline = _seconds(problem, request.deadline, math.inf)
        labware_slots: list[_Slot] = []
        refills: dict[str, list[int]] = {}
        reason = None
        for need in request.consumables:
            candidates, refill, why = _consumable_candidates(need, problem.labware, labware_by_id)
            if not candidates and not refill:
                reason = Infeasible(request.id, "consumable", need.parameter,
                                    f"needs {need.describe()} for {need.parameter!r}: {why}")
                break
            labware_slots.append(_Slot(need.parameter, "labware", candidates, whole=True, need=need))
            if refill:
                refills[need.parameter] = refill
        durations, kinds, labels, links, pauses = _shape(request)
        span = sum(durations)
        if reason is None and release + span > deadline:
            reason = Infeasible(request.id, "deadline", "deadline", (
                f"takes {_span(span)} from its earliest start "
                f"{(problem.origin + timedelta(seconds=release)).isoformat()}, past its deadline "
                f"{request.deadline.isoformat() if request.deadline else ''}"))
        if reason is None and (request.load_s or request.unload_s) and operators == []:
            reason = Infeasible(request.id, "calendar", "operators",
                                "has manual steps (load, unload) and no operator is registered")
        options: list[_Option] = []
        if reason is None:
            workcells = [w for w in problem.workcells if request.workcell in (None, w.name)]
            if not workcells:
                reason = Infeasible(request.id, "workcell", request.workcell or "",
                                    f"is pinned to workcell {request.workcell!r}, which does not exist "
                                    f"(workcells: {', '.join(w.name for w in problem.workcells) or 'none'})")
            else:
                for workcell in workcells:
                    slots = [_machine_slot(need, workcell, request, len(durations), kinds)
                             for need in request.machines]
                    every = [s.candidates for s in slots] + [s.candidates or refills.get(s.parameter, [])
                                                             for s in labware_slots]
                    if all(every) and _match(every, lambda _n, _a: True) is not None:
                        options.append(_Option(workcell.name, slots, demand))
                if not options:
                    reason = _machine_reason(request, workcells)
        if reason is not None:
            infeasible.append(reason)
            continue
        job = _Job(request, release, deadline, durations, kinds, labels, links, pauses, options,
                   labware_slots, refills, 1.0 + max(request.priority, 0), span,
                   any(need.counted for need in request.consumables) or bool(refills))
        jobs.append(job)
        pending.append(job)
    biggest: dict[Hashable, list[float]] = {}
    for job in pending:
        for slot in job.labware_slots:
            if slot.counted:
                for asset in slot.candidates:
                    entry = biggest.setdefault(asset, [0.0, 0.0])
                    entry[0] = max(entry[0], slot.need.tips)  # type: ignore[union-attr]
                    entry[1] = max(entry[1], slot.need.volume_ul)  # type: ignore[union-attr]
    for job in pending:
        for slot in job.labware_slots:
            if slot.counted:
                amounts = [biggest[a] for a in slot.candidates]
                slot.biggest = (max((a[0] for a in amounts), default=0.0), max((a[1] for a in amounts), default=0.0))
    for job in pending:
        for need in job.request.machines:
            pool = {a for option in job.options for s in option.machine_slots if s.parameter == need.parameter
                    for a in s.candidates}
            for asset in pool:
                demand[asset] = demand.get(asset, 0.0) + job.span / len(pool)
    return Compiled(problem, jobs, infeasible, calendars, names, stock, labware_by_id, operators)


def _shape(request: RunRequest) -> tuple[list[float], list[str], list[str],
                                          list[list[tuple[int, float, float, float]]], list[int]]:
    """The run's base segments (load, the run's own, unload) and the links between them."""
    timeline = request.timeline
    run = [s.duration_s for s in timeline.segments] if timeline else [float(request.duration_s)]
    run_labels = [s.label for s in timeline.segments] if timeline else ["start"]
    lead = 1 if request.load_s else 0
    durations = ([float(request.load_s)] if lead else []) + run + (
        [float(request.unload_s)] if request.unload_s else [])
    kinds = (["load"] if lead else []) + ["run"] * len(run) + (["unload"] if request.unload_s else [])
    labels = (["load"] if lead else []) + run_labels + (["unload"] if request.unload_s else [])
    links: list[list[tuple[int, float, float, float]]] = [[] for _ in durations]
    for link in timeline.links if timeline else ():
        links[link.target + lead].append((link.source + lead, link.at_s, link.min_s,
                                          math.inf if link.max_s is None else link.max_s))
    pauses = [index for index, into in enumerate(links) if into]
    return durations, kinds, labels, links, pauses


def _machine_slot(need: MachineNeed, workcell: Workcell, request: RunRequest, count: int,
                  kinds: list[str]) -> _Slot:
    lead = 1 if kinds[0] == "load" else 0
    runs = [i for i, kind in enumerate(kinds) if kind == "run"]
    hold = request.timeline.machines.get(need.parameter) if request.timeline else None
    if hold is None:
        first, start, last, end = runs[0], 0.0, runs[-1], math.inf
    else:
        first, start, last, end = hold[0] + lead, hold[1], hold[2] + lead, hold[3]
    if request.timeline is not None and request.timeline.machines:
        # The deck is loaded where the run starts and unloaded where it ends: the machine used
        # first (last) is held through the load (unload) too.
        holds = request.timeline.machines.values()
        if lead and hold is not None and (hold[0], hold[1]) == min((h[0], h[1]) for h in holds):
            first, start = 0, 0.0
        if kinds[-1] == "unload" and hold is not None and (hold[2], hold[3]) == max((h[2], h[3]) for h in holds):
            last, end = count - 1, math.inf
    else:
        if lead:
            first, start = 0, 0.0
        if kinds[-1] == "unload":
            last, end = count - 1, math.inf
    return _Slot(need.parameter, "machine", _machine_candidates(need, workcell), first, start, last, end)


def _consumable_candidates(need: ConsumableNeed, labware: list[Labware],
                           by_id: dict[int, Labware]) -> tuple[list[int], list[int], str]:
    """Items that can serve ``need`` (cheapest first, then the fullest that... see below), refill
    items that could, and why none can."""
    if need.asset_id is not None:
        item = by_id.get(need.asset_id)
        if item is None:
            return [], [], f"inventory item {need.asset_id} does not exist or is not labware"
        if not item.available:
            return [], [], f"{item.name!r} (item {item.id}) is not available"
        if item.refill:
            return [], [item.id], ""  # refill stock: loaded by a refill step first
        return [item.id], [], ""
    matching = [item for item in labware
                if (need.type is None or item.fqn == need.type)
                and (need.category is None or item.category == need.category)]
    usable = [item for item in matching if item.available and not item.refill]
    refill = [item for item in matching if item.available and item.refill] if need.counted else []
    # A counted need takes the item with the least left that serves it, so runs share a started
    # rack while its tips last and full ones stay for the runs that need a whole rack (a greedy
    # cheapest-first would open full racks for a few tips each); then the cheapest, as items
    # without a count always do.
    if need.counted:
        usable.sort(key=lambda item: (_left(item, need), item_cost(item, need), item.id))
    else:
        usable.sort(key=lambda item: (item_cost(item, need), item.id))
    refill.sort(key=lambda item: (_left(item, need), item_cost(item, need), item.id))
    if not matching:
        return [], [], "the inventory holds none"
    return [i.id for i in usable], [i.id for i in refill], f"all {len(matching)} in the inventory are unavailable"


def _left(item: Labware, need: ConsumableNeed) -> float:
    if need.tips and item.tips is not None:
        return float(item.tips)
    if need.volume_ul and item.volume_ul is not None:
        return float(item.volume_ul)
    return math.inf


def item_cost(item: Labware, need: ConsumableNeed) -> float:
    """What using ``item`` for ``need`` costs: per item, per tip drawn, or per uL drawn."""
    if not item.cost:
        return 0.0
    if item.cost_unit == "tip":
        return item.cost * need.tips
    if item.cost_unit == "uL":
        return item.cost * need.volume_ul
    return item.cost


def cost_reason(item: Labware, need: ConsumableNeed) -> str:
    total = item_cost(item, need)
    if not item.cost:
        return f"{item.name!r}: no cost recorded"
    if item.cost_unit == "item":
        return f"{item.name!r}: costs {item.cost:g} per item"
    quantity = need.tips if item.cost_unit == "tip" else need.volume_ul
    return f"{item.name!r}: {item.cost:g} per {item.cost_unit} x {quantity:g} = {total:.4g}"


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


def _match(candidates: list[list[Hashable]], usable: Any) -> list[Hashable] | None:
    """One distinct asset per need (bipartite matching, augmenting paths), or None.
    ``usable(need, asset)`` says whether a candidate may be taken for that need."""
    owner: dict[Hashable, int] = {}

    def assign(need: int, seen: set[Hashable]) -> bool:
        for asset in candidates[need]:
            if asset in seen or not usable(need, asset):
                continue
            seen.add(asset)
            if asset not in owner or assign(owner[asset], seen):
                owner[asset] = need
                return True
        return False

    for need in range(len(candidates)):
        if not assign(need, set()):
            return None
    chosen: list[Hashable] = [0] * len(candidates)
    for asset, need in owner.items():
        chosen[need] = asset
    return chosen


def _span(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


# ---- decoding -----------------------------------------------------------------------------


@dataclass
class _Try:
    """A job's layout for one decode: segments (refills first), the slots to fill, links."""

    durations: list[float]
    kinds: list[str]
    labels: list[str]
    links: list[list[tuple[int, float, float, float]]]
    pauses: list[int]
    slots: list[_Slot]  # machine slots, then labware, then operators, then the lab
    matched: int  # slots[:matched] need distinct assets (machines and labware)
    refilled: dict[str, int]  # refilled parameter -> its labware slot index
    offsets: list[float] = field(default_factory=list)  # segment starts without waits
    span: float = 0.0
    relative: list[tuple[float, float]] | None = None  # slot holds from the start, when rigid


@dataclass
class _Found:
    start: float
    starts: list[float]  # absolute segment starts
    chosen: list[Hashable]  # one per slot
    late: list[tuple[Hashable, int]] = field(default_factory=list)
    why: str = ""  # not placeable: "late" (deadline or calendar end first) | "links" | "crowded" (stock)


def _starts(t: float, durations: list[float], waits: list[float]) -> list[float]:
    starts = []
    moment = t
    for duration, wait in zip(durations, waits):
        moment += wait
        starts.append(moment)
        moment += duration
    return starts


def _min_waits(t: float, attempt: _Try, waits: list[float]) -> bool:
    """Raise ``waits`` to what the links' minimums need; False when a maximum cannot hold."""
    starts = _starts(t, attempt.durations, waits)
    for target in attempt.pauses:
        need = 0.0
        for source, at, low, high in attempt.links[target]:
            gap = starts[target] - starts[source] - at
            if gap < low - 1e-9:
                need = max(need, low - gap)
        if need:
            waits[target] += need
            starts = _starts(t, attempt.durations, waits)
    return _links_hold(starts, attempt)


def _links_hold(starts: list[float], attempt: _Try) -> bool:
    for target in attempt.pauses:
        for source, at, low, high in attempt.links[target]:
            gap = starts[target] - starts[source] - at
            if gap > high + 1e-6 or gap < low - 1e-6:
                return False
    return True


def _interval(slot: _Slot, starts: list[float], attempt: _Try, shift: int) -> tuple[float, float]:
    last_index = len(starts) - 1
    end_of_run = starts[-1] + attempt.durations[-1]
    if slot.whole:
        return starts[0], end_of_run
    first = slot.first + shift
    last = last_index if slot.last is None else slot.last + shift
    begin = starts[first] + slot.start
    finish = starts[last] + (attempt.durations[last] if slot.end == math.inf else slot.end)
    return begin, finish


def _earliest(job: _Job, attempt: _Try, calendars: dict[Hashable, Calendar], bound: float,
              shift: int) -> _Found | None:
    """Earliest start of ``job`` laid out as ``attempt``: its segment starts and the assets, or
    a result saying why not (``late``: the deadline comes first, with the blockers; ``links``),
    or None once past ``bound`` (another workcell's start). A start, or a wait before a pause
    point, only ever moves to where a blocking hold ends, so time jumps from one such end to
    the next."""
    slots = attempt.slots
    matched = attempt.matched
    count = len(slots)
    t = job.release
    waits = [0.0] * len(attempt.durations)
    relative = attempt.relative
    for _ in range(_MAX_STEPS):
        if t >= bound:
            return None
        if relative is None:
            if attempt.pauses and not _min_waits(t, attempt, waits):
                return _Found(t, [], [], [], "links")
            starts = _starts(t, attempt.durations, waits)
            end = starts[-1] + attempt.durations[-1]
            offsets = [_interval(slot, starts, attempt, shift) for slot in slots]
            base = 0.0
        else:
            end = t + attempt.span
            offsets = relative  # holds relative to the start: no list to build per step
            base = t
        if end > job.deadline or math.isinf(t):
            return _Found(t, [], [], _late(slots, [(base + a, base + b) for a, b in offsets], calendars), "late")
        # Each slot's candidates in turn up to the first free one. A slot with none free must
        # wait at least until its first candidate frees up: the start moves there at once (a
        # lower bound of the wait, so no feasible start is skipped), the other slots unread.
        blocked: dict[tuple[int, Hashable], float] = {}  # -> when that asset is next free for it
        free: list[Hashable] = []
        taken: set[Hashable] = set()
        wait_for = None  # (delta, slot index) of a slot that must wait
        for position in range(count):
            begin, finish = offsets[position]
            length = finish - begin
            begin += base
            finish += base
            soonest = math.inf
            first_free = None
            crowded = False
            for asset in slots[position].candidates:
                if asset in taken:
                    crowded = True  # free perhaps, but an earlier need of this run took it
                    continue
                calendar = calendars.get(asset)
                if calendar is None:
                    first_free = asset
                    break
                ends = calendar.ends
                if not ends or ends[-1] <= begin or calendar.starts[0] >= finish:
                    first_free = asset
                    break
                fits = calendar.next_free(begin, length)
                if fits <= begin:
                    first_free = asset
                    break
                blocked[(position, asset)] = fits
                if fits - begin < soonest:
                    soonest = fits - begin
            if first_free is None:
                if crowded:
                    break  # needs compete for the same assets: a matching decides below
                wait_for = (soonest, position)
                break
            free.append(first_free)
            if position < matched:
                taken.add(first_free)
        if wait_for is None:
            if len(free) == count:
                chosen: list[Hashable] | None = free
            else:
                intervals = [(base + a, base + b) for a, b in offsets]
                chosen = _choose(slots, matched, intervals, calendars, blocked)
            if chosen is not None:
                if relative is not None:
                    starts = [t + offset for offset in attempt.offsets]
                return _Found(t, starts, chosen)
            # Needs compete for the same free assets: wait until any blocked one frees up.
            _scan_all(slots, matched, intervals, calendars, blocked)
            if not blocked:  # all free, and still too few: stock left too few items for its needs
                return _Found(t, [], [], [], "crowded")
            delta = min(fits - intervals[position][0] for (position, asset), fits in blocked.items())
            t += max(delta, 1e-9)
            waits = [0.0] * len(waits)
            continue
        delta, position = wait_for
        if delta == math.inf:  # blocked for good (closed for good, nobody on shift any more)
            begin, finish = offsets[position]
            return _Found(t, [], [], [(asset, calendars[asset].blocking(base + begin, base + finish) or 0)
                                      for asset in slots[position].candidates if asset in calendars], "late")
        pause = _pause_before(slots[position], attempt, shift)
        room = _room(t, attempt, waits, pause) if pause is not None and delta < math.inf else 0.0
        if room >= delta - 1e-9:
            waits[pause] += delta  # type: ignore[index]
            continue
        if room > 1e-9:
            # Wait what the links allow there and start the rest later: the blocked hold moves
            # by the whole delta, the run's start by less.
            waits[pause] += room  # type: ignore[index]
            t += delta - room
            continue
        t += max(delta, 1e-9)
        waits = [0.0] * len(waits)
    raise RuntimeError(f"placing {job.request.id!r} took more than {_MAX_STEPS} steps")


def _choose(slots: list[_Slot], matched: int, intervals: list[tuple[float, float]],
            calendars: dict[Hashable, Calendar], blocked: dict[tuple[int, Hashable], float]
            ) -> list[Hashable] | None:
    """Distinct assets for the machine and labware slots by a matching that looks past each
    slot's first free candidate, then the first free operator of each manual step (an operator
    may do several steps of one run: they never overlap)."""
    known_free: set[tuple[int, Hashable]] = set()

    def usable(need: int, asset: Hashable) -> bool:
        if (need, asset) in known_free:
            return True
        if (need, asset) in blocked:
            return False
        calendar = calendars.get(asset)
        begin, finish = intervals[need]
        fits = calendar.next_free(begin, finish - begin) if calendar is not None else begin
        if fits <= begin:
            known_free.add((need, asset))
            return True
        blocked[(need, asset)] = fits
        return False

    head = _match([s.candidates for s in slots[:matched]], usable)
    if head is None:
        return None
    tail = []
    for position in range(matched, len(slots)):
        found = next((a for a in slots[position].candidates if usable(position, a)), None)
        if found is None:
            return None
        tail.append(found)
    return head + tail


def _scan_all(slots: list[_Slot], matched: int, intervals: list[tuple[float, float]],
              calendars: dict[Hashable, Calendar], blocked: dict[tuple[int, Hashable], float]) -> None:
    for position in range(len(slots)):
        begin, finish = intervals[position]
        for asset in slots[position].candidates:
            if (position, asset) in blocked:
                continue
            calendar = calendars.get(asset)
            fits = calendar.next_free(begin, finish - begin) if calendar is not None else begin
            if fits > begin:
                blocked[(position, asset)] = fits


def _late(slots: list[_Slot], intervals: list[tuple[float, float]],
          calendars: dict[Hashable, Calendar]) -> list[tuple[Hashable, int]]:
    """What pushed a run past its deadline: holds just before (or over) where it would land."""
    empty = Calendar()
    late = []
    for slot, (begin, finish) in zip(slots, intervals):
        length = finish - begin if math.isfinite(finish - begin) else 0.0
        for asset in slot.candidates:
            calendar = calendars.get(asset, empty)
            index = calendar.blocking(begin - length, begin) if math.isfinite(begin) else None
            if index is None and math.isfinite(begin):
                index = calendar.blocking(begin, finish)
            if index is not None:
                late.append((asset, index))
    return late


def _room(t: float, attempt: _Try, waits: list[float], pause: int) -> float:
    """How much longer the run may wait before segment ``pause`` with every link still held."""
    starts = _starts(t, attempt.durations, waits)
    room = math.inf
    for target in attempt.pauses:
        for source, at, _, high in attempt.links[target]:
            if source < pause <= target:
                room = min(room, high - (starts[target] - starts[source] - at))
    return max(0.0, room)


def _pause_before(slot: _Slot, attempt: _Try, shift: int) -> int | None:
    """The latest pause point at or before where ``slot``'s hold starts: waiting there moves
    the hold later without stretching it."""
    if slot.whole or not attempt.pauses:
        return None
    first = slot.first + shift
    found = [p for p in attempt.pauses if p <= first]
    return found[-1] if found else None


@dataclass
class DecodeState:
    """Where decoding stood before the run at ``position`` of an order (to resume from)."""

    position: int
    calendars: dict[Hashable, Calendar]
    placements: list[Placement]
    infeasible: list[Infeasible]
    stock: dict[int, tuple[float, float]] = field(default_factory=dict)
    refilled: frozenset[int] = frozenset()


_Variant = tuple[list[_Slot], dict[str, int]]  # labware slots, refilled parameter -> slot index


def _labware_variants(job: _Job, stock: dict[int, tuple[float, float]], refilled: set[int],
                      keep_whole: bool = False) -> tuple[list[_Variant], _Slot | None]:
    """The job's labware given what stock is left: the plain way (a counted need no item can
    serve gets a refill), and, when refills are at hand, the way taking them wherever it can.
    The second is the slot no item nor refill can serve, if any (the run is short).

    ``keep_whole``: a need smaller than the biggest its items serve takes only items already
    too low for that biggest need while any has enough, so a run wanting a few tips waits for
    a started rack rather than break a full one a whole-rack run needs (one of the heuristic's
    decodings; which is better depends on the day)."""
    if not job.counted and not job.refills:
        return [(job.labware_slots, {})], None
    plain: list[_Slot] = []
    eager: list[_Slot] = []
    plain_refills: dict[str, int] = {}
    eager_refills: dict[str, int] = {}
    for slot in job.labware_slots:
        need = slot.need
        assert need is not None
        if not need.counted and slot.parameter not in job.refills:
            plain.append(slot)
            eager.append(slot)
            continue
        tips, volume = need.tips - 1e-9, need.volume_ul - 1e-9
        enough = [a for a in slot.candidates  # (``_has`` written out: this is the decoder's inner loop)
                  if (left := stock.get(a)) is None or (left[0] >= tips and left[1] >= volume)]  # type: ignore[call-overload]
        if keep_whole and enough and (need.tips < slot.biggest[0] or need.volume_ul < slot.biggest[1]):
            low = [a for a in enough if (left := stock.get(a)) is not None and (  # type: ignore[call-overload]
                (need.tips and left[0] < slot.biggest[0]) or (need.volume_ul and left[1] < slot.biggest[1]))]
            enough = low or enough
        spare = [a for a in job.refills.get(slot.parameter, ()) if a not in refilled and _has(stock.get(a), need)]
        if not enough and not spare:
            return [], slot
        if enough:
            plain.append(slot if len(enough) == len(slot.candidates) else
                         _Slot(slot.parameter, "labware", enough, whole=True, need=need))
        else:
            plain_refills[slot.parameter] = len(plain)
            plain.append(_Slot(slot.parameter, "labware", spare, whole=True, need=need))
        if spare:
            eager_refills[slot.parameter] = len(eager)
            eager.append(_Slot(slot.parameter, "labware", spare, whole=True, need=need))
        else:
            eager.append(plain[-1])
    variants = [(plain, plain_refills)]
    if eager_refills != plain_refills:
        variants.append((eager, eager_refills))
    return variants, None


@dataclass
class _Shape:
    """A job's segments once ``count`` refills come first, with what does not depend on the workcell."""

    durations: list[float]
    kinds: list[str]
    labels: list[str]
    links: list[list[tuple[int, float, float, float]]]
    pauses: list[int]
    offsets: list[float]
    span: float
    tail: list[_Slot]  # operators for the manual steps, then the lab


def _shape_of(compiled: Compiled, job: _Job, refills: dict[str, int]) -> _Shape:
    count = len(refills)
    key = tuple(refills)
    cached = job.shapes.get(key)
    if cached is not None:
        return cached
    durations = [compiled.problem.refill_s] * count + job.durations
    kinds = ["refill"] * count + job.kinds
    tail = []
    if compiled.operators is not None:
        for index, kind in enumerate(kinds):
            if kind != "run":
                tail.append(_Slot(kind, "operator", compiled.operators, index - count, 0.0, index - count, math.inf))
    if LAB in compiled.calendars:
        tail.append(_Slot("lab", "lab", [LAB], whole=True, exclusive=False))
    shape = _Shape(durations, kinds, [f"refill {parameter}" for parameter in refills] + job.labels,
                   [[] for _ in range(count)] + [[(source + count, at, low, high) for source, at, low, high in into]
                                                 for into in job.links],
                   [p + count for p in job.pauses], _starts(0.0, durations, [0.0] * len(durations)),
                   sum(durations), tail)
    job.shapes[key] = shape
    return shape


def _assemble(compiled: Compiled, job: _Job, option: _Option, labware_slots: list[_Slot],
              refills: dict[str, int]) -> _Try:
    """The run laid out on one workcell: its slots and, when rigid, every hold from its start."""
    if not job.counted and option.attempt is not None:
        return option.attempt  # type: ignore[no-any-return]
    shape = _shape_of(compiled, job, refills)
    count = len(refills)
    slots = option.machine_slots + labware_slots
    matched = len(slots)
    slots += shape.tail
    attempt = _Try(shape.durations, shape.kinds, shape.labels, shape.links, shape.pauses, slots, matched,
                   refills, shape.offsets, shape.span)
    if not shape.pauses:  # rigid: every hold is a fixed stretch from the start
        head = option.relative.get(count)
        if head is None:
            head = option.relative[count] = [_interval(slot, shape.offsets, attempt, count)
                                             for slot in option.machine_slots]
        attempt.relative = head + [(0.0, shape.span)] * len(labware_slots) + [
            _interval(slot, shape.offsets, attempt, count) for slot in shape.tail]
    if not job.counted:
        option.attempt = attempt
    return attempt


def _layout(compiled: Compiled, job: _Job, option: _Option, stock: dict[int, tuple[float, float]],
            refilled: set[int]) -> _Try | Infeasible:
    """The plain layout on one workcell, or why the run would run short."""
    variants, short = _labware_variants(job, stock, refilled)
    if short is not None:
        return _short(compiled, job, short, stock)
    return _assemble(compiled, job, option, *variants[0])


def _has(left: tuple[float, float] | None, need: ConsumableNeed) -> bool:
    if left is None:
        return True
    return left[0] >= need.tips - 1e-9 and left[1] >= need.volume_ul - 1e-9


def _short(compiled: Compiled, job: _Job, slot: _Slot, stock: dict[int, tuple[float, float]]) -> Infeasible:
    need = slot.need
    assert need is not None
    request, candidates, refills = job.request.id, slot.candidates, job.refills.get(slot.parameter, [])
    left = []
    for asset in candidates[:4]:
        tips, volume = stock.get(asset, (math.inf, math.inf))
        amount = (f"{tips:g} tips" if need.tips else "") + (" and " if need.tips and need.volume_ul else "") + (
            f"{volume:g} uL" if need.volume_ul else "")
        left.append(f"{compiled.names.get(asset, asset)!r} has {amount} left")
    more = f" (and {len(candidates) - 4} more)" if len(candidates) > 4 else ""
    refill = ("every refill in the inventory is used or too small" if refills
              else "the inventory has no refill for it")
    return Infeasible(request, "stock", need.parameter,
                      f"would run short: needs {need.amount()} from {need.describe()} for "
                      f"{need.parameter!r}, but " + ("; ".join(left) + more if left else "no item is left")
                      + f"; {refill}")


def decode(compiled: Compiled, order: list[int], method: str = "heuristic", *,
           resume: DecodeState | None = None, record: list[DecodeState] | None = None,
           every: int = 25, light: bool = False, pins: dict[int, int] | None = None,
           keep_whole: bool = False) -> Schedule:
    """Place the jobs in ``order`` one by one, each at its earliest finish over its workcells.

    ``resume`` continues from a state recorded for an order sharing this one's prefix;
    ``record`` collects a state every ``every`` positions (the optimiser's checkpoints);
    ``light`` placements carry only their times (a search decodes the winner again in full);
    ``pins`` keeps a job (by index) to one of its workcell options, where the earliest finish
    alone would not balance the workcells; ``keep_whole``: see ``_labware_variants``."""
    if resume is None:
        resume = DecodeState(0, compiled.calendars, [], list(compiled.static_infeasible),
                             dict(compiled.stock), frozenset())
    calendars = {asset: calendar.copy() for asset, calendar in resume.calendars.items()}
    placements = resume.placements[:]
    infeasible = resume.infeasible[:]
    stock = dict(resume.stock)
    refilled = set(resume.refilled)
    for position in range(resume.position, len(order)):
        if record is not None and position % every == 0 and not (record and record[-1].position == position):
            record.append(DecodeState(position, {a: c.copy() for a, c in calendars.items()},
                                      placements[:], infeasible[:], dict(stock), frozenset(refilled)))
        job = compiled.jobs[order[position]]
        pin = pins.get(order[position]) if pins else None
        outcome = _place(compiled, job, calendars, stock, refilled, light,
                         None if pin is None else job.options[pin:pin + 1], keep_whole)
        if isinstance(outcome, Infeasible):
            infeasible.append(outcome)
        else:
            placements.append(outcome)
    return Schedule(compiled.problem.origin, placements, infeasible, method,
                    order=[compiled.jobs[i].request.id for i in order])


def _place(compiled: Compiled, job: _Job, calendars: dict[Hashable, Calendar],
           stock: dict[int, tuple[float, float]], refilled: set[int],
           light: bool = False, options: list[_Option] | None = None,
           keep_whole: bool = False) -> Placement | Infeasible:
    best: tuple[_Found, _Option, _Try, float] | None = None
    late: list[tuple[Hashable, int]] = []
    shortage: Infeasible | None = None
    # A run with refills at hand may also take one when that starts it sooner than waiting for a
    # busy item with stock left (the plain layout wins a tie: refills are kept for shortages).
    variants, short = _labware_variants(job, stock, refilled, keep_whole)
    if short is not None:
        return _short(compiled, job, short, stock)
    for refill, (labware_slots, refills) in enumerate(variants):
        for option in options or job.options:
            attempt = _assemble(compiled, job, option, labware_slots, refills)
            shift = len(attempt.refilled)
            # Equal starts tie: allow the bound to admit them so the less wanted machines can win.
            bound = (best[0].start + (-1e-9 if refill else 1e-9)) if best is not None else math.inf
            found = _earliest(job, attempt, calendars, bound, shift)
            if found is None:
                continue
            if found.why:
                if found.why == "links":
                    shortage = Infeasible(job.request.id, "timelink", "time links",
                                          "its time links cannot all hold: the minimum waits break a maximum")
                elif found.why == "crowded":
                    names = ", ".join(repr(slot.parameter) for slot in labware_slots)
                    shortage = Infeasible(job.request.id, "stock", names,
                                          f"its labware needs {names} want distinct items, and too few have "
                                          "enough left for all of them")
                else:
                    late.extend(found.late)
                    shortage = shortage or _deadline_reason(compiled, job, found.late, calendars)
                continue
            demand = sum(option.demand.get(a, 0.0) for a in found.chosen[:len(option.machine_slots)]
                         if isinstance(a, int))
            if best is None or found.start < best[0].start - 1e-9 or (
                    not refill and found.start <= best[0].start + 1e-9 and demand < best[3]):
                best = (found, option, attempt, demand)
    if best is None:
        if late:
            return _deadline_reason(compiled, job, late, calendars)
        return shortage or _deadline_reason(compiled, job, [], calendars)
    found, option, attempt, _ = best
    return _commit(compiled, job, found, option, attempt, calendars, stock, refilled, light)


def _commit(compiled: Compiled, job: _Job, found: _Found, option: _Option, attempt: _Try,
            calendars: dict[Hashable, Calendar], stock: dict[int, tuple[float, float]],
            refilled: set[int], light: bool = False) -> Placement:
    shift = len(attempt.refilled)
    starts = found.starts
    end = starts[-1] + attempt.durations[-1]
    relative = attempt.relative
    if light:
        # The optimiser's search only needs the calendars, the stock and when the run ends.
        t = starts[0]
        for position, (slot, asset) in enumerate(zip(attempt.slots, found.chosen)):
            if slot.kind != "lab":
                begin, finish = ((t + relative[position][0], t + relative[position][1]) if relative is not None
                                 else _interval(slot, starts, attempt, shift))
                calendars.setdefault(asset, Calendar()).add(begin, finish, job.request.id)
                if slot.need is not None and slot.need.counted:
                    tips, volume = stock.get(asset, (math.inf, math.inf))  # type: ignore[call-overload]
                    stock[asset] = (tips - slot.need.tips, volume - slot.need.volume_ul)  # type: ignore[index]
                    if slot.parameter in attempt.refilled:
                        refilled.add(asset)  # type: ignore[arg-type]
        return Placement(job.request.id, option.workcell, starts[0], end, {}, {})
    holds, machines, consumables, drawn, costs, refills = [], {}, {}, {}, {}, {}
    operators_by_segment: dict[int, str] = {}
    for position, (slot, asset) in enumerate(zip(attempt.slots, found.chosen)):
        begin, finish = _interval(slot, starts, attempt, shift)
        if slot.kind == "lab":
            continue
        calendars.setdefault(asset, Calendar()).add(begin, finish, job.request.id)
        if slot.kind == "operator":
            operators_by_segment[slot.first + shift] = compiled.names[asset].removeprefix("operator ")
            continue
        assert isinstance(asset, int)
        holds.append(Hold(asset, begin, finish))
        if slot.kind == "machine":
            machines[slot.parameter] = asset
            continue
        consumables[slot.parameter] = asset
        need = slot.need
        assert need is not None
        item = compiled.labware.get(asset)
        if item is not None:
            costs[slot.parameter] = {"cost": round(item_cost(item, need), 6), "reason": cost_reason(item, need)}
        if need.counted:
            tips, volume = stock.get(asset, (math.inf, math.inf))
            stock[asset] = (tips - need.tips, volume - need.volume_ul)
            drawn[asset] = {"tips": need.tips, "volume_ul": need.volume_ul}
        if slot.parameter in attempt.refilled:
            refilled.add(asset)
            refills[slot.parameter] = asset
    segments = [PlacedSegment(kind, label, start, start + duration, operators_by_segment.get(index))
                for index, (kind, label, start, duration) in enumerate(
                    zip(attempt.kinds, attempt.labels, starts, attempt.durations))]
    return Placement(job.request.id, option.workcell, starts[0], end, machines, consumables, holds,
                     segments, drawn, refills, costs)


def _deadline_reason(compiled: Compiled, job: _Job, blockers: list[tuple[Hashable, int]],
                     calendars: dict[Hashable, Calendar]) -> Infeasible:
    held = []
    for asset, index in sorted(set(blockers), key=lambda pair: (str(pair[0]), pair[1])):
        calendar = calendars[asset]
        end = calendar.ends[index]
        until = ("for good" if math.isinf(end) else
                 "until " + (compiled.problem.origin + timedelta(seconds=end)).isoformat(timespec="seconds"))
        held.append(f"{compiled.names.get(asset, f'asset {asset}')!r} is held by {calendar.holders[index]} {until}")
    # Blocked only by closed hours or operators off shift: a calendar matter, not other runs.
    calendar_only = bool(blockers) and not any(isinstance(asset, int) for asset, _ in blockers)
    if job.request.deadline is None:
        return Infeasible(job.request.id, "calendar", "calendar",
                          "cannot be placed in any open time: " + ("; ".join(held[:4]) or
                                                                  "no window is long enough"))
    deadline = job.request.deadline.isoformat()
    return Infeasible(job.request.id, "calendar" if calendar_only else "deadline", "deadline",
                      f"cannot finish by its deadline {deadline}: " + ("; ".join(held[:4]) or
                                                                      "no workcell is free in time"))


def cost(schedule: Schedule, compiled: Compiled) -> float:
    """What the optimiser minimises: unplaced runs (weighted by priority) far above makespan,
    then a little weighted completion time so high-priority runs come early."""
    weights = {job.request.id: job.weight for job in compiled.jobs}
    unplaced = sum(weights.get(item.request, 0.0) for item in schedule.infeasible)
    completion = sum(weights[p.request] * p.end_s for p in schedule.placements)
    horizon = sum(job.span for job in compiled.jobs) + 1.0
    return unplaced * horizon * 10 + schedule.makespan_s + 1e-3 * completion / max(len(compiled.jobs), 1)


# ---- the problem as JSON (to solve it elsewhere: the page's worker, the bridge server) ------


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
