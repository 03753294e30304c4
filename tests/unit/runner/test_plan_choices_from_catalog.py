"""What a plan is made for, chosen from PLR's catalog: the liquid handler's model (its deck) and
each labware parameter's definition; refused choices name the parameter and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_runtime.page import runs
from browser_runtime.runner.plans import PlanError

STAR = "pylabrobot.resources.hamilton.hamilton_decks.STARDeck"
STARLET = "pylabrobot.resources.hamilton.hamilton_decks.STARLetDeck"
OT2 = "pylabrobot.resources.opentrons.deck.OTDeck"
AXYGEN = "pylabrobot.resources.corning.axygen.plates.cor_axy_96_wellplate_500uL_Ub"


def demo(name: str) -> str:
    return (Path(__file__).resolve().parents[3] / "web" / "protocols" / name).read_text()


def run_plan(session, run_async, plan, source, filename, **inputs):
    async def scenario():
        started = runs.start(session, plan_id=plan["plan_id"], source=source, filename=filename, **inputs)
        return await runs.wait(session, started["runId"])
    return run_async(scenario())


def test_the_models_offered_are_the_decks_auto_layout_fills(page_session):
    plan = runs.plan(page_session, demo("serial_dilution.py"), filename="serial_dilution.py")
    models = {m["fqn"]: m for m in plan["models"]["lh"]}
    assert {STAR, STARLET, OT2} <= set(models)
    assert models[STAR]["rails"] == 56 and models[STARLET]["rails"] == 32 and models[OT2]["slots"] == 12
    assert not any("tecan" in fqn for fqn in models)  # rails auto-layout cannot fill: not offered
    assert plan["deck_layout"]["deck"] == STARLET  # the default


@pytest.mark.parametrize("deck, protocol", [(STAR, "serial_dilution.py"), (OT2, "stamp_96.py")])
def test_a_plan_on_another_model_lays_out_and_runs_on_its_deck(page_session, run_async, deck, protocol):
    source = demo(protocol)
    plan = runs.plan(page_session, source, filename=protocol, deck=deck)
    assert plan["deck_layout"]["deck"] == deck
    assert plan["deck"]["size_x"] == {STAR: 1545, OT2: 624.3}[deck]  # PLR's own deck of that model
    field = "slot" if deck == OT2 else "rails"
    assert all(field in p or "parent" in p for p in plan["deck_layout"]["placements"])
    assert run_plan(page_session, run_async, plan, source, protocol, deck=deck)["status"] == "completed"


def test_a_model_that_cannot_hold_the_labware_is_refused_naming_it(page_session):
    with pytest.raises(PlanError, match="diluent.*no labware of category 'trough'"):
        runs.plan(page_session, demo("serial_dilution.py"), filename="serial_dilution.py", deck=OT2)


def test_a_chosen_definition_is_laid_out_reserved_by_type_and_run(page_session, run_async):
    source = demo("serial_dilution.py")
    automatic = runs.plan(page_session, source, filename="serial_dilution.py")
    plates = [d["fqn"] for d in automatic["definitions"]["plate"]]
    assert AXYGEN in plates and automatic["parameters"]["plate"]["type"] in plates
    assert all("tip" not in fqn.rpartition(".")[2] for fqn in plates)
    assert {d["fqn"] for d in automatic["definitions"]["diluent"]} >= {
        "pylabrobot.resources.hamilton.troughs.hamilton_1_trough_200mL_Vb"}
    # Chosen over the previous layout: the plate's placement of the old type is laid out afresh.
    plan = runs.plan(page_session, source, filename="serial_dilution.py", deck=automatic["deck_layout"],
                     chosen={"plate": AXYGEN})
    assert plan["parameters"]["plate"]["type"] == AXYGEN and plan["chosen"] == {"plate": AXYGEN}
    assert next(p for p in plan["deck_layout"]["placements"] if p["name"] == "plate")["resource"] == AXYGEN
    assert plan["parameters"]["plate"]["asset"] is None  # the demo inventory has no such plate
    assert plan["digest"] != automatic["digest"]
    record = run_plan(page_session, run_async, plan, source, "serial_dilution.py",
                      deck=automatic["deck_layout"], chosen={"plate": AXYGEN})
    assert record["status"] == "completed"


def test_a_definition_of_another_category_or_for_a_machine_is_refused(page_session):
    source = demo("serial_dilution.py")
    tips = "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_1000uL_filter"
    with pytest.raises(PlanError) as refused:
        runs.plan(page_session, source, filename="serial_dilution.py", chosen={"plate": tips, "lh": STAR})
    problems = {p["parameter"]: p["message"] for p in refused.value.problems}
    assert problems["plate"] == "hamilton_96_tiprack_1000uL_filter is a tip_rack; plate needs a plate"
    assert "labware parameters only" in problems["lh"]
