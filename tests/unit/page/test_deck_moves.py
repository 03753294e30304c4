"""Area ``deck``: what a drag on the drawn deck means for the deck's type (rails, slots), asked by the page."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from browser_runtime.deck import validate_deck_layout
from browser_runtime.deck.geometry import RAIL_WIDTH
from browser_runtime.page import deck, door

DECKS = Path(__file__).resolve().parents[2] / "fixtures" / "decks"


@pytest.fixture
def starlet() -> dict:
    return json.loads((DECKS / "starlet_valid.json").read_text())


@pytest.fixture
def ot2() -> dict:
    return json.loads((DECKS / "ot2_valid.json").read_text())


def test_positions_name_every_numbered_placement_and_which_a_drag_moves(page_session, starlet):
    found = {p["placement"]: p for p in deck.positions(page_session, starlet)}
    assert list(found) == ["tip_carrier", "tips_1000", "tips_300", "plate_carrier", "source", "destination",
                           "trough_carrier", "buffer"]
    assert found["plate_carrier"] == {"placement": "plate_carrier", "resource": starlet["placements"][3]["resource"],
                                      "field": "rails", "value": 7, "draggable": True}
    # a plate on a carrier's site is dragged to another site (of this carrier or another)
    assert found["source"] == {"placement": "source", "resource": starlet["placements"][4]["resource"],
                               "field": "slot", "value": 0, "draggable": True, "parent": "plate_carrier"}


def test_on_ot2_slots_are_draggable_and_a_location_placement_is_left_out(page_session, ot2):
    ot2["placements"].append({"name": "free", "resource": ot2["placements"][0]["resource"],
                              "location": {"x": 0, "y": 0, "z": 0}})
    found = deck.positions(page_session, ot2)
    assert [(p["placement"], p["field"], p["value"], p["draggable"]) for p in found] == [
        ("plate", "slot", 1, True), ("tips", "slot", 4, True), ("tubes", "slot", 2, True)]


@pytest.mark.parametrize(("dx", "rails"), [(3 * RAIL_WIDTH, 10), (2.6 * RAIL_WIDTH, 10), (-2.5 * RAIL_WIDTH, 5),
                                           (-40 * RAIL_WIDTH, 1)])
def test_a_drag_on_a_hamilton_deck_moves_whole_rails(page_session, starlet, dx, rails):
    moved = deck.move(page_session, starlet, "plate_carrier", dx, 30.0)
    assert moved == {"moved": True, "placement": "plate_carrier", "field": "rails", "value": rails, "before": 7}
    assert starlet["placements"][3]["rails"] == 7  # the page writes the answer in; nothing here changed it


def test_less_than_half_a_rail_does_not_move(page_session, starlet):
    moved = deck.move(page_session, starlet, "plate_carrier", 0.4 * RAIL_WIDTH)
    assert moved["moved"] is False and "less than half a rail" in moved["reason"]


def test_the_moved_layout_is_the_validators_to_judge(page_session, starlet, plr_catalog):
    # Onto the trough carrier's rails: the move is proposed, the planner's validation refuses it.
    moved = deck.move(page_session, starlet, "plate_carrier", 6 * RAIL_WIDTH)
    layout = copy.deepcopy(starlet)
    layout["placements"][3]["rails"] = moved["value"]
    problems = validate_deck_layout(layout, plr_catalog)
    assert any(p.placement == "trough_carrier" and "collide with 'plate_carrier'" in p.message for p in problems)


def test_a_drag_on_an_ot2_lands_in_the_slot_under_the_labware(page_session, ot2):
    # slot 1 is front left; 2 to its right, 4 behind it (PLR's y grows to the back)
    assert deck.move(page_session, ot2, "plate", 132.5, 0)["value"] == 2
    assert deck.move(page_session, ot2, "plate", 0, 90.5)["value"] == 4
    assert deck.move(page_session, ot2, "plate", 265, 181)["value"] == 9
    assert deck.move(page_session, ot2, "plate", 70, 0)["value"] == 2  # just past the gap between 1 and 2
    own = deck.move(page_session, ot2, "plate", 20, 10)
    assert own["moved"] is False and "its own slot 1" in own["reason"]
    off = deck.move(page_session, ot2, "plate", -400, 0)
    assert off["moved"] is False and "off the deck's slots" in off["reason"]


def test_what_a_drag_cannot_move_says_why(page_session, starlet, ot2):
    off = deck.move(page_session, starlet, "source", 0, 900)
    assert off["moved"] is False and "dropped off every carrier's sites" in off["reason"]
    ot2["placements"][0] = {"name": "plate", "resource": ot2["placements"][0]["resource"],
                            "location": {"x": 10, "y": 10, "z": 0}}
    located = deck.move(page_session, ot2, "plate", 100, 0)
    assert located["moved"] is False and "by location" in located["reason"]
    unknown_deck = dict(starlet, deck="pylabrobot.resources.Cor_96_wellplate_360ul_Fb")
    assert "not one PLR can build" in deck.move(page_session, unknown_deck, "plate_carrier", 50)["reason"]
    # Tecan's EVO decks have rails but PLR gives no rail positions for them: not dragged
    evo = {"deck": "pylabrobot.resources.tecan.tecan_decks.EVO150Deck", "placements": [
        {"name": "carrier", "resource": starlet["placements"][3]["resource"], "rails": 5}]}
    assert deck.positions(page_session, evo)[0]["draggable"] is False
    assert deck.move(page_session, evo, "carrier", 50)["moved"] is False


def test_bad_requests_are_errors_naming_what(page_session, starlet):
    with pytest.raises(LookupError, match="no placement named 'nowhere'"):
        deck.move(page_session, starlet, "nowhere", 10)
    with pytest.raises(ValueError, match="finite numbers"):
        deck.move(page_session, starlet, "plate_carrier", float("nan"))
    with pytest.raises(ValueError, match="placements: must be a list"):
        deck.positions(page_session, {"deck": starlet["deck"], "placements": {}})


def test_the_page_reaches_it_through_the_door(page_session, starlet, run_async):
    moved = run_async(door.call(page_session, "deck.move",
                                {"layout": starlet, "placement": "tip_carrier", "dx": 2 * RAIL_WIDTH, "dy": 0}))
    assert moved["value"] == 3


def test_labware_on_a_carrier_is_dragged_to_another_site_of_it_or_of_another_carrier(page_session, starlet,
                                                                                   plr_catalog):
    # PLT_CAR_L5AC_A00's sites are 96 mm apart, front (0) to back (4)
    up_one = deck.move(page_session, starlet, "source", 0, 96)
    assert up_one == {"moved": True, "placement": "source", "field": "slot", "value": 1, "before": 0,
                      "parent": "plate_carrier", "parent_before": "plate_carrier"}
    layout = copy.deepcopy(starlet)
    layout["placements"][4].update(slot=1)
    assert validate_deck_layout(layout, plr_catalog) == []
    # onto the tip carrier, 6 rails to the left: its site 1 holds tips, its site 2 is free
    assert deck.move(page_session, starlet, "source", -6 * RAIL_WIDTH, 96)["reason"] == \
        "site 1 of tip_carrier holds tips_300"
    across = deck.move(page_session, starlet, "source", -6 * RAIL_WIDTH, 2 * 96)
    assert (across["moved"], across["parent"], across["value"]) == (True, "tip_carrier", 2)
    taken = deck.move(page_session, starlet, "source", 0, 2 * 96)
    assert taken == {"moved": False, "placement": "source", "reason": "site 2 of plate_carrier holds destination"}
    own = deck.move(page_session, starlet, "source", 3, 4)
    assert own["moved"] is False and "its own site 0 of plate_carrier" in own["reason"]
    free = deck.move(page_session, starlet, "destination", 0, 96)
    assert (free["parent"], free["value"]) == ("plate_carrier", 3)
