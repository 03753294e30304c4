"""Runs against real PLR machines on their chatterbox backends: commands, state, endings."""

from __future__ import annotations

import asyncio

import pytest
from pylabrobot.resources import (
    PLT_CAR_L5AC_A00,
    TIP_CAR_480_A00,
    STARLetDeck,
    cor_96_wellplate_360uL_Fb,
    hamilton_96_tiprack_1000uL_filter,
    set_tip_tracking,
    set_volume_tracking,
)

from browser_runtime.runner import ProtocolRun, SimulationError, build_simulated_machine, load_protocol_function

TRANSFER = '''
async def transfer(lh, tips, plate, volume: float = 50):
    await lh.pick_up_tips(tips["A1:H1"])
    await lh.aspirate(plate["A1:H1"], vols=[volume] * 8)
    await lh.dispense(plate["A2:H2"], vols=[volume] * 8)
    await lh.drop_tips(tips["A1:H1"])
    return "done"
'''

FOREVER = '''
import asyncio
async def incubate(lh, plate):
    while True:
        await asyncio.sleep(0.01)
'''


@pytest.fixture
def bench(plr_catalog):
    set_tip_tracking(True)
    set_volume_tracking(True)
    deck = STARLetDeck()
    lh = build_simulated_machine(plr_catalog, "liquid_handler", "lh", deck=deck)
    tip_carrier = TIP_CAR_480_A00("tip_carrier")
    tip_carrier[0] = tips = hamilton_96_tiprack_1000uL_filter("tips")
    plate_carrier = PLT_CAR_L5AC_A00("plate_carrier")
    plate_carrier[0] = plate = cor_96_wellplate_360uL_Fb("plate")
    deck.assign_child_resource(tip_carrier, rails=1)
    deck.assign_child_resource(plate_carrier, rails=10)
    for well in plate["A1:H1"]:
        well.tracker.set_volume(200)
    yield deck, lh, tips, plate
    set_tip_tracking(False)
    set_volume_tracking(False)


def test_transfer_records_commands_in_order_and_moves_liquid(bench, run_async):
    deck, lh, tips, plate = bench
    function = load_protocol_function(TRANSFER, "transfer.py", "transfer")
    run = ProtocolRun(function, {"lh": lh, "tips": tips, "plate": plate, "volume": 50}, {"lh": lh}, deck)
    result = run_async(run.execute())
    assert result.status == "completed" and result.error is None
    assert result.value == "done"
    commands = [(e["machine"], e["command"]) for e in result.events if e["type"] == "command"]
    assert commands == [
        ("lh", "setup"),
        ("lh", "pick_up_tips"),
        ("lh", "aspirate"),
        ("lh", "dispense"),
        ("lh", "drop_tips"),
        ("lh", "stop"),
    ]
    aspirate = next(e for e in result.events if e.get("command") == "aspirate")
    assert [op["volume"] for op in aspirate["args"]["ops"]] == [50.0] * 8
    assert aspirate["args"]["ops"][0]["resource"] == "plate_well_A1"
    assert plate.get_well("A1").tracker.get_used_volume() == pytest.approx(150)
    assert plate.get_well("A2").tracker.get_used_volume() == pytest.approx(50)
    states = {e["resource"] for e in result.events if e["type"] == "state"}
    assert {"plate_well_A1", "plate_well_A2", "tips_tipspot_A1"} <= states
    logs = [e["message"] for e in result.events if e["type"] == "log"]
    assert any("Setting up the liquid handler" in line for line in logs)
    # The chatterbox's printout of one command is one log event, its table's lines in order.
    printout = next(message for message in logs if message.startswith("Aspirating:"))
    lines = printout.split("\n")
    assert lines[1].startswith("pip#") and [line.split(":")[0].strip() for line in lines[2:]] == \
        [f"p{channel}" for channel in range(8)]
    statuses = [e["status"] for e in result.events if e["type"] == "status"]
    assert statuses == ["running", "completed"]
    assert [e["seq"] for e in result.events] == list(range(len(result.events)))


PRINTS_AND_LOGS = '''
import logging

async def talk(lh):
    print("mixing the standard")
    logging.getLogger("pylabrobot.protocol").info("mixing the standard")
    logging.getLogger("pylabrobot.protocol").info("mixing done")
    print("mixing done")
    print("mixing done")
'''


def test_the_same_text_printed_and_logged_is_told_once(bench, run_async):
    deck, lh, _, _ = bench
    function = load_protocol_function(PRINTS_AND_LOGS, "talk.py", "talk")
    result = run_async(ProtocolRun(function, {"lh": lh}, {"lh": lh}, deck).execute())
    assert result.status == "completed", result.error
    said = [(e["source"], e["message"]) for e in result.events if e["type"] == "log" and "mixing" in e["message"]]
    # A line said by stdout and PLR's log is told once; a line printed twice by one source, twice.
    assert said == [("stdout", "mixing the standard"), ("pylabrobot.protocol", "mixing done"),
                    ("stdout", "mixing done")]


def test_failing_protocol_reports_the_command_it_failed_on(bench, run_async):
    deck, lh, tips, plate = bench
    function = load_protocol_function(TRANSFER, "transfer.py", "transfer")
    # 300 uL from wells holding 200: PLR's volume tracker refuses the aspiration.
    run = ProtocolRun(function, {"lh": lh, "tips": tips, "plate": plate, "volume": 300}, {"lh": lh}, deck)
    result = run_async(run.execute())
    assert result.status == "failed"
    assert result.error["command"]["command"] == "aspirate"
    assert "Traceback" in result.error["traceback"]
    assert lh.setup_finished is False  # stopped on the way out
    assert result.events[-1] == {**result.events[-1], "type": "status", "status": "failed"}


def test_cancel_stops_at_the_next_await(bench, run_async):
    deck, lh, tips, plate = bench
    function = load_protocol_function(FOREVER, "forever.py", "incubate")

    async def start_then_cancel():
        run = ProtocolRun(function, {"lh": lh, "plate": plate}, {"lh": lh}, deck)
        task = asyncio.ensure_future(run.execute())
        await asyncio.sleep(0.05)
        task.cancel()
        return await task

    result = run_async(start_then_cancel())
    assert result.status == "cancelled"
    assert lh.setup_finished is False


def test_unknown_function_names_what_the_file_has():
    with pytest.raises(LookupError, match="defines no function 'nope'.*transfer"):
        load_protocol_function(TRANSFER, "transfer.py", "nope")


def test_every_kind_with_a_plr_simulator_builds_sets_up_and_stops(plr_catalog, run_async):
    kinds = sorted({b["frontend_kind"] for b in plr_catalog.entries("backends") if b["simulator"]})
    assert {"liquid_handler", "plate_reader", "heater_shaker", "scale", "pump"} <= set(kinds)

    async def cycle(kind):
        deck = STARLetDeck() if kind == "liquid_handler" else None
        machine = build_simulated_machine(plr_catalog, kind, f"sim_{kind}", deck=deck)
        await machine.setup()
        assert machine.setup_finished
        await machine.stop()
        return type(machine).__name__

    built = {kind: run_async(cycle(kind)) for kind in kinds}
    assert built["plate_reader"] == "PlateReader"
    assert built["heater_shaker"] == "HeaterShaker"


def test_a_kind_without_simulator_says_so(plr_catalog):
    with pytest.raises(SimulationError, match="sealer"):
        build_simulated_machine(plr_catalog, "sealer", "s")


def test_each_command_names_the_protocol_line_it_came_from(bench, run_async):
    # The timeline marks this line in the editor as it steps through the run.
    deck, lh, tips, plate = bench
    function = load_protocol_function(TRANSFER, "transfer.py", "transfer")
    run = ProtocolRun(function, {"lh": lh, "tips": tips, "plate": plate, "volume": 50}, {"lh": lh}, deck,
                      filename="transfer.py")
    result = run_async(run.execute())
    lines = {e["command"]: e.get("line") for e in result.events if e["type"] == "command"}
    assert lines == {"setup": None, "pick_up_tips": 3, "aspirate": 4, "dispense": 5, "drop_tips": 6, "stop": None}
