"""List scheduling: runs in a priority order, each at its earliest finish on any workcell.

One order is rarely best for every lab day, so a few classic orders are each decoded (and,
when runs draw from stock, each both ways of handing it out) and the best schedule kept (the
same cost the optimiser minimises); every order puts higher priority first. The placing itself is :func:`decoder.decode`, shared with the optimiser: on a tie
between workcells it takes the machines fewer other runs could use, not the first listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from browser_runtime.scheduler.decoder import cost, decode
from browser_runtime.scheduler.jobs import Compiled, compile_problem
from browser_runtime.scheduler.placement import Problem, Schedule


def _bottleneck(compiled: Compiled) -> list[float]:
    """Per job: its longest machine hold weighted by how wanted that machine is."""
    scores = []
    for job in compiled.jobs:
        score = 0.0
        for option in job.options[:1]:
            for slot in option.machine_slots:
                wanted = max((option.demand.get(a, 0.0) for a in slot.candidates if isinstance(a, int)), default=0.0)
                score = max(score, wanted)
        scores.append(score)
    return scores


def orders(compiled: Compiled) -> list[list[int]]:
    """The candidate orders, distinct, the classic one first."""
    jobs = compiled.jobs
    bottleneck = _bottleneck(compiled)
    rules: list[Callable[[int], tuple]] = [
        # priority, earliest deadline, earliest start, longest run, id
        lambda i: (-jobs[i].request.priority, jobs[i].deadline, jobs[i].release, -jobs[i].span, jobs[i].request.id),
        # priority, deadline, then the longest run whatever its start (packs long runs first)
        lambda i: (-jobs[i].request.priority, jobs[i].deadline, -jobs[i].span, jobs[i].request.id),
        # priority, deadline, the runs on the most wanted machines first
        lambda i: (-jobs[i].request.priority, jobs[i].deadline, -bottleneck[i], -jobs[i].span, jobs[i].request.id),
        # priority, deadline, fewest workcells to choose from first, then the longest
        lambda i: (-jobs[i].request.priority, jobs[i].deadline, len(jobs[i].options), -jobs[i].span,
                   jobs[i].request.id),
        # priority, earliest start, latest possible finish slack (deadline - span) first
        lambda i: (-jobs[i].request.priority, jobs[i].release, jobs[i].deadline - jobs[i].span, jobs[i].request.id),
    ]
    found, seen = [], set()
    for rule in rules:
        order = sorted(range(len(jobs)), key=rule)
        key = tuple(order)
        if key not in seen:
            seen.add(key)
            found.append(order)
    return found


def best_start(compiled: Compiled) -> tuple[list[int], bool, float]:
    """The best (order, keep_whole, cost) of the candidate orders, each decoded both ways of
    handing out counted stock (``keep_whole`` only matters when some run draws from stock)."""
    ways = [False, True] if any(job.counted for job in compiled.jobs) else [False]
    best: tuple[list[int], bool, float] | None = None
    for order in orders(compiled):
        for keep_whole in ways:
            value = cost(decode(compiled, order, "heuristic", light=True, keep_whole=keep_whole), compiled)
            if best is None or value < best[2] - 1e-9:
                best = (order, keep_whole, value)
    return best if best is not None else ([], False, 0.0)


def list_schedule(problem: Problem) -> Schedule:
    started = time.perf_counter()
    compiled = compile_problem(problem)
    order, keep_whole, _ = best_start(compiled)
    schedule = decode(compiled, order, "heuristic", keep_whole=keep_whole)
    schedule.compute_s = time.perf_counter() - started
    return schedule
