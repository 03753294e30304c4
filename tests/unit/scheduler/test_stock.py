"""Consumables that run out: tips and reagent counted across queued runs, racks shared while they
last, a run short of stock refused with the item named or given a refill step, costs named."""

from __future__ import annotations

from datetime import timedelta

from browser_runtime.scheduler import (
    ConsumableNeed,
    Labware,
    Machine,
    MachineNeed,
    Operator,
    Problem,
    RunRequest,
    Workcell,
    list_schedule,
    optimise,
)

from .checks import check_schedule
from .conftest import NOW

LH = frozenset({"pipetting", "tip_handling"})
TIPS_1000 = "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_1000uL_filter"


def cells(count: int = 2) -> list[Workcell]:
    return [Workcell(f"W{i}", (Machine(i + 1, f"LH {i}", "liquid_handler", LH),)) for i in range(count)]


def pipetting(run_id: str, tips: int = 0, volume: float = 0.0, minutes: float = 10, **extra) -> RunRequest:
    consumables = []
    if tips:
        consumables.append(ConsumableNeed("tips", category="tip_rack", tips=tips))
    if volume:
        consumables.append(ConsumableNeed("reagent", category="trough", volume_ul=volume))
    return RunRequest(run_id, "pipette", minutes * 60, machines=(MachineNeed("lh", "liquid_handler"),),
                      consumables=tuple(consumables), **extra)


def test_runs_share_a_rack_while_its_tips_last():
    racks = [Labware(100, "rack A", None, "tip_rack", tips=96), Labware(101, "rack B", None, "tip_rack", tips=96)]
    runs = [pipetting(f"r{i}", tips=40) for i in range(4)]
    problem = Problem(NOW, cells(1), runs, racks)
    schedule = list_schedule(problem)
    check_schedule(problem, schedule)
    by_start = sorted(schedule.placements, key=lambda p: p.start_s)
    assert [p.consumables["tips"] for p in by_start] == [100, 100, 101, 101]  # 2 x 40 of 96 each
    assert by_start[0].drawn == {100: {"tips": 40, "volume_ul": 0.0}}


def test_a_run_that_would_run_short_is_refused_with_the_item_named():
    racks = [Labware(100, "rack A", None, "tip_rack", tips=96), Labware(101, "rack B", None, "tip_rack", tips=30)]
    troughs = [Labware(200, "buffer trough", None, "trough", volume_ul=5000.0)]
    runs = [pipetting("big", tips=96), pipetting("more", tips=40), pipetting("wet", volume=4000.0),
            pipetting("wetter", volume=4000.0, priority=-1)]
    problem = Problem(NOW, cells(2), runs, racks + troughs)
    schedule = list_schedule(problem)
    check_schedule(problem, schedule)
    refused = {item.request: item for item in schedule.infeasible}
    assert set(refused) == {"more", "wetter"}
    assert refused["more"].kind == "stock" and refused["more"].subject == "tips"
    assert refused["more"].message == ("would run short: needs 40 tips from a tip_rack for 'tips', but 'rack B' "
                                       "has 30 tips left; 'rack A' has 0 tips left; the inventory has no refill for it")
    assert "needs 4000 uL" in refused["wetter"].message and "'buffer trough' has 1000 uL left" in \
        refused["wetter"].message


def test_a_refill_step_is_planned_when_the_inventory_has_one():
    stock = [Labware(100, "rack A", None, "tip_rack", tips=50),
             Labware(150, "tip refill", None, "tip_rack", tips=96, refill=True)]
    runs = [pipetting("first", tips=40), pipetting("second", tips=40)]
    operators = [Operator("Ana", ((NOW, NOW + timedelta(hours=8)),))]
    problem = Problem(NOW, cells(1), runs, stock, operators=operators, refill_s=120.0)
    for schedule in (list_schedule(problem), optimise(problem, iterations=10)):
        check_schedule(problem, schedule)
        first, second = sorted(schedule.placements, key=lambda p: p.start_s)
        assert first.consumables == {"tips": 100} and not first.refills
        assert second.refills == {"tips": 150}
        refill = second.segments[0]
        assert (refill.kind, refill.label, refill.operator) == ("refill", "refill tips", "Ana")
        assert refill.end_s - refill.start_s == 120 and second.segments[1].start_s == refill.end_s
    # One refill serves one run: a third run needing it again is refused, naming why.
    third = Problem(NOW, cells(1), [*runs, pipetting("third", tips=40)], stock, operators=operators)
    refused = {i.request: i for i in list_schedule(third).infeasible}
    assert list(refused) == ["third"] and "every refill in the inventory is used" in refused["third"].message


def test_the_cheapest_item_is_taken_and_its_cost_named():
    stock = [Labware(100, "filter tips", None, "tip_rack", tips=96, cost=0.08, cost_unit="tip"),
             Labware(101, "plain tips", None, "tip_rack", tips=96, cost=0.05, cost_unit="tip"),
             Labware(200, "assay plate", None, "plate", cost=3.5)]
    run = RunRequest("r", "p", 600, machines=(MachineNeed("lh", "liquid_handler"),),
                     consumables=(ConsumableNeed("tips", category="tip_rack", tips=16),
                                  ConsumableNeed("plate", category="plate")))
    placement = list_schedule(Problem(NOW, cells(1), [run], stock)).placements[0]
    assert placement.consumables == {"tips": 101, "plate": 200}
    assert placement.costs["tips"] == {"cost": 0.8, "reason": "'plain tips': 0.05 per tip x 16 = 0.8"}
    assert placement.costs["plate"] == {"cost": 3.5, "reason": "'assay plate': costs 3.5 per item"}


def test_the_book_counts_stock_across_queued_runs_and_draws_it_when_they_end(book, inventory, clock):
    racks = [a.id for a in inventory.assets(kind="labware") if a.remaining_tips is not None]
    for asset in racks[1:]:
        inventory.set_status(asset, "retired")  # one rack of 96 tips left in the lab
    rack = racks[0]

    def tipping(run_id: str, tips: int, **extra) -> RunRequest:
        return RunRequest(run_id, "p", 600, machines=(MachineNeed("lh", "liquid_handler", frozenset({"pipetting"})),),
                          consumables=(ConsumableNeed("tips", category="tip_rack", tips=tips),), **extra)

    book.submit([tipping("a", 40)])
    book.submit([tipping("b", 40)])  # a later submission knows "a" will take 40 of the 96
    placed = book.submit([tipping("c", 40)])
    assert book.run("a")["consumables"] == book.run("b")["consumables"] == {"tips": rack}
    (short,) = placed.infeasible
    assert short.kind == "stock" and "has 16 tips left" in short.message
    assert book.run("c")["status"] == "infeasible"
    run = book.run("a")
    assert run["drawn"] == {str(rack): {"tips": 40, "volume_ul": 0.0}}
    clock.now = NOW
    book.start("a")
    book.finish("a")
    assert inventory.asset(rack).remaining_tips == 56  # drawn when the run ended
    book.cancel("b")  # never started: draws nothing
    assert inventory.asset(rack).remaining_tips == 56
    book.replan()
    assert book.run("c")["status"] == "scheduled" and book.run("c")["consumables"] == {"tips": rack}
