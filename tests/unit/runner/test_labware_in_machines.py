"""Labware starts where the protocol needs it: a plate the protocol's code never names is worked on
only by the machine that holds it (a plate reader reads the plate inside), so it starts in that
machine, not on the deck; a plate the code hands around stays on the deck."""

from __future__ import annotations

from pathlib import Path

from browser_runtime.page import runs
from browser_runtime.protocols import analyze_source

HEADER = '''
from pylabrobot.heating_shaking import HeaterShaker
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.plate_reading import PlateReader
from pylabrobot.resources import Plate, TipRack

from browser_runtime.protocols import protocol_function
'''

READ = HEADER + '''
@protocol_function(name="Read a plate", version="1.0.0")
async def read_plate(reader: PlateReader, plate: Plate, wavelength: int = 450):
    await reader.open()
    await reader.close()
    return await reader.read_absorbance(wavelength=wavelength)
'''

TIPS_AND_READ = HEADER + '''
@protocol_function(name="Tips, then read", version="1.0.0")
async def tips_then_read(lh: LiquidHandler, reader: PlateReader, tips: TipRack, plate: Plate):
    await lh.pick_up_tips(tips["A1:H1"])
    await lh.drop_tips(tips["A1:H1"])
    return await reader.read_absorbance(wavelength=450)
'''

TWO_HOLDERS = HEADER + '''
@protocol_function(name="Shake or read", version="1.0.0")
async def shake_or_read(reader: PlateReader, hs: HeaterShaker, plate: Plate):
    await hs.shake(speed=300)
    await hs.stop_shaking()
'''


def plan_and_run(session, run_async, source, filename):
    plan = runs.plan(session, source, filename=filename)

    async def scenario():
        started = runs.start(session, plan_id=plan["plan_id"], source=source, filename=filename)
        return await runs.wait(session, started["runId"])
    return plan, run_async(scenario())


def test_the_analysis_says_which_labware_the_code_handles(plr_catalog):
    [protocol] = analyze_source(TIPS_AND_READ, "t.py", plr_catalog).protocols
    handled = {r.parameter: r.handled for r in protocol.requirements.resources}
    assert handled == {"tips": True, "plate": False}


def test_a_plate_only_the_reader_works_on_starts_in_the_reader(page_session, run_async):
    plan, record = plan_and_run(page_session, run_async, READ, "read.py")
    plate = plan["parameters"]["plate"]
    assert plate["placement"]["machine"] == "reader" and plan["deck_layout"] is None
    assert plate["reasons"][0].startswith("starts in reader")
    assert plate["asset"] is not None  # still an inventory item, reserved for the run
    assert record["status"] == "completed", record["error"]  # before: NoPlateError, it was on a deck
    assert len(record["value"]) == 8 and len(record["value"][0]) == 12  # the reading of the plate in it


def test_with_a_liquid_handler_the_plate_is_in_the_reader_standing_on_the_deck(page_session, run_async):
    plan, record = plan_and_run(page_session, run_async, TIPS_AND_READ, "tips_read.py")
    assert record["status"] == "completed", record["error"]
    assert [p["name"] for p in plan["deck_layout"]["placements"] if p["name"] == "plate"] == []
    reader = next(c for c in plan["deck"]["children"] if c["name"] == "reader")
    assert [c["name"] for c in reader["children"]] == ["plate"]  # drawn inside the reader


def test_a_plate_the_code_hands_around_stays_on_the_deck(page_session):
    source = (Path(__file__).resolve().parents[3] / "web" / "protocols" / "elisa_read.py").read_text()
    plan = runs.plan(page_session, source, filename="elisa_read.py")
    assert "assay_plate" in {p["name"] for p in plan["deck_layout"]["placements"]}
    assert "machine" not in plan["parameters"]["assay_plate"]["placement"]


def test_which_of_two_machines_holds_it_is_not_guessed(page_session):
    plan = runs.plan(page_session, TWO_HOLDERS, filename="two.py")
    assert "machine" not in plan["parameters"]["plate"]["placement"]
