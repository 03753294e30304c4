"""An independent check of a schedule against its problem: what the tests hold every scheduler to.

It reads only the problem and the placements (never the decoder's internals): every run
placed or explained once; machines of its workcell with the kind and capabilities asked;
no asset held twice at once (machine-interval level) nor over an outside hold; each machine
held wherever the run's timeline uses it; segments in order, waiting only where a time link
lets it and within the link; manual steps staffed by an operator on shift, never two at once;
runs inside the lab's hours; tips and volume never drawn beyond an item's stock; a refill
item serving one run, after a refill step.
"""

from __future__ import annotations

TOLERANCE = 1e-6
KINDS = ("machine", "capability", "consumable", "stock", "calendar", "deadline", "workcell", "timelink")


def seconds(problem, moment):
    return (moment - problem.origin).total_seconds()


def check_schedule(problem, schedule, *, resolution: float = 0.0):
    """Raise AssertionError with what is wrong. ``resolution``: the exact solver rounds
    durations up to whole ticks, so its segments may be that much longer."""
    requests = {r.id: r for r in problem.requests}
    outcome = [p.request for p in schedule.placements] + [i.request for i in schedule.infeasible]
    assert sorted(outcome) == sorted(requests), "every request placed or explained, once"
    for item in schedule.infeasible:
        assert item.kind in KINDS and item.message, item
    workcells = {w.name: w for w in problem.workcells}
    labware = {item.id: item for item in problem.labware}
    holds: dict[int, list[tuple[float, float, str]]] = {}
    for busy in problem.busy:
        holds.setdefault(busy.asset_id, []).append((seconds(problem, busy.starts_at), seconds(problem, busy.ends_at),
                                                    f"outside {busy.holder}"))
    operator_holds: dict[str, list[tuple[float, float, str]]] = {}
    for busy in problem.operator_busy:
        operator_holds.setdefault(busy.operator, []).append(
            (seconds(problem, busy.starts_at), seconds(problem, busy.ends_at), f"outside {busy.holder}"))
    drawn: dict[int, list[float]] = {}
    refill_users: dict[int, list[str]] = {}
    for placement in schedule.placements:
        request = requests[placement.request]
        where = f"run {request.id}"
        assert placement.start_s >= seconds(problem, request.earliest_start or problem.origin) - TOLERANCE, where
        if request.deadline:
            assert placement.end_s <= seconds(problem, request.deadline) + TOLERANCE, f"{where} past its deadline"
        if request.workcell:
            assert placement.workcell == request.workcell, where
        machines = {m.id: m for m in workcells[placement.workcell].machines}
        for need in request.machines:
            machine = machines[placement.machines[need.parameter]]  # KeyError: not in its workcell
            assert machine.available and machine.kind == need.kind and need.capabilities <= machine.capabilities
        for need in request.consumables:
            item = labware[placement.consumables[need.parameter]]
            assert item.available, f"{where}: {item.name} is not available"
            if need.asset_id is not None:
                assert item.id == need.asset_id
            else:
                assert need.category in (None, item.category) and need.type in (None, item.fqn), where
            if need.counted:
                entry = drawn.setdefault(item.id, [0.0, 0.0])
                entry[0] += need.tips
                entry[1] += need.volume_ul
            if item.refill:
                refill_users.setdefault(item.id, []).append(request.id)
                assert placement.refills.get(need.parameter) == item.id, f"{where} draws from refill {item.name}"
        assigned = placement.asset_ids()
        assert len(set(assigned)) == len(assigned), f"{where} uses one asset for two needs"
        by_asset = {}
        for hold in placement.hold_windows():
            assert hold.end_s >= hold.start_s - TOLERANCE
            by_asset.setdefault(hold.asset_id, []).append((hold.start_s, hold.end_s))
            holds.setdefault(hold.asset_id, []).append((hold.start_s, hold.end_s, request.id))
        segments = _check_segments(problem, request, placement, resolution)
        run_segments = [s for s in segments if s.kind == "run"]
        # Each machine is held wherever the timeline uses it; labware for the whole run.
        for need in request.machines:
            asset = placement.machines[need.parameter]
            if request.timeline is not None and need.parameter in request.timeline.machines:
                first, offset_a, last, offset_b = request.timeline.machines[need.parameter]
                use = (run_segments[first].start_s + offset_a, run_segments[last].start_s + offset_b)
            else:
                use = (run_segments[0].start_s, run_segments[-1].end_s)
            assert any(a <= use[0] + TOLERANCE and b >= use[1] - TOLERANCE for a, b in by_asset[asset]), \
                f"{where}: {need.parameter} not held through {use}"
        for need in request.consumables:
            asset = placement.consumables[need.parameter]
            assert any(a <= placement.start_s + TOLERANCE and b >= placement.end_s - TOLERANCE
                       for a, b in by_asset[asset]), f"{where}: {need.parameter} not held for the whole run"
        # Manual steps: an operator on shift.
        for segment in segments:
            if segment.kind == "run":
                continue
            if problem.operators is not None:
                assert segment.operator is not None, f"{where}: {segment.kind} has no operator"
                operator = next(o for o in problem.operators if o.name == segment.operator)
                assert any(seconds(problem, a) <= segment.start_s + TOLERANCE and
                           seconds(problem, b) >= segment.end_s - TOLERANCE for a, b in operator.shifts), \
                    f"{where}: {segment.operator} is off shift for the {segment.kind}"
                operator_holds.setdefault(segment.operator, []).append((segment.start_s, segment.end_s, request.id))
        if problem.lab_hours is not None:
            assert any(seconds(problem, a) <= placement.start_s + TOLERANCE and
                       seconds(problem, b) >= placement.end_s - TOLERANCE for a, b in problem.lab_hours), \
                f"{where} runs outside the lab's hours"
    for key, spans in [*holds.items(), *operator_holds.items()]:
        spans.sort()
        for (a0, a1, who_a), (b0, b1, who_b) in zip(spans, spans[1:]):
            if who_a.startswith("outside") and who_b.startswith("outside"):
                continue  # outside holds may overlap each other
            assert b0 >= a1 - TOLERANCE, f"{key} double-booked: {who_a} {a0}-{a1} and {who_b} {b0}-{b1}"
    for asset, (tips, volume) in drawn.items():
        item = labware[asset]
        assert item.tips is None or tips <= item.tips + TOLERANCE, f"{item.name}: {tips} tips drawn of {item.tips}"
        assert item.volume_ul is None or volume <= item.volume_ul + TOLERANCE, f"{item.name} over-drawn"
    for asset, users in refill_users.items():
        assert len(users) == 1, f"refill {labware[asset].name} serves {users}"


def _check_segments(problem, request, placement, resolution):
    segments = sorted(placement.segments, key=lambda s: s.start_s)
    kinds = [s.kind for s in segments]
    refills = kinds.count("refill")
    expected = ["refill"] * refills + (["load"] if request.load_s else []) + ["run"] * (
        len(request.timeline.segments) if request.timeline else 1) + (["unload"] if request.unload_s else [])
    assert kinds == expected, f"run {request.id}: segments {kinds}, not {expected}"
    assert refills == len(placement.refills)
    durations = [problem.refill_s] * refills + ([request.load_s] if request.load_s else []) + (
        [s.duration_s for s in request.timeline.segments] if request.timeline else [request.duration_s]) + (
        [request.unload_s] if request.unload_s else [])
    runs = [i for i, s in enumerate(segments) if s.kind == "run"]
    pauses = {runs[0] + link.target for link in (request.timeline.links if request.timeline else ())}
    for index, (segment, duration) in enumerate(zip(segments, durations)):
        length = segment.end_s - segment.start_s
        assert duration - TOLERANCE <= length <= duration + resolution + TOLERANCE, \
            f"run {request.id} segment {index} lasts {length}, not {duration}"
        if index:
            gap = segment.start_s - segments[index - 1].end_s
            assert gap >= -TOLERANCE, f"run {request.id}: segments overlap"
            if index not in pauses:
                assert gap <= resolution * (index + 1) + TOLERANCE, f"run {request.id} waits where it cannot pause"
    for link in request.timeline.links if request.timeline else ():
        source, target = segments[runs[0] + link.source], segments[runs[0] + link.target]
        gap = target.start_s - (source.start_s + link.at_s)
        assert gap >= link.min_s - TOLERANCE - resolution, f"run {request.id}: {link.label} too soon ({gap})"
        if link.max_s is not None:
            assert gap <= link.max_s + TOLERANCE + resolution, f"run {request.id}: {link.label} missed ({gap})"
    assert abs(placement.start_s - segments[0].start_s) < TOLERANCE
    assert abs(placement.end_s - segments[-1].end_s) < TOLERANCE
    return segments
