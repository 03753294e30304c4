"""Property tests: never double-booked, capabilities always met, reservations released on every ending."""

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
    Problem,
    RunRequest,
    ScheduleBook,
    Workcell,
    list_schedule,
    optimise,
)
from browser_runtime.scheduler.placement import compile_problem, cost

from .conftest import NOW, Clock, lh_request

KINDS = {"liquid_handler": ["pipetting", "head96", "gripper"], "plate_reader": ["absorbance", "fluorescence"],
         "heater_shaker": ["shaking", "temperature"]}
kind_strategy = st.sampled_from(sorted(KINDS))


@st.composite
def problems(draw):
    next_id = iter(range(1, 10_000))
    workcells = []
    for index in range(draw(st.integers(1, 3))):
        machines = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(kind_strategy)
            capabilities = frozenset(draw(st.sets(st.sampled_from(KINDS[kind]))))
            machines.append(Machine(next(next_id), f"m{len(machines)}", kind, capabilities,
                                    draw(st.booleans()) or draw(st.booleans())))
        workcells.append(Workcell(f"W{index}", tuple(machines)))
    labware = [Labware(next(next_id), f"item {i}", None, draw(st.sampled_from(["plate", "tip_rack"])),
                       draw(st.booleans()) or draw(st.booleans())) for i in range(draw(st.integers(0, 5)))]
    assets = [m.id for w in workcells for m in w.machines] + [item.id for item in labware]
    busy = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 120))
        busy.append(Busy(draw(st.sampled_from(assets)), NOW + timedelta(minutes=start),
                         NOW + timedelta(minutes=start + draw(st.integers(1, 60))), "outside"))
    requests = []
    for number in range(draw(st.integers(1, 12))):
        machines = tuple(
            MachineNeed(f"m{i}", kind, frozenset(draw(st.sets(st.sampled_from(KINDS[kind]), max_size=2))))
            for i, kind in enumerate(draw(st.lists(kind_strategy, min_size=0, max_size=2))))
        consumables = []
        for i in range(draw(st.integers(0, 2))):
            if labware and draw(st.booleans()):
                consumables.append(ConsumableNeed(f"c{i}", asset_id=draw(st.sampled_from(labware)).id))
            else:
                consumables.append(ConsumableNeed(f"c{i}", category=draw(st.sampled_from(["plate", "tip_rack"]))))
        duration = draw(st.integers(1, 90)) * 60
        earliest = draw(st.integers(0, 120))
        deadline = draw(st.one_of(st.none(), st.integers(1, 600)))
        requests.append(RunRequest(
            f"r{number}", "p", duration, machines, tuple(consumables), priority=draw(st.integers(0, 3)),
            earliest_start=NOW + timedelta(minutes=earliest),
            deadline=NOW + timedelta(minutes=earliest) + timedelta(seconds=duration + deadline * 30)
            if deadline else None,
            workcell=draw(st.one_of(st.none(), st.sampled_from([w.name for w in workcells])))))
    return Problem(NOW, workcells, requests, labware, busy)


def assert_valid(problem, schedule):
    requests = {r.id: r for r in problem.requests}
    outcome = [p.request for p in schedule.placements] + [i.request for i in schedule.infeasible]
    assert sorted(outcome) == sorted(requests)  # every request placed or explained, once
    for item in schedule.infeasible:
        assert item.kind in ("machine", "capability", "consumable", "deadline", "workcell") and item.message
    workcells = {w.name: w for w in problem.workcells}
    labware = {item.id: item for item in problem.labware}
    intervals = {}
    outside = {}
    for hold in problem.busy:
        outside.setdefault(hold.asset_id, []).append(((hold.starts_at - NOW).total_seconds(),
                                                      (hold.ends_at - NOW).total_seconds()))
    for placement in schedule.placements:
        request = requests[placement.request]
        assert placement.end_s - placement.start_s == pytest.approx(request.duration_s)
        assert placement.start_s >= (request.earliest_start - NOW).total_seconds() - 1e-6
        if request.deadline:
            assert placement.end_s <= (request.deadline - NOW).total_seconds() + 1e-6
        if request.workcell:
            assert placement.workcell == request.workcell
        machines = {m.id: m for m in workcells[placement.workcell].machines}
        for need in request.machines:
            machine = machines[placement.machines[need.parameter]]  # KeyError: not in its workcell
            assert machine.available and machine.kind == need.kind and need.capabilities <= machine.capabilities
        for need in request.consumables:
            item = labware[placement.consumables[need.parameter]]
            assert item.available
            assert item.id == need.asset_id if need.asset_id is not None else item.category == need.category
        assert len(set(placement.asset_ids())) == len(placement.asset_ids())
        for asset in placement.asset_ids():
            intervals.setdefault(asset, []).append((placement.start_s, placement.end_s))
    for asset, spans in intervals.items():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end - 1e-6, f"asset {asset} double-booked"
        for start, end in spans:  # nor over what others hold (outside holds may overlap each other)
            assert all(end <= a + 1e-6 or start >= b - 1e-6 for a, b in outside.get(asset, []))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(problems())
def test_no_double_booking_and_every_capability_met(problem):
    heuristic = list_schedule(problem)
    assert_valid(problem, heuristic)
    optimised = optimise(problem, seed=0, iterations=15)
    assert_valid(problem, optimised)
    compiled = compile_problem(problem)
    assert cost(optimised, compiled) <= cost(heuristic, compiled) + 1e-6


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
