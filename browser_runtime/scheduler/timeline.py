"""From a discrete-event estimate to the timeline the scheduler places: machine holds and pause points.

Each machine is held from the start of its first command to the end of its last one in the
protocol (``setup`` and ``stop`` around it are the runner's connection housekeeping, not use:
for a machine several runs share, the device broker keeps one connection). Holding the whole stretch,
not only the instants a command runs, is deliberate: between two commands a plate still sits
on the reader, a heater-shaker still shakes through the protocol's ``asyncio.sleep``. What
this frees is a machine before its first and after its last use: in the ELISA demo the
reader is free while the liquid handler carries the plate.

A run is split into segments where a time link ends (the start of a linked ``before``
call): there the runner may pause, within the link's window, so the scheduler may place the
rest of the run later. A ``before`` call that starts while another command of the run is
still going (concurrent branches) is no pause point; its link stays as the estimate has it.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from browser_runtime.scheduler.requests import RequestError, Segment, SegmentLink, Timeline

#: Backend commands that open and close a connection rather than use the machine.
HOUSEKEEPING = frozenset({"setup", "stop"})


def machine_holds(estimate: Any) -> dict[str, tuple[float, float]]:
    """Machine parameter -> (first command start, last command end), seconds from the run start,
    counting the commands the protocol itself gives (not the runner's setup and stop around it)."""
    holds: dict[str, tuple[float, float]] = {}
    opened = getattr(estimate, "protocol_start_s", 0.0)
    closed = getattr(estimate, "protocol_end_s", None)
    for span in estimate.commands:
        if span.command in HOUSEKEEPING or span.start_s < opened - 1e-9 or (
                closed is not None and span.start_s >= closed - 1e-9 and span.end_s > closed + 1e-9):
            continue
        first, last = holds.get(span.machine, (math.inf, -math.inf))
        holds[span.machine] = (min(first, span.start_s), max(last, span.end_s))
    for name in estimate.machine_kinds:
        holds.setdefault(name, (0.0, estimate.duration_s))  # never used: held throughout, to be safe
    return holds


def timeline_from_estimate(estimate: Any) -> Timeline:
    """The estimate's run as segments, machine holds and links. Raises ``RequestError`` when the
    protocol itself misses one of its time links (no schedule can mend that)."""
    missed = [check for check in estimate.links if check.missed]
    if missed:
        raise RequestError("the protocol misses its own time link: " + "; ".join(
            check.message() for check in missed[:3]))
    duration = estimate.duration_s
    busy = [(span.start_s, span.end_s) for span in estimate.commands]
    pauses: dict[float, list[Any]] = {}
    for check in estimate.links:
        moment = check.start_s
        if not 1e-6 < moment < duration - 1e-6:
            continue
        if any(start < moment - 1e-9 and end > moment + 1e-9 for start, end in busy):
            continue  # another branch is mid-command here: the run cannot pause
        pauses.setdefault(moment, []).append(check)
    starts = [0.0]
    labels = ["start"]
    for moment in sorted(pauses):
        if moment - starts[-1] > 1e-6:
            starts.append(moment)
            labels.append(pauses[moment][0].before)
        else:
            pauses[starts[-1]] = pauses.get(starts[-1], []) + pauses.pop(moment)
    ends = starts[1:] + [duration]
    segments = tuple(Segment(end - start, label) for start, end, label in zip(starts, ends, labels))

    def at_start(moment: float) -> tuple[int, float]:
        index = max(0, bisect.bisect_right(starts, moment + 1e-9) - 1)
        return index, min(max(0.0, moment - starts[index]), segments[index].duration_s)

    def at_end(moment: float) -> tuple[int, float]:
        index = max(0, bisect.bisect_left(starts, moment - 1e-9) - 1)
        return index, min(max(0.0, moment - starts[index]), segments[index].duration_s)

    machines = {}
    for name, (first, last) in machine_holds(estimate).items():
        segment_a, offset_a = at_start(first)
        segment_b, offset_b = at_end(last)
        segment_b, offset_b = max((segment_b, offset_b), (segment_a, offset_a))
        machines[name] = (segment_a, offset_a, segment_b, offset_b)
    links = []
    for target, moment in enumerate(starts):
        for check in pauses.get(moment, []) if target else []:
            source, at = at_end(check.reference_s)
            source = min(source, target - 1)
            links.append(SegmentLink(source, min(at, segments[source].duration_s), target, check.link.min_s,
                                     check.link.max_s, f"{check.before} after {check.after}"))
    return Timeline(segments, machines, tuple(links))
