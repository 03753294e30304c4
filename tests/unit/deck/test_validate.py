"""validate_deck_layout reports every problem at once, naming the placement and the field."""

from __future__ import annotations

import json

import pytest

from browser_runtime.deck import DeckLayoutError, load_deck_layout, validate_deck_layout
from browser_runtime.deck.cli import main


def _problems(decks_dir, name, catalog):
    return [(p.placement, p.field, p.message) for p in
            validate_deck_layout(load_deck_layout(decks_dir / f"{name}.json"), catalog)]


@pytest.mark.parametrize("name", ["starlet_valid", "ot2_valid"])
def test_valid_layouts_have_no_problems(decks_dir, catalog, name):
    assert _problems(decks_dir, name, catalog) == []


def _find(problems, placement, field, text):
    matches = [p for p in problems if p[0] == placement and p[1] == field and text in p[2]]
    assert matches, f"no {placement}/{field} problem containing {text!r} in {problems}"
    return matches[0]


def test_broken_starlet_layout_reports_every_problem(decks_dir, catalog):
    problems = _problems(decks_dir, "starlet_broken", catalog)
    _find(problems, "source", "name", "duplicate name 'source'")
    _find(problems, "made_up", "resource", "not a resource PLR defines")
    _find(problems, "reader", "resource", "is a machine, not labware")
    _find(problems, "orphan", "parent", "no placement is named 'no_such_carrier'")
    _find(problems, "plate_on_plate", "parent", "cannot hold other resources")
    _find(problems, "far_carrier", "rails", "does not fit on the deck at rails 30")
    _find(problems, "off_deck", "rails", "out of range 1-32")
    _find(problems, "tip_carrier", "rails", "collide with 'plate_carrier'")
    _find(problems, "same_site", "slot", "already taken by 'source'")
    _find(problems, "site_too_far", "slot", "slot 5 is out of range 0-4")
    _find(problems, "trough_on_tips", "slot", "does not fit slot 1 of 'tip_carrier'")
    _find(problems, "where", "rails", "needs rails or a location")
    _find(problems, "outside", "location", "outside the deck")
    # An overlap names both placements.
    _find(problems, "on_top_of_carrier", "location", "overlaps 'plate_carrier'")
    _find(problems, "tilted", "rotation", "multiple of 90")
    _find(problems, "#17", "name", "non-empty string")
    _find(problems, "#17", "rails", "must be an integer")
    assert len(problems) == 18


def test_broken_ot2_layout_reports_every_problem(decks_dir, catalog):
    problems = _problems(decks_dir, "ot2_broken", catalog)
    _find(problems, "second_plate", "slot", "slot 1 is already taken by 'plate'")
    _find(problems, "slot_zero", "slot", "out of range 1-12")
    _find(problems, "slot_13", "slot", "out of range 1-12")
    _find(problems, "on_trash", "slot", "deck's own 'trash_container'")
    _find(problems, "carrier_in_slot", "slot", "does not fit slot 3")
    _find(problems, "on_rails", "rails", "has no rails")
    _find(problems, "network_tips", "resource", "has no geometry: fetches from the network")


def test_unknown_deck_and_fields(decks_dir, catalog):
    problems = _problems(decks_dir, "unknown_deck", catalog)
    _find(problems, None, "deck", "not a deck PLR defines")
    _find(problems, None, "extra", "unknown field")


def test_sbs_plate_overhangs_a_carrier_site_by_under_a_millimetre(catalog):
    # Cor 96 is 127.76 x 85.48 mm; PLT_CAR_L5AC_A00's sites are 127.0 x 86.0 mm.
    layout = {"deck": "pylabrobot.resources.hamilton.STARDeck", "placements": [
        {"name": "c", "resource": "pylabrobot.resources.PLT_CAR_L5AC_A00", "rails": 1},
        {"name": "p", "resource": "pylabrobot.resources.Cor_96_wellplate_360ul_Fb", "parent": "c", "slot": 4},
    ]}
    assert validate_deck_layout(layout, catalog) == []


def test_any_export_path_is_the_same_resource(catalog):
    for path in ("pylabrobot.resources.Cor_96_wellplate_360ul_Fb",
                 "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb",
                 "pylabrobot.resources.corning.Cor_96_wellplate_360ul_Fb"):
        layout = {"deck": "pylabrobot.resources.OTDeck", "placements": [
            {"name": "p", "resource": path, "slot": 3}]}
        assert validate_deck_layout(layout, catalog) == [], path


def test_validation_leaves_the_layout_untouched(catalog):
    document = {"deck": "pylabrobot.resources.OTDeck", "placements": [
        {"name": "p", "resource": "pylabrobot.resources.Cor_96_wellplate_360ul_Fb", "slot": "one"}]}
    layout = load_deck_layout(document)
    assert validate_deck_layout(layout, catalog)
    assert layout.placements[0].slot == "one"


@pytest.mark.parametrize("text", ["[1, 2]", "{", "\"deck\""])
def test_unreadable_layouts_raise_with_where(tmp_path, text):
    path = tmp_path / "layout.json"
    path.write_text(text)
    with pytest.raises(DeckLayoutError) as raised:
        load_deck_layout(path)
    assert "layout" in str(raised.value)


def test_not_json_names_line_and_column(decks_dir):
    with pytest.raises(DeckLayoutError, match=r"line 2, column 1[56]"):
        load_deck_layout(decks_dir / "not_json.json")


def test_cli_json_output_and_exit_codes(decks_dir, capsys):
    from tests.fixtures.catalog_fixture import FIXTURE

    assert main(["validate", str(decks_dir / "starlet_valid.json"), "--json", "--catalog", str(FIXTURE)]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "errors": []}
    assert main(["validate", str(decks_dir / "ot2_broken.json"), "--json", "--catalog", str(FIXTURE)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["valid"] is False
    assert {"placement": "slot_13", "field": "slot", "message": "slot 13 is out of range 1-12"} in document["errors"]
    assert main(["validate", str(decks_dir / "ot2_broken.json"), "--catalog", str(FIXTURE)]) == 1
    assert "placement 'slot_13', slot: slot 13 is out of range 1-12" in capsys.readouterr().out
    assert main(["validate", str(decks_dir / "not_json.json"), "--json", "--catalog", str(FIXTURE)]) == 1
    assert "not valid JSON" in json.loads(capsys.readouterr().out)["errors"][0]["message"]


@pytest.mark.cpython
def test_cli_with_the_default_catalog(decks_dir, capsys):
    assert main(["validate", str(decks_dir / "starlet_broken.json"), "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["errors"]) == 18
