"""A run that moves a plate records where it went (assigned / unassigned events), so the
timeline can draw the plate where it was at any step."""

from __future__ import annotations

from pylabrobot.resources import (
    PLT_CAR_L5AC_A00,
    STARLetDeck,
    cor_96_wellplate_360uL_Fb,
)

from browser_runtime.runner import ProtocolRun, build_simulated_machine, load_protocol_function

MOVES = '''
async def shuffle(lh, plate, carrier):
    await lh.move_plate(plate, carrier[2])
    await lh.move_plate(plate, carrier[4])
    return "moved"
'''


def test_plate_moves_become_events_with_the_tree_once(plr_catalog, run_async):
    deck = STARLetDeck()
    lh = build_simulated_machine(plr_catalog, "liquid_handler", "lh", deck=deck)
    carrier = PLT_CAR_L5AC_A00("plate_carrier")
    carrier[0] = plate = cor_96_wellplate_360uL_Fb("plate")
    deck.assign_child_resource(carrier, rails=10)
    function = load_protocol_function(MOVES, "moves.py", "shuffle")
    result = run_async(ProtocolRun(function, {"lh": lh, "plate": plate, "carrier": carrier}, {"lh": lh}, deck).execute())
    assert result.status == "completed", result.error
    moves = [e for e in result.events if e["type"] in ("assigned", "unassigned")]
    site = carrier[0].name
    assert [(e["type"], e["resource"], e["parent"]) for e in moves] == [
        ("unassigned", "plate", site), ("assigned", "plate", carrier[2].name),
        ("unassigned", "plate", carrier[2].name), ("assigned", "plate", carrier[4].name)]
    # The first tells the plate's tree (wells included); later ones only where it is.
    assert moves[0]["tree"]["name"] == "plate" and len(moves[0]["tree"]["children"]) == 96
    assert all("tree" not in e for e in moves[1:])
    assert moves[3]["location"] == {key: round(getattr(plate.location, key), 6) for key in "xyz"}
    # Each move comes after the command that made it (the timeline's step shows it).
    commands = [i for i, e in enumerate(result.events) if e["type"] == "command" and e["command"] == "pick_up_resource"]
    assert commands and commands[0] < result.events.index(moves[0])
    assert plate.parent is carrier[4]
