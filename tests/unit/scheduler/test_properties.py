"""Property tests over random lab days: never double-booked at machine-interval level, time links
held, stock never over-committed, calendars respected; reservations released on every ending."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")  # not among the wheels the Pyodide runner loads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from browser_runtime.inventory import InventoryStore
from browser_runtime.inventory.demo import seed_demo_inventory
from browser_runtime.scheduler import (
    Busy,
    ConsumableNeed,
    Labware,
    Machine,
    MachineNeed,
    Operator,
    OperatorBusy,
    Problem,
    RunRequest,
    ScheduleBook,
    Segment,
    SegmentLink,
    Timeline,
    Workcell,
    list_schedule,
    lower_bound,
    optimise,
)
from browser_runtime.scheduler.decoder import cost
from browser_runtime.scheduler.jobs import compile_problem

from .checks import check_schedule
from .conftest import NOW, Clock, lh_request

KINDS = {"liquid_handler": ["pipetting", "head96", "gripper"], "plate_reader": ["absorbance", "fluorescence"],
         "heater_shaker": ["shaking", "temperature"]}
kind_strategy = st.sampled_from(sorted(KINDS))


@st.composite
def timelines(draw, parameters, duration):
    """A timeline for ``duration`` seconds: 1-3 segments, each machine held inside it, links
    between segments whose windows the run without waits keeps."""
    count = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1, unique=True)))
    bounds = [0.0] + [duration * c / 100 for c in cuts] + [float(duration)]
    segments = tuple(Segment(b - a, f"s{i}") for i, (a, b) in enumerate(zip(bounds, bounds[1:])))
    machines = {}
    for name in parameters:
        if draw(st.booleans()):
            first = draw(st.integers(0, count - 1))
            last = draw(st.integers(first, count - 1))
            a = draw(st.floats(0, 1)) * segments[first].duration_s
            b = draw(st.floats(0, 1)) * segments[last].duration_s
            if first == last and b < a:
                a, b = b, a
            machines[name] = (first, a, last, b)
    links = []
    for target in range(1, count):
        if draw(st.booleans()):
            source = draw(st.integers(0, target - 1))
            at = draw(st.floats(0, 1)) * segments[source].duration_s
            natural = bounds[target] - (bounds[source] + at)
            low = draw(st.floats(0, 1)) * natural
            high = None if draw(st.booleans()) else natural + draw(st.integers(0, 900))
            links.append(SegmentLink(source, at, target, low, high, f"link into s{target}"))
    return Timeline(segments, machines, tuple(links))


def window(draw, start_min, span_min):
    start = draw(st.integers(*start_min))
    return NOW + timedelta(minutes=start), NOW + timedelta(minutes=start + draw(st.integers(*span_min)))


@st.composite
def problems(draw):
    """Random lab days: shared machines, timelines with time links, counted stock with refills
    and costs, manual steps, operator shifts and lab hours, outside holds."""
    next_id = iter(range(1, 10_000))
    workcells = []
    for index in range(draw(st.integers(1, 3))):
        machines = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(kind_strategy)
            capabilities = frozenset(draw(st.sets(st.sampled_from(KINDS[kind]))))
            machines.append(Machine(next(next_id), f"m{len(machines)}", kind, capabilities,
                                    draw(st.booleans()) or draw(st.booleans())))
        if workcells and draw(st.booleans()):  # a machine this workcell shares with the one before
            machines.append(draw(st.sampled_from(workcells[-1].machines)))
        workcells.append(Workcell(f"W{index}", tuple(machines)))
    labware = []
    for i in range(draw(st.integers(0, 6))):
        category = draw(st.sampled_from(["plate", "tip_rack", "trough"]))
        labware.append(Labware(
            next(next_id), f"item {i}", None, category, draw(st.booleans()) or draw(st.booleans()),
            tips=draw(st.sampled_from([None, 0, 40, 96])) if category == "tip_rack" else None,
            volume_ul=draw(st.sampled_from([None, 500.0, 5000.0])) if category == "trough" else None,
            cost=draw(st.sampled_from([0.0, 0.05, 2.0])), cost_unit=draw(st.sampled_from(["item", "tip", "uL"])),
            refill=category != "plate" and draw(st.integers(0, 3)) == 0))
    assets = [m.id for w in workcells for m in w.machines] + [item.id for item in labware]
    busy = []
    for _ in range(draw(st.integers(0, 3))):
        start, end = window(draw, (0, 120), (1, 60))
        busy.append(Busy(draw(st.sampled_from(assets)), start, end, "outside"))
    operators, taken, hours = None, [], None
    if draw(st.booleans()):
        operators = [Operator(name, tuple(window(draw, (-60, 240), (30, 600))
                                          for _ in range(draw(st.integers(0, 2)))))
                     for name in ["Ana", "Ben"][:draw(st.integers(1, 2))]]
        for _ in range(draw(st.integers(0, 2))):
            start, end = window(draw, (0, 120), (1, 30))
            taken.append(OperatorBusy(draw(st.sampled_from([o.name for o in operators])), start, end, "outside"))
    if draw(st.booleans()):
        hours = [window(draw, (-60, 600), (60, 900)) for _ in range(draw(st.integers(1, 2)))]
    requests = []
    for number in range(draw(st.integers(1, 10))):
        machines = tuple(
            MachineNeed(f"m{i}", kind, frozenset(draw(st.sets(st.sampled_from(KINDS[kind]), max_size=2))))
            for i, kind in enumerate(draw(st.lists(kind_strategy, min_size=0, max_size=2))))
        consumables = []
        for i in range(draw(st.integers(0, 2))):
            if labware and draw(st.integers(0, 3)) == 0:
                consumables.append(ConsumableNeed(f"c{i}", asset_id=draw(st.sampled_from(labware)).id))
            else:
                category = draw(st.sampled_from(["plate", "tip_rack", "trough"]))
                consumables.append(ConsumableNeed(
                    f"c{i}", category=category, tips=draw(st.sampled_from([0, 8, 40, 96])) if category == "tip_rack" else 0,
                    volume_ul=draw(st.sampled_from([0.0, 400.0, 3000.0])) if category == "trough" else 0.0))
        duration = draw(st.integers(1, 90)) * 60
        timeline = draw(timelines([m.parameter for m in machines], duration)) if draw(st.booleans()) else None
        earliest = draw(st.integers(0, 120))
        deadline = draw(st.one_of(st.none(), st.integers(1, 600)))
        requests.append(RunRequest(
            f"r{number}", "p", duration, machines, tuple(consumables), priority=draw(st.integers(0, 3)),
            earliest_start=NOW + timedelta(minutes=earliest),
            deadline=NOW + timedelta(minutes=earliest) + timedelta(seconds=duration + deadline * 30)
            if deadline else None,
            workcell=draw(st.one_of(st.none(), st.sampled_from([w.name for w in workcells]))),
            timeline=timeline, load_s=draw(st.sampled_from([0.0, 0.0, 120.0])),
            unload_s=draw(st.sampled_from([0.0, 0.0, 60.0]))))
    return Problem(NOW, workcells, requests, labware, busy, operators, taken, hours)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems())
def test_every_scheduler_keeps_machines_stock_links_and_calendars(problem):
    """No double booking at machine-interval level, time links held, consumables never
    over-committed, operator calendar and lab hours respected; the optimiser never worse."""
    heuristic = list_schedule(problem)
    check_schedule(problem, heuristic)
    optimised = optimise(problem, seed=0, iterations=15)
    check_schedule(problem, optimised)
    compiled = compile_problem(problem)
    assert cost(optimised, compiled) <= cost(heuristic, compiled) + 1e-6
    placed = [p.request for p in heuristic.placements]
    assert lower_bound(compiled, placed) <= heuristic.makespan_s + 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems())
def test_the_exact_solver_keeps_them_too_and_never_loses_to_the_heuristic(problem):
    pytest.importorskip("ortools")  # the bridge server's solver; there is no Pyodide build
    from browser_runtime.scheduler.exact import solve

    exact = solve(problem, time_limit_s=5, workers=2)
    check_schedule(problem, exact, resolution=1.0)
    compiled = compile_problem(problem)
    heuristic = list_schedule(problem)
    assert len(exact.infeasible) <= len(heuristic.infeasible) or exact.method == "exact"
    weights = {job.request.id: job.weight for job in compiled.jobs}
    unplaced = (sum(weights.get(i.request, 0) for i in exact.infeasible),
                sum(weights.get(i.request, 0) for i in heuristic.infeasible))
    assert unplaced[0] <= unplaced[1] + 1e-9
    if unplaced[0] == unplaced[1]:
        # Rounded up to whole seconds per segment, the exact makespan may exceed by that much.
        slack = sum(len(r.timeline.segments) if r.timeline else 1 for r in problem.requests) + 4
        assert exact.makespan_s <= heuristic.makespan_s + slack
    if exact.proven_optimal:
        assert exact.lower_bound_s == pytest.approx(exact.makespan_s)
    assert exact.lower_bound_s is None or exact.lower_bound_s <= exact.makespan_s + 1e-6


ENDINGS = ["finish", "fail", "cancel", "cancel-running", "stale", "open"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(1, 60), st.sampled_from(ENDINGS)), min_size=1, max_size=8))
def test_reservations_are_released_on_every_ending(plr_catalog, runs):
    with tempfile.TemporaryDirectory() as folder:
        inventory = InventoryStore(Path(folder) / "inventory.sqlite")
        seed_demo_inventory(inventory)
        clock = Clock()
        book = ScheduleBook(inventory, catalog=plr_catalog, heartbeat_ttl=60, clock=clock)
        machines = [a.id for a in inventory.assets(kind="machine") if a.machine_kind == "liquid_handler"]
        book.add_workcell("A", machines[:1])
        book.add_workcell("B", machines[1:])
        book.submit([lh_request(f"r{i}", minutes) for i, (minutes, _) in enumerate(runs)])
        held = [r for r in book.reservations() if r["status"] == "held"]
        by_asset = {}
        for reservation in held:
            by_asset.setdefault(reservation["asset_id"], []).append((reservation["starts_at"], reservation["ends_at"]))
        for spans in by_asset.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        endings = {f"r{i}": ending for i, (_, ending) in enumerate(runs)}
        for run in sorted(book.runs(), key=lambda r: (r["starts_at"] or "", r["id"])):
            run_id, ending = run["id"], endings[run["id"]]
            if book.run(run_id)["status"] != "scheduled":
                continue
            if ending in ("finish", "fail", "cancel-running", "stale"):
                # Each run starts when the schedule says (run now is refused while another holds it).
                clock.now = max(clock.now, datetime.fromisoformat(run["starts_at"]))
                book.start(run_id)
                assert {r["status"] for r in book.reservations(run_id=run_id)} == {"active"}
            if ending == "finish":
                book.finish(run_id)
            elif ending == "fail":
                book.finish(run_id, "failed", "broke")
            elif ending in ("cancel", "cancel-running"):
                book.cancel(run_id)
        clock.now = max(clock.now, NOW) + timedelta(hours=1)
        book.release_stale()  # the runs left running never sent a heartbeat
        for run in book.runs():
            reservations = book.reservations(run_id=run["id"])
            if run["status"] in ("completed", "failed", "cancelled", "stale"):
                assert reservations and {r["status"] for r in reservations} == {"released"}
            else:
                assert run["status"] == "scheduled" and {r["status"] for r in reservations} == {"held"}
        inventory.close()
