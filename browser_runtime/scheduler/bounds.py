"""Lower bounds on the makespan: no schedule of these runs can end sooner, so a schedule's gap is known.

Cheap and always valid (pure Python, the page uses it for every schedule it shows):

- a run cannot end before its earliest start plus its own span;
- a pool of interchangeable assets (the candidates of some need) must carry every hold that
  can only go there: whatever the order, the pool's last hold ends no sooner than the first
  such hold can start plus their total length spread over the pool, and its run goes on at
  least the shortest remaining tail after that;
- the same for the operators and the manual steps.

Outside holds, calendars and time links only push schedules later, so leaving them out keeps
the bound valid. The exact solver (``exact.py``) reports its own, tighter bound.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

from browser_runtime.scheduler.decoder import Layout, hold_interval, plain_layout
from browser_runtime.scheduler.jobs import Compiled, Slot


def lower_bound(compiled: Compiled, only: Iterable[str] | None = None) -> float:
    """Seconds from the origin before which the last of the runs (``only`` these ids, if
    given) cannot end in any schedule that places them all."""
    wanted = set(only) if only is not None else None
    jobs = [job for job in compiled.jobs if wanted is None or job.request.id in wanted]
    if not jobs:
        return 0.0
    bound = max(job.release + job.span for job in jobs)
    # Per pool of candidates: (earliest a hold can start, total length, shortest tail after).
    pools: dict[frozenset[Hashable], list[tuple[float, float, float]]] = {}
    for job in jobs:
        layout = plain_layout(compiled, job, job.options[0], compiled.stock, set())
        if not isinstance(layout, Layout):
            continue
        holds: dict[str, tuple[Slot, set[Hashable]]] = {}
        for option in job.options:
            for slot in option.machine_slots:
                entry = holds.setdefault(slot.parameter, (slot, set()))
                entry[1].update(slot.candidates)
        for slot in layout.slots:
            if slot.kind == "labware":
                entry = holds.setdefault(slot.parameter, (slot, set()))
                entry[1].update(slot.candidates)
                entry[1].update(job.refills.get(slot.parameter, []))
        offsets = layout.offsets
        for slot, candidates in holds.values():
            begin, finish = hold_interval(slot, offsets, layout, len(layout.refilled))
            if candidates:
                pools.setdefault(frozenset(candidates), []).append(
                    (job.release + begin, finish - begin, layout.span - finish))
        if compiled.operators:
            for index, kind in enumerate(layout.kinds):
                if kind != "run":
                    pools.setdefault(frozenset(compiled.operators), []).append(
                        (job.release + offsets[index], layout.durations[index],
                         layout.span - offsets[index] - layout.durations[index]))
    for pool in pools:
        carried = [hold for other, holds in pools.items() if other <= pool for hold in holds]
        start = min(hold[0] for hold in carried)
        work = sum(hold[1] for hold in carried)
        tail = min(hold[2] for hold in carried)
        bound = max(bound, start + work / len(pool) + tail)
    return bound if math.isfinite(bound) else 0.0
