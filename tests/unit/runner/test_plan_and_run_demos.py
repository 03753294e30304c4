"""Every demo protocol plans (machines, deck, assignment) and runs on simulated PLR machines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser_runtime.inventory import InventoryStore
from browser_runtime.inventory.demo import seed_demo_inventory
from browser_runtime.runner import ProtocolRun
from browser_runtime.runner.materialize import materialize
from browser_runtime.runner.planner import Planner
from browser_runtime.runner.plans import PlanError, PlanInputs
from browser_runtime.runner.run import load_protocol_function

DEMOS = Path(__file__).resolve().parents[3] / "web" / "protocols"
INDEX = json.loads((DEMOS / "index.json").read_text())["protocols"]

EXPECTED_COMMANDS = {
    "serial_dilution.py": ["setup", "pick_up_tips"] + ["aspirate", "dispense"] * 5 + ["drop_tips", "pick_up_tips"]
    + ["aspirate", "dispense"] * 5 + ["drop_tips", "stop"],
    "elisa_read.py": ["setup", "setup", "pick_up_resource", "drop_resource", "close", "read_absorbance", "open",
                      "pick_up_resource", "drop_resource", "stop", "stop"],
    "stamp_96.py": ["setup", "pick_up_tips96", "aspirate96", "dispense96", "drop_tips96", "stop"],
}


@pytest.fixture
def inventory():
    store = InventoryStore(":memory:")
    seed_demo_inventory(store)
    yield store
    store.close()


def _plan(catalog, inventory, source, parameters=None, *, filename="protocol.py", function=None, **more):
    return Planner(catalog, inventory).plan(PlanInputs(source=source, filename=filename, function=function,
                                                       parameters=parameters or {}, **more))


def _run(run_async, catalog, inventory, plan):
    built = materialize(plan, catalog, inventory)
    function = load_protocol_function(plan.inputs.source, plan.inputs.filename, plan.function)
    result = run_async(ProtocolRun(function, built.arguments, built.machines, built.deck).execute())
    return built, result


def _plan_and_run(run_async, catalog, inventory, name, parameters=None):
    plan = _plan(catalog, inventory, (DEMOS / name).read_text(), parameters, filename=name)
    built, result = _run(run_async, catalog, inventory, plan)
    return plan, built, result


@pytest.mark.parametrize("demo", [entry["file"] for entry in INDEX])
def test_demo_plans_and_completes(run_async, plr_catalog, inventory, demo):
    plan, _, result = _plan_and_run(run_async, plr_catalog, inventory, demo,
                                    {"seconds": 0.01} if demo == "incubation.py" else None)
    assert result.status == "completed", result.error
    commands = [e["command"] for e in result.events if e["type"] == "command"]
    if demo in EXPECTED_COMMANDS:
        assert commands == EXPECTED_COMMANDS[demo]
    else:
        assert {"lock_plate", "set_temperature", "start_shaking", "stop_shaking", "unlock_plate"} <= set(commands)
    # Every machine parameter resolved to a registered (simulated) machine of its kind.
    for name, entry in plan.to_dict()["parameters"].items():
        if entry["kind"] == "machine":
            assert entry["asset"] and "simulated" in entry["asset"]
            assert entry["backend"].rsplit(".", 1)[-1].endswith(("ChatterboxBackend", "Simulator"))
    # Planning reserves nothing: a run reserves when it starts (see test_runs_service).
    assert inventory.reservations() == []


def test_serial_dilution_moves_the_volumes_it_should(run_async, plr_catalog, inventory):
    plan, built, result = _plan_and_run(run_async, plr_catalog, inventory, "serial_dilution.py",
                                        {"volume": 40.0, "columns": 4})
    assert result.status == "completed"
    plate = built.arguments["plate"]
    start = plan.to_dict()["parameters"]["plate"]["contents"]["volume_per_well_ul"]
    assert start == pytest.approx(200.0)
    # Columns 2-4 get 40 uL diluent, then 40 uL moves down the series: column 1 loses 40,
    # columns 2-3 gain 40 - 40 + 40, column 4 gains 80; columns 5+ are untouched.
    expected = {1: start - 40, 2: start + 40, 3: start + 40, 4: start + 80, 5: start}
    for column, volume in expected.items():
        for row in "ABCDEFGH":
            assert plate.get_well(f"{row}{column}").tracker.get_used_volume() == pytest.approx(volume)
    assert result.value == [1.0, 2.0, 4.0, 8.0]
    tips = built.arguments["tips"]
    assert [tips.get_item(f"{row}1").has_tip() for row in "AH"] == [True, True]  # dropped back
    assert plan.untracked == []


def test_without_inventory_labware_runs_untracked_and_is_marked_unknown(run_async, plr_catalog):
    empty = InventoryStore(":memory:")
    plan, _, result = _plan_and_run(run_async, plr_catalog, empty, "stamp_96.py")
    assert sorted(plan.untracked) == ["destination", "source", "tips"]
    assert result.status == "completed"
    assert plan.to_dict()["parameters"]["source"]["asset"] is None
    empty.close()


def test_bad_values_and_unknown_parameters_are_named(plr_catalog, inventory):
    source = (DEMOS / "serial_dilution.py").read_text()
    with pytest.raises(PlanError, match="'volume' must be float"):
        _plan(plr_catalog, inventory, source, {"volume": "lots"})
    with pytest.raises(PlanError, match="no parameter"):
        _plan(plr_catalog, inventory, source, {"speed": 3})
    with pytest.raises(PlanError, match="no protocol 'nope'"):
        _plan(plr_catalog, inventory, source, function="nope")


def test_a_file_that_does_not_parse_is_a_plan_error_with_position(plr_catalog, inventory):
    # Native LibCST blames the line after the bad token; the pure parser the bad line itself.
    with pytest.raises(PlanError, match=r"line [23], column \d+"):
        _plan(plr_catalog, inventory, "x = 1\ndef broken(:\n")


def test_plan_without_reserving_leaves_the_inventory_free(plr_catalog, inventory):
    source = (DEMOS / "stamp_96.py").read_text()
    plan = _plan(plr_catalog, inventory, source)
    assert inventory.reservations() == []
    assignment = plan.assignment["assignments"]
    assert {a["requirement"] for a in assignment} == {"tips", "source", "destination"}
    assert all(a["reasons"] for a in assignment)


def test_labware_fixed_to_an_inventory_item_is_laid_out_and_filled_as_that_item(run_async, plr_catalog, inventory):
    # The scheduler hands a run the exact items it holds: a plate of another type than the
    # auto-layout's default is placed as its own type, with its own contents.
    other = "pylabrobot.resources.celltreat.plates.celltreat_96_wellplate_350uL_Fb"
    plate_id = inventory.add_labware("held plate", other, remaining_volume_ul=96 * 200.0)
    lh_id = next(a.id for a in inventory.assets(kind="machine") if a.machine_kind == "liquid_handler")
    source = (DEMOS / "serial_dilution.py").read_text()
    plan = _plan(plr_catalog, inventory, source, {"columns": 3}, filename="serial_dilution.py",
                 assigned={"plate": plate_id, "lh": lh_id})
    document = plan.to_dict()["parameters"]
    plate = document["plate"]
    assert plate["asset_id"] == plate_id and plate["placement"]["resource"] == other
    assert plate["reasons"] == ["held for this run by the schedule"]
    assert document["lh"]["reasons"] == ["held for this run by the schedule"]
    built, result = _run(run_async, plr_catalog, inventory, plan)
    # the item holds 19.2 mL in all, spread over its 96 wells (before the run moved any)
    assert plate["contents"] == {"volume_per_well_ul": 200.0}
    assert result.status == "completed", result.error
    # Nothing was reserved by the plan itself (the schedule holds these).
    assert inventory.reservations() == []


def test_assets_fixed_by_the_caller_must_exist_and_fit_a_parameter(plr_catalog, inventory):
    source = (DEMOS / "serial_dilution.py").read_text()
    with pytest.raises(PlanError, match=r"plate: asset 999999") as error:
        _plan(plr_catalog, inventory, source, assigned={"plate": 999999})
    with pytest.raises(PlanError, match="volume: is not a machine or labware parameter"):
        _plan(plr_catalog, inventory, source, assigned={"volume": 1})
    assert error.value.problems[0]["parameter"] == "plate"
