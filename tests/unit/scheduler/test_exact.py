"""The exact solver (OR-Tools CP-SAT, bridge server only): proves optima, reports its bound, and
every schedule carries makespan, lower bound and gap."""

from __future__ import annotations

import sys

import pytest

from browser_runtime.scheduler import (
    ConsumableNeed,
    Labware,
    Machine,
    MachineNeed,
    Problem,
    RunRequest,
    ScheduleError,
    Workcell,
    list_schedule,
    lower_bound,
)
from browser_runtime.scheduler.jobs import compile_problem

from .checks import check_schedule
from .conftest import NOW, lh_request

LH = frozenset({"pipetting"})


def tie_trap() -> Problem:
    """Alpha has the only reader: a heuristic taking the first workcell listed on a tie puts
    liquid-handler-only runs there and makes the reader runs wait (1.33x the optimum here)."""
    cells = [Workcell("Alpha", (Machine(1, "Alpha LH", "liquid_handler", LH),
                                Machine(2, "reader", "plate_reader", frozenset({"absorbance"})))),
             Workcell("Bravo", (Machine(3, "Bravo LH", "liquid_handler", LH),))]
    lh = MachineNeed("lh", "liquid_handler")
    runs = [RunRequest(f"pipette-{i}", "p", 600, (lh,)) for i in range(4)]
    runs += [RunRequest(f"read-{i}", "r", 900, (lh, MachineNeed("reader", "plate_reader"))) for i in range(2)]
    return Problem(NOW, cells, runs)


def test_the_heuristic_breaks_ties_by_demand_not_by_listing_order():
    schedule = list_schedule(tie_trap())
    assert schedule.makespan_s == 2400  # the optimum: reads on Alpha, pipetting on Bravo
    assert schedule.lower_bound_s is None  # the book adds bounds; see test_every_plan_records
    assert lower_bound(compile_problem(tie_trap())) == 2100  # 4 x 600 + 2 x 900 s over two LHs


def test_the_exact_solver_proves_an_optimum():
    pytest.importorskip("ortools")
    from browser_runtime.scheduler.exact import solve

    problem = tie_trap()
    schedule = solve(problem, time_limit_s=10)
    check_schedule(problem, schedule, resolution=1.0)
    assert schedule.proven_optimal and schedule.makespan_s == 2400
    assert schedule.lower_bound_s == 2400 and schedule.gap == 0.0
    assert schedule.to_dict()["gap"] == 0.0 and schedule.quality()["proven_optimal"]


def test_the_exact_solver_uses_a_refill_only_when_it_helps():
    pytest.importorskip("ortools")
    from browser_runtime.scheduler.exact import solve

    cells = [Workcell("W", (Machine(1, "LH", "liquid_handler", LH), Machine(2, "LH 2", "liquid_handler", LH)))]
    stock = [Labware(100, "rack", None, "tip_rack", tips=96), Labware(101, "refill", None, "tip_rack", tips=96,
                                                                      refill=True)]
    need = (ConsumableNeed("tips", category="tip_rack", tips=48),)
    runs = [RunRequest(f"r{i}", "p", 600, (MachineNeed("lh", "liquid_handler"),), need) for i in range(2)]
    schedule = solve(Problem(NOW, cells, runs, stock), time_limit_s=10)
    # Two at once needs two racks: one run gets the refill (and its 120 s step) instead of waiting.
    assert schedule.proven_optimal and schedule.makespan_s == 720
    assert sorted(len(p.refills) for p in schedule.placements) == [0, 1]
    check_schedule(Problem(NOW, cells, runs, stock), schedule, resolution=1.0)


def test_without_ortools_the_exact_solver_says_where_it_runs(monkeypatch):
    from browser_runtime.scheduler.exact import ExactSolverMissing, solve

    monkeypatch.setitem(sys.modules, "ortools", None)  # as in the page: no OR-Tools build
    monkeypatch.setitem(sys.modules, "ortools.sat", None)
    monkeypatch.setitem(sys.modules, "ortools.sat.python", None)
    with pytest.raises(ExactSolverMissing, match="runs on the bridge server only; use method 'optimiser'"):
        solve(tie_trap())


def test_every_plan_records_makespan_bound_and_gap(book):
    book.submit([lh_request(f"r{i}", 10 + i) for i in range(5)])
    quality = book.snapshot()["quality"]
    assert quality["method"] == "heuristic" and quality["makespan_s"] > 0
    assert 0 < quality["lower_bound_s"] <= quality["makespan_s"]
    assert quality["gap"] == pytest.approx((quality["makespan_s"] - quality["lower_bound_s"]) / quality["makespan_s"],
                                           abs=1e-4)
    optimised = book.replan(method="optimiser", iterations=20)
    assert book.snapshot()["quality"]["method"] == "optimiser"
    assert optimised.to_dict()["makespan_s"] == pytest.approx(book.snapshot()["quality"]["makespan_s"])


def test_the_book_plans_exactly_on_the_server(book):
    from importlib.util import find_spec

    if find_spec("ortools") is None:  # the page: the book says where exact plans are made
        with pytest.raises(ScheduleError, match="exact solver needs OR-Tools"):
            book.replan(method="exact")
        return
    book.submit([lh_request(f"r{i}", 10 + i) for i in range(4)])
    schedule = book.replan(method="exact", time_limit_s=5)
    quality = book.snapshot()["quality"]
    assert schedule.proven_optimal and quality["proven_optimal"] and quality["gap"] == 0.0
    assert quality["method"] == "exact"


def test_a_plan_solved_elsewhere_is_adopted_or_refused_when_stale(book, clock):
    """The bridge server's way: the problem out as JSON, solved in a process of its own, the
    schedule back as JSON and adopted at the revision it was made for."""
    from browser_runtime.scheduler.placement import problem_from_dict, problem_to_dict, schedule_from_dict

    from .conftest import lh_request as request

    book.submit([request(f"r{i}", 10 + i) for i in range(4)])
    revision, problem = book.planning_problem()
    document = problem_to_dict(problem)
    solved = list_schedule(problem_from_dict(document))  # stands in for the exact solver's process
    solved.method = "exact"
    back = schedule_from_dict(solved.to_dict())
    assert back.to_dict() == solved.to_dict()
    book.adopt(back, expected_revision=revision)
    assert book.snapshot()["quality"]["method"] == "exact"
    assert {r["starts_at"] for r in book.runs()} == {p["starts_at"] for p in solved.to_dict()["placements"]}
    from browser_runtime.scheduler import ScheduleConflict

    with pytest.raises(ScheduleConflict):
        book.adopt(back, expected_revision=revision)  # the schedule moved on since
    book.submit([request("late")])
    with pytest.raises(ScheduleError, match="does not plan exactly the runs not yet started"):
        book.adopt(back, expected_revision=book.revision)
