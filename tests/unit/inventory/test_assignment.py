"""Consumable assignment: hard constraints, scores with reasons, optimal batch, near misses, machines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from browser_runtime.inventory import (
    ConsumableAssignmentService,
    ConsumableRequirement,
    ReservationConflict,
    TimeWindow,
)

from .conftest import DEEP_WELL, NOW, PLATE, TIPS_300, TIPS_1000, days


@pytest.fixture
def service(store, catalog):
    return ConsumableAssignmentService(store, catalog)


def test_hard_constraints_then_scores(store, service, window):
    expired = store.add_labware("expired", PLATE, expires_at=days(0.05), lot="A")  # before run end
    reserved = store.add_labware("reserved", PLATE, expires_at=days(5), lot="A")
    store.reserve("other-run", [reserved], window)
    quarantined = store.add_labware("quarantined", PLATE, status="quarantined")
    soon = store.add_labware("soon", PLATE, expires_at=days(20), lot="A", location="storage/1")
    later = store.add_labware("later", PLATE, expires_at=days(200), lot="A", location="storage/1")
    store.add_labware("tips", TIPS_1000, remaining_tips=96)
    plan = service.assign([ConsumableRequirement("plate", category="plate")], window, now=NOW)
    [choice] = plan.assignments
    assert choice.asset_id == soon  # first-expiring-first-out among candidates
    assert choice.candidates == 2
    assert set(choice.breakdown) == {"fefo", "same_lot", "capacity_fit", "proximity"}
    assert choice.score == pytest.approx(sum(choice.breakdown.values()))
    assert any("expires" in r for r in choice.reasons) and any("lot A" in r for r in choice.reasons)
    assert {expired, reserved, quarantined, later} - {choice.asset_id}


def test_capacity_and_tightest_fit(store, service, window):
    small = store.add_labware("small wells", PLATE)  # 360 uL
    deep = store.add_labware("deep wells", DEEP_WELL)  # 2.4 mL
    plan = service.assign([ConsumableRequirement("a", category="plate", min_well_volume_ul=300),
                           ConsumableRequirement("b", category="plate", min_well_volume_ul=1000)],
                          window, now=NOW)
    assert [a.asset_id for a in plan.assignments] == [small, deep]
    one = service.assign([ConsumableRequirement("c", category="plate", min_well_volume_ul=200)], window,
                         now=NOW).assignments[0]
    assert one.asset_id == small  # 200/360 beats 200/2393


def test_exact_type_and_tips(store, service, window):
    store.add_labware("300 rack", TIPS_300, remaining_tips=96)
    partial = store.add_labware("1000 partial", TIPS_1000, remaining_tips=40)
    full = store.add_labware("1000 full", TIPS_1000, remaining_tips=96)
    plan = service.assign([ConsumableRequirement("tips", type=TIPS_1000, tips=24)], window, now=NOW)
    assert plan.assignments[0].asset_id == partial  # use up partial racks first
    plan = service.assign([ConsumableRequirement("tips", type=TIPS_1000, tips=64)], window, now=NOW)
    assert plan.assignments[0].asset_id == full


def test_batch_is_optimal_not_first_come(store, service, window):
    # Greedy gives the only deep-well plate to the first requirement, leaving the second empty.
    deep = store.add_labware("deep", DEEP_WELL, location="deck/1")
    shallow = store.add_labware("shallow", PLATE, location="storage/1")
    requirements = [ConsumableRequirement("any plate", category="plate", min_well_volume_ul=100),
                    ConsumableRequirement("deep plate", category="plate", min_well_volume_ul=1500)]
    greedy = service.assign(requirements, window, now=NOW, strategy="greedy")
    optimal = service.assign(requirements, window, now=NOW)
    assert not greedy.complete
    assert [a.asset_id for a in optimal.assignments] == [shallow, deep]
    assert len(set(optimal.asset_ids())) == 2


def test_same_lot_across_a_run(store, service, window):
    for n in range(3):
        store.add_labware(f"lot B {n}", PLATE, lot="B", expires_at=days(100))
    odd = store.add_labware("lot C", PLATE, lot="C", expires_at=days(99))
    plan = service.assign([ConsumableRequirement(f"p{n}", category="plate") for n in range(3)], window,
                          now=NOW)
    assert odd not in plan.asset_ids()
    assert all(a.breakdown["same_lot"] > 0 for a in plan.assignments)


def test_near_misses_name_the_excluding_constraint(store, service, window):
    store.add_labware("old", PLATE, expires_at=days(-3))
    store.add_labware("small", PLATE)
    store.add_labware("rack", TIPS_300, remaining_tips=96)
    plan = service.assign([ConsumableRequirement("deep", category="plate", min_well_volume_ul=1000),
                           ConsumableRequirement("reservoir", category="trough")], window, now=NOW)
    deep, trough = plan.assignments
    assert deep.asset_id is None and "no plate in the inventory" in deep.reasons[0]
    excluded = {m.asset_name: m.excluded_by for m in deep.near_misses}
    assert excluded["small"] == ["holds 360 uL per well, needs 1000 uL"]
    assert any("expires" in reason for reason in excluded["old"])
    assert "holds no trough" in trough.reasons[0]
    assert any("not a trough" in r for m in trough.near_misses for r in m.excluded_by)


def test_competing_requirements_explain_why_one_went_empty(store, service, window):
    store.add_labware("only", PLATE)
    plan = service.assign([ConsumableRequirement("a", category="plate"),
                           ConsumableRequirement("b", category="plate")], window, now=NOW)
    empty = next(a for a in plan.assignments if not a.assigned)
    assert "went to other requirements" in empty.reasons[0]


def test_assign_and_reserve_is_atomic(store, service, window):
    a = store.add_labware("a", PLATE)
    plan, reservations = service.assign_and_reserve("run-1", [ConsumableRequirement("p", category="plate")],
                                                    window, now=NOW)
    assert [r.asset_id for r in reservations] == [a]
    # The only plate is held now; an incomplete plan reserves nothing at all.
    store.add_labware("tips", TIPS_1000, remaining_tips=96)
    with pytest.raises(ReservationConflict, match="p: "):
        service.assign_and_reserve("run-2", [ConsumableRequirement("t", category="tip_rack"),
                                             ConsumableRequirement("p", category="plate")], window, now=NOW)
    assert {r.run_id for r in store.reservations()} == {"run-1"}
    # A window that does not overlap can use the plate again.
    later = TimeWindow(window.ends_at + timedelta(hours=1), window.ends_at + timedelta(hours=2))
    assert service.assign([ConsumableRequirement("p", category="plate")], later, now=NOW).complete


def test_bad_requirements_are_named(service, window):
    with pytest.raises(ValueError, match="'x': type 'pylabrobot.resources.Nope' is not in the catalog"):
        service.assign([ConsumableRequirement("x", type="pylabrobot.resources.Nope")], window)
    with pytest.raises(ValueError, match="unique: a"):
        service.assign([ConsumableRequirement("a"), ConsumableRequirement("a")], window)
    with pytest.raises(ValueError, match="tips cannot be negative"):
        service.assign([ConsumableRequirement("a", tips=-1)], window)


def test_machines_resolve_by_capabilities(store, service, window):
    lh = "pylabrobot.liquid_handling.liquid_handler.LiquidHandler"
    eight = store.add_machine("STAR 8ch", lh, "liquid_handler",
                              capabilities=["pipetting", "tip_handling", "gripper"])
    ninety_six = store.add_machine("STAR 96", lh, "liquid_handler",
                                   capabilities=["pipetting", "tip_handling", "gripper", "head96"])
    reader = store.add_machine("reader", "pylabrobot.plate_reading.plate_reader.PlateReader",
                               "plate_reader", capabilities=["absorbance"])
    needs = [{"parameter": "lh", "machine_kind": "liquid_handler", "capabilities": ["head96"]},
             {"parameter": "lh2", "machine_kind": "liquid_handler", "capabilities": ["pipetting"]},
             {"parameter": "reader", "machine_kind": "plate_reader", "capabilities": ["fluorescence"]}]
    stamp, pipette, fluo = service.resolve_machines(needs, window, now=NOW)
    assert stamp.asset_id == ninety_six and pipette.asset_id == eight
    assert fluo.asset_id is None
    assert {m.asset_id: m.excluded_by for m in fluo.near_misses}[reader] == ["lacks fluorescence"]
    # The 8-channel STAR is never offered for a head96 requirement.
    store.reserve("other", [ninety_six], window)
    [only] = service.resolve_machines(needs[:1], window, now=NOW)
    assert only.asset_id is None
    assert {m.asset_id: m.excluded_by for m in only.near_misses}[eight] == ["lacks head96"]
