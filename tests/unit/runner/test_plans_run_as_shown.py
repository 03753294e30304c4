"""A run executes exactly the plan shown: declared limits hold, and a stale or unknown plan is refused."""

from __future__ import annotations

import pytest

from browser_runtime.page import runs
from browser_runtime.runner.plans import PlanError, StalePlan

SHAKE = '''
from pylabrobot.heating_shaking import HeaterShaker
from browser_runtime.protocols import protocol_function

@protocol_function(name="Shake", version="1.0.0", param_metadata={
    "rpm": {"description": "speed", "constraints": {"min": 100, "max": 2000}},
    "mode": {"constraints": {"choices": ["gentle", "hard"]}},
})
async def shake(hs: HeaterShaker, rpm: int = 500, mode: str = "gentle", volume: float = 50.0) -> float:
    await hs.shake(speed=rpm)
    await hs.stop_shaking()
    return volume
'''


def test_a_value_above_its_declared_maximum_is_refused_naming_it(page_session):
    with pytest.raises(PlanError) as refused:
        runs.plan(page_session, SHAKE, parameters={"rpm": 99999})
    assert "parameter 'rpm' is 99999, above its maximum 2000" in str(refused.value)
    problem = refused.value.problems[0]
    assert problem["parameter"] == "rpm" and problem["value"] == 99999 and problem["constraints"]["max"] == 2000
    # start (plan-and-start) refuses it as well, before anything is recorded or runs
    with pytest.raises(PlanError, match="above its maximum 2000"):
        runs.start(page_session, source=SHAKE, parameters={"rpm": 99999})
    assert page_session.history.list() == []


def test_minimum_choices_and_type_are_enforced_together(page_session):
    with pytest.raises(PlanError) as refused:
        runs.plan(page_session, SHAKE, parameters={"rpm": 5, "mode": "violent", "volume": "lots"})
    message = str(refused.value)
    assert "'rpm' is 5, below its minimum 100" in message
    assert "'mode' is 'violent', not one of its choices ('gentle', 'hard')" in message
    assert "'volume' must be float, not str 'lots'" in message
    assert {p["parameter"] for p in refused.value.problems} == {"rpm", "mode", "volume"}


def test_a_run_of_a_plan_uses_exactly_its_values(page_session, run_async):
    plan = runs.plan(page_session, SHAKE, parameters={"volume": 50.0})
    assert plan["plan_id"] and plan["digest"] and plan["parameters"]["volume"]["value"] == 50.0

    async def scenario():
        started = runs.start(page_session, plan_id=plan["plan_id"])
        return await runs.wait(page_session, started["runId"])

    result = run_async(scenario())
    assert result["status"] == "completed", result["error"]
    assert result["value"] == 50.0 and result["plan"]["plan_id"] == plan["plan_id"]
    speeds = [e["args"]["speed"] for e in result["events"] if e["type"] == "command" and e["command"] == "start_shaking"]
    assert speeds == [500]


def test_a_run_whose_inputs_differ_from_its_plan_is_refused_as_stale(page_session, run_async):
    plan = runs.plan(page_session, SHAKE, parameters={"volume": 50.0})
    with pytest.raises(StalePlan) as stale:
        runs.start(page_session, plan_id=plan["plan_id"], source=SHAKE, parameters={"volume": 500.0})
    assert "parameters.volume: 50.0 → 500.0" in str(stale.value)
    with pytest.raises(StalePlan, match="no plan 'nope'"):
        runs.start(page_session, plan_id="nope")
    assert page_session.history.list() == []
    # the same inputs as planned run
    async def same():
        started = runs.start(page_session, plan_id=plan["plan_id"], source=SHAKE, parameters={"volume": 50.0})
        return await runs.wait(page_session, started["runId"])

    assert run_async(same())["plan"]["plan_id"] == plan["plan_id"]


def test_a_plan_whose_labware_changed_in_the_inventory_is_stale(page_session):
    source = open_demo("serial_dilution.py")
    plan = runs.plan(page_session, source, filename="serial_dilution.py")
    tips_id = plan["parameters"]["tips"]["asset_id"]
    page_session.inventory.connection.execute("UPDATE consumables SET remaining_tips = 8 WHERE asset_id = ?", (tips_id,))
    with pytest.raises(StalePlan, match="tips: planned with"):
        runs.start(page_session, plan_id=plan["plan_id"])
    assert page_session.inventory.reservations() == []


def open_demo(name):
    from pathlib import Path

    return (Path(__file__).resolve().parents[3] / "web" / "protocols" / name).read_text()


def test_the_plan_offers_the_items_that_fit_and_runs_on_the_ones_chosen(page_session, run_async):
    source = open_demo("serial_dilution.py")
    automatic = runs.plan(page_session, source, filename="serial_dilution.py")
    plates = automatic["candidates"]["plate"]
    assert len(plates) >= 2 and all(p["type"].endswith("cor_96_wellplate_360uL_Fb") for p in plates)
    assert [p["expires_at"] for p in plates] == sorted(p["expires_at"] for p in plates)  # soonest first
    assert {m["name"] for m in automatic["candidates"]["lh"]} >= {"STARlet (simulated)", "STARlet 2 (simulated)"}
    other_plate = next(p for p in plates if p["id"] != automatic["parameters"]["plate"]["asset_id"])
    other_lh = next(m for m in automatic["candidates"]["lh"] if m["name"] != automatic["parameters"]["lh"]["asset"])

    chosen = {"plate": other_plate["id"], "lh": other_lh["id"]}
    plan = runs.plan(page_session, source, filename="serial_dilution.py", chosen=chosen)
    assert plan["parameters"]["plate"]["asset_id"] == other_plate["id"]
    assert plan["parameters"]["plate"]["reasons"] == ["chosen by you"]
    assert plan["parameters"]["lh"]["asset"] == other_lh["name"]
    assert plan["chosen"] == chosen and plan["digest"] != automatic["digest"]
    held = set()

    async def scenario():
        started = runs.start(page_session, plan_id=plan["plan_id"], source=source, filename="serial_dilution.py",
                             chosen=chosen)
        held.update(r.asset_id for r in page_session.inventory.reservations(run_id=started["runId"]))
        return await runs.wait(page_session, started["runId"])

    assert run_async(scenario())["status"] == "completed"
    assert {other_plate["id"], other_lh["id"]} <= held


def test_a_chosen_item_that_is_not_there_is_refused_naming_the_parameter(page_session):
    source = open_demo("serial_dilution.py")
    with pytest.raises(PlanError, match="plate: asset 99999"):
        runs.plan(page_session, source, filename="serial_dilution.py", chosen={"plate": 99999})
    with pytest.raises(PlanError, match="chosen: must map"):
        runs.plan(page_session, source, filename="serial_dilution.py", chosen={"plate": 1.5})
    with pytest.raises(PlanError, match="plate: 'first' is not a labware definition PLR has"):
        runs.plan(page_session, source, filename="serial_dilution.py", chosen={"plate": "first"})
