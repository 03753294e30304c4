"""A problem compiled for placing: each run's segments, its candidate assets per need and workcell.

Compiled once and decoded many times (the optimiser's orders): the machines that fit a need
in each workcell (closest fit first), the labware that fits (cheapest first; for a counted
need the one with least left, so runs share a started rack), refill items, outside holds and
closed hours as calendars, and the runs that cannot be placed at all, with why.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from browser_runtime.scheduler.placement import Calendar, Infeasible, Problem, closed_outside
from browser_runtime.scheduler.requests import ConsumableNeed, MachineNeed, RunRequest
from browser_runtime.scheduler.workcells import Labware, Machine, Workcell

#: Calendar key of the lab's closed hours (blocks a run's whole span, shared by every run).
LAB = "lab"

@dataclass
class Slot:
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
class Option:
    """How a job could run on one workcell: its machine slots in preference order."""

    workcell: str
    machine_slots: list[Slot]
    demand: dict[int, float]  # machine -> how much other runs want it (the tie-break)
    attempt: Any = None  # the layout, once, when the run draws nothing from stock
    relative: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # refills -> machine holds


@dataclass
class Job:
    request: RunRequest
    release: float
    deadline: float
    durations: list[float]  # base segments: [load] + the run's segments + [unload]
    kinds: list[str]
    labels: list[str]
    links: list[list[tuple[int, float, float, float]]]  # into segment j: (source, at, min, max)
    pauses: list[int]  # segments the run may wait before (a time link's target)
    options: list[Option]
    labware_slots: list[Slot]
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
    jobs: list[Job]  # placeable ones; order indexes this list
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
        labware_slots: list[Slot] = []
        refills: dict[str, list[int]] = {}
        reason = None
        for need in request.consumables:
            candidates, refill, why = _consumable_candidates(need, problem.labware, labware_by_id)
            if not candidates and not refill:
                reason = Infeasible(request.id, "consumable", need.parameter,
                                    f"needs {need.describe()} for {need.parameter!r}: {why}")
                break
            labware_slots.append(Slot(need.parameter, "labware", candidates, whole=True, need=need))
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
        options: list[Option] = []
        if reason is None:
            workcells = [w for w in problem.workcells if request.workcell in (None, w.name)]
            if not workcells and request.workcell is None:
                reason = Infeasible(request.id, "workcell", "",
                                    "there is no workcell to run it on: make one of the lab's machines first")
            elif not workcells:
                reason = Infeasible(request.id, "workcell", request.workcell,
                                    f"is pinned to workcell {request.workcell!r}, which does not exist "
                                    f"(workcells: {', '.join(w.name for w in problem.workcells) or 'none'})")
            else:
                for workcell in workcells:
                    slots = [_machine_slot(need, workcell, request, len(durations), kinds)
                             for need in request.machines]
                    every = [s.candidates for s in slots] + [s.candidates or refills.get(s.parameter, [])
                                                             for s in labware_slots]
                    if all(every) and _match(every, lambda _n, _a: True) is not None:
                        options.append(Option(workcell.name, slots, demand))
                if not options:
                    reason = _machine_reason(request, workcells)
        if reason is not None:
            infeasible.append(reason)
            continue
        job = Job(request, release, deadline, durations, kinds, labels, links, pauses, options,
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
                  kinds: list[str]) -> Slot:
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
    return Slot(need.parameter, "machine", _machine_candidates(need, workcell), first, start, last, end)


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
