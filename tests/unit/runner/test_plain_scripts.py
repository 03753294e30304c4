"""Plain PLR scripts, written as PLR's docs write them: analysed, run in simulation, made protocols."""

from __future__ import annotations

import pytest

from browser_runtime import webbridge
from browser_runtime.page import protocols, runs
from browser_runtime.runner import replay_states
from browser_runtime.runner.plans import PlanError

SCRIPT = '''from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.liquid_handling.backends import STARBackend
from pylabrobot.resources.hamilton import STARLetDeck
from pylabrobot.resources import (TIP_CAR_480_A00, PLT_CAR_L5AC_A00, Cor_96_wellplate_360ul_Fb,
                                  hamilton_96_tiprack_1000uL_filter, set_volume_tracking)

lh = LiquidHandler(backend=STARBackend(), deck=STARLetDeck())
await lh.setup()

tip_car = TIP_CAR_480_A00(name="tip carrier")
tip_car[0] = tip_rack = hamilton_96_tiprack_1000uL_filter(name="tips_01")
lh.deck.assign_child_resource(tip_car, rails=3)

plt_car = PLT_CAR_L5AC_A00(name="plate carrier")
plt_car[0] = plate = Cor_96_wellplate_360ul_Fb(name="plate_01")
lh.deck.assign_child_resource(plt_car, rails=15)
set_volume_tracking(True)  # PLR's volume tracking is off unless a script turns it on
plate.set_well_volumes([100.0] * 96)

await lh.pick_up_tips(tip_rack["A1:C1"])
await lh.aspirate(plate["A1:C1"], vols=[10.0, 20.0, 30.0])
await lh.dispense(plate["D1:F1"], vols=[10.0, 20.0, 30.0])
await lh.drop_tips(tip_rack["A1:C1"])
await lh.stop()
'''

WITH_MAIN = '''import asyncio
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.liquid_handling.backends import STARBackend
from pylabrobot.resources.hamilton import STARLetDeck

async def main():
    backend = STARBackend()
    lh = LiquidHandler(backend=backend, deck=STARLetDeck())
    await lh.setup()
    await lh.stop()

asyncio.run(main())
'''


@pytest.fixture
def transport():
    """The port manager's place: counts what would reach a device (nothing must)."""
    requests = []

    class Recording:
        async def request(self, op, args, timeout):  # noqa: ANN001
            requests.append(op)

        def request_sync(self, op, args, timeout):  # noqa: ANN001
            requests.append(op)

    webbridge.install(transport=Recording())
    yield requests
    webbridge.uninstall()


def _run(page_session, run_async, source, filename="script.py"):
    async def scenario():
        started = runs.start(page_session, source=source, filename=filename)
        return await runs.wait(page_session, started["runId"])

    return run_async(scenario())


def test_a_script_is_analysed_for_what_it_builds(page_session):
    script = protocols.analyze(page_session, SCRIPT, "script.py")["script"]
    assert script["entry"] == "top-level"
    (lh,) = script["machines"]
    assert (lh["variable"], lh["machine_kind"], lh["line"]) == ("lh", "liquid_handler", 7)
    assert lh["backend"].endswith("STAR_backend.STARBackend") and lh["simulator"] is False
    assert lh["deck"].endswith("STARLetDeck") and {"pipetting", "tip_handling"} <= set(lh["capabilities"])
    labware = {r["variable"]: r["category"] for r in script["resources"]}
    assert labware == {"tip_car": "tip_carrier", "tip_rack": "tip_rack", "plt_car": "plate_carrier", "plate": "plate"}


def test_a_script_runs_in_simulation_with_its_backends_swapped_and_says_so(page_session, run_async, transport):
    plan = runs.plan(page_session, SCRIPT, filename="script.py")
    assert plan["kind"] == "script" and plan["swaps"][0]["line"] == 7
    assert plan["parameters"]["lh"]["backend"].endswith("LiquidHandlerChatterboxBackend")
    assert "STARBackend" in plan["parameters"]["lh"]["reasons"][0]
    result = _run(page_session, run_async, SCRIPT)
    assert result["status"] == "completed", result["error"]
    commands = [e["command"] for e in result["events"] if e["type"] == "command"]
    assert commands == ["setup", "pick_up_tips", "aspirate", "dispense", "drop_tips", "stop"]
    logs = [e["message"] for e in result["events"] if e["type"] == "log"]
    assert "lh: simulated with LiquidHandlerChatterboxBackend in place of STARBackend" in logs
    states = replay_states(result["events"])  # state events tell what changed
    assert states["plate_01_well_A1"]["volume"] == pytest.approx(90.0)
    assert states["plate_01_well_F1"]["volume"] == pytest.approx(130.0)
    assert transport == []  # the STAR's USB was never asked for
    assert page_session.history.get(result["run_id"])["plan"]["kind"] == "script"


def test_a_script_with_an_async_main_runs_too(page_session, run_async):
    result = _run(page_session, run_async, WITH_MAIN, "main.py")
    assert result["status"] == "completed", result["error"]
    assert [e["command"] for e in result["events"] if e["type"] == "command"] == ["setup", "stop"]


def test_a_script_never_runs_on_devices(page_session):
    with pytest.raises(PlanError, match="plain script: it runs in simulation only"):
        runs.plan(page_session, SCRIPT, filename="script.py", simulate=False,
                  backends={"lh": {"backend": "pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend"}})


def test_a_script_becomes_a_protocol_with_its_machines_and_labware_as_parameters(page_session, run_async):
    made = protocols.to_protocol(page_session, SCRIPT, "script.py")
    assert [(p["name"], p["annotation"]) for p in made["parameters"]] == [
        ("lh", "LiquidHandler"), ("tip_rack", "TipRack"), ("plate", "Plate")]
    assert "async def script(lh: LiquidHandler, tip_rack: TipRack, plate: Plate):" in made["source"]
    assert "-await lh.setup()" in made["diff"] and "+@protocol_function(" in made["diff"]
    assert "STARBackend" not in made["source"]  # imports nothing uses any more are gone
    assert made["removed"] == [7, 8, 10, 11, 12, 14, 15, 16, 24]
    analysis = protocols.analyze(page_session, made["source"], "script.py")
    assert analysis["errors"] == [] and analysis["protocols"][0]["function"] == "script"
    result = _run(page_session, run_async, made["source"])
    assert result["status"] == "completed", result["error"]
