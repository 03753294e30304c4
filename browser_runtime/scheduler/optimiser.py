"""Resource-constrained optimiser: simulated annealing over the order the decoder places runs in.

It starts from the best of the list heuristic's orders and keeps the best schedule seen, so it
is never worse than the heuristic. Moves: pull a run that ends last (on the critical path) to an
earlier place in the order, swap two runs, or move one run elsewhere. A worse order is kept
with probability exp(-delta / T) while T cools geometrically. The random generator is seeded:
the same problem, seed and iteration count give the same schedule.
"""

from __future__ import annotations

import math
import random
import time

from browser_runtime.scheduler.decoder import DecodeState, cost, decode
from browser_runtime.scheduler.heuristic import best_start
from browser_runtime.scheduler.jobs import compile_problem
from browser_runtime.scheduler.placement import Problem, Schedule

DEFAULT_ITERATIONS = 400


def _neighbour(order: list[int], schedule: Schedule, position: dict[str, int],
               rng: random.Random) -> tuple[list[int], int]:
    """A changed order and the first position where it differs. Moves stay within a quarter of
    the order (a run moved far changes everything after it, which costs a long re-decode and
    rarely pays); a run that did not fit may jump anywhere earlier."""
    candidate = order[:]
    size = len(candidate)
    reach = max(4, size // 4)
    move = rng.random()
    if move < 0.5 and schedule.placements:
        # A run among the last to end: place it earlier in the order so it may start sooner.
        latest = sorted(schedule.placements, key=lambda p: -p.end_s)[: max(1, size // 20)]
        source = position[rng.choice(latest).request]
        target = rng.randrange(max(0, source - reach), source + 1)
    elif move < 0.5 + 0.25 and schedule.infeasible and any(i.request in position for i in schedule.infeasible):
        # A run that did not fit (its deadline, stock): try it earlier.
        placeable = [item.request for item in schedule.infeasible if item.request in position]
        source = position[rng.choice(placeable)]
        target = rng.randrange(0, source + 1)
    else:
        source = rng.randrange(size)
        target = rng.randrange(max(0, source - reach), min(size, source + reach + 1))
        if rng.random() < 0.5:
            candidate[source], candidate[target] = candidate[target], candidate[source]
            return candidate, min(source, target)
    candidate.insert(target, candidate.pop(source))
    return candidate, min(source, target)


def optimise(problem: Problem, *, seed: int = 0, iterations: int = DEFAULT_ITERATIONS,
             initial_temperature: float | None = None) -> Schedule:
    """The best schedule found in ``iterations`` annealing steps from the heuristic's order."""
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative integer, not {iterations!r}")
    started = time.perf_counter()
    compiled = compile_problem(problem)
    index_of = {job.request.id: index for index, job in enumerate(compiled.jobs)}
    rng = random.Random(seed)
    order, keep_whole, _ = best_start(compiled)
    start_order = order[:]
    checkpoints: list[DecodeState] = []
    current = decode(compiled, order, "optimiser", record=checkpoints, light=True, keep_whole=keep_whole)
    current_cost = cost(current, compiled)
    best, best_cost = current, current_cost
    if len(order) > 1 and iterations:
        temperature = initial_temperature or max(0.02 * current.makespan_s, 1.0)
        cooling = (1e-3) ** (1.0 / iterations)  # ends at a thousandth of the start
        for _ in range(iterations):
            position = {compiled.jobs[index].request.id: place for place, index in enumerate(order)}
            candidate_order, changed = _neighbour(order, current, position, rng)
            # Decoding resumes from the last checkpoint before the first changed position.
            kept = [state for state in checkpoints if state.position <= changed]
            candidate_checkpoints = kept[:]
            candidate = decode(compiled, candidate_order, "optimiser", resume=kept[-1] if kept else None,
                               record=candidate_checkpoints, light=True, keep_whole=keep_whole)
            candidate_cost = cost(candidate, compiled)
            delta = candidate_cost - current_cost
            if delta <= 0 or rng.random() < math.exp(-delta / temperature):
                order, current, current_cost = candidate_order, candidate, candidate_cost
                checkpoints = candidate_checkpoints
                if current_cost < best_cost:
                    best, best_cost = current, current_cost
            temperature *= cooling
    best = decode(compiled, [index_of[request] for request in best.order], "optimiser", keep_whole=keep_whole)
    # The moves were judged on light decodes; the full decode of the start (the heuristic's
    # schedule) is the floor: the optimiser never answers worse than the heuristic.
    start = decode(compiled, start_order, "optimiser", keep_whole=keep_whole)
    if cost(start, compiled) < cost(best, compiled) - 1e-9:
        best = start
    best.compute_s = time.perf_counter() - started
    return best
