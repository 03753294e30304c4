"""build_deck makes the real PLR deck; auto-layout places a protocol's labware and validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from pylabrobot.resources import Coordinate, OTDeck
from pylabrobot.resources.hamilton import HamiltonSTARDeck

from browser_runtime.deck import (
    DeckLayoutError,
    auto_layout,
    build_deck,
    plan_deck,
    validate_deck_layout,
)
from browser_runtime.protocols import analyze_file

PROTOCOLS = Path(__file__).resolve().parents[2] / "fixtures" / "protocols"
STARLET = "pylabrobot.resources.hamilton.STARLetDeck"
OT2 = "pylabrobot.resources.opentrons.OTDeck"


def test_build_starlet_deck(decks_dir, catalog):
    deck = build_deck(decks_dir / "starlet_valid.json", catalog)
    assert isinstance(deck, HamiltonSTARDeck)
    carrier = deck.get_resource("plate_carrier")
    assert carrier.location == deck.rails_to_location(7)
    source = deck.get_resource("source")
    assert source.parent is carrier.sites[0]
    assert deck.get_resource("destination").parent is carrier.sites[2]
    assert deck.get_resource("buffer").parent.parent.name == "trough_carrier"


def test_build_ot2_deck(decks_dir, catalog):
    deck = build_deck(decks_dir / "ot2_valid.json", catalog)
    assert isinstance(deck, OTDeck)
    assert deck.get_slot(deck.get_resource("tips")) == 4
    assert deck.get_slot(deck.get_resource("plate")) == 1


def test_build_refuses_an_invalid_layout_with_every_problem(decks_dir, catalog):
    with pytest.raises(DeckLayoutError) as raised:
        build_deck(decks_dir / "ot2_broken.json", catalog)
    assert len(raised.value.problems) == 8


def test_explicit_location_on_a_deck(catalog):
    layout = {"deck": STARLET, "placements": [
        {"name": "p", "resource": "pylabrobot.resources.Cor_96_wellplate_360ul_Fb",
         "location": {"x": 500, "y": 200, "z": 50}}]}
    deck = build_deck(layout, catalog)
    assert deck.get_resource("p").location == Coordinate(500, 200, 50)


@pytest.mark.parametrize("protocol", ["serial_dilution", "stamp_96_head", "aliased_imports",
                                      "heater_shaker_incubation"])
@pytest.mark.parametrize("deck", [STARLET, OT2])
def test_auto_layout_of_fixture_protocols_validates_and_builds(catalog, protocol, deck):
    [definition] = analyze_file(PROTOCOLS / f"{protocol}.py", catalog).protocols
    result = auto_layout(definition.requirements.resources, deck, catalog)
    assert validate_deck_layout(result.layout, catalog) == []
    built = build_deck(result.layout, catalog)
    placed = {p["name"] for p in result.layout["placements"]}
    for requirement in definition.requirements.resources:
        name = requirement.parameter or requirement.name
        assert name in placed or any(u.placement == name for u in result.unplaced)
        if name in placed:
            assert built.get_resource(name) is not None


def test_starlet_carriers_sit_side_by_side_on_rails(catalog):
    requirements = [{"parameter": f"plate_{i}", "category": "plate"} for i in range(7)] + [
        {"parameter": "tips", "category": "tip_rack"}]
    layout = auto_layout(requirements, STARLET, catalog).layout
    carriers = [p for p in layout["placements"] if "rails" in p]
    assert [p["rails"] for p in carriers] == [1, 7, 13]  # 5 plates, 2 more plates, then tips
    plates = [p for p in layout["placements"] if "parent" in p and p["name"].startswith("plate_")]
    assert [(p["parent"], p["slot"]) for p in plates][:6] == [
        ("plate_carrier_1", 0), ("plate_carrier_1", 1), ("plate_carrier_1", 2),
        ("plate_carrier_1", 3), ("plate_carrier_1", 4), ("plate_carrier_2", 0)]


def test_ot2_runs_out_of_slots(catalog):
    requirements = [{"parameter": f"plate_{i}", "category": "plate"} for i in range(13)]
    result = auto_layout(requirements, OT2, catalog)
    assert [p["slot"] for p in result.layout["placements"]] == list(range(1, 12))
    assert [u.placement for u in result.unplaced] == ["plate_11", "plate_12"]
    assert all("no free slot" in u.message for u in result.unplaced)


def test_explicit_placements_override_auto_layout(catalog):
    explicit = {"deck": STARLET, "placements": [
        {"name": "tip_carrier", "resource": "pylabrobot.resources.TIP_CAR_480_A00", "rails": 1},
        {"name": "tips", "resource": "pylabrobot.resources.hamilton_96_tiprack_300uL_filter",
         "parent": "tip_carrier", "slot": 3}]}
    requirements = [{"parameter": "tips", "category": "tip_rack"},
                    {"parameter": "plate", "category": "plate"}]
    layout = auto_layout(requirements, STARLET, catalog, layout=explicit).layout
    by_name = {p["name"]: p for p in layout["placements"]}
    assert by_name["tips"]["slot"] == 3 and by_name["tips"]["parent"] == "tip_carrier"
    assert by_name[by_name["plate"]["parent"]]["rails"] == 7  # next free rails after the tip carrier


def test_plan_deck_uses_and_validates_the_protocols_layout(tmp_path, decks_dir, catalog):
    [definition] = analyze_file(PROTOCOLS / "plate_read_gripper.py", catalog).protocols
    (tmp_path / "elisa_read_deck.json").write_text((decks_dir / "ot2_valid.json").read_text())
    assert plan_deck(definition, OT2, catalog, tmp_path).layout["placements"][0]["name"] == "plate"
    (tmp_path / "elisa_read_deck.json").write_text((decks_dir / "ot2_broken.json").read_text())
    with pytest.raises(DeckLayoutError) as raised:
        plan_deck(definition, OT2, catalog, tmp_path)
    assert len(raised.value.problems) == 8


def test_auto_layout_refuses_unknown_decks(catalog):
    with pytest.raises(DeckLayoutError, match="not a deck"):
        auto_layout([], "pylabrobot.resources.NoDeck", catalog)
