"""List scheduling: runs in priority order, each at its earliest finish on any workcell.

The order is highest priority first, then earliest deadline, earliest allowed start, longest
run (long runs placed early pack better), and id for a stable tie-break. The placing itself
is :func:`placement.decode`, shared with the optimiser.
"""

from __future__ import annotations

import time

from browser_runtime.scheduler.placement import Problem, Schedule, compile_problem, decode


def list_schedule(problem: Problem) -> Schedule:
    started = time.perf_counter()
    compiled = compile_problem(problem)
    schedule = decode(compiled, compiled.heuristic_order(), "heuristic")
    schedule.compute_s = time.perf_counter() - started
    return schedule
