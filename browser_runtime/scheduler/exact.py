"""The exact scheduler: OR-Tools CP-SAT proves a schedule optimal or reports how far it may be.

CPython only (the bridge server): OR-Tools has no Pyodide build, so the page never imports
this module and keeps its own optimiser (``optimiser.py``). The model is the decoder's own
semantics, written as constraints: each run picks a workcell and, per need, one asset among
the same candidates; it holds each machine from its first to its last use, its labware for
its whole span, an operator for every manual step; segments follow each other with waits
only at pause points, within the time links; runs avoid closed hours, outside holds and one
another (one ``NoOverlap`` per asset); tips and volume drawn stay within each item's stock;
a refill item serves one run, after a refill step. Objective: place as many runs as
possible (by priority), then the smallest makespan, then the fewest refills.

Times are whole ticks of ``resolution_s`` (durations rounded up, so every hold still covers
its stretch): the schedule, its bound and its proof are for that rounding, which is the problem
itself when every duration is whole ticks (as in the benchmark); the page's estimates are not,
so there a proof holds to within a tick per segment. The heuristic's schedule is
given as a hint, so the solver starts from it; whatever it returns is checked against the
calendars again before it is handed out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from browser_runtime.scheduler.bounds import lower_bound
from browser_runtime.scheduler.heuristic import list_schedule
from browser_runtime.scheduler.jobs import (
    LAB,
    Compiled,
    Job,
    Slot,
    compile_problem,
    cost_reason,
    item_cost,
)
from browser_runtime.scheduler.placement import (
    Calendar,
    Hold,
    Infeasible,
    PlacedSegment,
    Placement,
    Problem,
    Schedule,
)

DEFAULT_RESOLUTION_S = 1.0


class ExactSolverMissing(RuntimeError):
    """OR-Tools is not installed here (the page, or a server set up without it)."""


def _cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model
    except ImportError:  # the page (Pyodide) has no OR-Tools build
        raise ExactSolverMissing(
            "the exact solver needs OR-Tools (ortools), which runs on the bridge server only; "
            "use method 'optimiser' here, or plan on the server") from None
    return cp_model


@dataclass
class _Run:
    """One job's variables."""

    job: Job
    present: Any
    options: list[Any]  # option bools
    starts: list[Any]  # base segment starts (ticks)
    durations: list[int]
    begin: Any  # span start, refills included
    end: Any
    slots: dict[str, tuple[Slot, dict[Hashable, Any]]]  # parameter -> (slot, asset -> bool)
    operators: list[tuple[int, dict[Hashable, Any]]]  # (base segment, operator -> bool) per manual step
    refills: list[tuple[str, Any, Any, dict[Hashable, Any]]]  # (parameter, chosen bool, start, operators)


def solve(problem: Problem, *, time_limit_s: float = 10.0, seed: int = 0, workers: int = 8,
          resolution_s: float = DEFAULT_RESOLUTION_S, hint: Schedule | None = None) -> Schedule:
    """The best schedule CP-SAT finds in ``time_limit_s`` (proven optimal when it says so), with
    its lower bound on the makespan."""
    cp_model = _cp_model()
    started = time.perf_counter()
    compiled = compile_problem(problem)
    hint = hint or list_schedule(problem)
    if not compiled.jobs:
        return Schedule(problem.origin, [], list(compiled.static_infeasible), "exact", time.perf_counter() - started,
                        lower_bound_s=0.0, proven_optimal=True)
    tick = resolution_s

    def up(seconds: float) -> int:
        return int(math.ceil(seconds / tick - 1e-9))

    def down(seconds: float) -> int:
        return int(math.floor(seconds / tick + 1e-9))

    model = cp_model.CpModel()
    refill_ticks = up(compiled.problem.refill_s)
    busy_end = max((end for c in compiled.calendars.values() for end in c.ends[-2:] if math.isfinite(end)),
                   default=0.0)
    horizon = up(max(j.release for j in compiled.jobs) + busy_end) + sum(
        up(j.span) + len(j.durations) + refill_ticks * len(j.refills) for j in compiled.jobs)
    horizon += sum(up(min(high, 86400.0)) for j in compiled.jobs for into in j.links for *_, high in into
                   if math.isfinite(high))
    everyone = len(hint.infeasible) == len(compiled.static_infeasible)  # the heuristic placed every run
    intervals: dict[Hashable, list[Any]] = {}
    runs: list[_Run] = []
    stock_terms: dict[Hashable, list[tuple[Any, float, float]]] = {}
    pools = _pools(compiled)
    pooled: dict[frozenset[Hashable], list[Any]] = {pool: [] for pool in set(pools.values())}
    for job in compiled.jobs:
        runs.append(_model_job(model, cp_model, compiled, job, horizon, up, down, refill_ticks, everyone,
                               intervals, stock_terms, pools, pooled))
    for pool, members in pooled.items():
        if len(members) > len(pool):
            model.add_cumulative(members, [1] * len(members), len(pool))
    # Outside holds, closed hours and shifts are fixed intervals in each asset's calendar.
    for key, calendar in compiled.calendars.items():
        if key == LAB or key not in intervals:
            continue
        for start, end in zip(calendar.starts, calendar.ends):
            lo, hi = down(max(start, 0.0)), up(min(end, horizon * tick))
            if hi > lo:
                intervals[key].append(model.new_interval_var(lo, hi - lo, hi, f"busy {key} {lo}"))
    for key, members in intervals.items():
        if len(members) > 1:
            model.add_no_overlap(members)
    if LAB in compiled.calendars:
        closed = [(down(max(a, 0.0)), up(min(b, horizon * tick))) for a, b in
                  zip(compiled.calendars[LAB].starts, compiled.calendars[LAB].ends)]
        closed = [model.new_interval_var(a, b - a, b, f"closed {a}") for a, b in closed if b > a]
        for run in runs:
            size = model.new_int_var(0, horizon, f"span {run.job.request.id}")
            model.add(size == run.end - run.begin)
            span = model.new_optional_interval_var(run.begin, size, run.end, run.present,
                                                   f"span {run.job.request.id}")
            model.add_no_overlap([span, *closed])
    for key, terms in stock_terms.items():
        tips, volume = compiled.stock.get(key, (math.inf, math.inf))  # type: ignore[arg-type]
        item = compiled.labware.get(key)  # type: ignore[arg-type]
        if item is not None and item.refill:
            model.add(sum(chosen for chosen, _, _ in terms) <= 1)
        if math.isfinite(tips) and any(t for _, t, _ in terms):
            model.add(sum(chosen * int(t) for chosen, t, _ in terms) <= int(tips))
        if math.isfinite(volume) and any(v for _, _, v in terms):
            # Volumes in whole uL, rounding each draw up: never over-committed.
            model.add(sum(chosen * int(math.ceil(v)) for chosen, _, v in terms) <= int(math.floor(volume)))
    makespan = model.new_int_var(0, horizon, "makespan")
    for run in runs:
        model.add(makespan >= run.end).only_enforce_if(run.present)
    refill_count = sum(chosen for run in runs for _, chosen, _, _ in run.refills)
    unplaced = sum((1 - run.present) * int(round(run.job.weight * 100)) for run in runs)
    scale = len(runs) * 4 + 1  # one tick of makespan outweighs every refill
    model.minimize(unplaced * (horizon + 1) * scale + makespan * scale + refill_count)
    _hint(model, compiled, runs, hint, tick)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_search_workers = max(1, int(workers))
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        fallback = hint
        fallback.method = "exact"
        fallback.compute_s = time.perf_counter() - started
        fallback.lower_bound_s = lower_bound(compiled, [p.request for p in fallback.placements])
        return fallback
    schedule = _schedule(compiled, runs, solver, tick)
    schedule.compute_s = time.perf_counter() - started
    schedule.proven_optimal = status == cp_model.OPTIMAL
    placed = [p.request for p in schedule.placements]
    cheap = lower_bound(compiled, placed)
    solver_bound = None
    if all(solver.value(run.present) for run in runs):
        solver_bound = (solver.best_objective_bound // scale) * tick
    schedule.lower_bound_s = max(cheap, solver_bound or 0.0)
    if schedule.proven_optimal:
        schedule.lower_bound_s = schedule.makespan_s
    _check(compiled, schedule)
    if _cost(schedule, compiled) > _cost(hint, compiled):
        # Out of time before it beat the heuristic (or beaten by rounding): hand out the better
        # one. Its bound is the solver's only when rounding changed nothing.
        whole = _whole_ticks(compiled, tick)
        hint.method, hint.compute_s = "exact", schedule.compute_s
        hint.lower_bound_s = max(cheap, solver_bound or 0.0) if whole else cheap
        hint.proven_optimal = whole and schedule.proven_optimal and hint.makespan_s <= schedule.makespan_s
        return hint
    return schedule


def _whole_ticks(compiled: Compiled, tick: float) -> bool:
    """Whether every duration, hold and link of the problem is a whole number of ticks (then
    the rounded model is the problem itself, and its bound and proof hold for it)."""
    def whole(value: float) -> bool:
        return not math.isfinite(value) or abs(value / tick - round(value / tick)) < 1e-9

    for job in compiled.jobs:
        values = [*job.durations, job.release, compiled.problem.refill_s]
        values += [v for into in job.links for _, at, low, high in into for v in (at, low, high)]
        values += [v for option in job.options for slot in option.machine_slots for v in (slot.start, slot.end)]
        if not all(whole(v) for v in values):
            return False
    return True


def _cost(schedule: Schedule, compiled: Compiled) -> tuple[float, float]:
    weights = {job.request.id: job.weight for job in compiled.jobs}
    return (sum(weights.get(i.request, 0.0) for i in schedule.infeasible), schedule.makespan_s)


def _pools(compiled: Compiled) -> dict[tuple[str, str], frozenset[Hashable]]:
    """Labware needs whose candidates are a pool of interchangeable items: the same set for every
    need that can use any of them, none counted, pinned or held outside. Such a need takes "one
    of the pool" (a cumulative constraint, items handed out afterwards) instead of a choice per
    item: the solver does not explore which of five identical plates goes where."""
    sets: dict[Hashable, set[frozenset[Hashable]]] = {}
    slots = []
    for job in compiled.jobs:
        for slot in job.labware_slots:
            members = frozenset([*slot.candidates, *job.refills.get(slot.parameter, [])])
            slots.append((job.request.id, slot, members))
            for asset in members:
                sets.setdefault(asset, set()).add(members)
    def counted(asset: Hashable, need: Any) -> bool:  # its stock can run out for this need
        tips, volume = compiled.stock.get(asset, (math.inf, math.inf))  # type: ignore[arg-type]
        item = compiled.labware.get(asset)  # type: ignore[arg-type]
        return bool((item is not None and item.refill) or (need.tips and math.isfinite(tips))
                    or (need.volume_ul and math.isfinite(volume)))

    spoiled = {asset for _, slot, members in slots if slot.need is not None and slot.need.counted
               for asset in members if counted(asset, slot.need)}
    spoiled |= {asset for asset, calendar in compiled.calendars.items() if calendar.starts}
    spoiled |= {asset for asset, item in compiled.labware.items() if item.refill}  # one run each
    found = {}
    for run, slot, members in slots:
        if len(members) > 1 and all(sets[a] == {members} for a in members) and not members & spoiled:
            found[(run, slot.parameter)] = members
    return found


def _model_job(model: Any, cp_model: Any, compiled: Compiled, job: Job, horizon: int, up: Any, down: Any,
               refill_ticks: int, everyone: bool, intervals: dict[Hashable, list[Any]],
               stock_terms: dict[Hashable, list[tuple[Any, float, float]]],
               pools: dict[tuple[str, str], frozenset[Hashable]],
               pooled: dict[frozenset[Hashable], list[Any]]) -> _Run:
    name = job.request.id
    present = model.new_constant(1) if everyone else model.new_bool_var(f"{name} placed")
    options = [model.new_bool_var(f"{name} on {o.workcell}") for o in job.options]
    model.add(sum(options) == present)
    durations = [max(1, up(d)) for d in job.durations]
    starts = [model.new_int_var(0, horizon, f"{name} s{k}") for k in range(len(durations))]
    pauses = set(job.pauses)
    for k in range(1, len(durations)):
        if k in pauses:
            model.add(starts[k] >= starts[k - 1] + durations[k - 1])
        else:
            model.add(starts[k] == starts[k - 1] + durations[k - 1])
    for target in job.pauses:
        for source, at, low, high in job.links[target]:
            offset = up(at)
            natural = sum(durations[source:target]) - offset  # the gap with no wait, in ticks
            model.add(starts[target] - starts[source] - offset >= min(up(low), natural))
            if math.isfinite(high):
                model.add(starts[target] - starts[source] - offset <= max(down(high), natural))
    end = model.new_int_var(0, horizon, f"{name} end")
    model.add(end == starts[-1] + durations[-1])
    if math.isfinite(job.deadline):
        model.add(end <= max(0, down(job.deadline))).only_enforce_if(present)

    slots: dict[str, tuple[Slot, dict[Hashable, Any]]] = {}
    chosen_by_asset: dict[Hashable, list[Any]] = {}
    # Machines: one per need among the chosen workcell's candidates.
    for slot_index, slot in enumerate(job.options[0].machine_slots):
        pool: dict[Hashable, list[Any]] = {}
        for option, flag in zip(job.options, options):
            for asset in option.machine_slots[slot_index].candidates:
                pool.setdefault(asset, []).append(flag)
        picks = {}
        for asset, flags in pool.items():
            pick = model.new_bool_var(f"{name} {slot.parameter}={asset}")
            model.add(pick <= sum(flags))
            picks[asset] = pick
            chosen_by_asset.setdefault(asset, []).append(pick)
        model.add(sum(picks.values()) == present)
        slots[slot.parameter] = (slot, picks)
    # Labware, and the refills it may need (a refill step before the run, one after another).
    refills = []
    counted = [s for s in job.labware_slots if s.parameter in job.refills]
    refill_flags = []
    for slot in job.labware_slots:
        if (name, slot.parameter) in pools:
            slots[slot.parameter] = (slot, {})  # one of a pool: see the cumulative below
            continue
        picks = {}
        for asset in [*slot.candidates, *job.refills.get(slot.parameter, [])]:
            if asset in picks:
                continue
            pick = model.new_bool_var(f"{name} {slot.parameter}={asset}")
            picks[asset] = pick
            chosen_by_asset.setdefault(asset, []).append(pick)
            need = slot.need
            if need is not None and (need.counted or asset in job.refills.get(slot.parameter, ())):
                # Counted stock, and refill items (one run each) whatever the need draws.
                stock_terms.setdefault(asset, []).append((pick, float(need.tips), float(need.volume_ul)))
        model.add(sum(picks.values()) == present)
        slots[slot.parameter] = (slot, picks)
        if slot in counted:
            chosen = model.new_bool_var(f"{name} refills {slot.parameter}")
            model.add(chosen == sum(picks[a] for a in job.refills[slot.parameter]))
            refill_flags.append((slot.parameter, chosen))
    for asset, picks in chosen_by_asset.items():
        if len(picks) > 1:
            model.add(sum(picks) <= 1)  # two needs of one run never share an asset
    begin = model.new_int_var(0, horizon, f"{name} begin")
    model.add(begin == starts[0] - refill_ticks * sum(flag for _, flag in refill_flags))
    model.add(begin >= up(job.release))
    operators = compiled.operators
    for index, (parameter, flag) in enumerate(refill_flags):
        later = sum(f for _, f in refill_flags[index:])
        start = model.new_int_var(0, horizon, f"{name} refill {parameter}")
        model.add(start == starts[0] - refill_ticks * later)
        crew = _crew(model, name, f"refill {parameter}", operators, flag, start, refill_ticks, intervals)
        refills.append((parameter, flag, start, crew))

    # Holds: one optional interval per (need, candidate), in that asset's NoOverlap.
    for parameter, (slot, picks) in slots.items():
        if not picks:
            size = model.new_int_var(0, horizon, f"{name} {parameter} size")
            model.add(size == end - begin)
            pooled[pools[(name, parameter)]].append(
                model.new_optional_interval_var(begin, size, end, present, f"{name} {parameter}@pool"))
        for asset, pick in picks.items():
            if slot.whole:
                lo, hi = begin, end
            else:
                lo = starts[slot.first] + down(slot.start)
                last = len(durations) - 1 if slot.last is None else slot.last
                hi = starts[last] + (durations[last] if slot.end == math.inf else min(durations[last], up(slot.end)))
            size = model.new_int_var(0, horizon, f"{name} {parameter}@{asset} size")
            model.add(size == hi - lo)
            intervals.setdefault(asset, []).append(
                model.new_optional_interval_var(lo, size, hi, pick, f"{name} {parameter}@{asset}"))
    manual = []
    for k, kind in enumerate(job.kinds):
        if kind != "run":
            manual.append((k, _crew(model, name, kind, operators, present, starts[k], durations[k], intervals)))
    return _Run(job, present, options, starts, durations, begin, end, slots, manual, refills)


def _crew(model: Any, name: str, step: str, operators: list[Hashable] | None, needed: Any, start: Any,
          length: int, intervals: dict[Hashable, list[Any]]) -> dict[Hashable, Any]:
    """One operator for a manual step when ``needed`` (none when operators are not modelled)."""
    if operators is None:
        return {}
    picks = {}
    for operator in operators:
        pick = model.new_bool_var(f"{name} {step} by {operator}")
        picks[operator] = pick
        intervals.setdefault(operator, []).append(
            model.new_optional_interval_var(start, length, start + length, pick, f"{name} {step} {operator}"))
    model.add(sum(picks.values()) == needed)
    return picks


def _hint(model: Any, compiled: Compiled, runs: list[_Run], hint: Schedule, tick: float) -> None:
    """Start the search from the heuristic's schedule."""
    placed = {p.request: p for p in hint.placements}
    for run in runs:
        placement = placed.get(run.job.request.id)
        if placement is None:
            continue
        run_segments = [s for s in placement.segments if s.kind != "refill"]
        if len(run_segments) != len(run.starts):
            continue
        for variable, segment in zip(run.starts, run_segments):
            model.add_hint(variable, int(math.ceil(segment.start_s / tick - 1e-9)))
        for flag, option in zip(run.options, run.job.options):
            model.add_hint(flag, int(option.workcell == placement.workcell))
        chosen = {**placement.machines, **placement.consumables}
        for parameter, (_, picks) in run.slots.items():
            for asset, pick in picks.items():
                model.add_hint(pick, int(chosen.get(parameter) == asset))


def _pool_items(runs: list[_Run], solver: Any, tick: float) -> dict[tuple[str, str], Hashable]:
    """Hand out the items of each pool: by start, each hold takes an item free by then (the
    cumulative never lets more overlap than there are items, so one always is)."""
    wanted: dict[frozenset[Hashable], list[tuple[float, float, str, str]]] = {}
    for run in runs:
        if not solver.value(run.present):
            continue
        for parameter, (slot, picks) in run.slots.items():
            if not picks:
                members = frozenset([*slot.candidates, *run.job.refills.get(parameter, [])])
                wanted.setdefault(members, []).append((solver.value(run.begin) * tick, solver.value(run.end) * tick,
                                                       run.job.request.id, parameter))
    given = {}
    for members, holds in wanted.items():
        free_at = {asset: -math.inf for asset in sorted(members, key=str)}
        for begin, end, run_id, parameter in sorted(holds):
            asset = next(a for a, moment in free_at.items() if moment <= begin + 1e-9)
            free_at[asset] = end
            given[(run_id, parameter)] = asset
    return given


def _schedule(compiled: Compiled, runs: list[_Run], solver: Any, tick: float) -> Schedule:
    placements, infeasible = [], list(compiled.static_infeasible)
    pooled = _pool_items(runs, solver, tick)
    for run in runs:
        job = run.job
        if not solver.value(run.present):
            infeasible.append(Infeasible(job.request.id, "deadline", "deadline",
                                         "the exact solver found no place for it beside the others "
                                         "(deadlines, stock or calendars)"))
            continue
        workcell = next(o.workcell for o, flag in zip(job.options, run.options) if solver.value(flag))
        starts = [solver.value(v) * tick for v in run.starts]
        durations = [d * tick for d in run.durations]
        begin, end = solver.value(run.begin) * tick, solver.value(run.end) * tick
        machines, consumables, holds, drawn, costs, refills = {}, {}, [], {}, {}, {}
        for parameter, (slot, picks) in run.slots.items():
            asset = (next(a for a, pick in picks.items() if solver.value(pick)) if picks
                     else pooled[(job.request.id, parameter)])
            if slot.whole:
                lo, hi = begin, end
            else:
                last = len(durations) - 1 if slot.last is None else slot.last
                lo = starts[slot.first] + math.floor(slot.start / tick + 1e-9) * tick
                hi = starts[last] + (durations[last] if slot.end == math.inf else
                                     min(durations[last], math.ceil(slot.end / tick - 1e-9) * tick))
            holds.append(Hold(asset, lo, hi))  # type: ignore[arg-type]
            if slot.kind == "machine":
                machines[parameter] = asset
                continue
            consumables[parameter] = asset
            need = slot.need
            item = compiled.labware.get(asset)  # type: ignore[arg-type]
            if item is not None and need is not None:
                costs[parameter] = {"cost": round(item_cost(item, need), 6), "reason": cost_reason(item, need)}
                if need.counted:
                    drawn[asset] = {"tips": need.tips, "volume_ul": need.volume_ul}
            if parameter in job.refills and asset in job.refills[parameter]:
                refills[parameter] = asset
        segments = []
        for parameter, flag, start, crew in run.refills:
            if solver.value(flag):
                at = solver.value(start) * tick
                length = math.ceil(compiled.problem.refill_s / tick - 1e-9) * tick
                segments.append(PlacedSegment("refill", f"refill {parameter}", at, at + length,
                                              _who(compiled, crew, solver)))
        manual = dict(run.operators)
        for k, (kind, label) in enumerate(zip(job.kinds, job.labels)):
            segments.append(PlacedSegment(kind, label, starts[k], starts[k] + durations[k],
                                          _who(compiled, manual.get(k, {}), solver)))
        placements.append(Placement(job.request.id, workcell, begin, end, machines, consumables,  # type: ignore[arg-type]
                                    holds, segments, drawn, refills, costs))  # type: ignore[arg-type]
    placements.sort(key=lambda p: (p.start_s, p.request))
    return Schedule(compiled.problem.origin, placements, infeasible, "exact",
                    order=[p.request for p in placements])


def _who(compiled: Compiled, crew: dict[Hashable, Any], solver: Any) -> str | None:
    for operator, pick in crew.items():
        if solver.value(pick):
            return compiled.names[operator].removeprefix("operator ")
    return None


def _check(compiled: Compiled, schedule: Schedule) -> None:
    """The solver's schedule against every calendar again: never hand out a double booking."""
    calendars = {key: calendar.copy() for key, calendar in compiled.calendars.items() if key != LAB}
    for placement in schedule.placements:
        for hold in placement.holds:
            if hold.end_s > hold.start_s:
                calendars.setdefault(hold.asset_id, Calendar()).add(hold.start_s, hold.end_s, placement.request)
        for segment in placement.segments:
            if segment.operator is not None:
                key = ("operator", segment.operator)
                calendars.setdefault(key, Calendar()).add(segment.start_s, segment.end_s, placement.request)
