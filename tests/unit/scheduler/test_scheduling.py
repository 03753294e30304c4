"""List scheduling and the optimiser: placements, priorities, deadlines, and why a run cannot be placed."""

from __future__ import annotations

import pytest

from browser_runtime.scheduler import (
    Busy,
    ConsumableNeed,
    Labware,
    MachineNeed,
    Problem,
    RequestError,
    RunRequest,
    list_schedule,
    optimise,
)

from .conftest import NOW, at, plates, small_workcells

PIPETTE = (MachineNeed("lh", "liquid_handler", frozenset({"pipetting"})),)


def request(run_id, minutes=10, machines=PIPETTE, consumables=(), **extra):
    return RunRequest(run_id, "p", minutes * 60, machines=machines, consumables=consumables, **extra)


def test_runs_spread_over_workcells_and_queue_when_machines_are_busy():
    runs = [request(f"r{i}") for i in range(4)]
    schedule = list_schedule(Problem(NOW, small_workcells(), runs))
    starts = sorted((p.start_s, p.workcell) for p in schedule.placements)
    assert starts == [(0, "A"), (0, "B"), (600, "A"), (600, "B")]
    assert schedule.makespan_s == 1200 and not schedule.infeasible


def test_higher_priority_goes_first_and_earliest_start_is_kept():
    runs = [request("low", 30, workcell="A"), request("high", 30, workcell="A", priority=5),
            request("later", 5, earliest_start=at(120))]
    schedule = {p.request: p for p in list_schedule(Problem(NOW, small_workcells(), runs)).placements}
    assert schedule["high"].start_s == 0 and schedule["low"].start_s == 1800
    assert schedule["later"].start_s == 7200


def test_outside_reservations_are_respected():
    busy = [Busy(1, NOW, at(60), "run elsewhere"), Busy(3, NOW, at(30), "run other")]
    schedule = list_schedule(Problem(NOW, small_workcells(), [request("r")], busy=busy))
    assert schedule.placements[0].workcell == "B" and schedule.placements[0].start_s == 1800


def test_a_named_plate_serialises_the_runs_that_need_it():
    need = (ConsumableNeed("plate", asset_id=100),)
    runs = [request("r1", consumables=need), request("r2", consumables=need)]
    schedule = list_schedule(Problem(NOW, small_workcells(), runs, plates()))
    first, second = sorted(schedule.placements, key=lambda p: p.start_s)
    assert second.start_s >= first.end_s  # the plate cannot be in two places


def test_why_a_run_cannot_be_placed():
    quarantined = Labware(200, "plate Q", None, "plate", available=False)
    runs = [
        request("no-reader", machines=(MachineNeed("reader", "plate_reader", frozenset({"fluorescence"})),)),
        request("no-hs", machines=(MachineNeed("hs", "heater_shaker"),)),
        request("no-tips", consumables=(ConsumableNeed("tips", category="tip_rack"),)),
        request("quarantined", consumables=(ConsumableNeed("plate", asset_id=200),)),
        request("too-long", 120, deadline=at(60)),
        request("nowhere", workcell="Z"),
    ]
    schedule = list_schedule(Problem(NOW, small_workcells(), runs, [*plates(), quarantined]))
    reasons = {item.request: item for item in schedule.infeasible}
    assert reasons["no-reader"].kind == "capability" and "'Reader A' lacks fluorescence" in \
        reasons["no-reader"].message
    assert reasons["no-hs"].kind == "machine" and "heater_shaker" in reasons["no-hs"].message
    assert reasons["no-tips"].kind == "consumable" and "tip_rack" in reasons["no-tips"].message
    assert reasons["quarantined"].kind == "consumable" and "'plate Q'" in reasons["quarantined"].message
    assert reasons["too-long"].kind == "deadline"
    assert reasons["nowhere"].kind == "workcell" and "'Z'" in reasons["nowhere"].message
    assert not schedule.placements


def test_a_lab_without_workcells_says_so_in_words():
    # A fresh start: no workcell yet. Not "pinned to workcell None".
    schedule = list_schedule(Problem(NOW, [], [request("first")], plates()))
    (reason,) = schedule.infeasible
    assert reason.kind == "workcell" and "no workcell" in reason.message and "None" not in reason.message


def test_a_missed_deadline_names_the_machine_in_the_way():
    runs = [request("first", 60, workcell="B", priority=1), request("urgent", 30, workcell="B", deadline=at(45))]
    schedule = list_schedule(Problem(NOW, small_workcells(), runs))
    (late,) = schedule.infeasible
    assert late.request == "urgent" and late.kind == "deadline"
    assert "'LH B' is held by first" in late.message


def test_the_optimiser_meets_a_deadline_the_heuristic_misses_and_is_reproducible():
    runs = [request("first", 60, workcell="B", priority=1), request("urgent", 30, workcell="B", deadline=at(45))]
    problem = Problem(NOW, small_workcells(), runs)
    best = optimise(problem, seed=3, iterations=50)
    assert not best.infeasible and [p.request for p in sorted(best.placements, key=lambda p: p.start_s)] == \
        ["urgent", "first"]
    again = optimise(problem, seed=3, iterations=50)
    assert [(p.request, p.start_s, p.workcell) for p in again.placements] == \
        [(p.request, p.start_s, p.workcell) for p in best.placements]


def test_bad_requests_say_which_field():
    with pytest.raises(RequestError, match="duration_s"):
        request("r", minutes=0)
    with pytest.raises(RequestError, match=r"request\.machines\[0\]\.kind"):
        RunRequest.from_dict({"id": "r", "protocol": "p", "duration_s": 5, "machines": [{"parameter": "lh"}]})
    with pytest.raises(RequestError, match="unknown field"):
        RunRequest.from_dict({"id": "r", "protocol": "p", "duration_s": 5, "colour": "red"})
    with pytest.raises(RequestError, match="no time zone"):
        RunRequest.from_dict({"id": "r", "protocol": "p", "duration_s": 5, "deadline": "2025-06-02T10:00"})
    with pytest.raises(RequestError, match="not after the earliest start"):
        request("r", earliest_start=at(10), deadline=at(5))
    with pytest.raises(ValueError, match="unique"):
        Problem(NOW, small_workcells(), [request("r"), request("r")])
